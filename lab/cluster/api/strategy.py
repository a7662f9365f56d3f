"""Per-kind strategies: what the registry does to an object before it is stored.

Follows k8s.io/kubernetes `pkg/registry/core/pod/strategy.go` (PrepareForCreate → Pending,
CheckGracefulDelete), `pkg/registry/apps/deployment/strategy.go` and
`pkg/registry/apps/replicaset/strategy.go` (status cleared on create, kept on update; the status
strategy keeps the spec), the CRD status subresource (apiextensions-apiserver
`pkg/registry/customresource/strategy.go`), and the validation messages of
`pkg/apis/core/validation` / `pkg/apis/apps/validation` for the fields the lab checks.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from lab.cluster.api import crdvalidation, defaults, errors
from lab.cluster.api.resources import Resource
from lab.cluster.api.schema import crd_schema
from lab.cluster.api.store import RFC3339
from lab.cluster.istio import VIRTUALSERVICES

Obj = dict[str, Any]
MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"
SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
                 "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '" + SUBDOMAIN + "')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
             "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '" + LABEL + "')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
               "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '"
               + DNS1035 + "')")
# Kept from the stored object on every update (ObjectMeta fields clients cannot change).
SYSTEM_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def after(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime(RFC3339)


def prepare_for_create(res: Resource, obj: Obj) -> None:
    obj["apiVersion"] = res.api_version()  # stored in the preferred version (same schema for the CRD's)
    obj["kind"] = res.kind
    meta = obj["metadata"]
    for key in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "managedFields"):
        meta.pop(key, None)
    if "status" in res.subresources and res.key != "namespaces":
        obj.pop("status", None)  # PrepareForCreate: status is the controllers' (the pod's is Pending)
    defaults.apply_defaults(res.key, obj)


def prepare_for_update(res: Resource, new: Obj, old: Obj, subresource: str | None) -> Obj:
    new["apiVersion"] = res.api_version()
    new["kind"] = res.kind
    if subresource == "status":
        result = copy.deepcopy(old)
        result["status"] = new.get("status", {})
        return result
    meta = new.setdefault("metadata", {})
    for key in SYSTEM_META:
        if key in old["metadata"]:
            meta[key] = old["metadata"][key]
        else:
            meta.pop(key, None)
    meta.pop("managedFields", None)
    if res.key == "deployments.apps" and "generation" in meta and \
            (new.get("metadata") or {}).get("annotations") != old["metadata"].get("annotations"):
        meta["generation"] += 1  # deployment strategy.go: annotations are copied to the ReplicaSets
    if "status" in res.subresources:
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
    defaults.apply_defaults(res.key, new)
    return new


def grace_period(res: Resource, obj: Obj, requested: int | None) -> int:
    """Seconds of graceful deletion (0: remove now). Only pods have one (pod strategy.go
    CheckGracefulDelete): the request's, else the pod's terminationGracePeriodSeconds; 0 when the pod
    was never scheduled or has already finished."""
    if res.key != "pods":
        return 0
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    period = requested if requested is not None else int(spec.get("terminationGracePeriodSeconds", 0))
    if not spec.get("nodeName") or status.get("phase") in ("Failed", "Succeeded"):
        period = 0
    return 1 if period < 0 else period


def validate(res: Resource, obj: Obj, old: Obj | None) -> None:
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    causes: list[Obj] = []
    if not name:
        causes.append(errors.field_required("metadata.name", "name or generateName is required"))
    elif res.key in ("namespaces",) and not re.fullmatch(LABEL, name):
        causes.append(errors.field_invalid("metadata.name", name, LABEL_MSG))
    elif res.key == "services" and not re.fullmatch(DNS1035, name):
        causes.append(errors.field_invalid("metadata.name", name, DNS1035_MSG))
    elif not re.fullmatch(SUBDOMAIN, name) or len(name) > 253:
        causes.append(errors.field_invalid("metadata.name", name, SUBDOMAIN_MSG))
    if old is not None and meta.get("namespace", "") != old["metadata"].get("namespace", ""):
        causes.append(errors.field_invalid("metadata.namespace", meta.get("namespace", ""), "field is immutable"))
    if res.key in ("deployments.apps", "replicasets.apps"):
        causes += _workload(obj)
        selector = (obj.get("spec") or {}).get("selector")
        if old is not None and selector != (old.get("spec") or {}).get("selector"):
            causes.append(errors.field_invalid("spec.selector", None, "field is immutable", go_value=_go_selector(selector or {})))
    elif res.key == "pods":
        causes += _containers(obj.get("spec") or {}, "spec")
    elif res.key == VIRTUALSERVICES:
        causes += crdvalidation.virtual_service(crd_schema(res.version)["properties"]["spec"], obj.get("spec"))
    if causes:
        raise errors.invalid(res.kind, res.group, name, causes)


def _workload(obj: Obj) -> list[Obj]:
    spec = obj.get("spec") or {}
    causes: list[Obj] = []
    selector = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector:
        causes.append(errors.field_required("spec.selector"))
    else:
        wanted = selector.get("matchLabels") or {}
        if not wanted and not selector.get("matchExpressions"):
            causes.append(errors.field_invalid("spec.selector", None, "empty selector is invalid for deployment",
                                               go_value=_go_selector(selector)))
        elif any(labels.get(k) != v for k, v in wanted.items()):
            causes.append({"reason": "FieldValueInvalid", "field": "spec.template.metadata.labels",
                           "message": f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`"})
    if (spec.get("replicas") or 0) < 0:
        causes.append(errors.field_invalid("spec.replicas", spec["replicas"], "must be greater than or equal to 0"))
    causes += _containers(((spec.get("template") or {}).get("spec") or {}), "spec.template.spec")
    return causes


def _containers(pod_spec: Obj, path: str) -> list[Obj]:
    containers = pod_spec.get("containers") or []
    if not containers:
        return [errors.field_required(f"{path}.containers")]
    causes = []
    seen: set[str] = set()
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        name = container.get("name") or ""
        if not name:
            causes.append(errors.field_required(f"{where}.name"))
        elif name in seen:
            causes.append({"reason": "FieldValueDuplicate", "field": f"{where}.name", "message": f'Duplicate value: "{name}"'})
        seen.add(name)
        if not container.get("image"):
            causes.append(errors.field_required(f"{where}.image"))
    return causes


def _go_map(labels: dict[str, str]) -> str:
    """%#v of a Go map[string]string, as field.Invalid prints it."""
    return "map[string]string{" + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(labels.items())) + "}"


def _go_selector(selector: Obj) -> str:
    labels = _go_map(selector.get("matchLabels") or {})
    return f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}"
