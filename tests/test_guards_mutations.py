"""Cada guarda del curso, aflojada a propósito en una copia del repositorio, hace fallar sus pruebas.

Es la tabla del issue 22 (las mutaciones de una línea que un revisor cuidadoso probaría: promesas,
validación de Istio, la línea de registro, la comprobación previa de setup.sh, el grep de un
verify.sh, las reglas de `lab check`, el orden de los hosts virtuales, el «…» final) más alguna de
las mismas guardas. Cada mutación se aplica por patrón; si el patrón ya no está, la prueba falla
diciendo cuál: el código cambió y la tabla hay que ponerla al día (no se salta en silencio).
La copia sin mutar pasa esas mismas pruebas: así un fallo es de la mutación, no de la copia.
Las mutaciones de Python sin proceso que las ejecute las cubre también `make mutants` (mutmut).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def first_verify() -> str:
    """El primer verify.sh que lista index.json y cuenta con `traza --recuento` (sin suponer su
    número de paso; los de antes miran Deployments y contadores de Envoy)."""
    steps = json.loads((ROOT / "index.json").read_text(encoding="utf-8"))["details"]["steps"]
    return next(step["verify"] for step in steps
                if step.get("verify") and "traza --recuento" in (ROOT / step["verify"]).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    pattern: str  # expresión regular (re.M); se sustituye su primera aparición
    replacement: str
    tests: tuple[str, ...]  # lo que debe fallar (argumentos de pytest)


MUTATIONS = [
    Mutation("promesa rota solo con MÁS líneas de las prometidas", "lab/course/promises.py",
             r"if c != promise\.counts\}", "if any(c[s] > promise.counts[s] for s in c)}",
             ("tests/test_guards_promises.py",)),
    Mutation("perTryTimeout: 1ms rechazado en el CRD (<= por <)", "lab/cluster/istio/validation.py",
             r"elif nanos < 10\*\*6:", "elif nanos <= 10**6:", ("tests/test_guards_istio.py",)),
    Mutation("perTryTimeout: 1ms rechazado en el webhook (<= por <)", "lab/cluster/istio/validation.py",
             r"if nanos < 10\*\*6:\n        return \[msg", "if nanos <= 10**6:\n        return [msg",
             ("tests/test_guards_istio.py",)),
    Mutation("una petición que revienta la app no deja línea", "apps/common/logline.py",
             r"finally:\n(\s+)log\(500\)", r"except RuntimeError:\n\1raise", ("tests/test_guards_logline.py",)),
    Mutation("setup.sh: una orden fuera de la lista de la comprobación previa", "setup.sh",
             r"^(  printf '%s\\n' )\w+ ", r"\1", ("tests/test_guards_setup.py", "-k", "every_command")),
    Mutation("verify.sh: el grep de traza --recuento acepta cualquier recuento", first_verify(),
             r"(grep -q '[^'\n]*? bff=)\d+ (\w+)=\d+ (\w+)=\d+", r"\1[0-9]* \2=[0-9]* \3=[0-9]*",
             ("tests/test_guards_verify.py",)),
    Mutation("verify.sh: lo mismo, y fallan también las pruebas de comportamiento (no solo la de línea literal)",
             first_verify(), r"(grep -q '[^'\n]*? bff=)\d+ (\w+)=\d+ (\w+)=\d+", r"\1[0-9]* \2=[0-9]* \3=[0-9]*",
             ("tests/test_guards_verify.py", "-k", "any_other_count")),
    Mutation("lab check: regla de imagen remota desactivada", "lab/course/check/markdown.py",
             r"if is_image and target\.startswith\(", "if False and target.startswith(", ("tests/test_guards_checks.py",)),
    Mutation("lab check: regla de ruta absoluta desactivada", "lab/course/check/markdown.py",
             r"if local\.startswith\(\"/\"\):", 'if local.startswith("/") and False:', ("tests/test_guards_checks.py",)),
    Mutation("lab check: CRLF leído con read_text (traduce \\r\\n)", "lab/course/check/markdown.py",
             r"text = path\.read_bytes\(\)\.decode\(\"utf-8\", errors=\"replace\"\)",
             'text = path.read_text(encoding="utf-8", errors="replace")', ("tests/test_guards_checks.py",)),
    Mutation("hosts virtuales en el orden de los manifiestos", "lab/cluster/envoyconfig.py",
             r"sorted\(hosts, key=lambda host: host\[\"name\"\]\)", "hosts", ("tests/test_guards_routes.py",)),
    Mutation("expected.py: un «…» final no llega hasta la última línea", "lab/course/expected.py",
             r"set\(range\(min\(reachable\), len\(got\) \+ 1\)\)", "set(range(min(reachable), len(got)))",
             ("tests/test_guards_expected.py",)),
    Mutation("conversión: se añade retriable-status-codes aunque ya esté", "lab/cluster/meshpolicy.py",
             r"if CODES_TOKEN not in policy\[\"retryOn\"\]:", "if True:", ("tests/test_guards_istio.py",)),
]


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Los archivos del repositorio que sigue git (y los nuevos sin ignorar), sin .venv ni node_modules."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    dest = tmp_path_factory.mktemp("repo")
    for rel in filter(None, listed):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    return dest


def pytest_in(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *args],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_the_unmutated_copy_passes(copy: Path) -> None:
    args = sorted({t for m in MUTATIONS for t in m.tests if t.endswith(".py")})
    done = pytest_in(copy, *args)
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_each_mutation_makes_a_test_fail(copy: Path, mutation: Mutation) -> None:
    path = copy / mutation.file
    original = path.read_text(encoding="utf-8")
    mutated, n = re.subn(mutation.pattern, mutation.replacement, original, count=1, flags=re.M)
    assert n == 1, f"{mutation.file}: ya no encuentro «{mutation.pattern}»: el código cambió; pon al día la mutación"
    path.write_text(mutated, encoding="utf-8")
    try:
        done = pytest_in(copy, *mutation.tests)
    finally:
        path.write_text(original, encoding="utf-8")
    assert done.returncode == 1, f"la mutación «{mutation.name}» sobrevive a {' '.join(mutation.tests)}:\n{done.stdout[-2000:]}"
