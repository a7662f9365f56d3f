"""The OpenAPI schemas of the served kinds, from maintained data (never written by hand).

- Built-in kinds: Kubernetes 1.36's definitions as the `kubernetes-validate` package ships them
  (`kubernetes-json-schema/v<KUBERNETES_VERSION>.0-local/_definitions.json`: kube's OpenAPI turned
  into JSON Schema, keeping x-kubernetes-group-version-kind and the patch strategies/merge keys).
- VirtualService: the `openAPIV3Schema` of Istio's CRD (virtualservice-crd.json).

`Node` walks a schema by field name, for the strategic merge patch (patch.py), strict field
validation and OpenAPI v3 (openapi.py).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources as package_files
from typing import Any

from lab.cluster.api.discovery import server_version
from lab.cluster.api.resources import Resource, virtualservice_crd

Obj = dict[str, Any]
# The schemas of the pinned kubectl's minor (kubernetes-validate names them vX.Y.0-local);
# tests/test_api_version.py checks that minor against setup.sh's KUBERNETES_VERSION.
SCHEMA_VERSION = ".".join(server_version().split(".")[:2]) + ".0"
REF = "#/$defs/"


@cache
def definitions() -> dict[str, Obj]:
    folder = package_files.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{SCHEMA_VERSION}-local"
    return json.loads((folder / "_definitions.json").read_text(encoding="utf-8"))["$defs"]


@cache
def _by_gvk() -> dict[tuple[str, str, str], str]:
    found = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            found[(gvk["group"], gvk["version"], gvk["kind"])] = name
    return found


def definition_name(group: str, version: str, kind: str) -> str | None:
    return _by_gvk().get((group, version, kind))


def crd_schema(version: str) -> Obj:
    crd = virtualservice_crd()
    return next(v for v in crd["spec"]["versions"] if v["name"] == version)["schema"]["openAPIV3Schema"]


class Node:
    """A place in a schema: its properties, its items, its patch strategy and merge key."""

    def __init__(self, schema: Obj | None, strategy: str = "", merge_key: str = "", defs: dict[str, Obj] | None = None) -> None:
        self.defs = defs  # where its $refs point; None: the served kinds' definitions()
        self.schema = _resolve(schema or {}, defs)
        self.strategy = strategy or self.schema.get("x-kubernetes-patch-strategy", "")
        self.merge_key = merge_key or self.schema.get("x-kubernetes-patch-merge-key", "")

    @property
    def known(self) -> bool:
        return bool(self.schema)

    def field(self, name: str) -> Node:
        props = self.schema.get("properties") or {}
        if name in props:
            prop = props[name]
            return Node(prop, prop.get("x-kubernetes-patch-strategy", ""), prop.get("x-kubernetes-patch-merge-key", ""), self.defs)
        extra = self.schema.get("additionalProperties")
        return Node(extra if isinstance(extra, dict) else None, defs=self.defs)

    def items(self) -> Node:
        """The elements' schema; a list where the schema has an object stands for a list of those
        objects (apimachinery strategicpatch meta.go LookupPatchMetadataForSlice)."""
        return Node(self.schema.get("items", self.schema), defs=self.defs)

    def has_field(self, name: str) -> bool:
        """False only where the schema says which fields exist and `name` is not one of them."""
        if self.schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in self.schema:
            return True
        props = self.schema.get("properties")
        return props is None or name in props

    @property
    def is_list(self) -> bool:
        return _types(self.schema) == {"array"}


def _types(schema: Obj) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return set()
    return {kind} if isinstance(kind, str) else {t for t in kind if t != "null"}


def _resolve(schema: Obj, defs: dict[str, Obj] | None = None) -> Obj:
    """Follows `$ref`s: `#/$defs/<name>` (kubernetes-validate) or `#/definitions/<name>` (Swagger 2.0)."""
    while "$ref" in schema:
        schema = (definitions() if defs is None else defs)[schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        schema = _resolve(schema["allOf"][0], defs)
    return schema


def root(resource: Resource, version: str | None = None) -> Node:
    version = version or resource.version
    if resource.group == virtualservice_crd()["spec"]["group"]:
        return Node(crd_schema(version))
    name = definition_name(resource.group, version, resource.kind)
    return Node(definitions()[name] if name else None)


def unknown_fields(node: Node, value: Any, path: str = "", *, drop: bool = False) -> list[str]:
    """Every field of `value` its schema does not declare, as the strict decoder names them
    (k8s.io/apimachinery pkg/runtime/serializer/json strict errors: `spec.template.spec.x`,
    `spec.containers[0].y`). With `drop`, they are also removed from `value`: what decoding into the
    Go types (built-in kinds) or pruning (apiextensions-apiserver `pkg/apiserver/schema/pruning`)
    does when fieldValidation is Ignore or Warn."""
    found: list[str] = []
    if isinstance(value, dict) and node.known:
        for key, inner in list(value.items()):
            where = f"{path}.{key}" if path else key
            if not path and key in ("apiVersion", "kind", "metadata") and not node.schema.get("properties", {}).get(key):
                continue  # a CRD's schema leaves the object's envelope to the apiserver
            if not node.has_field(key):
                found.append(where)
                if drop:
                    del value[key]
            else:
                found += unknown_fields(node.field(key), inner, where, drop=drop)
    elif isinstance(value, list) and node.is_list:
        items = node.items()
        for index, inner in enumerate(value):
            found += unknown_fields(items, inner, f"{path}[{index}]", drop=drop)
    return found
