"""`lab play --cluster` against a "cluster" made of a running lab (marker `lab`: real Envoy).

The module starts one lab (`lab up --detach`, the `lab` fixture of conftest.py) and puts stand-ins
for `kubectl`, `istioctl` and `traza` at the front of PATH: the first two forward to that lab
(`lab kubectl …`, `lab istioctl …`), the third is the real `tools/traza` (it calls `kubectl`).
`lab play --cluster` then sees exactly what it would see on kind or in the Killercoda sandbox: the
whole course passes, a broken copy fails at the file and line of the break, the cluster is left as
it was found (so the course can run again), and a cluster that is not ready is reported before any
block runs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import replace_once

from lab.testing.driver import LabDriver

REPO = Path(__file__).resolve().parents[1]
PROMISE = re.compile(r"<!--\s*promesa:(.*?)-->")


def course_pages() -> list[str]:
    """The course's pages in order, from index.json (intro, steps, finish)."""
    details = json.loads((REPO / "index.json").read_text(encoding="utf-8"))["details"]
    return [details["intro"]["text"], *(s["text"] for s in details["steps"]), details["finish"]["text"]]
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", ".lab", "lab", "tests", "bench", "__pycache__", "*.egg-info",
    ".pytest_cache", "artifacts", "*.pyc", ".ruff_cache",
)
VS_BACKEND1 = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: backend1
spec:
  hosts:
  - backend1
  http:
  - route:
    - destination:
        host: backend1
    retries:
      attempts: 0
"""

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def stand_ins(lab: LabDriver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of an instructor's shell: kubectl/istioctl/traza on PATH reach the lab."""
    bin_dir = tmp_path_factory.mktemp("stand-ins")
    lab_cli = f"{shlex.quote(sys.executable)} -m lab --course {shlex.quote(str(lab.root))}"
    for name, line in (("kubectl", f"{lab_cli} kubectl"), ("istioctl", f"{lab_cli} istioctl"),
                       ("traza", f"{shlex.quote(sys.executable)} {shlex.quote(str(REPO / 'tools' / 'traza'))}")):
        (bin_dir / name).write_text(f'#!/bin/sh\nexec {line} "$@"\n', encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    yield env


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO, tmp_path / "curso", ignore=SKIP, symlinks=True))


def play_cluster(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lab", "play", "--cluster", "--course", str(root)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False)


def as_found(lab: LabDriver) -> tuple[list[str], str]:
    """(the variable names with a value in each Deployment's env, `kubectl get virtualservices`)."""
    names = []
    for deployment in ("bff", "backend1", "app2"):
        env = lab.kubectl("get", "deployment", deployment, "-o", "jsonpath={.spec.template.spec.containers[0].env}")
        names += [f"{deployment}:{e['name']}" for e in json.loads(env.stdout) if "value" in e]
    return sorted(names), lab.kubectl("get", "virtualservices").stdout


def test_the_whole_course_passes_twice_and_leaves_the_cluster_as_found(lab: LabDriver, stand_ins: dict[str, str]) -> None:
    before = as_found(lab)
    assert not any(n.endswith(":STATUS_CODE_APP") for n in before[0]) and before[1] == ""
    for attempt in (1, 2):  # the second run proves the first left the cluster ready for the course
        proc = play_cluster(REPO, stand_ins)
        assert proc.returncode == 0, f"run {attempt}:\n" + proc.stdout[-4000:] + proc.stderr[-2000:]
        out = proc.stdout
        assert "el clúster está listo" in out and "lab up" not in out and "lab down" not in out
        pages = course_pages()
        for page in pages:
            if (REPO / page).with_name("verify.sh").is_file() and page != "intro.md":
                assert f"{Path(page).parent}/verify.sh después del paso: pasa" in out, (page, out[-4000:])
        # Every promise the course makes (the markers on its pages), each kept on the cluster.
        promises = [(page, m[1].strip()) for page in pages for m in PROMISE.finditer((REPO / page).read_text(encoding="utf-8"))]
        assert len(promises) >= 3
        for page, promise in promises:
            assert re.search(rf"· promesa de {re.escape(page)}:\d+ \({re.escape(promise)}\): se cumple", out), (page, out[-4000:])
        assert "kubectl set env deployment/app2 STATUS_CODE_APP-: hecho" in out  # step 4 left app2 at 503
        assert "lab play: el curso funciona en el clúster" in out
        assert as_found(lab) == before


def test_typo_in_a_step_fails_at_its_line_and_the_cluster_is_restored(
        lab: LabDriver, stand_ins: dict[str, str], course: Path) -> None:
    line = replace_once(course / "step3" / "text.md", "kubectl rollout status deployment/backend1\n",
                        "kubectl rollout status deployment/backendl\n")
    proc = play_cluster(course, stand_ins)
    assert proc.returncode == 1
    assert f"step3/text.md:{line}: falló la orden «kubectl rollout status deployment/backendl»" in proc.stdout, \
        proc.stdout[-3000:]
    # The same block had set backend1 to 503 before the typo: put back as found.
    assert "kubectl set env deployment/backend1 STATUS_CODE_APP-: hecho" in proc.stdout, proc.stdout[-3000:]
    assert not any(n.endswith(":STATUS_CODE_APP") for n in as_found(lab)[0])


def test_wrong_nodeport_fails_at_its_line(lab: LabDriver, stand_ins: dict[str, str], course: Path) -> None:
    line = replace_once(course / "step3" / "text.md", "RESPUESTA=$(curl -s localhost:30000/toapp)",
                        "RESPUESTA=$(curl -s localhost:30080/toapp)")
    proc = play_cluster(course, stand_ins)
    assert proc.returncode == 1
    assert f"step3/text.md:{line}: falló la orden «RESPUESTA=$(curl -s localhost:30080/toapp)» (código 7)" in proc.stdout, \
        proc.stdout[-3000:]


def test_a_promise_the_cluster_does_not_keep_fails_at_the_marker(
        lab: LabDriver, stand_ins: dict[str, str], course: Path) -> None:
    line = replace_once(course / "step4" / "text.md", "<!-- promesa: bff=1 backend1=3 app2=9 -->",
                        "<!-- promesa: bff=1 backend1=3 app2=8 -->")
    proc = play_cluster(course, stand_ins)
    assert proc.returncode == 1
    assert re.search(rf"step4/text.md:{line}: promete bff=1 backend1=3 app2=8 pero el clúster dio "
                     r"bff=1 backend1=3 app2=9 \(request_id [0-9a-f-]{36}\)", proc.stdout), proc.stdout[-3000:]


def test_a_cluster_that_is_not_ready_is_reported_before_any_block(lab: LabDriver, stand_ins: dict[str, str]) -> None:
    lab.kubectl("apply", "-f", "-", stdin=VS_BACKEND1)
    try:
        proc = play_cluster(REPO, stand_ins)
    finally:
        lab.kubectl("delete", "-f", "-", stdin=VS_BACKEND1)
    assert proc.returncode == 1
    assert "el clúster no está listo para el curso (no se ha ejecutado ningún bloque)" in proc.stdout, proc.stdout
    assert "hay VirtualServices (backend1): el curso empieza sin ninguno" in proc.stdout
    assert "\n$ " not in proc.stdout and "━━ Introducción" not in proc.stdout
