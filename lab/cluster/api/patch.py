"""PATCH bodies: strategic merge patch, JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

The strategic merge patch follows k8s.io/apimachinery `pkg/util/strategicpatch/patch.go`
(StrategicMergePatch → mergeMap/mergeSlice) as far as kubectl sends it: lists merged by the schema's
`x-kubernetes-patch-merge-key` when `x-kubernetes-patch-strategy` has `merge` (otherwise replaced),
`null` deletes a field, `$patch: delete|replace|merge`, `$setElementOrder/<list>`,
`$retainKeys`, `$deleteFromPrimitiveList/<list>`. JSON patch goes to the `jsonpatch` package.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from lab.cluster.api.errors import ApiError, bad_request
from lab.cluster.api.schema import Node

Obj = dict[str, Any]

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def merge_patch(original: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(original: Obj, operations: Any) -> Obj:
    """A patch that does not decode is a BadRequest; one that does not apply, 422 (handlers/patch.go applyJSPatch)."""
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        return jsonpatch.apply_patch(original, operations)
    except (jsonpatch.InvalidJsonPatch, TypeError) as error:
        raise bad_request(str(error)) from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
        raise ApiError(str(error), 422, "Invalid") from None


def strategic_merge(original: Obj, patch: Obj, node: Node) -> Obj:
    if not isinstance(patch, dict):
        raise bad_request("unable to find api field in struct for the patch: the patch is not an object")
    return _merge_map(copy.deepcopy(original), patch, node)


def _merge_map(original: Obj, patch: Obj, node: Node) -> Obj | None:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise bad_request(f"Unknown patch type: {directive}")
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith(ORDER):
            continue
        if key.startswith(DELETE_PRIMITIVE):
            field = key.removeprefix(DELETE_PRIMITIVE)
            if isinstance(original.get(field), list):
                original[field] = [v for v in original[field] if v not in (value or [])]
            continue
        if value is None:
            original.pop(key, None)
            continue
        child = node.field(key)
        current = original.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged = _merge_map(current, value, child)
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, dict):
            merged = _merge_map({}, value, child)
            if merged is not None:
                original[key] = merged
        elif isinstance(value, list):
            original[key] = _merge_list(current if isinstance(current, list) else [], value, child, patch.get(ORDER + key))
        else:
            original[key] = copy.deepcopy(value)
    for key, order in patch.items():  # an order for a list the patch did not touch
        if key.startswith(ORDER) and key.removeprefix(ORDER) not in patch:
            field = key.removeprefix(ORDER)
            if isinstance(original.get(field), list):
                original[field] = _ordered(original[field], order, node.field(field).merge_key)
    if isinstance(retain, list):
        for key in [k for k in original if k not in retain]:
            del original[key]
    return original


def _merge_list(original: list[Any], patch: list[Any], node: Node, order: list[Any] | None) -> list[Any]:
    if "merge" not in node.strategy.split(","):
        return [_strip(copy.deepcopy(v)) for v in patch if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    key = node.merge_key
    if not key:  # a merging list of primitives: the union, in order
        result = list(original)
        result += [v for v in patch if v not in result]
        return _ordered(result, order, "") if order else result
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
        return [_strip(copy.deepcopy(v)) for v in patch if not (isinstance(v, dict) and "$patch" in v)]
    result = [copy.deepcopy(v) for v in original]
    items = node.items()
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {key}")
        index = next((i for i, v in enumerate(result) if isinstance(v, dict) and v.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
            continue
        if index is None:
            merged = _merge_map({}, item, items)
            if merged is not None:
                result.append(merged)
        else:
            merged = _merge_map(result[index], item, items)
            if merged is None:
                del result[index]
            else:
                result[index] = merged
    return _ordered(result, order, key) if order else result


def _ordered(items: list[Any], order: list[Any], key: str) -> list[Any]:
    """$setElementOrder: the listed elements in the listed order; the others (only on the server)
    keep their place after them (normalizeElementOrder)."""
    wanted = [o.get(key) if key and isinstance(o, dict) else o for o in order]

    def ident(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    listed = sorted((i for i in items if ident(i) in wanted), key=lambda i: wanted.index(ident(i)))
    return listed + [i for i in items if ident(i) not in wanted]


def _strip(value: Any) -> Any:
    """Directives never reach the stored object."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
