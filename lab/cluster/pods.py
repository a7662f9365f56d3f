"""Un pod del laboratorio: su app (uvicorn) y su sidecar (Envoy), cada uno un proceso.

Contenedores como en Kubernetes con Istio: el de la app (nombre del manifiesto, el de por
defecto en `kubectl logs`) e `istio-proxy`. Cada uno escribe su salida en una FIFO que lee el
supervisor (lab/cluster/capture.py, como el runtime de un nodo): queda en .lab/logs/<pod>/<contenedor>.log,
con la hora de llegada de cada línea en <contenedor>.times; es lo que lee `kubectl logs`.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.cluster.appcmd import app_argv, app_env
from lab.cluster.capture import OutputCollector
from lab.cluster.envoyconfig import OUTBOUND_PORT, Workload, sidecar_bootstrap, write_json
from lab.cluster.procs import Spawner
from lab.cluster.topology import EnvVar, Probe, Topology
from lab.constants import ENVOY_ADMIN_PORT, SIDECAR_CONTAINER

ENVOY_FLAGS = [
    "--concurrency", "1",               # un hilo de trabajo: siete Envoys caben en 2 núcleos
    "--disable-hot-restart",            # como pilot-agent: sin memoria compartida ni base-id
    "--log-level", "warn",
    "--file-flush-interval-msec", "50",  # registros de acceso visibles enseguida (Istio: 1000)
    "--drain-time-s", "1",
]


@dataclass
class Runtime:
    """Lo que hace falta para arrancar pods: rutas, binarios y el modelo de la malla."""

    course_root: Path
    state_dir: Path
    envoy: str
    cmd: list[str]
    topology: Topology
    spawner: Spawner
    # (argv del CMD, log, entorno, carpeta) → proceso: el cigoto (lab/cluster/zygote.py) o un exec.
    launch_app: Callable[[list[str], Path, dict[str, str], Path], Any]
    # La salida de los contenedores (FIFO → .log + .times); sin él, cada proceso escribe en su .log.
    output: OutputCollector | None = None

    @property
    def xds_dir(self) -> Path:
        return self.state_dir / "xds"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    def container_output(self, log: Path) -> Path:
        """Dónde debe escribir un contenedor cuya salida se registra en `log`."""
        return self.output.pipe(log) if self.output is not None else log


@dataclass
class Pod:
    """Lo que el nodo sabe de un pod que ejecuta: sus procesos y lo que observan las sondas."""

    name: str
    namespace: str
    uid: str
    workload: Workload  # su app, su puerto y su Service (el sidecar lo necesita)
    container: str  # el contenedor de la app
    app_dir: str  # apps/<app_dir>: el código de la imagen
    ip: str
    env: tuple[EnvVar, ...]
    readiness: Probe  # la readinessProbe del contenedor (o tcpSocket a su puerto)
    deployment: str = ""  # el Deployment del que viene (o su etiqueta app): para contar peticiones
    created: float = field(default_factory=time.time)
    app: subprocess.Popen | None = None
    proxy: subprocess.Popen | None = None
    app_ready: bool = False
    proxy_ready: bool = False
    stopping: bool = False

    def log_path(self, logs_dir: Path, container: str) -> Path:
        return logs_dir / self.name / f"{container}.log"

    def processes(self) -> list[subprocess.Popen]:
        return [p for p in (self.app, self.proxy) if p is not None]


def start_sidecar(runtime: Runtime, pod: Pod, mesh: dict[str, Any]) -> None:
    (runtime.logs_dir / pod.name).mkdir(parents=True, exist_ok=True)
    bootstrap = runtime.xds_dir / f"{pod.name}.json"
    write_json(bootstrap, sidecar_bootstrap(pod.name, pod.ip, pod.workload, runtime.topology, mesh, runtime.xds_dir))
    pod.proxy = runtime.spawner.spawn(
        [runtime.envoy, "-c", str(bootstrap), *ENVOY_FLAGS],
        runtime.container_output(pod.log_path(runtime.logs_dir, SIDECAR_CONTAINER)),
        env={"PATH": "/usr/bin:/bin"},
        cwd=runtime.state_dir,
    )


def start_app(runtime: Runtime, pod: Pod) -> None:
    (runtime.logs_dir / pod.name).mkdir(parents=True, exist_ok=True)
    pod.app = runtime.launch_app(
        app_argv(runtime.cmd, pod.ip),
        runtime.container_output(pod.log_path(runtime.logs_dir, pod.container)),
        app_env(runtime.course_root, pod.name, pod.ip, pod.env, OUTBOUND_PORT),
        runtime.course_root / "apps" / pod.app_dir,
    )


def http_ok(ip: str, port: int, path: str, timeout: float = 0.5) -> bool:
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def tcp_ok(ip: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


def probe(pod: Pod, app: bool = True) -> None:
    """Sondas de preparación: la readinessProbe de la app (manifiesto) y /ready del admin de Envoy."""
    if app and not pod.app_ready:
        check = pod.readiness
        pod.app_ready = http_ok(pod.ip, check.port, check.path) if check.path else tcp_ok(pod.ip, check.port)
    if not pod.proxy_ready:
        pod.proxy_ready = http_ok(pod.ip, ENVOY_ADMIN_PORT, "/ready")


def exited(pod: Pod) -> tuple[str, int] | None:
    """(contenedor, código) del primer proceso del pod que haya terminado, o None."""
    for name, proc in ((pod.container, pod.app), (SIDECAR_CONTAINER, pod.proxy)):
        if proc is not None and proc.poll() is not None:
            return name, proc.returncode
    return None


def crash_message(runtime: Runtime, pod: Pod, container: str, code: int) -> str:
    log = pod.log_path(runtime.logs_dir, container)
    if runtime.output is not None:
        runtime.output.wait(log, timeout=2.0)  # que llegue hasta la última línea del proceso
    tail = tail_lines(log, 8)
    text = "\n".join(f"    {line}" for line in tail) or "    (sin salida)"
    return (
        f"El contenedor {container} del pod {pod.name} terminó al arrancar (código {code}). "
        f"Sus últimas líneas:\n{text}"
    )


def tail_lines(path: Path, count: int) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-count:]
    except OSError:
        return []
