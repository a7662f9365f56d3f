"""The kinds the lab's API serves, in ONE place: what discovery, routing, the registry and the
printers read.

Names, short names, categories, verbs and subresources are the ones kube-apiserver 1.36 publishes in
discovery (`kubectl api-resources -o wide` on a cluster; k8s.io/kubernetes pkg/registry/*/rest/
storage_*.go and each registry's ShortNames()/Categories()). VirtualService's come from Istio's CRD
(lab/cluster/api/virtualservice-crd.json, extracted from crd-all.gen.yaml at ISTIO_VERSION).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

CRD_FILE = Path(__file__).resolve().parent / "virtualservice-crd.json"

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NAMESPACE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    versions: tuple[str, ...]  # the preferred (storage) one first
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    namespaced: bool = True
    verbs: tuple[str, ...] = VERBS
    subresources: tuple[str, ...] = ()
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False)
    # A DELETE answers with the deleted object instead of a Status (the kind's REST storage sets
    # ReturnDeletedObject: pkg/registry/core/{pod,service,namespace}/storage).
    return_deleted: bool = False

    @property
    def key(self) -> str:
        """The store's key and the group-qualified name in messages: `pods`, `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def version(self) -> str:
        return self.versions[0]

    def api_version(self, version: str | None = None) -> str:
        version = version or self.version
        return f"{self.group}/{version}" if self.group else version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def present(self, obj: dict[str, Any], version: str) -> dict[str, Any]:
        """The object in the version the client asked for (the CRD's versions share one schema)."""
        wanted = self.api_version(version)
        return obj if obj.get("apiVersion") == wanted else {**obj, "apiVersion": wanted}


@cache
def virtualservice_crd() -> dict[str, Any]:
    return json.loads(CRD_FILE.read_text(encoding="utf-8"))


def _virtualservices() -> Resource:
    crd = virtualservice_crd()
    names = crd["spec"]["names"]
    versions = crd["spec"]["versions"]
    storage = [v["name"] for v in versions if v.get("storage")]
    served = storage + sorted((v["name"] for v in versions if v.get("served") and not v.get("storage")), key=version_priority)
    columns = next(v for v in versions if v.get("storage")).get("additionalPrinterColumns", [])
    return Resource(
        crd["spec"]["group"], tuple(served), names["kind"], names["plural"], names["singular"],
        tuple(names.get("shortNames", ())), tuple(names.get("categories", ())),
        namespaced=crd["spec"]["scope"] == "Namespaced",
        subresources=tuple(next(v for v in versions if v.get("storage")).get("subresources") or {}),
        printer_columns=tuple(columns),
    )


def version_priority(version: str) -> tuple[int, int, int]:
    """Sort key of kube's version priority (apimachinery version.CompareKubeAwareVersionStrings):
    GA before beta before alpha, higher numbers first."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if match is None:
        return (3, 0, 0)
    stage = {"": 0, "beta": 1, "alpha": 2}[match[2] or ""]
    return (stage, -int(match[1]), -int(match[3] or 0))


RESOURCES: tuple[Resource, ...] = (
    Resource("", ("v1",), "Namespace", "namespaces", "namespace", ("ns",), namespaced=False,
             verbs=NAMESPACE_VERBS, subresources=("finalize", "status"), return_deleted=True),
    Resource("", ("v1",), "Node", "nodes", "node", ("no",), namespaced=False, subresources=("status",)),
    Resource("", ("v1",), "Pod", "pods", "pod", ("po",), ("all",),
             subresources=("attach", "exec", "log", "portforward", "status"), return_deleted=True),
    Resource("", ("v1",), "Service", "services", "service", ("svc",), ("all",), subresources=("status",),
             return_deleted=True),
    Resource("", ("v1",), "ConfigMap", "configmaps", "configmap", ("cm",)),
    Resource("", ("v1",), "Event", "events", "event", ("ev",)),
    Resource("apps", ("v1",), "Deployment", "deployments", "deployment", ("deploy",), ("all",), subresources=("scale", "status")),
    Resource("apps", ("v1",), "ReplicaSet", "replicasets", "replicaset", ("rs",), ("all",), subresources=("scale", "status")),
    Resource("discovery.k8s.io", ("v1",), "EndpointSlice", "endpointslices", "endpointslice"),
    _virtualservices(),
)

BY_KEY = {r.key: r for r in RESOURCES}


def resource_for(key: str) -> Resource:
    """The served kind for a store key (`pods`, `deployments.apps`); KeyError names what is served."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"{key}: no es un recurso servido ({', '.join(BY_KEY)})") from None


def by_path(group: str, version: str, plural: str) -> Resource | None:
    """The resource a URL names (`/apis/<group>/<version>/<plural>`), or None."""
    found = BY_KEY.get(f"{plural}.{group}" if group else plural)
    return found if found is not None and version in found.versions else None


def by_kind(api_version: str, kind: str) -> Resource | None:
    group, _, version = api_version.rpartition("/")
    return next((r for r in RESOURCES if r.group == group and r.kind == kind and version in r.versions), None)


def groups() -> dict[str, list[str]]:
    """Each served group (not the core one) and its versions, preferred first, in serving order."""
    found: dict[str, list[str]] = {}
    for resource in RESOURCES:
        if resource.group:
            versions = found.setdefault(resource.group, [])
            versions += [v for v in resource.versions if v not in versions]
    return found
