"""tools/sandbox-play, the instructor's command in the Killercoda sandbox, run for real with recording
fakes of python3, git and apt-get at the front of PATH (no network, no root, no cluster here).

What it installs (a venv under CURSO_ROOT, the repository's pinned requirements, the player), what it
runs (`lab play --cluster` on a clone of the repository that it deletes afterwards), what it prints
(setup's own stage timings), and what it says, without installing anything, when setup failed or is
still running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_setup_shellcheck import shellcheck

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tools" / "sandbox-play"
URL = "https://github.com/cuenta/curso"

FAKE_PYTHON = r"""#!/bin/bash
# python3 falso: -c (la versión) sale con $FAKE_PY_RC; -m venv DIR crea un venv falso (o falla si
# $FAKE_NO_VENV existe y apt-get no instaló python3-venv).
echo "python3 $*" >>"$FAKE_LOG"
case "$1" in
  -c) exit "${FAKE_PY_RC:-0}" ;;
  -m)
    [ "$2" = venv ] || exit 9
    if [ -n "${FAKE_NO_VENV:-}" ] && [ ! -f "$FAKE_DIR/apt-python3-venv" ]; then
      mkdir -p "$3"; echo "The virtual environment was not created successfully" >&2; exit 1
    fi
    mkdir -p "$3/bin"
    printf '#!/bin/bash\necho "venv-python $*" >>"$FAKE_LOG"\n' >"$3/bin/python"
    printf '#!/bin/bash\necho "lab $*" >>"$FAKE_LOG"\necho "lab play: salida del reproductor"\nexit "${FAKE_LAB_RC:-0}"\n' >"$3/bin/lab"
    chmod +x "$3/bin/python" "$3/bin/lab" ;;
esac
"""

FAKE_GIT = r"""#!/bin/bash
# git falso: init crea la carpeta; fetch deja un curso con apps/requirements.txt; rev-parse da un commit.
echo "git $*" >>"$FAKE_LOG"
if [ "$1" = init ]; then mkdir -p "${!#}"; exit 0; fi
[ "$1" = -C ] || exit 9
dir=$2; shift 2
case "$1" in
  fetch) mkdir -p "$dir/apps"; echo "fastapi==0 --hash=sha256:00" >"$dir/apps/requirements.txt"; echo "$dir" >"$FAKE_DIR/src" ;;
  checkout) ;;
  rev-parse) echo abc1234 ;;
  *) exit 9 ;;
esac
"""

FAKE_APT = r"""#!/bin/bash
echo "apt-get $*" >>"$FAKE_LOG"
touch "$FAKE_DIR/apt-python3-venv"
"""

SETUP_LOG = """2026-12-01T10:00:00Z +0s [archivos] ▸ Archivos del curso…
2026-12-01T10:00:02Z +2s [archivos] ✔ Archivos: listos (2 s)
2026-12-01T10:00:02Z +2s [istio] docker build: salida sin etapas
2026-12-01T10:00:30Z +30s [istio-imagenes]   ✔ docker.io/istio/pilot:1.31.1: vía docker (28 s)
2026-12-01T10:00:50Z +50s [istio-imagenes]   ⚠ docker.io/istio/proxyv2:1.31.1: no se pudo descargar (20 s)
2026-12-01T10:01:35Z +95s [pods] ✔ Pods: 7 con sidecar (20 s)
"""


class Sandbox:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.fakes = tmp / "fakes"
        self.state = tmp / "var-lib-curso-setup"
        self.root = tmp / "root-curso"
        self.log = tmp / "curso-setup.log"
        self.calls = tmp / "calls.log"
        for folder in (self.fakes, self.state, self.root):
            folder.mkdir()
        for name, text in (("python3", FAKE_PYTHON), ("git", FAKE_GIT), ("apt-get", FAKE_APT)):
            (self.fakes / name).write_text(text, encoding="utf-8")
            (self.fakes / name).chmod(0o755)
        self.log.write_text(SETUP_LOG, encoding="utf-8")
        self.extra: dict[str, str] = {}

    def ready(self) -> Sandbox:
        (self.state / "inicio").write_text("1000\n")
        (self.state / "primer-plano.inicio").write_text("1015\n")
        (self.state / "listo").write_text("1095\n")
        (self.state / "progreso").write_text("+0s Archivos del curso…\n+95s ✔ Listo\n")
        return self

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": f"{self.fakes}:/usr/bin:/bin", "HOME": str(self.tmp), "LANG": "C.UTF-8",
            "CURSO_ROOT": str(self.root), "STATE_DIR": str(self.state), "LOG_FILE": str(self.log),
            "FAKE_LOG": str(self.calls), "FAKE_DIR": str(self.tmp), "TMPDIR": str(self.tmp), **self.extra,
        }
        return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True,
                              timeout=60, check=False)

    @property
    def recorded(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    @property
    def clone(self) -> str:
        return (self.tmp / "src").read_text().strip()


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


def test_it_installs_the_player_plays_the_course_and_prints_setups_timings(sandbox: Sandbox) -> None:
    proc = sandbox.ready().run(URL, "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    venv = sandbox.root / ".venv"
    src = sandbox.clone
    assert sandbox.recorded == [
        "python3 -c import sys; sys.exit(sys.version_info < (3, 11))",
        f"python3 -m venv {venv}",
        f"git init -q {src}",
        f"git -C {src} fetch -q --depth 1 {URL} main",
        f"git -C {src} checkout -q FETCH_HEAD",
        f"git -C {src} rev-parse --short HEAD",
        f"venv-python -m pip install --quiet --disable-pip-version-check --require-hashes -r {src}/apps/requirements.txt",
        f"venv-python -m pip install --quiet --disable-pip-version-check {src}",
        f"lab play --cluster --course {src}",
    ]
    assert not Path(src).exists()  # the clone was temporary; the venv stays, under CURSO_ROOT
    assert {p.name for p in sandbox.root.iterdir()} == {".venv"}
    out = proc.stdout
    assert "lab play: salida del reproductor" in out
    assert "Total, de inicio a listo: 95 s\nDesde que apareció la terminal: 80 s\n" in out
    assert "[archivos] ▸ Archivos del curso…" in out and "[pods] ✔ Pods: 7 con sidecar (20 s)" in out
    # Cada imagen de Istio, con el camino que la sirvió (o el aviso) y su duración.
    assert "✔ docker.io/istio/pilot:1.31.1: vía docker (28 s)" in out
    assert "⚠ docker.io/istio/proxyv2:1.31.1: no se pudo descargar" in out
    assert "docker build: salida sin etapas" not in out  # only the stage lines
    assert out.index("salida del reproductor") < out.index("Tiempos de la preparación")


def test_a_second_run_reuses_the_venv_and_a_failing_course_fails(sandbox: Sandbox) -> None:
    assert sandbox.ready().run(URL).returncode == 0
    sandbox.calls.unlink()
    sandbox.extra["FAKE_LAB_RC"] = "1"
    proc = sandbox.run(URL)
    assert proc.returncode == 1
    assert not any(c.startswith("python3 -m venv") for c in sandbox.recorded)
    assert any(c.endswith(f"fetch -q --depth 1 {URL} HEAD") for c in sandbox.recorded)  # default: HEAD
    assert "Tiempos de la preparación" in proc.stdout  # the timings also after a failure


def test_without_the_venv_module_it_installs_python3_venv(sandbox: Sandbox) -> None:
    sandbox.extra["FAKE_NO_VENV"] = "1"
    proc = sandbox.ready().run(URL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    venv = sandbox.root / ".venv"
    calls = sandbox.recorded
    # apt-get update antes del install: en una imagen recién creada los índices pueden no tenerlo.
    assert calls[1:5] == [f"python3 -m venv {venv}", "apt-get update -qq", "apt-get install -y -qq python3-venv",
                          f"python3 -m venv {venv}"]
    assert "apt-get install python3-venv" in proc.stdout


def test_when_setup_failed_it_says_why_and_installs_nothing(sandbox: Sandbox) -> None:
    (sandbox.state / "fallo").write_text("etapa=istio\ntitulo=Istio\nmensaje=istiod no arrancó en 300 s\n")
    proc = sandbox.run(URL)
    assert proc.returncode == 1
    assert "La preparación del sandbox falló" in proc.stdout
    assert "  etapa=istio\n  titulo=Istio\n  mensaje=istiod no arrancó en 300 s\n" in proc.stdout
    assert "  2026-12-01T10:01:35Z +95s [pods]" in proc.stdout  # the end of setup's log
    assert f"bash {sandbox.root}/setup.sh" in proc.stdout
    assert sandbox.recorded == []


def test_while_setup_is_running_it_says_where_it_is_and_installs_nothing(sandbox: Sandbox) -> None:
    (sandbox.state / "progreso").write_text("+0s Archivos del curso…\n+40s ▸ Instalando Istio…\n")
    proc = sandbox.run(URL)
    assert proc.returncode == 2
    assert "La preparación todavía no ha terminado. Va por: +40s ▸ Instalando Istio…" in proc.stdout
    assert "«listo»" in proc.stdout
    assert sandbox.recorded == []
    (sandbox.state / "progreso").unlink()
    assert "todavía no ha empezado" in sandbox.run(URL).stdout


def test_without_a_repository_it_shows_the_usage(sandbox: Sandbox) -> None:
    proc = sandbox.ready().run()
    assert proc.returncode == 2
    assert "uso: sandbox-play URL_DEL_REPOSITORIO" in proc.stderr
    assert sandbox.recorded == []


def test_an_old_python_is_refused(sandbox: Sandbox) -> None:
    sandbox.extra["FAKE_PY_RC"] = "1"
    proc = sandbox.ready().run(URL)
    assert proc.returncode == 1 and "Python 3.11 o posterior" in proc.stderr
    assert not (sandbox.root / ".venv").exists()


def test_shellcheck_clean() -> None:
    proc = subprocess.run([shellcheck(), "--format=gcc", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    assert os.access(SCRIPT, os.X_OK) and shutil.which("bash")
