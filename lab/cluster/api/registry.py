"""The generic registry: every write the API accepts goes through here before the store.

Follows k8s.io/apiserver `pkg/registry/generic/registry/store.go` (Create, Update with
GuaranteedUpdate's optimistic concurrency, Delete with graceful deletion and dry run) and
`pkg/registry/rest/create.go`/`update.go` (BeforeCreate/BeforeUpdate), in the order of a write on
kube-apiserver: defaults → mutating admission (Istio's sidecar injection) → the strategy's
validation → validating admission (Istio's webhook). One step earlier than upstream, which the
injection cannot tell: name generation, PrepareForCreate/Update and NodePort allocation run here
before the mutating admission (upstream, inside the store's Create, after it). deletion.py holds DeleteOptions and the
finalizers; strategy.py the per-kind strategies. Errors are ApiError carrying the metav1.Status
kube-apiserver would send.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab.cluster.api import defaults, deletion, errors, patch, schema, selectors, strategy
from lab.cluster.api.errors import ApiError
from lab.cluster.api.resources import Resource, resource_for
from lab.cluster.api.store import AlreadyExists, Conflict, NotFound, Store, now_rfc3339
from lab.constants import DEFAULT_NAMESPACE

__all__ = ["Admission", "ApiError", "Registry"]

Obj = dict[str, Any]
AdmissionHook = Callable[[str, Obj, "Obj | None", bool], None]
GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery util/rand: no vowels, no 0/1/3


@dataclass
class Admission:
    """Admission plugins: mutating ones first, then validating (apiserver pkg/admission chain)."""

    mutating: list[AdmissionHook] = field(default_factory=list)
    validating: list[AdmissionHook] = field(default_factory=list)

    def mutate(self, resource: str, new: Obj, old: Obj | None, dry_run: bool) -> None:
        for hook in self.mutating:
            hook(resource, new, old, dry_run)

    def validate(self, resource: str, new: Obj, old: Obj | None, dry_run: bool) -> None:
        for hook in self.validating:
            hook(resource, new, old, dry_run)


def _resource(resource: str | Resource) -> Resource:
    return resource if isinstance(resource, Resource) else resource_for(resource)


class Registry:
    def __init__(self, store: Store, admission: Admission | None = None) -> None:
        self.store = store
        self.admission = admission or Admission()

    # ------------------------------------------------------------------ reads
    def get(self, resource: str | Resource, namespace: str, name: str) -> Obj:
        res = _resource(resource)
        try:
            return self.store.get(res.key, namespace if res.namespaced else "", name)
        except NotFound:
            raise errors.not_found(res.key, name) from None

    def list_page(self, resource: str | Resource, namespace: str | None = None, label_selector: str | None = None,
                  field_selector: str | None = None, *, limit: int | None = None,
                  continue_: str | None = None) -> tuple[list[Obj], int, str]:
        """(items, resourceVersion of the snapshot, continue token or "")."""
        res = _resource(resource)
        match = selectors.both(selectors.label_selector(label_selector), selectors.field_selector(field_selector))
        items, rv = self.store.list(res.key, namespace if res.namespaced else None, match)
        start = 0
        if continue_:
            _, start = selectors.parse_continue(continue_)
        if limit and limit > 0 and start + limit < len(items):
            return items[start:start + limit], rv, selectors.continue_token(rv, start + limit)
        return items[start:], rv, ""

    # ------------------------------------------------------------------ writes
    def create(self, resource: str | Resource, obj: Obj, *, dry_run: bool = False, field_validation: str = "Ignore",
               namespace: str | None = None, warnings: list[str] | None = None) -> Obj:
        res = _resource(resource)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            meta["namespace"] = namespace or meta.get("namespace") or DEFAULT_NAMESPACE
            self._namespace_exists(meta["namespace"])
        else:
            meta.pop("namespace", None)
        self._check_fields(res, obj, field_validation, warnings)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(secrets.choice(GENERATE_ALPHABET) for _ in range(5))
        strategy.prepare_for_create(res, obj)
        if res.key == "services":
            services, _ = self.store.list("services")
            taken = {p.get("nodePort") for s in services for p in (s.get("spec") or {}).get("ports") or []}
            defaults.allocate_node_ports(obj, {p for p in taken if p})
        self.admission.mutate(res.key, obj, None, dry_run)  # then the strategy validates what they made
        strategy.validate(res, obj, None)
        self.admission.validate(res.key, obj, None, dry_run)
        if dry_run:
            if self.store.find(res.key, meta.get("namespace", ""), meta["name"]) is not None:
                raise errors.already_exists(res.key, meta["name"])
            meta.setdefault("creationTimestamp", now_rfc3339())
            return obj
        try:
            return self.store.create(res.key, obj)
        except AlreadyExists:
            raise errors.already_exists(res.key, meta["name"]) from None

    def update(self, resource: str | Resource, obj: Obj, *, dry_run: bool = False, subresource: str | None = None,
               field_validation: str = "Ignore", warnings: list[str] | None = None) -> Obj:
        res = _resource(resource)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not res.namespaced:
            meta.pop("namespace", None)
        old = self.get(res, meta.get("namespace", ""), meta.get("name", ""))
        sent = meta.get("resourceVersion")
        if sent and sent != old["metadata"]["resourceVersion"]:
            raise errors.conflict(res.key, meta["name"], strategy.MODIFIED)
        self._check_fields(res, obj, field_validation, warnings)
        obj = strategy.prepare_for_update(res, obj, old, subresource)
        if subresource is None:
            self.admission.mutate(res.key, obj, old, dry_run)
        strategy.validate(res, obj, old)
        if subresource is None:
            self.admission.validate(res.key, obj, old, dry_run)
        if dry_run:
            return obj
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        try:
            if deletion.finalized(obj, old):  # the last finalizer of a terminating object is gone
                return self.store.delete(res.key, meta.get("namespace", ""), meta["name"])
            return self.store.update(res.key, obj)
        except Conflict:
            raise errors.conflict(res.key, meta["name"], strategy.MODIFIED) from None
        except NotFound:
            raise errors.not_found(res.key, meta["name"]) from None

    def patch(self, resource: str | Resource, namespace: str, name: str, patch_type: str, body: Any, *,
              dry_run: bool = False, subresource: str | None = None, field_validation: str = "Ignore",
              warnings: list[str] | None = None) -> Obj:
        res = _resource(resource)
        if patch_type == patch.APPLY:  # before the read: server-side apply would also create
            self.apply_patch(res, {}, patch_type, body)
        for _ in range(5):  # GuaranteedUpdate retries a patch on a conflict: the patch is re-applied
            old = self.get(res, namespace, name)
            new = self.apply_patch(res, old, patch_type, body)
            new.setdefault("metadata", {})
            sent = new["metadata"].get("resourceVersion")
            if sent and sent != old["metadata"]["resourceVersion"]:
                raise errors.conflict(res.key, name, strategy.MODIFIED)
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if field_validation == "Strict":
                self._check_patched_fields(res, new, patch_type, body)
            try:
                return self.update(res, new, dry_run=dry_run, subresource=subresource,
                                   field_validation="Ignore" if field_validation == "Strict" else field_validation,
                                   warnings=warnings)
            except ApiError as error:
                if error.status.get("reason") != "Conflict" or sent:
                    raise
        raise errors.conflict(res.key, name, strategy.MODIFIED)

    @staticmethod
    def apply_patch(res: Resource, old: Obj, patch_type: str, body: Any) -> Obj:
        if patch_type == patch.MERGE:
            return patch.merge_patch(old, body)
        if patch_type == patch.JSON_PATCH:
            return patch.json_patch(old, body)
        if patch_type == patch.STRATEGIC:
            if schema.definition_name(res.group, res.version, res.kind) is None:
                raise errors.unsupported_media_type(patch_type)
            return patch.strategic_merge(old, body, schema.root(res))
        if patch_type == patch.APPLY:
            raise errors.lab_cannot(
                "El laboratorio no implementa server-side apply (--server-side): usa kubectl apply sin esa opción."
            )
        raise errors.unsupported_media_type(patch_type)

    def delete(self, resource: str | Resource, namespace: str, name: str, *, dry_run: bool = False,
               propagation: str | None = None, grace_period: int | None = None,
               preconditions: Obj | None = None) -> tuple[Obj, bool]:
        """(the object, deleted at once?). An object with finalizers to wait for (its own, or the
        garbage collector's for Orphan and Foreground: deletion.py) or a pod's grace period stays,
        terminating: deletionTimestamp and deletionGracePeriodSeconds are set, and the garbage
        collector or the kubelet finish it (store.go updateForGracefulDeletionAndFinalizers)."""
        res = _resource(resource)
        ns = namespace if res.namespaced else ""
        old = self.get(res, ns, name)
        for key in ("uid", "resourceVersion"):
            wanted = (preconditions or {}).get(key)
            if wanted and wanted != old["metadata"].get(key):
                raise errors.conflict(res.key, name, f"Precondition failed: {key.upper() if key == 'uid' else key} in precondition: "
                                      f"{wanted}, {key.upper() if key == 'uid' else key} in object meta: {old['metadata'].get(key)}")
        grace = strategy.grace_period(res, old, grace_period)
        finalizers = deletion.gc_finalizers(old["metadata"].get("finalizers") or [], propagation)
        if (grace or finalizers) and not dry_run:
            def terminate(obj: Obj) -> None:
                meta = obj["metadata"]
                if finalizers:
                    meta["finalizers"] = finalizers
                else:  # omitempty: an object without finalizers has no `finalizers` key
                    meta.pop("finalizers", None)
                if "deletionTimestamp" not in meta or grace < meta.get("deletionGracePeriodSeconds", grace + 1):
                    meta["deletionTimestamp"] = strategy.after(grace)
                    meta["deletionGracePeriodSeconds"] = grace
            return self.store.mutate(res.key, ns, name, terminate), False
        if dry_run:
            return old, True
        try:
            return self.store.delete(res.key, ns, name), True
        except NotFound:
            raise errors.not_found(res.key, name) from None

    # ------------------------------------------------------------------ inside
    def _namespace_exists(self, namespace: str) -> None:
        if self.store.find("namespaces", "", namespace) is None:
            raise errors.not_found("namespaces", namespace)

    @staticmethod
    def _check_patched_fields(res: Resource, patched: Obj, patch_type: str, body: Any) -> None:
        """A patch that brings unknown fields: 422 on the field `patch` (handlers/patch.go: the patched
        JSON for JSON and merge patches, the Go `%+v` of the patch for a strategic one)."""
        unknown = schema.unknown_fields(schema.root(res), patched)
        if unknown:
            shown = errors.go_value(body) if patch_type == patch.STRATEGIC else json.dumps(patched, separators=(",", ":"))
            text = "strict decoding error: " + ", ".join(f'unknown field "{f}"' for f in unknown)
            raise errors.invalid("", "", "", [errors.field_invalid("patch", shown, text)])

    @staticmethod
    def _check_fields(res: Resource, obj: Obj, field_validation: str, warnings: list[str] | None = None) -> None:
        """fieldValidation: Strict refuses unknown fields (400); Ignore drops them; Warn (the HTTP
        default, "") drops them and says so in a warning (apiserver handlers: strict decoding
        errors become `Warning` headers, and kubectl prints them)."""
        if field_validation == "Strict":
            unknown = schema.unknown_fields(schema.root(res), obj)
            if unknown:
                fields = ", ".join(f'unknown field "{f}"' for f in unknown)
                version = str(obj.get("apiVersion", res.api_version())).rpartition("/")[2]
                raise errors.bad_request(
                    f'{res.kind} in version "{version}" cannot be handled as a {res.kind}: strict decoding error: {fields}'
                )
            return
        dropped = schema.unknown_fields(schema.root(res), obj, drop=True)
        if field_validation != "Ignore" and warnings is not None:
            warnings += [f'unknown field "{f}"' for f in dropped]

