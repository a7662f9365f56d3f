"""`lab play` contra el laboratorio de verdad (marca `lab`: Envoy real, uno a la vez; ejecuta la suite
con `flock /work/lab.lock ...`). El curso real pasa entero y un verify.sh que no comprueba su paso
falla; cada prueba levanta un laboratorio nuevo y lo baja siempre. Las copias rotas a propósito
(una errata, un NodePort equivocado, una promesa que no se cumple) se juegan con el mismo reproductor
contra un laboratorio en marcha, con `lab play --cluster`, en test_play_cluster.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", ".lab", "lab", "tests", "bench", "__pycache__", "*.egg-info",
    ".pytest_cache", "artifacts", "*.pyc",
)

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO, tmp_path / "curso", ignore=SKIP, symlinks=True))


def lab_play(root: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "lab", "play", "--course", str(root)],
        cwd=root, capture_output=True, text=True, timeout=800, check=False,
    )
    # Nada queda corriendo: el laboratorio de esa copia está parado.
    status = subprocess.run(
        [sys.executable, "-m", "lab", "status", "--course", str(root)],
        cwd=root, capture_output=True, text=True, timeout=60, check=False,
    )
    assert "Laboratorio detenido" in proc.stdout, proc.stdout[-3000:]
    assert "no está en marcha" in status.stdout + status.stderr, status.stdout + status.stderr
    return proc


def test_the_real_course_plays_from_start_to_end() -> None:
    proc = lab_play(REPO)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "lab play: el curso funciona" in proc.stdout
    details = json.loads((REPO / "index.json").read_text(encoding="utf-8"))["details"]
    pages = [step["text"] for step in details["steps"]]
    for page in pages:
        assert f"{Path(page).parent}/verify.sh después del paso: pasa" in proc.stdout, page
    # Cada promesa del texto (sus marcas), contada por request_id en los registros de las apps (Envoy real).
    promises = [(page, m[1].strip()) for page in pages
                for m in re.finditer(r"<!--\s*promesa:(.*?)-->", (REPO / page).read_text(encoding="utf-8"))]
    assert ("step1/text.md", "alguna bff=1 backend1=2 app2=2") in promises
    for page, promise in promises:
        assert re.search(rf"· promesa de {re.escape(page)}:\d+ \({re.escape(promise)}\): se cumple", proc.stdout), (
            page, proc.stdout[-4000:])


def test_verify_that_would_pass_without_the_step(course: Path) -> None:
    # Un verify que solo mira que haya pods: pasa antes de romper nada, luego no comprueba el paso.
    (course / "step1" / "verify.sh").write_text("#!/usr/bin/env bash\nkubectl get pods | grep -q backend1\n", encoding="utf-8")
    proc = lab_play(course)
    assert proc.returncode == 1
    assert "step1/verify.sh:1: step1/verify.sh pasa ANTES de ejecutar los bloques de step1/text.md" in proc.stdout, proc.stdout[-3000:]
