"""OpenAPI v3: /openapi/v3 (the index) and one document per group-version.

Shaped like k8s.io/apiserver `pkg/server/routes/openapi.go` + kube-openapi `pkg/handler3` (index
`{"paths": {"apis/apps/v1": {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=…"}}}`; each document
built once, its ETag the SHA-512 of its bytes, and immutable for a year when asked for by that hash —
rest.py writes those headers) and the
documents kube-apiserver builds (`components.schemas` named `io.k8s.api.apps.v1.Deployment`, a CRD's
as `io.istio.networking.v1.VirtualService`, every operation with `x-kubernetes-group-version-kind`
and the `dryRun`/`fieldManager`/`fieldValidation` query parameters). kubectl reads them for `explain`,
for the strategic merge patch of `apply`, and to know the server validates fields (cli-runtime
`resource/query_param_verifier_v3.go`: a PATCH operation for the GVK with a `fieldValidation` parameter).

The schemas are data (schema.py): Kubernetes 1.36's from kubernetes-validate, turned back from JSON
Schema into OpenAPI (`$ref`s into components, `type: [x, "null"]` → `x`, IntOrString's format), and
Istio's CRD schema.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from email.utils import formatdate
from functools import cache
from typing import Any

from lab.cluster.api import discovery, schema
from lab.cluster.api.resources import RESOURCES, Resource, groups, virtualservice_crd

Obj = dict[str, Any]
COMPONENTS = "#/components/schemas/"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
PARAM_DOC = {
    "dryRun": "When present, indicates that modifications should not be persisted. Valid values are: "
              "- All: all dry run stages will be processed",
    "fieldManager": "fieldManager is a name associated with the actor or entity that is making these changes.",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) "
                       "containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
}


def group_versions() -> list[str]:
    return ["api/v1", *[f"apis/{g}/{v}" for g, versions in groups().items() for v in versions]]


@dataclass(frozen=True)
class Served:
    """One OpenAPI v3 document as handler3 serves it: its bytes, built once, and their ETag."""

    body: bytes
    etag: str  # the SHA-512 of the body in upper-case hex (handler3 computeETag)
    modified: str  # Last-Modified: when the document was built, as an HTTP date


def served(parts: list[str]) -> Served | None:
    """/openapi/v3 (the index, whose URLs carry each document's hash) or /openapi/v3/<group-version>."""
    gv = "/".join(parts[1:])
    if parts[:1] != ["v3"] or (gv and gv not in group_versions()):
        return None
    return _served(gv)


def url(gv: str) -> str:
    """The serverRelativeURL of a group-version's document (handler3 constructServerRelativeURL)."""
    return f"/openapi/v3/{gv}?hash={_served(gv).etag}"


@cache
def _served(gv: str) -> Served:
    doc = group_version_document(gv) if gv else {"paths": {g: {"serverRelativeURL": url(g)} for g in group_versions()}}
    body = json.dumps(doc, separators=(",", ":")).encode()
    return Served(body, hashlib.sha512(body).hexdigest().upper(), formatdate(usegmt=True))


@cache
def group_version_document(gv: str) -> Obj:
    parts = gv.split("/")
    group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
    served = [r for r in RESOURCES if r.group == group and version in r.versions]
    components: dict[str, Obj] = {}
    paths: dict[str, Obj] = {}
    for res in served:
        name = _component(res, version, components)
        list_name = _list_component(res, version, name, components)
        paths.update(_paths(res, version, name, list_name))
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": f"v{discovery.server_version()}"},
            "paths": paths, "components": {"schemas": dict(sorted(components.items()))}}


def _component(res: Resource, version: str, components: dict[str, Obj]) -> str:
    if res.group == virtualservice_crd()["spec"]["group"]:
        return _crd_component(res, version, components)
    name = schema.definition_name(res.group, version, res.kind)
    if name is None:
        raise RuntimeError(f"kubernetes-validate no trae {res.kind} {res.api_version(version)}")
    _add_definition(name, components)
    return name


def _list_component(res: Resource, version: str, item: str, components: dict[str, Obj]) -> str:
    name = schema.definition_name(res.group, version, res.list_kind)
    if name is not None:
        _add_definition(name, components)
        return name
    name = item + "List"
    _add_definition("io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta", components)
    components[name] = {
        "description": f"{res.list_kind} is a list of {res.kind}", "type": "object", "required": ["items"],
        "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                       "items": {"type": "array", "items": {"$ref": COMPONENTS + item}},
                       "metadata": {"allOf": [{"$ref": COMPONENTS + "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}]}},
        "x-kubernetes-group-version-kind": [{"group": res.group, "kind": res.list_kind, "version": version}]}
    return name


def _crd_component(res: Resource, version: str, components: dict[str, Obj]) -> str:
    """As apiextensions-apiserver `pkg/controller/openapi/builder` publishes a CRD: the envelope
    (apiVersion, kind, metadata → ObjectMeta) around the CRD's own schema."""
    reversed_group = ".".join(reversed(res.group.split(".")))
    name = f"{reversed_group}.{version}.{res.kind}"
    body = copy.deepcopy(schema.crd_schema(version))
    meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    _add_definition(meta, components)
    envelope = {
        "apiVersion": {"description": schema.definitions()["io.k8s.api.apps.v1.Deployment"]["properties"]["apiVersion"]["description"],
                       "type": "string"},
        "kind": {"description": schema.definitions()["io.k8s.api.apps.v1.Deployment"]["properties"]["kind"]["description"],
                 "type": "string"},
        "metadata": {"allOf": [{"$ref": COMPONENTS + meta}],
                     "description": "Standard object's metadata. More info: "
                                    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"},
    }
    body["properties"] = {**envelope, **body.get("properties", {})}
    body["x-kubernetes-group-version-kind"] = [{"group": res.group, "kind": res.kind, "version": version}]
    components[name] = body
    return name


def _add_definition(name: str, components: dict[str, Obj]) -> None:
    if name in components:
        return
    source = schema.definitions()[name]
    components[name] = {}  # placeholder against cycles (JSONSchemaProps refers to itself)
    components[name] = _convert(source, components, top=name)


def _convert(node: Any, components: dict[str, Obj], top: str = "") -> Any:
    if isinstance(node, list):
        return [_convert(v, components) for v in node]
    if not isinstance(node, dict):
        return node
    if top == INT_OR_STRING:
        return {"description": node.get("description", ""), "format": "int-or-string", "type": "string"}
    out: Obj = {}
    for key, value in node.items():
        if key in ("$schema", "$id"):
            continue
        if key == "$ref":
            target = value.removeprefix(schema.REF)
            _add_definition(target, components)
            out["$ref"] = COMPONENTS + target
        elif key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            out["type"] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "properties":
            out["properties"] = {k: _convert(v, components) for k, v in value.items()}
        else:
            out[key] = _convert(value, components)
    if "$ref" in out and len(out) > 1:  # kube's OpenAPI v3: a $ref with siblings goes in allOf
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    if top and node.get("x-kubernetes-group-version-kind"):
        for field in ("apiVersion", "kind"):  # kubernetes-validate pins these with an enum; kube does not
            out.get("properties", {}).get(field, {}).pop("enum", None)
    return out


def _param(name: str) -> Obj:
    return {"name": name, "in": "query", "description": PARAM_DOC[name], "schema": {"type": "string", "uniqueItems": True}}


def _op(res: Resource, version: str, action: str, ref: str, *, body: bool = False, patch: bool = False) -> Obj:
    op: Obj = {"description": f"{action} {res.kind}", "operationId": f"{action}{res.kind}",
               "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": COMPONENTS + ref}}}}},
               "x-kubernetes-action": action,
               "x-kubernetes-group-version-kind": {"group": res.group, "version": version, "kind": res.kind}}
    if body:
        op["parameters"] = [_param(p) for p in WRITE_PARAMS]
        kinds = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
        if patch and not res.group.endswith("istio.io"):
            kinds.append("application/strategic-merge-patch+json")
        content_types = kinds if patch else ["application/json"]
        op["requestBody"] = {"required": True, "content": {k: {"schema": {"$ref": COMPONENTS + ref}} for k in content_types}}
    return op


def _paths(res: Resource, version: str, item: str, list_name: str) -> dict[str, Obj]:
    base = f"/api/{version}" if not res.group else f"/apis/{res.group}/{version}"
    collection = f"{base}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"{base}/{res.plural}"
    name_param = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "uniqueItems": True}}
    ns_param = [{"name": "namespace", "in": "path", "required": True, "schema": {"type": "string", "uniqueItems": True}}]
    scope = ns_param if res.namespaced else []
    return {
        collection: {"get": _op(res, version, "list", list_name), "post": _op(res, version, "post", item, body=True),
                     "parameters": scope},
        f"{collection}/{{name}}": {"get": _op(res, version, "get", item), "put": _op(res, version, "put", item, body=True),
                                   "patch": _op(res, version, "patch", item, body=True, patch=True),
                                   "delete": _op(res, version, "delete", item), "parameters": [name_param, *scope]},
    }
