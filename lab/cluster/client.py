"""El cliente del supervisor para lo que no es de Kubernetes (las pruebas y `lab down`).

    lab = LabClient(course_root)
    state = lab.state()      # LabState (lab/cluster/state.py): fase, puertos, procesos
    lab.sync_logs()          # lo escrito por los contenedores, ya en sus .log

Los objetos (pods, Deployments, VirtualServices) se leen y cambian por el servidor de API, con kubectl.
"""

from __future__ import annotations

from pathlib import Path

from lab.cluster.control import Op, post
from lab.cluster.state import LabState, running_state


class LabClient:
    def __init__(self, course_root: Path) -> None:
        self.root = Path(course_root)

    def state(self) -> LabState:
        """La instantánea actual; LabError si el laboratorio no está en marcha."""
        return running_state(self.root)

    def sync_logs(self) -> bool:
        """Que lo que los contenedores ya escribieron esté en sus .log (lab/cluster/capture.py)."""
        return bool(post(self.state().port, Op.SYNC_LOGS)["synced"])

    def stop(self) -> None:
        post(self.state().port, Op.STOP)
