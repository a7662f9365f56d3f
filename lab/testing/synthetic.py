"""Un laboratorio de mentira para probar kubectl/istioctl deprisa: un LabState escrito a mano, con
registros de verdad en disco, y un cliente que lo sirve sin supervisor.

    lab = SyntheticLab(tmp_path, now=1_000_000.0)
    pod = lab.pod("backend1", "7d9f8c6b5d", "4xk2p", lines=["pod=... status=503 ..."])
    client = lab.client()                        # state() devuelve lab.state(); set_env() lo anota
    kubectl_run(client, ["logs", "-l", "app=backend1"])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.cluster.capture import format_stamp, times_path
from lab.cluster.control import Applied, Deleted
from lab.cluster.state import ContainerState, DeploymentState, LabState, PodState, Process, VirtualServiceState
from lab.cluster.topology import EnvVar

PROXY = "istio-proxy"


@dataclass
class SyntheticLab:
    root: Path
    now: float
    pods: list[PodState] = field(default_factory=list)
    deployments: list[DeploymentState] = field(default_factory=list)
    virtual_services: list[VirtualServiceState] = field(default_factory=list)
    mesh: str = "accessLogFile: /dev/stdout"

    def deployment(self, name: str, replicas: int, rs_hash: str, age: float = 600.0, **env: str) -> DeploymentState:
        item = DeploymentState(
            name, replicas, rs_hash, self.now - age, {"app": name}, name,
            tuple(EnvVar(k, value=v) for k, v in env.items()),
        )
        self.deployments.append(item)
        return item

    def pod(
        self, deployment: str, rs_hash: str, suffix: str, *, age: float = 60.0, phase: str = "Running",
        ready: bool = True, lines: list[str] | None = None, proxy_lines: list[str] | None = None,
    ) -> PodState:
        """Un pod con su app y su sidecar; `lines` (y `proxy_lines`) son sus registros, una hora por línea."""
        name = f"{deployment}-{rs_hash}-{suffix}"
        containers = []
        for container, text in ((deployment, lines or []), (PROXY, proxy_lines or [])):
            log = self.root / "logs" / name / f"{container}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("".join(f"{line}\n" for line in text), encoding="utf-8")
            start = int((self.now - age) * 1e9)
            times_path(log).write_bytes(b"".join(f"{format_stamp(start + i * 1000)}\n".encode() for i in range(len(text))))
            containers.append(ContainerState(container, ready and phase == "Running", str(log), Process(1, None)))
        pod = PodState(
            name, deployment, {"app": deployment, "pod-template-hash": rs_hash}, f"10.244.0.{len(self.pods) + 10}",
            rs_hash, self.now - age, phase, ready and phase == "Running", tuple(containers), admin_port=15000,
        )
        self.pods.append(pod)
        return pod

    def state(self) -> LabState:
        return LabState(
            supervisor=Process(1, None), port=None, phase="ready", error=None, started=self.now - 900,
            ready_seconds=2.0, course=str(self.root), node_urls="bff: http://127.0.0.1:30000",
            istio_configmap={"mesh": self.mesh}, deployments=tuple(self.deployments), pods=tuple(self.pods),
            virtual_services=tuple(self.virtual_services),
        )

    def client(self, states: Iterator[LabState] | None = None) -> FakeClient:
        return FakeClient(self, states)


class FakeClient:
    """Lo que lab/ctl/ usa de LabClient, contra un SyntheticLab; anota las órdenes en `calls`."""

    def __init__(self, lab: SyntheticLab, states: Iterator[LabState] | None = None) -> None:
        self.lab = lab
        self.states = states  # si se da, cada state() devuelve el siguiente (el último se repite)
        self.last: LabState | None = None
        self.calls: list[tuple[str, Any]] = []
        self.changed = True
        self.applied: list[Applied] = []
        self.missing: tuple[str, ...] = ()

    def state(self) -> LabState:
        if self.states is None:
            return self.lab.state()
        self.last = next(self.states, self.last)
        assert self.last is not None
        return self.last

    def sync_logs(self) -> bool:
        return True

    def set_env(self, deployment: str, changes: list[tuple[str, str | None]]) -> bool:
        self.calls.append(("set_env", (deployment, changes)))
        return self.changed

    def restart(self, deployment: str) -> None:
        self.calls.append(("restart", deployment))

    def apply(self, docs: list[dict[str, Any]], origin: str) -> list[Applied]:
        self.calls.append(("apply", docs))
        return self.applied

    def delete(self, kind: str, names: list[str]) -> Deleted:
        self.calls.append(("delete", names))
        gone = tuple(n for n in names if n not in self.missing)
        return Deleted("virtualservice.networking.istio.io", gone, self.missing, "default")

