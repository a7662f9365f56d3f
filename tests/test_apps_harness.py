"""Arnés para arrancar bff, backend1 y app2 como procesos uvicorn reales en 127.0.0.1.

No contiene pruebas: lo usan tests/test_apps.py y bench/bench_apps.py. Cada proceso se arranca
con la misma línea de órdenes que el CMD de apps/Dockerfile (cambiando host y puerto), desde
apps/<servicio>/ y con apps/ en PYTHONPATH, igual que el laboratorio.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APPS = REPO / "apps"
SERVICES = ("bff", "backend1", "app2")
HOST = "127.0.0.1"

# La línea de registro del contrato, campo a campo.
LOG_LINE = re.compile(
    r"pod=(?P<pod>\S+) path=(?P<path>\S+) status=(?P<status>\d{3}) "
    r"attempt=(?P<attempt>[1-9]\d*|-) request_id=(?P<request_id>\S+)"
)

# Variables del entorno de quien ejecuta las pruebas que no deben llegar a las apps.
SCRUBBED = {"STATUS_CODE_APP", "APP2_URL", "BACKEND1_URL", "UPSTREAM_TIMEOUT", "POD_NAME", "PYTHONPATH"}
PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def dockerfile_cmd() -> list[str]:
    """El CMD (forma JSON) de apps/Dockerfile."""
    for line in (APPS / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("CMD "):
            return json.loads(line[4:])
    raise AssertionError("apps/Dockerfile no tiene CMD")


def uvicorn_command(port: int) -> list[str]:
    """El CMD del Dockerfile, con 127.0.0.1 y `port` en lugar de 0.0.0.0 y 8080."""
    cmd = dockerfile_cmd()
    assert cmd[0] == "uvicorn", cmd
    cmd = [sys.executable, "-m", "uvicorn", *cmd[1:]]
    cmd[cmd.index("--host") + 1] = HOST
    cmd[cmd.index("--port") + 1] = str(port)
    return cmd


def app_env(name: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED and k.lower() not in PROXY_VARS}
    env.update(PYTHONPATH=str(APPS), POD_NAME=f"{name}-prueba")
    env.update(overrides or {})
    return env


@dataclass
class RunningApp:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def lines(self) -> list[str]:
        return self.stdout.read_text(encoding="utf-8").splitlines()

    def records(self) -> list[dict[str, str]]:
        """Las líneas de registro ya separadas en campos (falla si alguna no tiene la forma)."""
        records = []
        for line in self.lines():
            match = LOG_LINE.fullmatch(line)
            assert match, f"{self.name}: línea con forma inesperada: {line!r}"
            records.append(match.groupdict())
        return records

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_app(name: str, logs: Path, env: dict[str, str] | None = None, port: int | None = None) -> RunningApp:
    port = port or free_port()
    logs.mkdir(parents=True, exist_ok=True)
    stdout, stderr = logs / f"{name}-{port}.out", logs / f"{name}-{port}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            uvicorn_command(port), cwd=APPS / name, env=app_env(name, env),
            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
        )
    return RunningApp(name, port, process, stdout, stderr)


def healthy(app: RunningApp) -> bool:
    conn = http.client.HTTPConnection(HOST, app.port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def wait_ready(*apps: RunningApp, polls: int = 600) -> None:
    """Espera a que /healthz responda 200 en todas (como mucho `polls` intentos de 50 ms)."""
    pending = list(apps)
    for _ in range(polls):
        for app in list(pending):
            if app.process.poll() is not None:
                raise RuntimeError(f"{app.name} terminó al arrancar: {app.stderr.read_text()}")
            if healthy(app):
                pending.remove(app)
        if not pending:
            return
        time.sleep(0.05)
    raise RuntimeError(f"no arrancaron a tiempo: {[app.name for app in pending]}")


def start_chain(
    logs: Path,
    app2: dict[str, str] | None = None,
    backend1: dict[str, str] | None = None,
    bff: dict[str, str] | None = None,
) -> dict[str, RunningApp]:
    """Arranca app2, backend1 y bff encadenados (sin malla) y espera a que estén listos."""
    ports = {name: free_port() for name in SERVICES}
    apps = {
        "app2": start_app("app2", logs, app2, ports["app2"]),
        "backend1": start_app(
            "backend1", logs, {"APP2_URL": f"http://{HOST}:{ports['app2']}", **(backend1 or {})}, ports["backend1"]
        ),
        "bff": start_app(
            "bff", logs, {"BACKEND1_URL": f"http://{HOST}:{ports['backend1']}", **(bff or {})}, ports["bff"]
        ),
    }
    try:
        wait_ready(*apps.values())
    except BaseException:
        for app in apps.values():
            app.stop()
        raise
    return apps
