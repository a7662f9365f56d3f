"""Contar lo que causó una petición: las líneas de registro de las apps con su x-request-id.

Lo usan las pruebas y el banco de medidas (y sirve para depurar): para un id, cuántas peticiones
sirvió cada Deployment, en qué pods, con qué estado e intento.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.cluster.logs import read_lines

LINE = re.compile(r"pod=(\S+) path=(\S+) status=(\d+) attempt=(\S+) request_id=(\S+)")


@dataclass(frozen=True)
class Hit:
    deployment: str
    pod: str
    status: int
    attempt: str


def hits(state: dict[str, Any], request_id: str) -> list[Hit]:
    """Todas las líneas de las apps (pods vivos) con ese request id."""
    found = []
    for pod in state["pods"]:
        app = pod["containers"][0]
        for line in read_lines(Path(app["log"]), -1):
            match = LINE.fullmatch(line.strip())
            if match and match.group(5) == request_id:
                found.append(Hit(pod["deployment"], match.group(1), int(match.group(3)), match.group(4)))
    return found


def counts(state: dict[str, Any], request_id: str, deployments: tuple[str, ...]) -> tuple[int, ...]:
    """(bff, backend1, app2), p. ej. (1, 3, 9)."""
    found = hits(state, request_id)
    return tuple(sum(h.deployment == d for h in found) for d in deployments)
