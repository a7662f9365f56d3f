"""The ReplicaSet controller: as many active pods as `spec.replicas`, and the ReplicaSet's status.

Follows kubernetes/kubernetes v1.36 `pkg/controller/replicaset/replica_set.go` (manageReplicas:
create the missing pods from the template with a controller ownerReference, delete the surplus;
events SuccessfulCreate «Created pod: X» / SuccessfulDelete «Deleted pod: X»),
`replica_set_utils.go` calculateStatus (replicas, fullyLabeledReplicas, readyReplicas,
availableReplicas, observedGeneration) and `pkg/controller/controller_utils.go` (pods named
`<replicaset>-<5 random>`; which pods go first: ActivePodsWithRanks — not yet on a node, then Pending,
then not ready, then the newest).
"""

from __future__ import annotations

import copy

from lab.cluster.api.store import NotFound, Obj
from lab.cluster.controllers.api import PODS, REPLICASETS, Api
from lab.cluster.controllers.objects import (
    Recorder,
    controller_uid,
    matches,
    meta,
    owner_ref,
    pod_active,
    pod_ready,
)


def _delete_rank(pod: Obj) -> tuple:
    """Lower goes first (controller_utils ActivePods Less)."""
    status = pod.get("status") or {}
    return (
        bool((pod.get("spec") or {}).get("nodeName")),
        {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", "Pending"), 0),
        pod_ready(pod),
        # newer first: a later creationTimestamp sorts earlier
        tuple(-ord(c) for c in meta(pod).get("creationTimestamp") or ""),
    )


class ReplicaSetController:
    def __init__(self, api: Api, recorder: Recorder) -> None:
        self.api = api
        self.store = api.store
        self.recorder = recorder

    def sync_all(self) -> None:
        replicasets, _ = self.store.list(REPLICASETS)
        pods, _ = self.store.list(PODS)
        for rs in replicasets:
            uid = meta(rs)["uid"]
            mine = [p for p in pods if controller_uid(p) == uid]
            try:
                self.sync(rs, mine)
            except NotFound:
                continue

    def sync(self, rs: Obj, pods: list[Obj]) -> None:
        if meta(rs).get("deletionTimestamp"):
            return
        active = [p for p in pods if pod_active(p)]
        want = int(rs["spec"].get("replicas", 1))
        if len(active) < want:
            for _ in range(want - len(active)):
                active.append(self._create_pod(rs))
        elif len(active) > want:
            for pod in sorted(active, key=_delete_rank)[: len(active) - want]:
                self.api.delete(PODS, meta(pod)["namespace"], meta(pod)["name"])
                self.recorder.event(rs, "ReplicaSet", "apps/v1", "Normal", "SuccessfulDelete",
                                    f"Deleted pod: {meta(pod)['name']}")
                active.remove(pod)
        self._status(rs, active)

    def _create_pod(self, rs: Obj) -> Obj:
        template = copy.deepcopy(rs["spec"].get("template") or {})
        pod_meta = template.get("metadata") or {}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "labels": dict(pod_meta.get("labels") or {}),
                "annotations": dict(pod_meta.get("annotations") or {}),
                "generateName": f"{meta(rs)['name']}-",
                "namespace": meta(rs)["namespace"],
                "ownerReferences": [owner_ref(rs, "ReplicaSet", "apps/v1")],
            },
            "spec": template.get("spec") or {},
        }
        created = self.api.create(PODS, pod)  # the registry picks the name from generateName
        self.recorder.event(rs, "ReplicaSet", "apps/v1", "Normal", "SuccessfulCreate",
                            f"Created pod: {meta(created)['name']}")
        return created

    def _status(self, rs: Obj, active: list[Obj]) -> None:
        selector = rs["spec"].get("selector")
        template_labels = {"matchLabels": (rs["spec"]["template"].get("metadata") or {}).get("labels") or {}}
        labels_ok = [p for p in active if matches(template_labels, meta(p).get("labels"))]
        ready = [p for p in active if pod_ready(p)]
        status = {
            "replicas": len(active),
            "fullyLabeledReplicas": len(labels_ok) if selector else 0,
            "readyReplicas": len(ready),
            "availableReplicas": len(ready),  # minReadySeconds 0: available = ready
            "observedGeneration": meta(rs).get("generation", 1),
        }
        if status["readyReplicas"] == 0:
            status.pop("readyReplicas")
        if status["availableReplicas"] == 0:
            status.pop("availableReplicas")
        if (rs.get("status") or {}) != status:
            self.store.mutate(REPLICASETS, meta(rs)["namespace"], meta(rs)["name"],
                              lambda obj: obj.__setitem__("status", status))
