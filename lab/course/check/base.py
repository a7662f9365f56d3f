"""What every check shares: a Problem («file:line: message»), the course context, tool runners."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.constants import STATE_DIR
from lab.course.model import INDEX

TOOLS_ROOT = Path(__file__).resolve().parents[3]  # donde viven node_modules/ y la configuración de cspell
IGNORED_DIRS = {".git", ".venv", "node_modules", STATE_DIR, "__pycache__", ".pytest_cache", "artifacts"}
BLOCK_SHELLCHECK_EXCLUDES = ("SC2164", "SC2034", "SC2154")
TOOL_TIMEOUT = 60  # segundos por herramienta externa

@dataclass(frozen=True, order=True)
class Problem:
    file: Path
    line: int
    message: str

    def show(self, base: Path | None = None) -> str:
        base = base or Path.cwd()
        try:
            shown = self.file.resolve().relative_to(base.resolve())
        except ValueError:
            shown = self.file
        return f"{shown}:{self.line}: {self.message}"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Ctx:
    root: Path
    index: dict[str, Any] | None  # None si index.json no se pudo leer
    index_raw: str
    markdown: list[Path]  # los Markdown de las páginas que existen, en orden
    scripts: list[Path]  # background/foreground/verify de index.json que existen

    @property
    def index_path(self) -> Path:
        return self.root / INDEX


# --------------------------------------------------------------------------- contexto


def index_pages(index: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    details = index.get("details")
    if not isinstance(details, dict):
        return []
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(details.get("intro"), dict):
        out.append(("details.intro", details["intro"]))
    steps = details.get("steps")
    if isinstance(steps, list):
        out += [(f"details.steps[{i}]", s) for i, s in enumerate(steps) if isinstance(s, dict)]
    if isinstance(details.get("finish"), dict):
        out.append(("details.finish", details["finish"]))
    return out


def make_ctx(root: Path) -> Ctx:
    root = Path(root).resolve()
    raw, index = "", None
    try:
        raw = (root / INDEX).read_text(encoding="utf-8")
        loaded = json.loads(raw)
        index = loaded if isinstance(loaded, dict) else None
    except (OSError, ValueError):
        pass
    markdown: list[Path] = []
    scripts: list[Path] = []
    for _, page in index_pages(index or {}):
        text = page.get("text")
        if isinstance(text, str) and (root / text).is_file():
            markdown.append(root / text)
        for key in ("background", "foreground", "verify"):
            value = page.get(key)
            if isinstance(value, str) and (root / value).is_file() and root / value not in scripts:
                scripts.append(root / value)
    return Ctx(root, index, raw, markdown, scripts)


def walk(root: Path, pattern: str) -> list[Path]:
    found = []
    for path in sorted(root.rglob(pattern)):
        if path.is_file() and not IGNORED_DIRS.intersection(path.relative_to(root).parts):
            found.append(path)
    return found


def tool(name: str) -> str | None:
    """Un ejecutable del venv del intérprete actual (donde pyproject los instala) o del PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def run_tool(cmd: list[str], cwd: Path, timeout: int = TOOL_TIMEOUT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
