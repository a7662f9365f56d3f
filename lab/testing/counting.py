"""Contar lo que causó una petición: las líneas de registro de las apps con su x-request-id.

Lo usan las pruebas y el banco de medidas (y sirve para depurar): para un id, cuántas peticiones
sirvió cada Deployment, en qué pods, con qué estado e intento.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.cluster.logs import app_lines
from lab.cluster.state import LabState


@dataclass(frozen=True)
class Hit:
    deployment: str
    pod: str
    status: int
    attempt: str


def hits(state: LabState, request_id: str) -> list[Hit]:
    """Todas las líneas de las apps (pods del estado) con ese request id."""
    return [
        Hit(pod.deployment, line.pod, line.status, line.attempt)
        for pod in state.pods
        for line in app_lines(pod.app)
        if line.request_id == request_id
    ]


def counts(state: LabState, request_id: str, deployments: tuple[str, ...]) -> tuple[int, ...]:
    """Por Deployment, en el orden pedido: p. ej. (1, 3, 9) para (bff, backend1, app2)."""
    found = hits(state, request_id)
    return tuple(sum(h.deployment == d for h in found) for d in deployments)
