"""DeleteOptions and the garbage collector's finalizers, as the generic store applies them.

Follows kubernetes/kubernetes v1.36:
- apimachinery `pkg/apis/meta/v1/validation/validation.go` ValidateDeleteOptions, answered by the
  delete handler as NewInvalid on `DeleteOptions.meta.k8s.io` (apiserver `endpoints/handlers/delete.go`);
- apiserver `pkg/registry/generic/registry/store.go`: shouldOrphanDependents, shouldDeleteDependents,
  deletionFinalizersForGarbageCollection (Orphan puts the `orphan` finalizer, Foreground
  `foregroundDeletion`, Background neither), markAsDeleting (an object that is not deleted
  gracefully but has finalizers gets deletionTimestamp now and deletionGracePeriodSeconds 0) and
  ShouldDeleteDuringUpdate (such an object goes when an update leaves it without finalizers).
"""

from __future__ import annotations

from typing import Any

from lab.cluster.api import errors

Obj = dict[str, Any]
FOREGROUND, BACKGROUND, ORPHAN = "Foreground", "Background", "Orphan"
ORPHAN_FINALIZER, FOREGROUND_FINALIZER = "orphan", "foregroundDeletion"  # metav1.FinalizerOrphanDependents, FinalizerDeleteDependents


def propagation(options: Obj) -> str | None:
    """The policy a DeleteOptions asks for (None: the object's own finalizers decide), or 422."""
    policy, orphan = options.get("propagationPolicy"), options.get("orphanDependents")
    causes = []
    if orphan is not None and policy is not None:
        causes.append(errors.field_invalid("propagationPolicy", policy,
                                           "orphanDependents and deletionPropagation cannot be both set"))
    if policy is not None and policy not in (FOREGROUND, BACKGROUND, ORPHAN):
        shown = ", ".join(f'"{value}"' for value in (FOREGROUND, BACKGROUND, ORPHAN, "nil"))
        causes.append({"reason": "FieldValueNotSupported", "field": "propagationPolicy",
                       "message": f'Unsupported value: "{policy}": supported values: {shown}'})
    if causes:
        raise errors.invalid("DeleteOptions", "meta.k8s.io", "", causes)
    if orphan is not None:
        return ORPHAN if orphan else BACKGROUND
    return policy


def gc_finalizers(finalizers: list[str], policy: str | None) -> list[str]:
    """The object's finalizers after a delete with `policy`: the other finalizers first, then the
    garbage collector's one for Orphan or Foreground. With no policy, an `orphan` or
    `foregroundDeletion` finalizer the object already has decides (apps/v1's default is Background)."""
    orphan = policy == ORPHAN or (policy is None and ORPHAN_FINALIZER in finalizers)
    foreground = policy == FOREGROUND or (policy is None and not orphan and FOREGROUND_FINALIZER in finalizers)
    kept = [f for f in finalizers if f not in (ORPHAN_FINALIZER, FOREGROUND_FINALIZER)]
    return kept + [ORPHAN_FINALIZER] * orphan + [FOREGROUND_FINALIZER] * foreground


def finalized(new: Obj, old: Obj) -> bool:
    """True when an update leaves a terminating object with nothing to wait for: the stored object is
    being deleted with no grace period left, and the update removes its last finalizer (store.go
    ShouldDeleteDuringUpdate)."""
    meta = old.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and not meta.get("deletionGracePeriodSeconds") and \
        not (new.get("metadata") or {}).get("finalizers")
