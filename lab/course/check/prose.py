"""The prose inside scripts: the strings a learner sees (echo/printf, Python strings), without code."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path
from typing import Any

from lab.course.check.base import (
    Ctx,
    index_pages,
)

# --------------------------------------------------------------------------- ortografía de los scripts
#
# Los scripts de index.json (background/foreground/verify) y los de tools/ (traza) le muestran
# español a quien aprende fuera del Markdown: el progreso y los fallos de setup.sh, lo que escribe
# foreground.sh, los «Todavía no: …» de los verify.sh, el uso y las salidas de traza. cspell no
# sabe separar ese texto del código, así que se extrae: una copia «en sombra» de cada script con el
# mismo número de líneas, cada una con solo el texto de esa línea del original (así la línea que
# informa cspell es la del script). Qué es texto:
#   shell   cadenas entre comillas dobles (sin $VAR, ${…} ni $(…)) y las cadenas entre comillas
#           simples que son el argumento de echo/printf; el resto de comillas simples (programas
#           de awk y sed, jsonpath) es código. Los comentarios, solo en los scripts foreground
#           (Killercoda los teclea en la terminal: se ven); en los demás no los ve nadie y nombran
#           código sin tilde (la etapa «imagenes» de setup.sh).
#   Python  las cadenas (docstrings incluidos; de las f-strings, sin sus {expresiones}); no los
#           comentarios.
# De ese texto se quitan además las palabras con pinta de código: opciones (-x, --algo), rutas,
# asignaciones (K=V), nombres_con_guion_bajo, nombres.con.punto, host:puerto, formatos (%s) y
# escapes (\n), y las alternativas de uso ([todo|imagenes]).

_SHELL_PRINT = re.compile(r"(?:^|[;&|({\s])(?:echo|printf)(?:\s+-[a-zA-Z]+)*\s+$")
_CODE_WORD = re.compile(r"[/=_@\\\[\]{}<>|$%^*~#`]|\w[.:]\w|^-")
_WORD_EDGES = "«»\"'()¿?¡!,.;:…"


def _prose_only(text: str) -> str:
    """Quita del texto extraído las palabras con pinta de código (ver arriba)."""
    text = re.sub(r"\[[^\]\n]*\|[^\]\n]*\]", " ", text)  # [todo|imagenes]
    words = []
    for word in re.split(r"(\s+)", text):
        core = word.strip(_WORD_EDGES)
        words.append(" " * len(word) if core and _CODE_WORD.search(core) else word)
    return "".join(words)


def _shell_text(source: str, comments: bool) -> list[str]:
    """El texto de cada línea de un script de shell (ver arriba): un mini-analizador léxico que
    sigue las comillas, $(…) y ${…} anidados a través de las líneas."""
    lines: list[list[str]] = [[] for _ in source.splitlines() or [""]]
    row, i, n = 0, 0, len(source)
    stack: list[list[Any]] = [["code", 0]]  # contextos: ["code", paréntesis abiertos] | ["dq"]

    def emit(s: str) -> None:
        if row < len(lines):
            lines[row].append(s)

    if source.startswith("#!"):
        i = source.find("\n") if "\n" in source else n
    while i < n:
        c = source[i]
        top = stack[-1]
        if c == "\n":
            row += 1
            i += 1
            continue
        if top[0] == "dq":
            if c == "\\" and i + 1 < n:
                if source[i + 1] != "\n":
                    emit(source[i + 1] if source[i + 1] in '"$`\\' else source[i : i + 2])
                else:
                    row += 1
                i += 2
            elif c == '"':
                stack.pop()
                emit(" ")
                i += 1
            elif source.startswith("$(", i):
                stack.append(["code", 0])
                emit(" ")
                i += 2
            elif source.startswith("${", i):
                close = source.find("}", i)
                close = n if close < 0 else close
                row += source.count("\n", i, close)
                emit(" ")
                i = close + 1
            elif c == "$" and i + 1 < n and (source[i + 1].isalnum() or source[i + 1] in "_#?@*!$-"):
                m = re.compile(r"\$(?:[A-Za-z_]\w*|.)").match(source, i)
                assert m
                emit(" ")
                i = m.end()
            else:
                emit(c)
                i += 1
            continue
        # código
        at_word_start = i == 0 or source[i - 1] in " \t\n;&|()"
        if c == "#" and at_word_start:
            end = source.find("\n", i)
            end = n if end < 0 else end
            if comments:
                emit(source[i + 1 : end])
            i = end
        elif c == "\\" and i + 1 < n:
            if source[i + 1] == "\n":
                row += 1
            i += 2
        elif c == "'" or source.startswith("$'", i):
            start = i + (2 if c == "$" else 1)
            end = source.find("'", start)
            end = n if end < 0 else end
            line_start = source.rfind("\n", 0, i) + 1
            printed = bool(_SHELL_PRINT.search(source[line_start:i]))
            for k, part in enumerate(source[start:end].split("\n")):
                if k:
                    row += 1
                if printed:
                    emit(part)
            i = end + 1
        elif c == '"':
            stack.append(["dq"])
            i += 1
        elif source.startswith("$(", i):
            stack.append(["code", 0])
            i += 2
        elif source.startswith("${", i):
            close = source.find("}", i)
            close = n if close < 0 else close
            row += source.count("\n", i, close)
            i = close + 1
        elif c == "(":
            top[1] += 1
            i += 1
        elif c == ")":
            if top[1]:
                top[1] -= 1
            elif len(stack) > 1:
                stack.pop()
            i += 1
        else:
            i += 1
    return [_prose_only("".join(parts)) for parts in lines]


def _python_text(source: str) -> list[str]:
    """El texto de cada línea de un programa de Python: sus cadenas (ver arriba)."""
    lines: list[list[str]] = [[] for _ in source.splitlines() or [""]]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return [""] * len(lines)
    for tok in tokens:
        if tok.type == tokenize.STRING:
            m = re.match(r"(?is)([rbuf]*)('''|\"\"\"|'|\")(.*)\2$", tok.string)
            if not m:
                continue
            body = m.group(3)
            if "f" in m.group(1).lower():
                body = re.sub(r"\{\{|\}\}|\{[^{}]*\}", " ", body)
            for k, part in enumerate(body.split("\n")):
                row = tok.start[0] - 1 + k
                if row < len(lines):
                    lines[row].append(" " + part)
    return [_prose_only("".join(parts)) for parts in lines]


def _is_python(path: Path) -> bool:
    if path.suffix == ".py":
        return True
    try:
        with path.open("rb") as fh:
            return b"python" in fh.readline(200)
    except OSError:
        return False


def learner_scripts(ctx: Ctx) -> list[Path]:
    """Los scripts cuyo texto ve quien aprende: los de index.json y los de tools/ (traza)."""
    scripts = list(ctx.scripts)
    tools = ctx.root / "tools"
    if tools.is_dir():
        for path in sorted(tools.iterdir()):
            if path.is_file() and path not in scripts and path.read_bytes()[:2] == b"#!":
                scripts.append(path)
    return scripts


def foreground_scripts(ctx: Ctx) -> set[Path]:
    found = set()
    for _, page in index_pages(ctx.index or {}):
        value = page.get("foreground")
        if isinstance(value, str) and (ctx.root / value).is_file():
            found.add(ctx.root / value)
    return found


def script_prose(path: Path, comments: bool = False) -> list[str]:
    """Una línea por línea del script, con solo el texto que se revisa (ver arriba); `comments`:
    también los comentarios (de shell)."""
    source = path.read_text(encoding="utf-8", errors="replace")
    return _python_text(source) if _is_python(path) else _shell_text(source, comments)
