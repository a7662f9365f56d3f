"""The garbage collector: an object whose owners are all gone is deleted (propagation Background),
and an owner deleted with Orphan or Foreground waits for it (its finalizer, lab/cluster/api/deletion.py).

Follows kubernetes/kubernetes v1.36 `pkg/controller/garbagecollector/garbagecollector.go`:
attemptToDeleteItem (dependents whose ownerReferences all point to absent uids are deleted through
the API, so a pod still goes through its graceful termination), attemptToOrphan (the owner's
reference is removed from each dependent, then the `orphan` finalizer from the owner) and
processDeletingDependentsItem (with `foregroundDeletion`, the dependents are deleted — in the
foreground themselves when they can own something — and the finalizer goes when none is left).
Simpler than upstream, which in this twin never shows: every dependent is deleted and waited for
(upstream only those with no other live owner, and waits only for `blockOwnerDeletion` ones; the
controllers here set it on all theirs), and a dependent of an owning kind goes in the foreground even
with no dependents of its own.
"""

from __future__ import annotations

from typing import Any

from lab.cluster.api.deletion import FOREGROUND, FOREGROUND_FINALIZER, ORPHAN_FINALIZER
from lab.cluster.api.errors import ApiError
from lab.cluster.api.store import Conflict, NotFound
from lab.cluster.controllers.api import DEPLOYMENTS, ENDPOINTSLICES, PODS, REPLICASETS, SERVICES, Api
from lab.cluster.controllers.objects import meta

Obj = dict[str, Any]

OWNED = (REPLICASETS, PODS, ENDPOINTSLICES)
OWNERS = (DEPLOYMENTS, REPLICASETS, SERVICES)


class GarbageCollector:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def sync_all(self) -> None:
        # Dependents first, owners second: an owner created in between is then seen.
        owned = {resource: self.store.metadata(resource) for resource in OWNED}
        owners = {resource: self.store.metadata(resource) for resource in OWNERS}
        uids = {meta(obj)["uid"] for objects in owners.values() for obj in objects}
        for resource, objects in owned.items():
            for obj in objects:
                refs = meta(obj).get("ownerReferences") or []
                if not refs or meta(obj).get("deletionTimestamp") or any(r.get("uid") in uids for r in refs):
                    continue
                self._delete(resource, obj)
        for resource, objects in owners.items():
            for owner in objects:
                finalizers = meta(owner).get("finalizers") or []
                if not meta(owner).get("deletionTimestamp"):
                    continue
                dependents = [(r, obj) for r, objs in owned.items() for obj in objs
                              if any(ref.get("uid") == meta(owner)["uid"] for ref in meta(obj).get("ownerReferences") or [])]
                if ORPHAN_FINALIZER in finalizers:
                    for dependent_resource, dependent in dependents:
                        self._forget_owner(dependent_resource, dependent, meta(owner)["uid"])
                    self._finish(resource, owner, ORPHAN_FINALIZER)
                elif FOREGROUND_FINALIZER in finalizers:
                    for dependent_resource, dependent in dependents:
                        if not meta(dependent).get("deletionTimestamp"):
                            self._delete(dependent_resource, dependent,
                                         FOREGROUND if dependent_resource in OWNERS else None)
                    if not dependents:
                        self._finish(resource, owner, FOREGROUND_FINALIZER)

    def _delete(self, resource: str, obj: Obj, propagation: str | None = None) -> None:
        try:
            self.api.delete(resource, meta(obj)["namespace"], meta(obj)["name"], propagation=propagation)
        except NotFound:
            pass
        except ApiError as error:
            if error.code != 404:
                raise

    def _forget_owner(self, resource: str, obj: Obj, uid: str) -> None:
        """Orphans a dependent: its reference to the owner goes (the other references stay)."""
        refs = [ref for ref in meta(obj).get("ownerReferences") or [] if ref.get("uid") != uid]
        self._update(resource, obj, ownerReferences=refs)

    def _finish(self, resource: str, owner: Obj, finalizer: str) -> None:
        """Removes the garbage collector's finalizer (the API deletes the owner when it was the last)."""
        self._update(resource, owner, finalizers=[f for f in meta(owner).get("finalizers") or [] if f != finalizer])

    def _update(self, resource: str, listed: Obj, **changes: Any) -> None:
        """Changes metadata fields through the API. The pass reads only metadata, so the whole object
        is read first; it is sent with the listed resourceVersion: if it changed or went since the
        list, nothing is written and the next sync sees it again."""
        try:
            current = self.store.get(resource, meta(listed)["namespace"], meta(listed)["name"])
            current["metadata"] |= {**changes, "resourceVersion": meta(listed)["resourceVersion"]}
            self.api.update(resource, current)
        except (NotFound, Conflict):
            pass
        except ApiError as error:
            if error.code not in (404, 409):
                raise
