"""The deployment controller: Deployment → ReplicaSets (rolling update) → status.

Follows kubernetes/kubernetes v1.36 `pkg/controller/deployment/`:
- `sync.go` getNewReplicaSet: the new ReplicaSet is `<deployment>-<pod-template-hash>`, its template
  the Deployment's plus the `pod-template-hash` label (also in its selector), owned by the Deployment
  (controller ownerReference), with the `deployment.kubernetes.io/revision` (max of the old ones + 1),
  `desired-replicas` and `max-replicas` annotations; the Deployment carries the same revision.
- `util/deployment_util.go` ComputeHash (FNV-32a of the template, SafeEncodeString), ResolveFenceposts
  (maxSurge rounds up, maxUnavailable down, both 0 → maxUnavailable 1), NewRSNewReplicas, EqualIgnoreHash.
- `rolling.go` reconcileNewReplicaSet / reconcileOldReplicaSets (cleanupUnhealthyReplicas first, then
  scale down old ReplicaSets, oldest first, never below replicas − maxUnavailable available pods).
- `recreate.go`: old ReplicaSets to 0, wait until their pods are gone, then the new one.
- `sync.go` calculateStatus + `progress.go` syncRolloutStatus: observedGeneration, replicas,
  updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas and the conditions
  Available (MinimumReplicasAvailable/Unavailable) and Progressing (NewReplicaSetCreated,
  FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded) —
  what `kubectl rollout status` reads.
- Events `ScalingReplicaSet` «Scaled up replica set X to N from M».
"""

from __future__ import annotations

import copy
import json
import math
import time
from datetime import UTC, datetime
from typing import Any

from lab.cluster.api.store import RFC3339, NotFound, Obj, now_rfc3339
from lab.cluster.controllers.api import DEPLOYMENTS, PODS, REPLICASETS, Api
from lab.cluster.controllers.objects import Recorder, condition, controller_uid, meta, owner_ref, safe_encode

REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def template_hash(template: Obj, collision_count: int | None) -> str:
    """ComputeHash: the same template always gives the same pod-template-hash."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode(str(fnv32a(data)))


def without_hash(template: Obj) -> Obj:
    template = copy.deepcopy(template or {})
    (template.get("metadata") or {}).get("labels", {}).pop(HASH_LABEL, None)
    return template


def _intstr(value: Any, replicas: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * replicas / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value or 0)


def fenceposts(d: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) of a RollingUpdate Deployment (defaults 25 %/25 %)."""
    rolling = ((d["spec"].get("strategy") or {}).get("rollingUpdate")) or {}
    replicas = replicas_of(d)
    surge = _intstr(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _intstr(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def replicas_of(obj: Obj) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def revision(rs: Obj) -> int:
    try:
        return int((meta(rs).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _status(obj: Obj, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


class DeploymentController:
    def __init__(self, api: Api, recorder: Recorder) -> None:
        self.api = api
        self.store = api.store
        self.recorder = recorder

    def sync_all(self) -> None:
        deployments, _ = self.store.list(DEPLOYMENTS)
        for d in deployments:
            try:
                self.sync(d)
            except NotFound:
                continue  # deleted meanwhile: the next pass sees it gone

    def sync(self, d: Obj) -> None:
        if meta(d).get("deletionTimestamp"):
            return
        ns = meta(d)["namespace"]
        uid = meta(d)["uid"]
        all_rs = [rs for rs in self.store.list(REPLICASETS, ns)[0] if controller_uid(rs) == uid]
        template = d["spec"].get("template") or {}
        new_rs = next((rs for rs in all_rs if without_hash(rs["spec"].get("template")) == without_hash(template)), None)
        old_rs = sorted((rs for rs in all_rs if rs is not new_rs), key=lambda rs: meta(rs).get("creationTimestamp", ""))
        max_old = max((revision(rs) for rs in old_rs), default=0)
        created = False
        if new_rs is None:
            new_rs = self._create_rs(d, template, all_rs, max_old + 1)
            created = True
            all_rs.append(new_rs)
        elif revision(new_rs) <= max_old:  # a rollback to an old template takes a new revision
            new_rs = self._annotate(new_rs, {REVISION: str(max_old + 1)})
        d = self._set_revision(d, str(revision(new_rs)))
        if not d["spec"].get("paused"):
            if (d["spec"].get("strategy") or {}).get("type") == "Recreate":
                self._recreate(d, new_rs, old_rs)
            else:
                self._rolling(d, new_rs, old_rs)
        self._sync_status(d, new_rs, old_rs, created)

    # ------------------------------------------------------------------ replica sets
    def _create_rs(self, d: Obj, template: Obj, all_rs: list[Obj], rev: int) -> Obj:
        collisions = int((d.get("status") or {}).get("collisionCount") or 0)
        pod_hash = template_hash(template, collisions)
        template = copy.deepcopy(template)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = copy.deepcopy(d["spec"].get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        surge, _ = fenceposts(d)
        replicas = self._new_replicas(d, all_rs, None)
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{meta(d)['name']}-{pod_hash}",
                "namespace": meta(d)["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {DESIRED: str(replicas_of(d)), MAX_REPLICAS: str(replicas_of(d) + surge), REVISION: str(rev)},
                "ownerReferences": [owner_ref(d, "Deployment", "apps/v1")],
            },
            "spec": {"replicas": replicas, "minReadySeconds": d["spec"].get("minReadySeconds", 0),
                     "selector": selector, "template": template},
        }
        created = self.api.create(REPLICASETS, rs)
        if replicas > 0:  # sync.go getNewReplicaSet: no «from» for a ReplicaSet just created
            self.recorder.event(d, "Deployment", "apps/v1", "Normal", "ScalingReplicaSet",
                                f"Scaled up replica set {meta(created)['name']} to {replicas}")
        return created

    def _annotate(self, rs: Obj, annotations: dict[str, str]) -> Obj:
        def change(obj: Obj) -> None:
            meta(obj).setdefault("annotations", {}).update(annotations)
        return self.store.mutate(REPLICASETS, meta(rs)["namespace"], meta(rs)["name"], change)

    def _set_revision(self, d: Obj, rev: str) -> Obj:
        if (meta(d).get("annotations") or {}).get(REVISION) == rev:
            return d
        return self.store.mutate(DEPLOYMENTS, meta(d)["namespace"], meta(d)["name"],
                                 lambda obj: meta(obj).setdefault("annotations", {}).__setitem__(REVISION, rev))

    def _scale(self, d: Obj, rs: Obj, count: int) -> Obj:
        before = replicas_of(rs)
        if before == count:
            return rs
        surge, _ = fenceposts(d)

        def change(obj: Obj) -> None:
            obj["spec"]["replicas"] = count
            meta(obj).setdefault("annotations", {}).update(
                {DESIRED: str(replicas_of(d)), MAX_REPLICAS: str(replicas_of(d) + surge)})
        rs = self.store.mutate(REPLICASETS, meta(rs)["namespace"], meta(rs)["name"], change)
        self._scaled_event(d, rs, before, count)
        return rs

    def _scaled_event(self, d: Obj, rs: Obj, before: int, after: int) -> None:
        """sync.go scaleReplicaSetAndRecordEvent: «Scaled up|down replica set X to N from M»."""
        way = "up" if after > before else "down"
        self.recorder.event(d, "Deployment", "apps/v1", "Normal", "ScalingReplicaSet",
                            f"Scaled {way} replica set {meta(rs)['name']} to {after} from {before}")

    def _new_replicas(self, d: Obj, all_rs: list[Obj], new_rs: Obj | None) -> int:
        """NewRSNewReplicas for RollingUpdate (Recreate: all at once once old pods are gone)."""
        if (d["spec"].get("strategy") or {}).get("type") == "Recreate":
            return replicas_of(d)
        surge, _ = fenceposts(d)
        current = sum(replicas_of(rs) for rs in all_rs)
        room = replicas_of(d) + surge - current
        if room <= 0:
            return replicas_of(new_rs) if new_rs else 0
        have = replicas_of(new_rs) if new_rs else 0
        return have + min(room, replicas_of(d) - have)

    # ------------------------------------------------------------------ strategies
    def _rolling(self, d: Obj, new_rs: Obj, old_rs: list[Obj]) -> None:
        all_rs = [new_rs, *old_rs]
        want = replicas_of(d)
        if replicas_of(new_rs) > want:
            new_rs = self._scale(d, new_rs, want)
        elif replicas_of(new_rs) < want:
            new_rs = self._scale(d, new_rs, self._new_replicas(d, all_rs, new_rs))
        old_count = sum(replicas_of(rs) for rs in old_rs)
        if old_count == 0:
            return
        _, max_unavailable = fenceposts(d)
        min_available = want - max_unavailable
        all_count = replicas_of(new_rs) + old_count
        new_unavailable = replicas_of(new_rs) - _status(new_rs, "availableReplicas")
        max_scaled_down = all_count - min_available - new_unavailable
        if max_scaled_down <= 0:
            return
        # cleanupUnhealthyReplicas: pods of old ReplicaSets that are not available go first.
        for i, rs in enumerate(old_rs):
            unhealthy = replicas_of(rs) - _status(rs, "availableReplicas")
            take = min(unhealthy, max_scaled_down)
            if take > 0:
                old_rs[i] = self._scale(d, rs, replicas_of(rs) - take)
                max_scaled_down -= take
        # scaleDownOldReplicaSetsForRollingUpdate: never below minAvailable available pods.
        available = sum(_status(rs, "availableReplicas") for rs in [new_rs, *old_rs])
        budget = available - min_available
        for i, rs in enumerate(old_rs):
            if budget <= 0:
                break
            take = min(replicas_of(rs), budget)
            if take > 0:
                old_rs[i] = self._scale(d, rs, replicas_of(rs) - take)
                budget -= take

    def _recreate(self, d: Obj, new_rs: Obj, old_rs: list[Obj]) -> None:
        for rs in old_rs:
            self._scale(d, rs, 0)
        old_uids = {meta(rs)["uid"] for rs in old_rs}
        pods, _ = self.store.list(PODS, meta(d)["namespace"])
        if any(controller_uid(p) in old_uids for p in pods):
            return
        self._scale(d, new_rs, replicas_of(d))

    # ------------------------------------------------------------------ status
    def _sync_status(self, d: Obj, new_rs: Obj, old_rs: list[Obj], created: bool) -> None:
        ns, name = meta(d)["namespace"], meta(d)["name"]
        rs_now = []
        for rs in [new_rs, *old_rs]:
            try:
                rs_now.append(self.store.get(REPLICASETS, ns, meta(rs)["name"]))
            except NotFound:
                continue
        new_now = rs_now[0] if rs_now and meta(rs_now[0])["uid"] == meta(new_rs)["uid"] else new_rs
        want = replicas_of(d)
        _, max_unavailable = fenceposts(d)
        available = sum(_status(rs, "availableReplicas") for rs in rs_now)
        status: dict[str, Any] = {
            "observedGeneration": meta(d).get("generation", 1),
            "replicas": sum(_status(rs, "replicas") for rs in rs_now),
            "updatedReplicas": _status(new_now, "replicas"),
            "readyReplicas": sum(_status(rs, "readyReplicas") for rs in rs_now),
            "availableReplicas": available,
        }
        unavailable = sum(replicas_of(rs) for rs in rs_now) - available  # sync.go calculateStatus
        if unavailable > 0:
            status["unavailableReplicas"] = unavailable
        old_status = d.get("status") or {}
        if old_status.get("collisionCount"):
            status["collisionCount"] = old_status["collisionCount"]
        conditions = copy.deepcopy(old_status.get("conditions") or [])
        if available >= want - max_unavailable:
            _set(conditions, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            _set(conditions, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        rs_name = meta(new_rs)["name"]
        progressing = condition({"status": {"conditions": conditions}}, "Progressing")
        complete = (status["updatedReplicas"] == want and status["replicas"] == want and available == want)
        if created:
            _set(conditions, "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"')
        elif complete:
            _set(conditions, "Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
        elif progressing is None:
            _set(conditions, "Progressing", "True", "FoundNewReplicaSet", f'Found new replica set "{rs_name}"')
        elif _progressed(old_status, status):
            _set(conditions, "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
        elif _timed_out(d, progressing):
            _set(conditions, "Progressing", "False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out progressing.')
        status = {k: v for k, v in status.items() if v}  # int32 with omitempty: a 0 is not written
        status["conditions"] = sorted(conditions, key=lambda c: c["type"] != "Available")

        def change(obj: Obj) -> None:
            obj["status"] = status
        if (d.get("status") or {}) != status:
            self.store.mutate(DEPLOYMENTS, ns, name, change)


def _progressed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """progress.go DeploymentProgressing: more updated, ready or available pods, or fewer old ones."""
    old_old = int(old.get("replicas") or 0) - int(old.get("updatedReplicas") or 0)
    new_old = new["replicas"] - new["updatedReplicas"]
    return (new["updatedReplicas"] > int(old.get("updatedReplicas") or 0) or new_old < old_old
            or new["readyReplicas"] > int(old.get("readyReplicas") or 0)
            or new["availableReplicas"] > int(old.get("availableReplicas") or 0))


def _timed_out(d: Obj, progressing: dict[str, Any]) -> bool:
    deadline = d["spec"].get("progressDeadlineSeconds", 600)
    if progressing.get("reason") == "NewReplicaSetAvailable" or deadline is None:
        return False
    updated = datetime.strptime(progressing["lastUpdateTime"], RFC3339).replace(tzinfo=UTC)
    return time.time() - updated.timestamp() > int(deadline)


def _set(conditions: list[dict[str, Any]], kind: str, status: str, reason: str, message: str) -> None:
    """SetDeploymentCondition: lastTransitionTime moves only when the status changes."""
    stamp = now_rfc3339()
    for c in conditions:
        if c["type"] == kind:
            if (c["status"], c["reason"], c["message"]) == (status, reason, message):
                return
            transition = c["lastTransitionTime"] if c["status"] == status else stamp
            c.update(status=status, reason=reason, message=message, lastUpdateTime=stamp, lastTransitionTime=transition)
            return
    conditions.append({"type": kind, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
                       "reason": reason, "message": message})
