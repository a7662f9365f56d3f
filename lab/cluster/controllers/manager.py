"""The controller manager: one thread that runs every controller until the store is quiet.

Like kube-controller-manager's informers + work queues, reduced to what a handful of objects need:
any write to a kind the controllers read wakes the thread (a store observer), which then runs the
endpointslice, replicaset, deployment and garbage-collector syncs, level-triggered, until a pass
writes nothing; plus a resync every RESYNC seconds (progress deadlines). EndpointSlices go first in
each pass, so a pod that became ready is in its Service's endpoints before the deployment controller
scales an old ReplicaSet down, and again after the ReplicaSets, so a pod just deleted is out of them
(and out of every sidecar's EDS: lab/cluster/meshsync.py waits) before `rollout status` can see the
rollout complete.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable

from lab.cluster.api.store import Event, Store
from lab.cluster.controllers.api import DEPLOYMENTS, ENDPOINTSLICES, PODS, REPLICASETS, SERVICES, Api
from lab.cluster.controllers.deployment import DeploymentController
from lab.cluster.controllers.endpointslice import EndpointSliceController
from lab.cluster.controllers.gc import GarbageCollector
from lab.cluster.controllers.objects import Recorder
from lab.cluster.controllers.replicaset import ReplicaSetController

WATCHED = {DEPLOYMENTS, REPLICASETS, PODS, SERVICES, ENDPOINTSLICES}
RESYNC = 1.0
MAX_PASSES = 20  # the node writes too, so the store may not be quiet: stop after that many passes


class ControllerManager:
    def __init__(self, api: Api, log: Callable[[str], None] = print) -> None:
        self.store: Store = api.store
        self.log = log
        recorder = Recorder(api.store, "deployment-controller")
        endpoints = EndpointSliceController(api).sync_all
        self.passes: list[Callable[[], None]] = [
            endpoints,
            ReplicaSetController(api, Recorder(api.store, "replicaset-controller")).sync_all,
            endpoints,  # a pod the ReplicaSet just deleted leaves the endpoints before the rollout is complete
            DeploymentController(api, recorder).sync_all,
            GarbageCollector(api).sync_all,
        ]
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="controllers", daemon=True)
        self.store.observe(self._observe)

    def _observe(self, event: Event) -> None:
        if event.resource in WATCHED:
            self.wake.set()

    def start(self) -> None:
        self.wake.set()
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(RESYNC)
            self.wake.clear()
            if self.stopping.is_set():
                return
            self.run_once()

    def run_once(self) -> None:
        for _ in range(MAX_PASSES):
            before = self.store.resource_version
            for sync in self.passes:
                try:
                    sync()
                except Exception:  # noqa: BLE001 - a controller bug must not stop the others
                    self.log(f"controladores: {traceback.format_exc()}")
            if self.store.resource_version == before:
                return
