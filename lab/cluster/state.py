"""Los hechos del ciclo de vida del laboratorio: lo que el supervisor publica en .lab/state.json.

Solo lo que hace falta fuera del supervisor: su PID, la fase, el puerto del servidor de API (el
kubeconfig lo repite), el del canal de órdenes (lab/cluster/control.py: parar, volcar registros) y
los procesos que arrancó (para que `lab down` limpie aunque el supervisor haya muerto), con el
registro de cada contenedor (para contar peticiones en las pruebas). Lo demás —Deployments, pods,
VirtualServices— está en el servidor de API: lo ven kubectl y quien lo pregunte.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lab.cluster.procs import alive, start_time
from lab.constants import NOT_RUNNING, STATE_DIR
from lab.errors import LabError


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
    log: str  # .lab/logs/<pod>/<contenedor>.log (lab/cluster/logs.py la lee)
    process: Process | None = None


@dataclass(frozen=True)
class PodState:
    name: str
    namespace: str
    deployment: str  # el Deployment del que viene (o su etiqueta app)
    ip: str
    containers: tuple[ContainerState, ...]  # la app (la primera) e istio-proxy
    terminating: bool = False  # borrado: parando sus procesos

    @property
    def app(self) -> ContainerState:
        return self.containers[0]


@dataclass(frozen=True)
class LabState:
    supervisor: Process
    port: int | None  # el canal de órdenes (lab/cluster/control.py)
    api_port: int | None  # el servidor de API (kubeconfig)
    phase: str  # starting, ready, stopping, failed
    error: str | None
    started: float
    ready_seconds: float | None
    course: str
    node_urls: str
    kubeconfig: str | None = None
    pods: tuple[PodState, ...] = ()
    kube_proxy: Process | None = None
    launcher: Process | None = None

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
            pods=tuple(_pod(p) for p in data["pods"]),
            kube_proxy=Process(**data["kube_proxy"]) if data.get("kube_proxy") else None,
            launcher=Process(**data["launcher"]) if data.get("launcher") else None,
        )


_NESTED = ("supervisor", "pods", "kube_proxy", "launcher")


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
