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
from lab.cluster.envoyconfig import ADMIN_PORT, OUTBOUND_PORT, sidecar_bootstrap, write_json
from lab.cluster.procs import Spawner
from lab.cluster.state import ContainerState, PodState, Process
from lab.cluster.topology import Deployment, EnvVar, Probe, Topology
from lab.errors import LabError

PROXY_CONTAINER = "istio-proxy"
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
    name: str
    deployment: str
    container: str
    ip: str
    rs_hash: str
    env: tuple[EnvVar, ...]
    labels: dict[str, str]
    readiness: Probe  # la readinessProbe de la plantilla (puerto y ruta del manifiesto)
    created: float = field(default_factory=time.time)
    app: subprocess.Popen | None = None
    proxy: subprocess.Popen | None = None
    app_ready: bool = False
    proxy_ready: bool = False
    phase: str = "Pending"  # Pending, Running, Terminating, Error, CrashLoopBackOff
    restarts: int = 0
    serving: bool = False  # está en los endpoints del Service

    @property
    def ready(self) -> bool:
        return self.phase == "Running" and self.app_ready and self.proxy_ready

    def log_path(self, logs_dir: Path, container: str) -> Path:
        return logs_dir / self.name / f"{container}.log"

    def processes(self) -> list[subprocess.Popen]:
        return [p for p in (self.app, self.proxy) if p is not None]

    def to_state(self, logs_dir: Path) -> PodState:
        return PodState(
            name=self.name,
            deployment=self.deployment,
            labels=self.labels,
            ip=self.ip,
            rs_hash=self.rs_hash,
            created=self.created,
            phase=self.phase,
            ready=self.ready,
            containers=tuple(
                ContainerState(
                    name=name,
                    ready=self.phase == "Running" and ready,
                    log=str(self.log_path(logs_dir, name)),
                    process=Process.of(proc.pid if proc else None),
                )
                for name, proc, ready in (
                    (self.container, self.app, self.app_ready),
                    (PROXY_CONTAINER, self.proxy, self.proxy_ready),
                )
            ),
            admin_port=ADMIN_PORT,
            restarts=self.restarts,
            serving=self.serving,
        )


def start_pod(runtime: Runtime, pod: Pod, mesh: dict[str, Any]) -> None:
    """Arranca el sidecar y la app del pod (sin esperar a que estén listos)."""
    start_sidecar(runtime, pod, mesh)
    start_app(runtime, pod)


def start_sidecar(runtime: Runtime, pod: Pod, mesh: dict[str, Any]) -> None:
    deployment = runtime.topology.deployment(pod.deployment)
    (runtime.logs_dir / pod.name).mkdir(parents=True, exist_ok=True)
    bootstrap = runtime.xds_dir / f"{pod.name}.json"
    write_json(bootstrap, sidecar_bootstrap(pod.name, pod.ip, deployment, runtime.topology, mesh, runtime.xds_dir))
    pod.proxy = runtime.spawner.spawn(
        [runtime.envoy, "-c", str(bootstrap), *ENVOY_FLAGS],
        runtime.container_output(pod.log_path(runtime.logs_dir, PROXY_CONTAINER)),
        env={"PATH": "/usr/bin:/bin"},
        cwd=runtime.state_dir,
    )
    pod.phase = "Running"


def start_app(runtime: Runtime, pod: Pod) -> None:
    deployment = runtime.topology.deployment(pod.deployment)
    (runtime.logs_dir / pod.name).mkdir(parents=True, exist_ok=True)
    pod.app = runtime.launch_app(
        app_argv(runtime.cmd, pod.ip),
        runtime.container_output(pod.log_path(runtime.logs_dir, pod.container)),
        app_env(runtime.course_root, pod.name, pod.ip, pod.env, OUTBOUND_PORT),
        runtime.course_root / "apps" / _app_dir(deployment),
    )
    pod.phase = "Running"


def _app_dir(deployment: Deployment) -> str:
    return deployment.container


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


def probe(pod: Pod) -> None:
    """Sondas de preparación: la readinessProbe de la app (manifiesto) y /ready del admin de Envoy."""
    if not pod.app_ready:
        check = pod.readiness
        pod.app_ready = http_ok(pod.ip, check.port, check.path) if check.path else tcp_ok(pod.ip, check.port)
    if not pod.proxy_ready:
        pod.proxy_ready = http_ok(pod.ip, ADMIN_PORT, "/ready")


def exited(pod: Pod) -> tuple[str, int] | None:
    """(contenedor, código) del primer proceso del pod que haya terminado, o None."""
    for name, proc in ((pod.container, pod.app), (PROXY_CONTAINER, pod.proxy)):
        if proc is not None and proc.poll() is not None:
            return name, proc.returncode
    return None


def wait_ready(runtime: Runtime, pods: list[Pod], timeout: float, stopping: Any = None) -> None:
    """Espera a que todos los pods estén listos; LabError claro si uno muere o se agota el tiempo."""
    deadline = time.monotonic() + timeout
    while True:
        pending = [p for p in pods if not (p.app_ready and p.proxy_ready)]
        for pod in pending:
            dead = exited(pod)
            if dead:
                raise LabError(crash_message(runtime, pod, *dead))
            probe(pod)
        if all(p.app_ready and p.proxy_ready for p in pods):
            return
        if stopping is not None and stopping.is_set():
            raise LabError("Parada pedida mientras arrancaban los pods.")
        if time.monotonic() > deadline:
            names = ", ".join(p.name for p in pods if not (p.app_ready and p.proxy_ready))
            raise LabError(f"Los pods {names} no estuvieron listos en {timeout:.0f} s (mira .lab/logs/).")
        time.sleep(0.02)


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
