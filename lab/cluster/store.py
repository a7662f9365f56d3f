"""Lo que guarda el servidor de API del laboratorio y cambian `kubectl apply/delete/set env`.

- `VirtualServices`: las VirtualService aplicadas, con su hora de creación; `apply` dice, como el
  servidor a kubectl, si cada una quedó created, configured o unchanged.
- `changed_env`: la plantilla de un Deployment tras `kubectl set env K=V K2-`.
"""

from __future__ import annotations

import json
import time

from lab.cluster.meshpolicy import VirtualService
from lab.cluster.topology import EnvVar


class VirtualServices:
    def __init__(self) -> None:
        self.items: dict[str, tuple[VirtualService, float]] = {}

    def apply(self, vs: VirtualService) -> str:
        """Guarda `vs` y devuelve lo que pasó: created, configured o unchanged."""
        old = self.items.get(vs.name)
        if old is None:
            self.items[vs.name] = (vs, time.time())
            return "created"
        if _spec_of(old[0]) == _spec_of(vs):
            return "unchanged"
        self.items[vs.name] = (vs, old[1])
        return "configured"

    def delete(self, name: str) -> bool:
        return self.items.pop(name, None) is not None

    def current(self) -> dict[str, VirtualService]:
        return {name: vs for name, (vs, _) in self.items.items()}


def _spec_of(vs: VirtualService) -> str:
    return json.dumps(vs.doc.get("spec"), sort_keys=True)


def changed_env(env: tuple[EnvVar, ...], changes: list[tuple[str, str | None]]) -> tuple[EnvVar, ...]:
    """K=V cambia o añade (al final, como kubectl); K- (None) la quita."""
    result = list(env)
    for key, value in changes:
        if value is None:
            result = [e for e in result if e.name != key]
        elif any(e.name == key for e in result):
            result = [EnvVar(key, value=value) if e.name == key else e for e in result]
        else:
            result.append(EnvVar(key, value=value))
    return tuple(result)
