"""Spanish spelling with cspell: the pages' prose and the text the scripts show."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from lab.course.check.base import (
    TOOL_TIMEOUT,
    TOOLS_ROOT,
    Ctx,
    Problem,
    run_tool,
)
from lab.course.check.prose import foreground_scripts, learner_scripts, script_prose

# --------------------------------------------------------------------------- ortografía

_CSPELL_LINE = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+) - Unknown word \((?P<word>[^)]+)\)(?: Suggestions: \[(?P<sugg>[^\]]*)\])?"
)


_INDEX_PROSE = re.compile(r'"(?:title|description)"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _cspell_binary(root: Path) -> Path | None:
    for base in (root, TOOLS_ROOT):
        candidate = base / "node_modules" / ".bin" / "cspell"
        if candidate.exists():
            return candidate
    return None


def check_spelling(ctx: Ctx) -> list[Problem]:
    scripts = learner_scripts(ctx)
    typed = foreground_scripts(ctx)
    if not ctx.markdown and not scripts:
        return []
    binary = _cspell_binary(ctx.root)
    config = TOOLS_ROOT / "cspell.json"
    if binary is None or not config.is_file():
        return [Problem(TOOLS_ROOT / "package.json", 1, "falta cspell: ejecuta `npm ci` en la raíz del repositorio")]
    with tempfile.TemporaryDirectory(prefix="lab-cspell-") as tmp:
        # La configuración del repositorio y, si el curso comprobado trae el suyo, su glosario.
        wrapper: dict[str, Any] = {"version": "0.2", "import": [str(config)]}
        glossary = ctx.root / ".cspell" / "glosario.txt"
        if glossary.is_file() and glossary.resolve() != (TOOLS_ROOT / ".cspell" / "glosario.txt").resolve():
            wrapper["dictionaryDefinitions"] = [{"name": "glosario-curso", "path": str(glossary)}]
            wrapper["dictionaries"] = ["glosario-curso"]
        (Path(tmp) / "cspell.json").write_text(json.dumps(wrapper), encoding="utf-8")
        # Los títulos y la descripción de index.json también son prosa: una copia línea a línea
        # con solo esos textos (así la línea que informa cspell es la de index.json).
        index_prose = Path(tmp) / "index-prosa.txt"
        index_prose.write_text(
            "\n".join(" ".join(json.loads(f'"{v}"') for v in _INDEX_PROSE.findall(ln)) for ln in ctx.index_raw.splitlines()) + "\n",
            encoding="utf-8",
        )
        # Los scripts, igual: su texto en una copia en sombra con las mismas líneas.
        shadows: dict[str, Path] = {}
        for k, script in enumerate(scripts):
            shadow = Path(tmp) / f"guion-{k}.txt"
            shadow.write_text("\n".join(script_prose(script, script in typed)) + "\n", encoding="utf-8")
            shadows[shadow.name] = script
        cmd = [
            str(binary),
            "lint",
            "--no-progress",
            "--no-summary",
            "--no-color",
            "--show-suggestions",
            "--no-config-search",
            "--no-cache",
            "--no-must-find-files",
            "--config",
            str(Path(tmp) / "cspell.json"),
            "--root",
            str(ctx.root),
            *[str(p.relative_to(ctx.root)) for p in ctx.markdown],
            *([f"file://{index_prose}"] if ctx.index_raw else []),
            *[f"file://{Path(tmp) / name}" for name in shadows],
        ]
        proc = run_tool(cmd, ctx.root, timeout=TOOL_TIMEOUT)
    out: list[Problem] = []
    for raw in proc.stdout.splitlines():
        m = _CSPELL_LINE.match(raw.strip())
        if not m:
            continue
        suggestions = [s.strip() for s in (m["sugg"] or "").split(",") if s.strip()]
        hint = f" (¿«{suggestions[0]}»?)" if suggestions else ""
        name = Path(m["file"]).name
        if name == "index-prosa.txt":
            file = ctx.index_path
        elif name in shadows and Path(m["file"]).parent.name.startswith("lab-cspell-"):
            file = shadows[name]
        else:
            file = ctx.root / m["file"]
        out.append(
            Problem(
                file,
                int(m["line"]),
                f"ortografía: «{m['word']}» no está en el diccionario{hint}; si es un término técnico, añádelo a .cspell/glosario.txt",
            )
        )
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not out):
        out.append(
            Problem((ctx.markdown or scripts)[0], 1, f"cspell falló ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[:400]}")
        )
    return out
