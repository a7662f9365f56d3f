"""El curso tal como lo lee Killercoda: index.json → páginas → bloques de código con acción.

    course = load_course(Path("."))
    for page in course.pages:                # intro, step1, step2, …, finish (en este orden)
        for block in page.blocks:            # solo los que llevan {{exec}}, {{exec interrupt}} o {{copy}}
            print(block.file, block.line, block.action, block.code)

`Block.line` es la línea (1-based) donde empieza el código: la primera línea tras la valla de
apertura en un bloque cercado, la línea del propio código en un `código`{{exec}} en línea.
`Block.code` va sin la sangría de la valla (bloques dentro de listas o de <details>).
`Block.span` son las líneas (1-based) de la valla de apertura y de la de cierre (la del {{marcador}})
de un bloque cercado, y None en el código en línea: con ellas la vista previa pinta cada bloque sin
volver a buscar vallas (este es el único lector de vallas del proyecto).

Lo que no se entiende se eleva como CourseError, cuyo str() es «fichero:línea: mensaje».
`marker_problems()` devuelve todos los problemas de sintaxis de acciones de un Markdown (lab check los
lista todos; load_course eleva el primero).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ACTIONS",
    "Block",
    "Course",
    "CourseError",
    "Page",
    "load_course",
    "markdown_blocks",
    "marker_problems",
    "json_line",
]

INDEX = "index.json"  # el escenario de Killercoda: título, pasos y sus textos
ACTIONS = ("exec", "exec interrupt", "copy")
INTERRUPT = ACTIONS[1]  # antes de teclearlo, Ctrl-C a lo que corra
# `código`{{}} desactiva la copia en Killercoda: válido, pero no es un bloque con acción.
_INLINE_ONLY = ("",)


class CourseError(Exception):
    """Un problema del curso en un fichero y una línea concretos."""

    def __init__(self, file: Path | str, line: int, message: str) -> None:
        self.file = Path(file)
        self.line = int(line)
        self.message = message
        super().__init__(f"{self.file}:{self.line}: {message}")

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Block:
    file: Path
    line: int
    code: str
    action: str  # "exec" | "exec interrupt" | "copy"
    # (línea de la valla de apertura, línea de la valla de cierre) si es cercado; None si va en línea.
    # Fuera de la igualdad: Block(file, line, code, action) sigue comparando como antes.
    span: tuple[int, int] | None = field(default=None, compare=False)

    @property
    def runs(self) -> bool:
        """¿Lo ejecuta un clic del alumno? ({{exec}} o {{exec interrupt}})."""
        return self.action.startswith("exec")

    @property
    def interrupts(self) -> bool:
        """¿Envía Ctrl-C antes de teclear el bloque? ({{exec interrupt}})."""
        return self.action == INTERRUPT


@dataclass(frozen=True)
class Page:
    slug: str  # "intro", "step1", "step2", …, "finish"
    title: str
    text: Path
    verify: Path | None
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Course:
    root: Path
    title: str
    description: str
    pages: tuple[Page, ...]
    index: dict[str, Any] = field(hash=False, compare=False)

    def page(self, slug: str) -> Page:
        for p in self.pages:
            if p.slug == slug:
                return p
        raise KeyError(slug)

    @property
    def steps(self) -> tuple[Page, ...]:
        return tuple(p for p in self.pages if p.slug.startswith("step"))


# --------------------------------------------------------------------------- index.json


def json_line(raw: str, value: str, key: str | None = None) -> int:
    """Línea (1-based) de index.json donde aparece `"key": "value"` (o solo `"value"`); 1 si no está."""
    needle_value = json.dumps(value)
    for number, text in enumerate(raw.splitlines(), start=1):
        if needle_value in text and (key is None or json.dumps(key) in text):
            return number
    if key is not None:
        for number, text in enumerate(raw.splitlines(), start=1):
            if json.dumps(key) in text:
                return number
    return 1


def _read_index(root: Path) -> tuple[dict[str, Any], str, Path]:
    path = root / INDEX
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CourseError(path, 1, "no existe index.json") from None
    except UnicodeDecodeError as exc:
        raise CourseError(path, 1, f"index.json no es UTF-8 ({exc.reason})") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CourseError(path, exc.lineno, f"JSON no válido: {exc.msg} (columna {exc.colno})") from None
    if not isinstance(data, dict):
        raise CourseError(path, 1, "index.json debe ser un objeto JSON")
    return data, raw, path


def _page(
    root: Path,
    index_path: Path,
    raw: str,
    entry: Any,
    slug: str,
    where: str,
    default_title: str,
    require_text: bool,
) -> Page | None:
    if entry is None and not require_text:
        return None
    if not isinstance(entry, dict):
        raise CourseError(index_path, json_line(raw, slug.rstrip("0123456789") or slug), f"{where} debe ser un objeto")
    text = entry.get("text")
    if not isinstance(text, str) or not text:
        if not require_text and text is None:
            return None
        raise CourseError(index_path, json_line(raw, str(text), "text"), f"{where}.text falta o no es una ruta")
    text_path = root / text
    if not text_path.is_file():
        raise CourseError(
            index_path, json_line(raw, text, "text"), f"{where}.text: no existe el fichero {text!r}"
        )
    verify_path: Path | None = None
    verify = entry.get("verify")
    if verify is not None:
        if not isinstance(verify, str) or not (root / verify).is_file():
            raise CourseError(
                index_path,
                json_line(raw, str(verify), "verify"),
                f"{where}.verify: no existe el fichero {verify!r}",
            )
        verify_path = root / verify
    title = entry.get("title", default_title)
    if not isinstance(title, str):
        raise CourseError(index_path, json_line(raw, "title", None), f"{where}.title debe ser texto")
    return Page(
        slug=slug,
        title=title,
        text=text_path,
        verify=verify_path,
        blocks=markdown_blocks(text_path),
    )


def load_course(root: Path) -> Course:
    """Lee index.json y el Markdown que nombra. Eleva CourseError («fichero:línea: mensaje»)."""
    root = Path(root)
    data, raw, index_path = _read_index(root)
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise CourseError(index_path, json_line(raw, "title"), "falta «title» o está vacío")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise CourseError(index_path, json_line(raw, "description"), "«description» debe ser texto")
    details = data.get("details", {})
    if not isinstance(details, dict):
        raise CourseError(index_path, json_line(raw, "details"), "«details» debe ser un objeto")

    pages: list[Page] = []
    intro = _page(root, index_path, raw, details.get("intro"), "intro", "details.intro", title, False)
    if intro:
        pages.append(intro)
    steps = details.get("steps", [])
    if not isinstance(steps, list):
        raise CourseError(index_path, json_line(raw, "steps"), "«details.steps» debe ser una lista")
    for number, step in enumerate(steps, start=1):
        page = _page(
            root, index_path, raw, step, f"step{number}", f"details.steps[{number - 1}]",
            f"Paso {number}", True,
        )
        assert page is not None
        pages.append(page)
    finish = _page(root, index_path, raw, details.get("finish"), "finish", "details.finish", "Final", False)
    if finish:
        pages.append(finish)
    return Course(root=root, title=title, description=description, pages=tuple(pages), index=data)


# --------------------------------------------------------------------------- Markdown

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
# Cierre: la valla, y justo detrás (sin espacio) un marcador opcional.
_FENCE_CLOSE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<rest>.*)$")
_MARKER = re.compile(r"\{\{(?P<name>[^{}]*)\}\}")
# `código`{{acción}} en línea (sin espacio entre la comilla y las llaves).
_INLINE = re.compile(r"(?<!`)`(?P<code>[^`\n]+)`(?P<marker>\{\{(?P<name>[^{}]*)\}\})")
# `código` {{acción}} con espacio: Killercoda no lo reconoce.
_INLINE_SPACED = re.compile(r"(?<!`)`[^`\n]+`[ \t]+\{\{(?P<name>[^{}]*)\}\}")
_KNOWN_PLACEHOLDER = re.compile(r"^TRAFFIC_(HOST\d+_\d+|SELECTOR)$")


@dataclass(frozen=True)
class _Fence:
    start: int  # línea (1-based) de la valla de apertura
    indent: str
    fence: str
    info: str
    lines: tuple[str, ...]
    close_line: int  # 0 si no se cerró
    close_rest: str


def _fences(lines: list[str]) -> tuple[list[_Fence], set[int]]:
    """Bloques cercados y el conjunto de líneas (1-based) que ocupan (vallas incluidas)."""
    fences: list[_Fence] = []
    inside: set[int] = set()
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        start, indent, fence, info = i + 1, m["indent"], m["fence"], m["info"].strip()
        body: list[str] = []
        j = i + 1
        close_line, close_rest = 0, ""
        while j < len(lines):
            c = _FENCE_CLOSE.match(lines[j])
            if c and c["fence"][0] == fence[0] and len(c["fence"]) >= len(fence) and (
                c["rest"] == "" or c["rest"].lstrip().startswith("{{") or c["rest"].strip() == ""
            ):
                close_line, close_rest = j + 1, c["rest"]
                break
            body.append(lines[j])
            j += 1
        end = close_line or len(lines)
        inside.update(range(start, end + 1))
        fences.append(_Fence(start, indent, fence, info, tuple(body), close_line, close_rest))
        i = end
    return fences, inside


def _dedent(body: tuple[str, ...], indent: str) -> str:
    if not indent:
        return "\n".join(body)
    return "\n".join(t[len(indent):] if t.startswith(indent) else t.lstrip(" \t") for t in body)


def _read_md(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise CourseError(path, 1, f"el Markdown no es UTF-8 ({exc.reason})") from None


def marker_problems(path: Path) -> list[CourseError]:
    """Todos los errores de sintaxis de {{…}} en un Markdown, en orden de línea."""
    path = Path(path)
    lines = _read_md(path)
    fences, inside = _fences(lines)
    problems: list[CourseError] = []
    for f in fences:
        if not f.close_line:
            problems.append(CourseError(path, f.start, f"bloque de código sin cerrar (valla {f.fence!r})"))
            continue
        rest = f.close_rest
        if not rest:
            continue
        m = _MARKER.search(rest)
        if rest.strip() and m is None:
            problems.append(CourseError(path, f.close_line, f"texto inesperado tras la valla de cierre: {rest.strip()!r}"))
            continue
        if rest.strip() and not rest.startswith("{{"):
            problems.append(
                CourseError(path, f.close_line, f"espacio antes de {{{{{m['name']}}}}}: va pegado a la valla de cierre")  # type: ignore[index]
            )
            continue
        if m is not None:
            problems.extend(_action_problem(path, f.close_line, m["name"], inline=False))
            tail = rest[m.end():].strip()
            if tail:
                problems.append(CourseError(path, f.close_line, f"texto inesperado tras {m.group(0)}: {tail!r}"))
    for number, text in enumerate(lines, start=1):
        if number in inside:
            continue
        consumed: list[tuple[int, int]] = []
        for m in _INLINE.finditer(text):
            consumed.append(m.span("marker"))
            problems.extend(_action_problem(path, number, m["name"], inline=True))
        for m in _INLINE_SPACED.finditer(text):
            problems.append(
                CourseError(path, number, f"espacio antes de {{{{{m['name']}}}}}: va pegado al `código`")
            )
            consumed.append((m.start("name") - 2, m.end("name") + 2))
        # Marcadores sueltos: {{exec}} en medio del texto, {{execute}}, etc. Los enlaces de tráfico valen.
        for m in _MARKER.finditer(text):
            if any(a <= m.start() < b for a, b in consumed):
                continue
            name = m["name"].strip()
            if _KNOWN_PLACEHOLDER.match(name):
                continue
            if _is_katacoda(name):
                problems.append(CourseError(path, number, f"{m.group(0)} es sintaxis de Katacoda: usa {{{{exec}}}}"))
            elif name in ACTIONS or name == "":
                problems.append(
                    CourseError(path, number, f"{m.group(0)} suelto: va pegado a un `código` o a la valla de cierre")
                )
            else:
                problems.append(CourseError(path, number, f"marcador desconocido {m.group(0)}"))
    problems.sort(key=lambda e: e.line)
    return problems


def _is_katacoda(name: str) -> bool:
    """{{execute}}, {{execute T2}}, {{execute interrupt}}, {{copy T1}}…: marcadores de Katacoda."""
    words = name.split()
    if not words:
        return False
    timed = any(w.startswith("T") and w[1:].isdigit() for w in words[1:])
    return words[0] == "execute" or (words[0] in ACTIONS and timed)


def _action_problem(path: Path, line: int, name: str, *, inline: bool) -> list[CourseError]:
    if name in ACTIONS or (inline and name in _INLINE_ONLY):
        return []
    if _is_katacoda(name):
        return [CourseError(path, line, f"{{{{{name}}}}} es sintaxis de Katacoda: usa {{{{exec}}}}")]
    allowed = ", ".join(f"{{{{{a}}}}}" for a in ACTIONS)
    return [CourseError(path, line, f"acción desconocida {{{{{name}}}}} (válidas: {allowed})")]


def markdown_blocks(path: Path) -> tuple[Block, ...]:
    """Bloques con acción de un Markdown, en orden. Eleva el primer problema de sintaxis."""
    path = Path(path)
    problems = marker_problems(path)
    if problems:
        raise problems[0]
    lines = _read_md(path)
    fences, inside = _fences(lines)
    found: list[Block] = []
    for f in fences:
        m = _MARKER.match(f.close_rest)
        if m and m["name"] in ACTIONS:
            code = _dedent(f.lines, f.indent)
            line = f.start + 1 if f.lines else f.close_line
            found.append(Block(path, line, code, m["name"], span=(f.start, f.close_line)))
    for number, text in enumerate(lines, start=1):
        if number in inside:
            continue
        for m in _INLINE.finditer(text):
            if m["name"] in ACTIONS:
                found.append(Block(path, number, m["code"], m["name"]))
    # Orden de lectura: por línea (y columna implícita por el orden de finditer).
    found.sort(key=lambda b: b.line)
    return tuple(found)


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """Las líneas de prosa (fuera de bloques cercados), para los correctores."""
    lines = _read_md(Path(path))
    _, inside = _fences(lines)
    return [(n, t) for n, t in enumerate(lines, start=1) if n not in inside]
