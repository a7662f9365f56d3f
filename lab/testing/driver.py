"""Manejar un laboratorio desde Python (pruebas, banco de medidas): la CLI real, en subprocesos.

    lab = LabDriver(course_root)
    lab.up()
    status, body = lab.curl()                      # GET /toapp al primer NodePort (bff), sin proxies
    lab.counts(body["request_id"])                 # (1, 3, 3)
    lab.set_env("backend1", STATUS_CODE_APP="503")  # set env + rollout status
    lab.down()
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lab.cluster.appcmd import without_proxies
from lab.cluster.client import LabClient
from lab.cluster.state import LabState, load_state
from lab.cluster.topology import load_topology
from lab.constants import NODE_PORT_IP
from lab.testing.counting import counts, hits


class LabDriver:
    def __init__(self, course_root: Path, env: dict[str, str] | None = None) -> None:
        self.root = Path(course_root).resolve()
        self.env = without_proxies(env if env is not None else dict(os.environ))

    def run(self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "lab", "--course", str(self.root), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"lab {' '.join(args)} → {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def up(self) -> subprocess.CompletedProcess:
        return self.run("up", "--detach")

    def down(self) -> subprocess.CompletedProcess:
        return self.run("down")

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        return self.run("kubectl", *args, check=check, stdin=stdin)

    def state(self) -> LabState:
        state = load_state(self.root)
        assert state is not None, "el laboratorio no está en marcha"
        return state

    @property
    def chain(self) -> tuple[str, ...]:
        """Los Deployments en el orden de la cadena de llamadas (bff, backend1, app2), de los manifiestos."""
        return tuple(d.name for d in load_topology(self.root).deployments)

    def set_env(self, deployment: str, **changes: str | None) -> None:
        """kubectl set env (K=V, o K- con None) y espera al rollout, como haría quien aprende."""
        items = [f"{k}-" if v is None else f"{k}={v}" for k, v in changes.items()]
        self.kubectl("set", "env", f"deployment/{deployment}", *items)
        self.kubectl("rollout", "status", f"deployment/{deployment}", "--timeout=120s")

    def wait_terminated(self, timeout: float = 30) -> None:
        """Hasta que no quede ningún pod en Terminating (tras un rollout, los viejos drenan unos
        segundos, como en un clúster): `kubectl logs -l` justo entonces puede dar NotFound."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = json.loads(self.kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
            if not any(p["metadata"].get("deletionTimestamp") for p in listed):
                return
            time.sleep(0.2)
        raise AssertionError(f"quedan pods en Terminating tras {timeout:.0f} s")

    def current_env(self, deployment: str) -> dict[str, str | None]:
        """El entorno de la plantilla del Deployment, leído por el servidor de API (kubectl real)."""
        found = json.loads(self.kubectl("get", "deployment", deployment, "-o", "json").stdout)
        container = found["spec"]["template"]["spec"]["containers"][0]
        return {e["name"]: e.get("value") for e in container.get("env") or []}

    def entry(self) -> tuple[str, int]:
        """La entrada del curso: el primer NodePort de los manifiestos (127.0.0.1:30000 → bff)."""
        node_ports = load_topology(self.root).node_ports()
        assert node_ports, "los manifiestos no tienen ningún Service NodePort"
        return NODE_PORT_IP, node_ports[0][0]

    def curl(self, path: str = "/toapp", timeout: float = 30) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(*self.entry(), timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode(errors="replace")

    def sync_logs(self) -> None:
        """Que lo que las apps ya escribieron esté en los .log (la respuesta del curl puede adelantarse)."""
        assert LabClient(self.root).sync_logs(), "el lector de registros del supervisor no dio abasto"

    def counts(self, request_id: str) -> tuple[int, ...]:
        self.sync_logs()
        return counts(self.state(), request_id, self.chain)

    def hits(self, request_id: str) -> list:
        self.sync_logs()
        return hits(self.state(), request_id)
