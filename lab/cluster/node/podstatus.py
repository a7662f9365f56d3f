"""A pod's `status` as kubelet reports it, from what the node knows of it (`Run`).

Follows kubernetes/kubernetes v1.36 `pkg/kubelet/kubelet_pods.go` (generateAPIPodStatus,
getPhase: Pending until the init containers finished and the sidecars started, Running with a
container running; the conditions PodReadyToStartContainers, Initialized, Ready, ContainersReady,
PodScheduled — `pkg/kubelet/status/generate.go`), `pkg/kubelet/container/runtime.go` (waiting reasons
PodInitializing, ContainerCreating, CrashLoopBackOff, ErrImagePull, ImagePullBackOff, ErrImageNeverPull,
CreateContainerConfigError) and a restartable init container (a native sidecar) reporting `started`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.cluster.api.store import now_rfc3339
from lab.cluster.node.inject import INIT
from lab.cluster.pods import Pod
from lab.constants import SIDECAR_CONTAINER

NODE_IP = "127.0.0.2"  # la dirección del «nodo»: el admin del kube-proxy


@dataclass
class Run:
    """A pod on this node: its processes (`pod`, once it has an IP) and what its status shows."""

    namespace: str
    name: str
    uid: str
    app: str  # the app container's name
    image: str
    proxy_image: str | None  # None: no sidecar injected
    qos: str = "Burstable"
    pod: Pod | None = None
    started: str = field(default_factory=now_rfc3339)
    init_done: str | None = None  # istio-init finished (the sandbox exists)
    proxy_started: str | None = None
    app_started: str | None = None
    waiting: tuple[str, str] | None = None  # the app's (reason, message) while it cannot start
    last_exit: dict[str, Any] | None = None  # lastState.terminated of the app
    restarts: int = 0
    crashed_until: float = 0.0  # CrashLoopBackOff until this time.monotonic()
    stopping: bool = False

    @property
    def proxy_ready(self) -> bool:
        return self.proxy_image is None or bool(self.pod and self.pod.proxy_ready and self.proxy_started)

    @property
    def app_ready(self) -> bool:
        return bool(self.pod and self.pod.app_ready and self.app_started and not self.waiting)


def container_id(run: Run, container: str, restarts: int = 0) -> str:
    return "containerd://" + (run.uid.replace("-", "") + container.encode().hex() + f"{restarts:02x}")[:64].ljust(64, "0")


def container_statuses(run: Run) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(initContainerStatuses, containerStatuses)."""
    init: list[dict[str, Any]] = []
    if run.proxy_image is not None:
        proxy_id = f"{run.proxy_image}@sha256:" + "0" * 64
        if run.init_done:
            state = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": run.init_done,
                                    "finishedAt": run.init_done, "containerID": container_id(run, INIT)}}
        else:
            state = {"waiting": {"reason": "PodInitializing"}}
        init.append({"name": INIT, "image": run.proxy_image, "imageID": proxy_id if run.init_done else "",
                     "ready": bool(run.init_done), "restartCount": 0, "started": False, "state": state,
                     "lastState": {}, **({"containerID": container_id(run, INIT)} if run.init_done else {})})
        state = {"running": {"startedAt": run.proxy_started}} if run.proxy_started else {"waiting": {"reason": "PodInitializing"}}
        init.append({"name": SIDECAR_CONTAINER, "image": run.proxy_image, "imageID": proxy_id if run.proxy_started else "",
                     "ready": run.proxy_ready, "restartCount": 0, "started": run.proxy_ready, "state": state,
                     "lastState": {}, **({"containerID": container_id(run, SIDECAR_CONTAINER)} if run.proxy_started else {})})
    app: dict[str, Any] = {"name": run.app, "image": run.image, "imageID": "", "ready": run.app_ready,
                           "restartCount": run.restarts, "started": False, "lastState": {}}
    if run.last_exit:
        app["lastState"] = {"terminated": run.last_exit}
    if run.waiting:
        reason, message = run.waiting
        app["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
    elif run.app_started and run.proxy_ready:
        app.update(state={"running": {"startedAt": run.app_started}}, started=True,
                   imageID=f"docker.io/library/{run.image}@sha256:" + "0" * 64,
                   containerID=container_id(run, run.app, run.restarts))
    else:
        app["state"] = {"waiting": {"reason": "PodInitializing" if run.proxy_image else "ContainerCreating"}}
    return init, [app]


def pod_status(run: Run, old: dict[str, Any]) -> dict[str, Any]:
    init, apps = container_statuses(run)
    running = "running" in apps[0]["state"]
    initialized = bool(run.init_done) and run.proxy_ready
    ready = initialized and run.app_ready
    stamp = now_rfc3339()
    previous = {c["type"]: c for c in old.get("conditions") or []}

    def cond(kind: str, value: bool, reason: str | None = None) -> dict[str, Any]:
        status = "True" if value else "False"
        before = previous.get(kind)
        since = before["lastTransitionTime"] if before and before["status"] == status else stamp
        item = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": since}
        if reason and not value:
            item["reason"] = reason
        return item

    status: dict[str, Any] = {
        "phase": "Running" if running and initialized else "Pending",
        "conditions": [
            cond("PodReadyToStartContainers", bool(run.pod)),
            cond("Initialized", initialized, "ContainersNotInitialized"),
            cond("Ready", ready, "ContainersNotReady"),
            cond("ContainersReady", ready, "ContainersNotReady"),
            cond("PodScheduled", True),
        ],
        "hostIP": NODE_IP,
        "hostIPs": [{"ip": NODE_IP}],
        "startTime": run.started,
        "qosClass": run.qos,
    }
    if run.pod:
        status["podIP"] = run.pod.ip
        status["podIPs"] = [{"ip": run.pod.ip}]
    if init:
        status["initContainerStatuses"] = init
    status["containerStatuses"] = apps
    return status
