"""El cliente del laboratorio: leer su estado (tipado) y pedirle cambios al supervisor.

    lab = LabClient(course_root)
    state = lab.state()                          # LabState (lab/cluster/state.py)
    lab.set_env("backend1", [("STATUS_CODE_APP", "503")])
    lab.apply(docs, origin="-")                  # [Applied(kind, name, "created")]

Es lo único del clúster que usan las herramientas de quien aprende (lab/ctl/), junto con el
estado y los registros (lab/cluster/logs.py). Un error del supervisor llega como LabError con su texto.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.cluster.appcmd import without_proxies
from lab.cluster.control import Applied, Deleted, Op, post
from lab.cluster.discovery import api_resource, emulated_kinds
from lab.cluster.state import LabState, running_state

# Lo que un cliente sabe sin preguntar al supervisor: los tipos del servidor de API («discovery»,
# lab/cluster/discovery.py) y el entorno de quien habla con el laboratorio (lab shell, los bloques
# del curso): sin variables de proxy, como este cliente, porque todo está en loopback.
__all__ = ["Applied", "Deleted", "LabClient", "api_resource", "emulated_kinds", "without_proxies"]


class LabClient:
    def __init__(self, course_root: Path) -> None:
        self.root = Path(course_root)

    def state(self) -> LabState:
        """La instantánea actual; LabError si el laboratorio no está en marcha."""
        return running_state(self.root)

    def set_env(self, deployment: str, changes: list[tuple[str, str | None]]) -> bool:
        """K=V (o K borrada con None) en la plantilla; True si cambió (y empieza un rollout)."""
        return bool(self._call(Op.SET_ENV, {"deployment": deployment, "changes": changes})["changed"])

    def restart(self, deployment: str) -> None:
        self._call(Op.RESTART, {"deployment": deployment})

    def apply(self, docs: list[dict[str, Any]], origin: str) -> list[Applied]:
        """Crea o cambia objetos; vuelve cuando todos los sidecars cargaron la configuración."""
        answer = self._call(Op.APPLY, {"docs": docs, "origin": origin})
        return [Applied(**item) for item in answer["applied"]]

    def delete(self, kind: str, names: list[str]) -> Deleted:
        answer = self._call(Op.DELETE, {"kind": kind, "names": names})
        return Deleted(answer["kind"], tuple(answer["deleted"]), tuple(answer["missing"]), answer["namespace"])

    def sync_logs(self) -> bool:
        """Que lo que los contenedores ya escribieron esté en sus .log (lab/cluster/capture.py)."""
        return bool(self._call(Op.SYNC_LOGS)["synced"])

    def stop(self) -> None:
        self._call(Op.STOP)

    def _call(self, op: Op, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        return post(self.state().port, op, payload)
