"""El banco de pruebas de setup.sh: un sandbox temporal con las falsificaciones de fake.sh al
principio del PATH, y lo que grabaron (cada llamada, con su número de orden de inicio y de fin).

Lo usan tests/test_setup.py, tests/test_setup_faults.py y tests/test_guards_setup.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lab.course import bundle

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "setup.sh"
FOREGROUND = REPO / "foreground.sh"
FAKE = REPO / "tests" / "setup_fakes" / "fake.sh"
FAKED = ("kubectl", "docker", "ctr", "crictl", "curl", "kind", "sleep", "date")
BASH = shutil.which("bash") or "/bin/bash"
SYSTEM_DIRS = ("/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def setup_value(name: str) -> str:
    """Una variable «NOMBRE=valor» de primer nivel de setup.sh (ISTIO_VERSION, KUBERNETES_VERSION)."""
    return re.search(rf"^{name}=(\S+)$", SETUP.read_text(), re.M).group(1)


ISTIO_VERSION = setup_value("ISTIO_VERSION")
KUBERNETES_VERSION = setup_value("KUBERNETES_VERSION")


def operator_hub(root: Path = REPO) -> str:
    """spec.hub del IstioOperator: el registro de las imágenes de Istio."""
    return yaml.safe_load((root / "apps" / "istio" / "istio-operator.yaml").read_text())["spec"]["hub"]


@dataclass
class Call:
    tool: str
    args: str
    start: int  # número de orden del inicio
    end: int  # número de orden del fin
    start_ns: int
    end_ns: int
    rc: int

    def overlaps(self, other: Call) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass
class Sandbox:
    tmp: Path
    env: dict[str, str]

    @property
    def state(self) -> Path:
        return Path(self.env["STATE_DIR"])

    @property
    def log(self) -> str:
        return Path(self.env["LOG_FILE"]).read_text()

    def path(self, var: str) -> Path:
        return Path(self.env[var])

    def run(self, *args: str, script: Path = SETUP, **extra: str) -> subprocess.CompletedProcess:
        env = {**self.env, **extra}
        return subprocess.run([BASH, str(script), *args], env=env, capture_output=True, text=True,
                              timeout=int(os.environ.get("SB_TIMEOUT", "120")), check=False)

    def foreground(self, **extra: str) -> subprocess.CompletedProcess:
        env = {**self.env, "PATH": "/usr/bin:/bin", **extra}
        return subprocess.run([BASH, str(FOREGROUND)], env=env, capture_output=True, text=True,
                              timeout=60, check=False)

    def calls(self) -> list[Call]:
        starts, calls = {}, []
        log = Path(self.env["FAKE_STATE"]) / "calls.log"
        if not log.exists():
            return []
        for line in log.read_text().splitlines():
            seq, kind, pid, ns, tool, *rest = line.split(" ", 5)
            if kind == "START":
                starts[(pid, tool)] = (int(seq), int(ns), rest[0] if rest else "")
            else:
                s_seq, s_ns, args = starts.pop((pid, tool))
                calls.append(Call(tool, args, s_seq, int(seq), s_ns, int(ns), int(rest[0])))
        assert not starts, f"llamadas sin terminar: {starts}"
        return sorted(calls, key=lambda c: c.start)

    def find(self, tool: str, fragment: str = "") -> list[Call]:
        return [c for c in self.calls() if c.tool == tool and fragment in c.args]

    def one(self, tool: str, fragment: str = "") -> Call:
        found = self.find(tool, fragment)
        assert len(found) == 1, f"{tool} {fragment!r}: {len(found)} llamadas"
        return found[0]


@pytest.fixture(name="sandbox")
def sandbox_fixture(tmp_path: Path) -> Sandbox:
    """El fixture «sandbox»: uno nuevo en tmp_path (los módulos de pruebas lo importan)."""
    return make_sandbox(tmp_path)


def checkout(tmp_path: Path) -> Path:
    """Una copia de apps/ y tools/ para usar como CURSO_ROOT (sin paquete) y poder cambiarla."""
    course = tmp_path / "checkout"
    shutil.copytree(REPO / "apps", course / "apps")
    shutil.copytree(REPO / "tools", course / "tools")
    return course


def make_sandbox(tmp_path: Path) -> Sandbox:
    """Un sandbox nuevo en tmp_path."""
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    for tool in FAKED:
        (fakebin / tool).symlink_to(FAKE)
    fake_state = tmp_path / "fake"
    fake_state.mkdir()
    # El «istioctl» del tar descargado es otra copia de la falsificación.
    archive = tmp_path / "istioctl.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tar.gettarinfo(str(FAKE), arcname="istioctl")
        info.mode = 0o755
        with FAKE.open("rb") as fh:
            tar.addfile(info, fh)
    root = tmp_path / "root"
    root.mkdir()
    (root / "curso.tar.gz").write_bytes(bundle.build_bundle(REPO))
    env = {
        "PATH": f"{fakebin}:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(root),
        "LC_ALL": "C.UTF-8",
        "CURSO_ROOT": str(root / "curso"),
        "BUNDLE": str(root / "curso.tar.gz"),
        "STATE_DIR": str(tmp_path / "var-lib-curso-setup"),
        "LOG_FILE": str(tmp_path / "var-log" / "curso-setup.log"),
        "BIN_DIR": str(tmp_path / "usr-local-bin"),
        "ISTIO_HOME": str(tmp_path / "opt-istio"),
        "ISTIO_ARCH": "amd64",
        "FAKE_STATE": str(fake_state),
        "FAKE_ISTIOCTL_ARCHIVE": str(archive),
        "FAKE_K8S_VERSION": KUBERNETES_VERSION,
    }
    return Sandbox(tmp_path, env)


def manifest_images(root: Path = REPO) -> list[str]:
    images = []
    for path in sorted((root / "apps" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Deployment":
                images += [c["image"] for c in doc["spec"]["template"]["spec"]["containers"]]
    return sorted(images)


def assert_success(sb: Sandbox, result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n--- log ---\n{sb.log}"
    assert (sb.state / "listo").is_file()
    assert not (sb.state / "fallo").exists()
    unknown = [c for c in sb.calls() if c.rc == 99]
    assert not unknown, f"llamadas que las falsificaciones no contemplan: {unknown}"


def failure(sb: Sandbox) -> dict[str, str]:
    """El marcador de fallo de setup.sh (etapa=…, mensaje=…) como diccionario."""
    return dict(line.split("=", 1) for line in (sb.state / "fallo").read_text().splitlines())


def required_commands(target: str = "containerd", mode: str = "todo") -> list[str]:
    """La lista de la comprobación previa, sacada del propio setup.sh: su función required_commands,
    ejecutada tal cual con IMAGE_TARGET (no una copia a mano que se quede atrás)."""
    function = re.search(r"^required_commands\(\) \{\n.*?^\}\n", SETUP.read_text(encoding="utf-8"), re.M | re.S)
    assert function, "setup.sh ya no tiene la función required_commands(): actualiza esta prueba"
    done = subprocess.run([BASH, "-c", f'{function[0]}\nIMAGE_TARGET="$1" required_commands "$2"', "-", target, mode],
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


def path_without(sb: Sandbox, *missing: str) -> str:
    """Un PATH con las falsificaciones y todo ejecutable del sistema salvo las órdenes `missing`."""
    fakebin, system = sb.tmp / "fakebin-sin", sb.tmp / "sistema-sin"
    fakebin.mkdir()
    system.mkdir()
    for tool in FAKED:
        if tool not in missing:
            (fakebin / tool).symlink_to(FAKE)
    for entry in (e for folder in map(Path, SYSTEM_DIRS) if folder.is_dir() for e in sorted(folder.iterdir())):
        if entry.name not in (*missing, *FAKED) and not (system / entry.name).exists() and os.access(entry, os.X_OK):
            (system / entry.name).symlink_to(entry)
    return f"{fakebin}{os.pathsep}{system}"
