"""Pod IPs on loopback, as a CNI's IPAM would hand them out (lab/README «Red»).

A pod that a course Service selects gets `127.0.<index of that Service>.<n>` (bff 127.0.1.x,
backend1 127.0.2.x, app2 127.0.3.x: the call chain, lab/cluster/topology.py), so a learner's
Deployment labelled `app: backend1` lands next to backend1's pods; any other pod gets
`127.0.<services + 1>.<n>`. n goes from FIRST_HOST to LAST_HOST and round again (a new IP after each
rollout, like on Kubernetes), skipping addresses in use.
"""

from __future__ import annotations

import threading

from lab.cluster.topology import FIRST_HOST, LAST_HOST, Service, Topology
from lab.errors import LabError


class Ipam:
    def __init__(self, topology: Topology) -> None:
        self.spare = max((s.index for s in topology.services), default=0) + 1
        self.next: dict[int, int] = {}
        self.used: set[str] = set()
        self.lock = threading.Lock()

    def allocate(self, service: Service | None) -> str:
        index = service.index if service else self.spare
        with self.lock:
            for _ in range(LAST_HOST - FIRST_HOST + 1):
                host = self.next.get(index, FIRST_HOST)
                self.next[index] = host + 1 if host < LAST_HOST else FIRST_HOST
                ip = f"127.0.{index}.{host}"
                if ip not in self.used:
                    self.used.add(ip)
                    return ip
        raise LabError(f"No queda ninguna IP libre en 127.0.{index}.{FIRST_HOST}–{LAST_HOST} para un pod nuevo.")

    def release(self, ip: str) -> None:
        with self.lock:
            self.used.discard(ip)
