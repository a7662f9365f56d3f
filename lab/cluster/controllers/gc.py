"""The garbage collector: an object whose owners are all gone is deleted (propagation Background).

Follows kubernetes/kubernetes v1.36 `pkg/controller/garbagecollector/garbagecollector.go`
(attemptToDeleteItem: dependents whose ownerReferences all point to absent uids are deleted through
the API, so a pod still goes through its graceful termination).
"""

from __future__ import annotations

from lab.cluster.api.store import NotFound
from lab.cluster.controllers.api import ENDPOINTSLICES, PODS, REPLICASETS, Api
from lab.cluster.controllers.objects import meta

OWNED = (REPLICASETS, PODS, ENDPOINTSLICES)
OWNERS = ("deployments.apps", REPLICASETS, "services")


class GarbageCollector:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def sync_all(self) -> None:
        # Dependents first, owners second: an owner created in between is then seen.
        owned = {resource: self.store.metadata(resource) for resource in OWNED}
        uids = {meta(obj)["uid"] for resource in OWNERS for obj in self.store.metadata(resource)}
        for resource, objects in owned.items():
            for obj in objects:
                refs = meta(obj).get("ownerReferences") or []
                if not refs or meta(obj).get("deletionTimestamp") or any(r.get("uid") in uids for r in refs):
                    continue
                try:
                    self.api.delete(resource, meta(obj)["namespace"], meta(obj)["name"])
                except NotFound:
                    continue
