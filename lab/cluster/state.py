"""El estado del laboratorio: lo que el supervisor publica y lo que leen kubectl, istioctl y las pruebas.

Un contrato tipado (dataclasses inmutables) entre el supervisor, que escribe, y sus lectores:

- <curso>/.lab/state.json: la instantánea que el supervisor reescribe (de forma atómica) a cada
  cambio; `load_state()` la devuelve como `LabState`. Los lectores no tocan el JSON.
- Los cambios van al supervisor por lab/cluster/client.py (él es el único dueño de los procesos).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.cluster.procs import alive, start_time
from lab.cluster.topology import EnvVar
from lab.errors import LabError

__all__ = [
    "ApiResource", "ContainerState", "DeploymentState", "EnvVar", "LabState", "PodState", "Process",
    "VirtualServiceState", "load_stale_state", "load_state", "running_state", "write_state",
]

STATE_DIR = ".lab"
NOT_RUNNING = "El laboratorio no está en marcha: arráncalo con «lab up --detach»."
TERMINATING = "Terminating"


@dataclass(frozen=True)
class Process:
    """Un proceso anotado por PID y hora de inicio (para no matar nunca un PID reutilizado)."""

    pid: int
    started: str | None  # /proc/<pid>/stat (lab/cluster/procs.py start_time)

    @classmethod
    def of(cls, pid: int | None) -> Process | None:
        return cls(pid, start_time(pid)) if pid is not None else None


@dataclass(frozen=True)
class ContainerState:
    name: str
    ready: bool
    log: str  # .lab/logs/<pod>/<contenedor>.log (lab/cluster/logs.py la lee)
    process: Process | None = None


@dataclass(frozen=True)
class PodState:
    name: str
    deployment: str
    labels: dict[str, str]
    ip: str
    rs_hash: str  # pod-template-hash de la plantilla con la que se creó
    created: float
    phase: str  # Pending, Running, Terminating, Error, CrashLoopBackOff
    ready: bool
    containers: tuple[ContainerState, ...]  # la app (la de por defecto) e istio-proxy
    admin_port: int  # el admin de Envoy del sidecar (lo que istioctl lee)
    restarts: int = 0
    serving: bool = False  # está en los endpoints de su Service

    @property
    def live(self) -> bool:
        """No se está apagando: cuenta para READY, UP-TO-DATE y el rollout."""
        return self.phase != TERMINATING

    @property
    def app(self) -> ContainerState:
        return self.containers[0]

    def container(self, name: str) -> ContainerState | None:
        return next((c for c in self.containers if c.name == name), None)


@dataclass(frozen=True)
class DeploymentState:
    name: str
    replicas: int
    rs_hash: str  # el pod-template-hash de la plantilla actual
    created: float
    labels: dict[str, str]
    container: str
    env: tuple[EnvVar, ...]
    rolling: bool = False

    def env_value(self, name: str) -> str | None:
        return next((e.value for e in self.env if e.name == name), None)


@dataclass(frozen=True)
class VirtualServiceState:
    name: str
    hosts: tuple[str, ...]
    created: float


@dataclass(frozen=True)
class ApiResource:
    """Un tipo que el servidor de API conoce (su «discovery»); `emulated`: el laboratorio lo aplica."""

    api_version: str  # networking.istio.io/v1
    kind: str  # VirtualService
    plural: str  # virtualservices
    emulated: bool = False

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def qualified_kind(self) -> str:
        """Como lo escribe kubectl en sus mensajes: «virtualservice.networking.istio.io», «pod»."""
        return f"{self.kind.lower()}.{self.group}" if self.group else self.kind.lower()


@dataclass(frozen=True)
class LabState:
    supervisor: Process
    port: int | None  # el canal de órdenes (lab/cluster/control.py)
    phase: str  # starting, ready, stopping, failed
    error: str | None
    started: float
    ready_seconds: float | None
    course: str
    node_urls: str
    istio_configmap: dict[str, str]  # el `data` del ConfigMap istio de istio-system (clave mesh)
    deployments: tuple[DeploymentState, ...] = ()
    pods: tuple[PodState, ...] = ()
    virtual_services: tuple[VirtualServiceState, ...] = ()
    kube_proxy: Process | None = None
    launcher: Process | None = None
    versions: dict[str, int] = field(default_factory=dict)

    def deployment(self, name: str) -> DeploymentState | None:
        return next((d for d in self.deployments if d.name == name), None)

    def pod(self, name: str) -> PodState | None:
        return next((p for p in self.pods if p.name == name), None)

    def live_pods(self, deployment: str) -> list[PodState]:
        """Los pods de un Deployment que no se están apagando (el único sitio de este filtro)."""
        return [p for p in self.pods if p.deployment == deployment and p.live]

    def processes(self) -> list[Process]:
        """Todo lo que el supervisor arrancó, para limpiar si él ya no existe."""
        found = [c.process for pod in self.pods for c in pod.containers if c.process]
        return found + [p for p in (self.kube_proxy, self.launcher) if p]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> LabState:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabState:
        return cls(
            **{k: v for k, v in data.items() if k not in _NESTED},
            supervisor=Process(**data["supervisor"]),
            deployments=tuple(
                DeploymentState(**{**d, "env": tuple(EnvVar(**e) for e in d["env"])}) for d in data["deployments"]
            ),
            pods=tuple(_pod(p) for p in data["pods"]),
            virtual_services=tuple(
                VirtualServiceState(**{**v, "hosts": tuple(v["hosts"])}) for v in data["virtual_services"]
            ),
            kube_proxy=Process(**data["kube_proxy"]) if data.get("kube_proxy") else None,
            launcher=Process(**data["launcher"]) if data.get("launcher") else None,
        )


_NESTED = ("supervisor", "deployments", "pods", "virtual_services", "kube_proxy", "launcher")


def _pod(data: dict[str, Any]) -> PodState:
    containers = tuple(
        ContainerState(**{**c, "process": Process(**c["process"]) if c.get("process") else None})
        for c in data["containers"]
    )
    return PodState(**{**data, "containers": containers})


def state_dir(course_root: Path) -> Path:
    return course_root / STATE_DIR


def state_file(course_root: Path) -> Path:
    return state_dir(course_root) / "state.json"


def load_stale_state(course_root: Path) -> LabState | None:
    """La instantánea aunque el supervisor haya muerto (para limpiar lo que quedara), o None."""
    try:
        return LabState.from_json(state_file(course_root).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_state(course_root: Path) -> LabState | None:
    """La última instantánea, o None si no hay laboratorio (o su supervisor ya no vive)."""
    state = load_stale_state(course_root)
    if state is None or not alive(state.supervisor.pid, state.supervisor.started):
        return None
    return state


def running_state(course_root: Path) -> LabState:
    """La instantánea de un laboratorio en marcha; LabError con qué hacer si no lo está."""
    state = load_state(course_root)
    if state is None or state.phase not in ("ready", "starting"):
        raise LabError(NOT_RUNNING)
    return state


def write_state(course_root: Path, state: LabState) -> None:
    path = state_file(course_root)
    tmp = path.with_name(f".state.{os.getpid()}.tmp")
    tmp.write_text(state.to_json(), encoding="utf-8")
    os.replace(tmp, path)
