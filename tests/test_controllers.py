"""The controllers against a real Store and Registry, without processes: a stand-in node marks pods
ready (or deletes them) so the rolling update can be followed step by step, as
kubernetes/kubernetes pkg/controller/deployment/rolling_test.go does with fake clients."""

from __future__ import annotations

import copy
from typing import Any

from lab.cluster.api.registry import Admission, Registry
from lab.cluster.api.store import Store
from lab.cluster.controllers.api import DEPLOYMENTS, ENDPOINTSLICES, PODS, REPLICASETS
from lab.cluster.controllers.manager import ControllerManager

Obj = dict[str, Any]
DEPLOYMENT: Obj = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "backend1", "namespace": "default", "labels": {"app": "backend1"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "backend1"}},
        "template": {
            "metadata": {"labels": {"app": "backend1"}},
            "spec": {"containers": [{"name": "backend1", "image": "backend1:1.0.0", "ports": [{"name": "http", "containerPort": 8080}]}]},
        },
    },
}
SERVICE: Obj = {
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "backend1", "namespace": "default"},
    "spec": {"selector": {"app": "backend1"}, "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]},
}


def registry() -> Registry:
    """The API the controllers use: a Registry over a Store, with the default namespace."""
    api = Registry(Store(), Admission())
    api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    return api


class World:
    """The store, the controllers (run by hand) and a node that does what it is told."""

    def __init__(self) -> None:
        self.api = registry()
        self.store = self.api.store
        self.manager = ControllerManager(self.api, log=self.fail)
        self.ips = iter(f"127.0.2.{n}" for n in range(10, 250))

    @staticmethod
    def fail(message: str) -> None:
        raise AssertionError(message)

    def settle(self) -> None:
        self.manager.run_once()

    def pods(self, ready: bool | None = None) -> list[Obj]:
        found = [p for p in self.store.list(PODS, "default")[0] if not p["metadata"].get("deletionTimestamp")]
        if ready is not None:
            found = [p for p in found if self.is_ready(p) == ready]
        return found

    @staticmethod
    def is_ready(pod: Obj) -> bool:
        return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions", []))

    def node(self) -> None:
        """Every pod gets an IP and becomes Ready; deleted pods go away."""
        for pod in self.store.list(PODS, "default")[0]:
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                self.store.delete(PODS, "default", meta["name"])
            elif not self.is_ready(pod):
                ip = next(self.ips)
                self.store.mutate(PODS, "default", meta["name"], lambda p, ip=ip: p.update(status={
                    "phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": "True"}]}))
        self.settle()

    def deployment(self) -> Obj:
        return self.store.get(DEPLOYMENTS, "default", "backend1")

    def replicasets(self) -> dict[str, int]:
        return {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs["spec"]["replicas"]
                for rs in self.store.list(REPLICASETS, "default")[0]}


def started() -> World:
    world = World()
    world.api.create("services", copy.deepcopy(SERVICE))
    world.api.create(DEPLOYMENTS, copy.deepcopy(DEPLOYMENT))
    world.settle()
    return world


def test_a_deployment_gets_a_replicaset_and_its_pods() -> None:
    world = started()
    (rs,) = world.store.list(REPLICASETS, "default")[0]
    pod_hash = rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"backend1-{pod_hash}"
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "backend1", "pod-template-hash": pod_hash}
    pods = world.pods()
    assert len(pods) == 3 and all(p["metadata"]["name"].startswith(f"backend1-{pod_hash}-") for p in pods)
    assert world.deployment()["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    status = world.deployment()["status"]
    assert (status["replicas"], status["updatedReplicas"], status.get("availableReplicas", 0)) == (3, 3, 0)
    world.node()
    status = world.deployment()["status"]
    assert (status["readyReplicas"], status["availableReplicas"], status.get("unavailableReplicas")) == (3, 3, None)
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions == {"Available": ("True", "MinimumReplicasAvailable"), "Progressing": ("True", "NewReplicaSetAvailable")}
    assert status["observedGeneration"] == world.deployment()["metadata"]["generation"]
    (endpoints,) = world.store.list(ENDPOINTSLICES, "default")[0]
    assert sorted(e["addresses"][0] for e in endpoints["endpoints"]) == sorted(p["status"]["podIP"] for p in world.pods())
    assert endpoints["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_a_template_change_rolls_one_pod_at_a_time_never_below_three_available() -> None:
    """maxSurge 25 % of 3 → 1 (rounded up), maxUnavailable 25 % of 3 → 0 (rounded down)."""
    world = started()
    world.node()
    world.store.mutate(DEPLOYMENTS, "default", "backend1", lambda d: d["spec"]["template"]["spec"]["containers"][0]
                       .__setitem__("env", [{"name": "STATUS_CODE_APP", "value": "503"}]))
    world.settle()
    steps = [world.replicasets()]
    for _ in range(10):
        assert len(world.pods()) <= 4 and len(world.pods(ready=True)) >= 3
        world.node()
        steps.append(world.replicasets())
        if steps[-1] == {"1": 0, "2": 3}:
            break
    assert steps[0] == {"1": 3, "2": 1}
    assert steps[-1] == {"1": 0, "2": 3}
    assert {"1": 2, "2": 2} in steps and {"1": 1, "2": 3} in steps
    status = world.deployment()["status"]
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (3, 3, 3)
    assert world.deployment()["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    events = [e["message"] for e in world.store.list("events", "default")[0] if e["reason"] == "ScalingReplicaSet"]
    assert any(m.startswith("Scaled up replica set backend1-") and m.endswith(" to 1") for m in events)
    assert any(m.startswith("Scaled down replica set backend1-") and m.endswith(" to 2 from 3") for m in events)


def test_an_unready_new_pod_stalls_the_rollout_and_the_old_pods_stay() -> None:
    world = started()
    world.node()
    world.store.mutate(DEPLOYMENTS, "default", "backend1", lambda d: d["spec"]["template"]["metadata"]
                       .setdefault("annotations", {}).__setitem__("kubectl.kubernetes.io/restartedAt", "now"))
    for _ in range(3):
        world.settle()
    assert world.replicasets() == {"1": 3, "2": 1}
    status = world.deployment()["status"]
    assert (status["updatedReplicas"], status["availableReplicas"], status["unavailableReplicas"]) == (1, 3, 1)


def test_deleting_the_deployment_collects_its_replicasets_and_pods() -> None:
    world = started()
    world.node()
    world.api.delete(DEPLOYMENTS, "default", "backend1")
    world.settle()
    assert world.store.list(REPLICASETS, "default")[0] == []
    world.settle()
    assert world.pods() == []  # every pod has its deletionTimestamp (graceful): the node removes them
    world.node()
    assert world.store.list(PODS, "default")[0] == []


def test_delete_with_orphan_keeps_the_replicaset_and_pods_without_their_owner() -> None:
    """kubectl delete --cascade=orphan: the Deployment waits on the `orphan` finalizer, the garbage
    collector removes its reference from the ReplicaSet, then the finalizer, and the Deployment goes."""
    world = started()
    world.node()
    gone = world.api.delete(DEPLOYMENTS, "default", "backend1", propagation="Orphan")[1]
    assert gone is False
    terminating = world.store.get(DEPLOYMENTS, "default", "backend1")["metadata"]
    assert terminating["finalizers"] == ["orphan"] and terminating["deletionGracePeriodSeconds"] == 0
    world.settle()
    world.settle()
    assert world.store.find(DEPLOYMENTS, "default", "backend1") is None
    [rs] = world.store.list(REPLICASETS, "default")[0]
    assert "ownerReferences" not in rs["metadata"] or rs["metadata"]["ownerReferences"] == []
    assert not rs["metadata"].get("deletionTimestamp")
    assert len(world.pods(ready=True)) == 3  # the pods keep their owner: the ReplicaSet still exists


def test_delete_in_the_foreground_waits_for_pods_and_replicasets_before_the_deployment() -> None:
    """kubectl delete --cascade=foreground: the Deployment and then its ReplicaSet wait on the
    `foregroundDeletion` finalizer until their dependents are gone (pods on a node terminate gracefully)."""
    world = started()
    world.node()
    for pod in world.pods():
        world.store.mutate(PODS, "default", pod["metadata"]["name"], lambda p: p["spec"].update(nodeName="controlplane"))
    world.api.delete(DEPLOYMENTS, "default", "backend1", propagation="Foreground")
    world.settle()
    deployment = world.store.get(DEPLOYMENTS, "default", "backend1")["metadata"]
    assert deployment["finalizers"] == ["foregroundDeletion"] and deployment["deletionTimestamp"]
    [rs] = world.store.list(REPLICASETS, "default")[0]
    assert rs["metadata"]["finalizers"] == ["foregroundDeletion"] and rs["metadata"]["deletionTimestamp"]
    pods = world.store.list(PODS, "default")[0]
    assert len(pods) == 3 and all(p["metadata"]["deletionGracePeriodSeconds"] == 30 for p in pods)
    world.node()  # the kubelet ends the pods
    world.settle()
    assert world.store.list(REPLICASETS, "default")[0] == []
    assert world.store.find(DEPLOYMENTS, "default", "backend1") is None


def test_an_unknown_propagation_policy_is_refused_as_the_apiserver_does() -> None:
    from lab.cluster.api.deletion import propagation  # noqa: PLC0415 - only this test reads DeleteOptions
    from lab.cluster.api.errors import ApiError  # noqa: PLC0415

    try:
        propagation({"propagationPolicy": "Cascade"})
    except ApiError as error:
        assert (error.code, error.status["message"]) == (422, 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                                                              'Unsupported value: "Cascade": supported values: '
                                                              '"Foreground", "Background", "Orphan", "nil"')
    else:
        raise AssertionError("Cascade was accepted")
    try:
        propagation({"propagationPolicy": "Orphan", "orphanDependents": True})
    except ApiError as error:
        assert error.status["message"] == ('DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: '
                                           '"Orphan": orphanDependents and deletionPropagation cannot be both set')
    else:
        raise AssertionError("both options were accepted")
    assert propagation({"orphanDependents": True}) == "Orphan" and propagation({}) is None


def test_the_crash_loop_back_off_reads_like_the_kubelets_go_duration() -> None:
    """kuberuntime_manager.go writes «back-off %s» with a time.Duration: Go prints 80 s as 1m20s and
    5 min as 5m0s (the format of Go's time package examples: 1m0s, 10m0s, 1h0m0s), not «80s»."""
    from lab.cluster.istio.gotypes import go_duration  # noqa: PLC0415 - only this test prints Go durations

    assert [go_duration(s) for s in (0, 10, 40, 80, 160, 300, 3600, 5400.4)] == [
        "0s", "10s", "40s", "1m20s", "2m40s", "5m0s", "1h0m0s", "1h30m0s"]
