"""Structural validation of a custom resource against its CRD's openAPIV3Schema: types, required
fields, minimum/maximum and enums, worded as kube-openapi's validator words them through
apiextensions-apiserver (`pkg/apiserver/validation/validation.go` → field errors like
`spec.hosts: Invalid value: "string": spec.hosts in body must be of type array: "string"`).

The CEL rules (`x-kubernetes-validations`) and everything under `http[].retries` and
`http[].timeout` are lab/cluster/istio/validation.py's `crd_causes`, added here for every route:
the apiserver validates the whole object against its CRD before any admission webhook, so a schema
error in one route wins over a webhook denial in another. Null values are treated as absent, as there.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lab.cluster.api import errors
from lab.cluster.istio import validation

Obj = dict[str, Any]
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
LEFT_TO_ISTIO = re.compile(r"^spec\.http\[\d+\]\.(retries|timeout)\b")


def virtual_service(spec_schema: Obj, spec: Any) -> list[Obj]:
    """Every CRD cause of a VirtualService's spec: the structural schema, then each route's retries
    and timeout (types and CEL rules)."""
    found = causes({"properties": {"spec": spec_schema}}, {"spec": spec})
    routes = (spec or {}).get("http") if isinstance(spec, dict) else None
    for index, rule in enumerate(routes if isinstance(routes, list) else []):
        if isinstance(rule, dict):
            found += [{"reason": "FieldValueInvalid", **cause} for cause in validation.crd_causes(index, rule)]
    return found


def causes(schema: Obj, value: Any, path: str = "") -> list[Obj]:
    if value is None or LEFT_TO_ISTIO.match(path):
        return []
    found: list[Obj] = []
    got = JSON_TYPES.get(type(value), "null")
    wanted = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if got not in ("integer", "string"):
            found.append(_invalid(path, got, f"{path} in body must be of type integer,string: \"{got}\""))
        return found
    if wanted and got != wanted and not (wanted == "number" and got == "integer"):
        return [_invalid(path, got, f'{path} in body must be of type {wanted}: "{got}"')]
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(json.dumps(v) for v in schema["enum"])
        found.append({"reason": "FieldValueNotSupported", "field": path,
                      "message": f"Unsupported value: {json.dumps(value)}: supported values: {supported}"})
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(_invalid(path, value, f"{path} in body should be greater than or equal to {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            found.append(_invalid(path, value, f"{path} in body should be less than or equal to {schema['maximum']}"))
    if isinstance(value, dict):
        for name in schema.get("required") or []:
            if value.get(name) is None:
                found.append(errors.field_required(f"{path}.{name}" if path else name))
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, inner in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                found += causes(sub, inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, inner in enumerate(value):
            found += causes(schema["items"], inner, f"{path}[{index}]")
    return found


def _invalid(path: str, value: Any, detail: str) -> Obj:
    shown = json.dumps(value) if isinstance(value, str) else value
    return {"reason": "FieldValueInvalid", "field": path, "message": f"Invalid value: {shown}: {detail}"}
