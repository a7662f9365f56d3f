"""The node: the scheduler's binding and the kubelet, for the pods in the store.

Follows kubernetes/kubernetes v1.36: the default scheduler binds a pod to the node (event Scheduled
«Successfully assigned NS/POD to NODE», `pkg/scheduler/schedule_one.go`); the kubelet
(`pkg/kubelet/kubelet.go` SyncPod, `pkg/kubelet/kuberuntime/kuberuntime_container.go` startContainer)
creates the sandbox (the pod's IP), runs the init containers in order — istio-init, then the native
sidecar istio-proxy — and then the app, with the events Pulled «Container image "X" already present on
machine and can be accessed by the pod», Created «Created container: X», Started «Started container X»
(`pkg/kubelet/images/image_manager.go`, `kuberuntime_container.go`); an image the node does not have
gives ErrImagePull then ImagePullBackOff (or ErrImageNeverPull with imagePullPolicy Never); a container
that exits is restarted with CrashLoopBackOff's back-off (10 s doubling to 5 min,
`pkg/kubelet/kubelet.go` backOffPeriod); a pod with a deletionTimestamp gets Killing «Stopping container
X», its processes stop and the kubelet removes the object (`pkg/kubelet/status/status_manager.go`).

Here a container is a process: the app is `uvicorn` from apps/<its image's app>, istio-proxy an Envoy
(lab/cluster/pods.py); the node has only the course's images (topology.images()).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from lab.cluster.api.errors import ApiError
from lab.cluster.api.store import NotFound, Obj, now_rfc3339
from lab.cluster.controllers.api import PODS, REPLICASETS, Api
from lab.cluster.controllers.objects import Recorder, meta, terminating
from lab.cluster.envoyconfig import Workload
from lab.cluster.istio.gotypes import go_duration, parse_duration
from lab.cluster.node.inject import INIT
from lab.cluster.node.ipam import Ipam
from lab.cluster.node.podstatus import Run, container_id, pod_status
from lab.cluster.pods import Pod, Runtime, crash_message, exited, probe, start_app, start_sidecar
from lab.cluster.procs import stop_all
from lab.cluster.topology import Probe, Topology, container_env, container_readiness
from lab.constants import NODE_NAME, SIDECAR_CONTAINER
from lab.errors import LabError

TICK = 0.05  # s between probes of pods that are not ready yet
RESYNC = 1.0  # s between full syncs without a pod event
ENDPOINT_PROPAGATION = 0.2  # s between leaving the endpoints and stopping (like a preStop)
PULL_BACKOFF = 2.0  # s from ErrImagePull to ImagePullBackOff
BACKOFF_START, BACKOFF_MAX = 10.0, 300.0
DEFAULT_DRAIN = 5.0


class Kubelet:
    def __init__(self, api: Api, runtime: Runtime, topology: Topology, mesh: dict[str, Any],
                 log: Callable[[str], None] = print) -> None:
        self.api = api
        self.store = api.store
        self.runtime = runtime
        self.topology = topology
        self.mesh = mesh
        self.log = log
        self.images = topology.images()
        self.drain = drain_seconds(mesh)
        self.ipam = Ipam(topology)
        self.events = Recorder(self.store, "kubelet", NODE_NAME)
        self.scheduler = Recorder(self.store, "default-scheduler")
        self.runs: dict[str, Run] = {}  # uid → Run
        self.lock = threading.RLock()
        self.status_lock = threading.RLock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.failures: list[str] = []  # containers that exited (lab up reports the first)
        self.thread = threading.Thread(target=self._loop, name="kubelet", daemon=True)
        self.store.observe(lambda event: self.wake.set() if event.resource == PODS else None)

    # ------------------------------------------------------------------ loop
    def start(self) -> None:
        self.thread.start()

    def stop(self) -> list[Any]:
        """Stops the loop; returns every process still running (the supervisor stops them all at once)."""
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=5)
        with self.lock:
            return [p for run in self.runs.values() if run.pod for p in run.pod.processes()]

    def _loop(self) -> None:
        """A pod event → a full sync against the store; otherwise, every TICK, only a look at the
        processes and the probes of pods not ready yet (cheap: the capture thread shares the GIL),
        and a full sync every RESYNC anyway (the kubelet's periodic sync), in case a wake-up is lost."""
        last_sync = 0.0
        while not self.stopping.is_set():
            # Clear only after a wake-up, before the sync that answers it: an event that arrives
            # once wait() has timed out stays set for the next turn (clearing it here lost new pods).
            woken = self.wake.wait(TICK)
            if woken:
                self.wake.clear()
            try:
                if woken or time.monotonic() - last_sync > RESYNC:
                    last_sync = time.monotonic()
                    self.sync()
                else:
                    for run in self.pod_runs():
                        try:
                            self._check(run)
                        except Exception as exc:  # noqa: BLE001 - as in sync()
                            self.log(f"kubelet: pod {run.name}: {type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001 - one bad pod must not stop the node
                self.log(f"kubelet: {type(exc).__name__}: {exc}")

    def sync(self) -> None:
        objects, _ = self.store.list(PODS)
        seen = set()
        for obj in objects:
            uid = meta(obj)["uid"]
            seen.add(uid)
            try:
                self._sync_pod(obj, self.runs.get(uid))
            except Exception as exc:  # noqa: BLE001 - one bad pod must not keep the others from starting
                self.log(f"kubelet: pod {meta(obj)['name']}: {type(exc).__name__}: {exc}")
        with self.lock:
            gone = [run for uid, run in self.runs.items() if uid not in seen and not run.stopping]
        for run in gone:  # deleted without grace (--force): stop what is left
            run.stopping = True
            threading.Thread(target=self._terminate, args=(run, False), daemon=True).start()

    def _sync_pod(self, obj: Obj, run: Run | None) -> None:
        if terminating(obj):
            if run is None:
                self._remove(obj)
            elif not run.stopping:
                run.stopping = True
                threading.Thread(target=self._terminate, args=(run,), name=f"kill-{run.name}", daemon=True).start()
        elif run is None:
            self._admit(obj)
        else:
            self._check(run)

    # ------------------------------------------------------------------ start
    def _admit(self, obj: Obj) -> None:
        spec = obj.get("spec") or {}
        containers = spec.get("containers") or [{}]
        app = containers[0]
        proxy = next((c for c in spec.get("initContainers") or [] if c.get("name") == SIDECAR_CONTAINER), None)
        run = Run(meta(obj)["namespace"], meta(obj)["name"], meta(obj)["uid"], app.get("name", ""),
                  str(app.get("image", "")), proxy.get("image") if proxy else None)
        with self.lock:
            self.runs[run.uid] = run

        def bind(pod: Obj) -> None:
            pod["spec"]["nodeName"] = NODE_NAME
        obj = self.store.mutate(PODS, run.namespace, run.name, bind)
        self.scheduler.event(obj, "Pod", "v1", "Normal", "Scheduled",
                             f"Successfully assigned {run.namespace}/{run.name} to {NODE_NAME}")
        self.write_status(run)
        threading.Thread(target=self._start_logged, args=(run, obj), name=f"start-{run.name}", daemon=True).start()

    def _start_logged(self, run: Run, obj: Obj) -> None:
        try:
            self._start(run, obj)
        except Exception as exc:  # noqa: BLE001 - say why a pod never started
            self.log(f"kubelet: pod {run.name} no arrancó: {type(exc).__name__}: {exc}")

    def _start(self, run: Run, obj: Obj) -> None:
        app = (obj["spec"].get("containers") or [{}])[0]
        labels = meta(obj).get("labels") or {}
        try:
            env = container_env(f"pod {run.name}", app)
            ports = app.get("ports") or []
            port = int(ports[0]["containerPort"]) if ports else 8080
            readiness = container_readiness(f"pod {run.name}", run.name, app) or Probe(port, None)
        except (LabError, KeyError, ValueError) as exc:
            run.waiting = ("CreateContainerConfigError", str(exc))
            env, port, readiness = (), 8080, Probe(8080, None)
        service = self.topology.service_for(labels)
        workload = Workload(labels.get("app") or run.name, port, service)
        try:
            ip = self.ipam.allocate(service)
        except LabError as exc:
            run.waiting = ("ContainerCreating", str(exc))
            self.write_status(run)
            return
        run.pod = Pod(run.name, run.namespace, run.uid, workload, run.app, self.images.get(run.image, ""),
                      ip, env, readiness, deployment=self._owner_deployment(obj))
        if run.proxy_image:
            for container in (INIT, SIDECAR_CONTAINER):
                self._container_events(obj, container, run.proxy_image, init=True)
            run.init_done = now_rfc3339()
            start_sidecar(self.runtime, run.pod, self.mesh)
        self.write_status(run)
        if run.waiting:
            self.events.event(obj, "Pod", "v1", "Warning", "Failed", f"Error: {run.waiting[1]}", _path(run.app))
            self.write_status(run)
            return
        policy = app.get("imagePullPolicy") or ("Always" if run.image.endswith(":latest") or ":" not in run.image else "IfNotPresent")
        if run.image not in self.images:
            self._cannot_pull(run, obj, policy)
            return
        self._container_events(obj, run.app, run.image)
        self._run_app(run)

    def _run_app(self, run: Run) -> None:
        assert run.pod is not None
        try:
            start_app(self.runtime, run.pod)
        except (OSError, LabError) as exc:
            run.waiting = ("RunContainerError", str(exc))
        run.app_started = now_rfc3339()
        self.write_status(run)

    def _container_events(self, obj: Obj, container: str, image: str, init: bool = False) -> None:
        where = _path(container, init)
        self.events.event(obj, "Pod", "v1", "Normal", "Pulled",
                          f'Container image "{image}" already present on machine and can be accessed by the pod', where)
        self.events.event(obj, "Pod", "v1", "Normal", "Created", f"Created container: {container}", where)
        self.events.event(obj, "Pod", "v1", "Normal", "Started", f"Started container {container}", where)

    def _cannot_pull(self, run: Run, obj: Obj, policy: str) -> None:
        where = _path(run.app)
        have = ", ".join(sorted(i for i in self.images if not i.startswith("docker.io/")))
        if policy == "Never":
            message = f'Container image "{run.image}" is not present with pull policy of Never'
            run.waiting = ("ErrImageNeverPull", message)
            self.events.event(obj, "Pod", "v1", "Warning", "ErrImageNeverPull", message, where)
            self.write_status(run)
            return
        why = (f'Failed to pull image "{run.image}": el nodo del laboratorio no descarga imágenes; '
               f"solo tiene las del curso ({have})")
        self.events.event(obj, "Pod", "v1", "Normal", "Pulling", f'Pulling image "{run.image}"', where)
        self.events.event(obj, "Pod", "v1", "Warning", "Failed", why, where)
        self.events.event(obj, "Pod", "v1", "Warning", "Failed", "Error: ErrImagePull", where)
        run.waiting = ("ErrImagePull", why)
        self.write_status(run)
        if self.stopping.wait(PULL_BACKOFF) or run.stopping:
            return
        self.events.event(obj, "Pod", "v1", "Normal", "BackOff", f'Back-off pulling image "{run.image}"', where)
        self.events.event(obj, "Pod", "v1", "Warning", "Failed", "Error: ImagePullBackOff", where)
        run.waiting = ("ImagePullBackOff", f'Back-off pulling image "{run.image}": ErrImagePull: {why}')
        self.write_status(run)

    # ------------------------------------------------------------------ watch over running pods
    def _check(self, run: Run) -> None:
        pod = run.pod
        if pod is None or run.stopping:
            return
        changed = False
        dead = exited(pod)
        if dead is not None and dead[0] == SIDECAR_CONTAINER and not run.waiting:  # a native sidecar restarts at once
            pod.proxy, pod.proxy_ready, run.proxy_started = None, False, None
            start_sidecar(self.runtime, pod, self.mesh)
            changed = True
        elif dead is not None and dead[0] == run.app and not run.waiting:
            self._crashed(run, dead[1])
            changed = True
        elif run.waiting and run.waiting[0] == "CrashLoopBackOff" and time.monotonic() >= run.crashed_until:
            run.waiting = None
            obj = self.store.find(PODS, run.namespace, run.name)
            if obj is not None:
                self._container_events(obj, run.app, run.image)
            self._run_app(run)
            return
        if not (pod.app_ready and pod.proxy_ready) and (pod.app is not None or pod.proxy is not None):
            before = (pod.app_ready, pod.proxy_ready)
            probe(pod, app=pod.app is not None)
            changed |= before != (pod.app_ready, pod.proxy_ready)
        if pod.proxy_ready and run.proxy_image and not run.proxy_started:
            run.proxy_started = now_rfc3339()
            changed = True
        if changed:
            self.write_status(run)

    def _crashed(self, run: Run, code: int) -> None:
        assert run.pod is not None
        if len(self.failures) < 20:
            self.failures.append(crash_message(self.runtime, run.pod, run.app, code))
            self.log(f"kubelet: {self.failures[-1]}")
        code = 128 - code if code < 0 else code  # killed by a signal: 128 + its number, as containerd says
        run.last_exit = {"exitCode": code, "reason": "Error" if code else "Completed", "startedAt": run.app_started,
                         "finishedAt": now_rfc3339(), "containerID": container_id(run, run.app, run.restarts)}
        # The first restart is immediate; then 10 s, 20 s… up to 5 min (kubelet's container back-off).
        delay = 0.0 if run.restarts == 0 else min(BACKOFF_START * 2 ** (run.restarts - 1), BACKOFF_MAX)
        run.restarts += 1
        run.pod.app_ready = False
        run.pod.app = None
        run.crashed_until = time.monotonic() + delay
        run.waiting = ("CrashLoopBackOff", f"back-off {go_duration(delay)} restarting failed container={run.app} "
                       f"pod={run.name}_{run.namespace}({run.uid})")
        obj = self.store.find(PODS, run.namespace, run.name)
        if obj is not None and delay:
            self.events.event(obj, "Pod", "v1", "Warning", "BackOff",
                              f"Back-off restarting failed container {run.app} in pod {run.name}_{run.namespace}({run.uid})",
                              _path(run.app))

    def write_status(self, run: Run) -> None:
        with self.status_lock:  # not self.lock: store observers (EDS) may ask pod_runs() meanwhile
            if run.stopping:
                return
            with contextlib.suppress(NotFound):
                self.store.mutate(PODS, run.namespace, run.name,
                                  lambda obj: obj.__setitem__("status", pod_status(run, obj.get("status") or {})))

    # ------------------------------------------------------------------ stop
    def _terminate(self, run: Run, graceful: bool = True) -> None:
        """Killing → out of the endpoints → the app stops (SIGTERM) → istio-proxy drains
        (terminationDrainDuration: a native sidecar stops after the app) → the object goes away.
        Meanwhile the pod shows Terminating and its logs can still be read, as on a cluster."""
        obj = self.store.find(PODS, run.namespace, run.name)
        pod = run.pod
        if graceful and obj is not None:
            containers = [run.app] + ([SIDECAR_CONTAINER] if run.proxy_image else [])
            for container in containers:
                self.events.event(obj, "Pod", "v1", "Normal", "Killing", f"Stopping container {container}",
                                  _path(container, container == SIDECAR_CONTAINER))
            time.sleep(ENDPOINT_PROPAGATION)  # the endpoints drop it first (EndpointSlice: ready false)
            if pod is not None and pod.app is not None:
                stop_all([pod.app])
            if run.proxy_image:  # the drain is pilot-agent's: a pod without a sidecar does not wait for it
                grace = float(meta(obj).get("deletionGracePeriodSeconds") or 0)
                self.stopping.wait(min(self.drain, max(grace - ENDPOINT_PROPAGATION, 0.0)))
        if pod is not None:
            stop_all(pod.processes())
            self.ipam.release(pod.ip)
        with self.lock:
            self.runs.pop(run.uid, None)
        if obj is not None:
            self._remove(obj)

    def _remove(self, obj: Obj) -> None:
        """The kubelet's last word on a stopped pod: a delete with grace 0 and the pod's uid as a
        precondition (status_manager.go), through the API, so finalizers still hold it."""
        try:
            self.api.delete(PODS, meta(obj)["namespace"], meta(obj)["name"], grace_period=0,
                            preconditions={"uid": meta(obj)["uid"]})
        except ApiError as error:
            if error.code not in (404, 409):  # already gone, or another pod now has the name
                raise

    def _owner_deployment(self, obj: Obj) -> str:
        """The Deployment behind a pod (its ReplicaSet's owner), else its `app` label or its name."""
        for ref in meta(obj).get("ownerReferences") or []:
            if ref.get("kind") == "ReplicaSet":
                rs = self.store.find(REPLICASETS, meta(obj)["namespace"], ref["name"])
                for owner in (meta(rs).get("ownerReferences") or []) if rs else []:
                    if owner.get("kind") == "Deployment":
                        return owner["name"]
        return (meta(obj).get("labels") or {}).get("app") or meta(obj)["name"]

    def pod_runs(self) -> list[Run]:
        with self.lock:
            return list(self.runs.values())


def drain_seconds(mesh: dict[str, Any]) -> float:
    """ProxyConfig.terminationDrainDuration (istio/api mesh/v1alpha1/proxy.proto: 5s by default): how long
    pilot-agent keeps Envoy draining after SIGTERM."""
    value = (mesh.get("defaultConfig") or {}).get("terminationDrainDuration")
    nanos = parse_duration(value) if isinstance(value, str) else None
    return nanos / 1e9 if nanos is not None else DEFAULT_DRAIN


def _path(container: str, init: bool = False) -> str:
    return f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
