"""PATCH bodies: strategic merge patch, JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

The strategic merge patch follows the behaviour of k8s.io/apimachinery v0.36.3
`pkg/util/strategicpatch/patch.go` as the API server applies it (StrategicMergeMapPatch: parallel
lists merged, unmatched nulls ignored): lists merged by the schema's `x-kubernetes-patch-merge-key`
when `x-kubernetes-patch-strategy` has `merge` (otherwise replaced, and maps with `replace`
replaced), `null` deletes a field, `$patch: delete|replace`, `$setElementOrder/<list>` (the patch's
order, with the server-only elements placed by the live order: normalizeElementOrder),
`$retainKeys`, `$deleteFromPrimitiveList/<list>`; errors with the text and the HTTP code the API
server gives (handlers/patch.go interpretStrategicMergePatchError). It is held to upstream's own test
data: tests/test_api_patch_upstream.py. JSON patch goes to the `jsonpatch` package.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from lab.cluster.api.errors import ApiError, bad_request, go_value
from lab.cluster.api.schema import Node

Obj = dict[str, Any]

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
DIRECTIVE = "$patch"
RETAIN = "$retainKeys"
# The Go types of decoded JSON, as patch.go's errors name them (by _kind).
GO_TYPES = {"dict": "map[string]interface {}", "list": "[]interface {}", "str": "string", "number": "float64", "bool": "bool"}
_DROP = object()  # what removeDirectives drops: a map with `$patch`


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


def strategic_merge(original: Obj, patch: Any, node: Node) -> Obj:
    """A body that is not an object is the API server's BadRequest from decoding it into a map
    (handlers/patch.go strategicPatchObject); `null` decodes to no map at all: nothing changes."""
    if not isinstance(patch, dict | None):
        kind = {"list": "array", "str": "string"}.get(_kind(patch), _kind(patch))
        raise bad_request(f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
    merged = _merge_map(copy.deepcopy(original), copy.deepcopy(patch or {}), node)
    # patch.go copies some values whole (a new field, a replaced list) with directives inside; the
    # typed object the API server decodes the result into has no such field, so they never reach it.
    return _strip(merged)


def _failed(message: str) -> ApiError:
    """An error patch.go does not classify: the API server answers 500 with its text and no reason
    (interpretStrategicMergePatchError's default, responsewriters ErrorToAPIStatus)."""
    return ApiError(message, 500)


def _has(node: Node, strategy: str) -> bool:
    """`merge` or `replace`, alone or with `retainKeys` (x-kubernetes-patch-strategy: merge,retainKeys)."""
    return strategy in node.strategy.split(",")


def _kind(value: Any) -> str:
    """The Go type a decoded JSON value has: JSON numbers are all float64."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _merge_map(original: Obj, patch: Obj, node: Node) -> Obj:
    if DIRECTIVE in patch:  # it decides alone: the rest of the map is not merged
        directive = patch.pop(DIRECTIVE)
        if directive == "replace":
            return patch
        if directive == "delete":
            return {}
        raise _failed(f"unknown patch type: {directive} in map: {go_value({DIRECTIVE: directive, **patch})}")
    _retain_keys(original, patch)
    for key in [k for k in patch if k.startswith(ORDER)]:
        _set_element_order(original, patch, key, node)
    for key, value in patch.items():
        deletions = key.startswith(DELETE_PRIMITIVE)
        field = key.removeprefix(DELETE_PRIMITIVE)
        if value is None:
            original.pop(field, None)
        elif field not in original or _kind(original[field]) != _kind(value):
            if not deletions:  # a new value, or one of another type: taken whole, without its nulls
                kept = _without_directives(_without_nulls(value))
                if kept is _DROP:
                    original.pop(field, None)
                else:
                    original[field] = kept
        elif isinstance(value, dict):
            child = node.field(field)
            original[field] = value if _has(child, "replace") else _merge_map(original[field], value, child)
        elif isinstance(value, list):
            child = node.field(field)
            if deletions or _has(child, "merge"):
                original[field] = _merge_list(original[field], value, child, deletions)
            else:
                original[field] = value
        else:
            original[field] = value
    return original


def _retain_keys(original: Obj, patch: Obj) -> None:
    """`$retainKeys`: the fields of `original` not listed go; the patch may only set listed fields."""
    if RETAIN not in patch:
        return
    keep = patch.pop(RETAIN)
    if not isinstance(keep, list):
        raise bad_request("invalid patch format of retainKeys")
    for key, value in patch.items():
        if value is not None and not key.startswith((DELETE_PRIMITIVE, ORDER)) and key not in keep:
            raise bad_request("invalid patch format of retainKeys")
    for key in [k for k in original if k not in keep]:
        del original[key]


def _set_element_order(original: Obj, patch: Obj, key: str, node: Node) -> None:
    """`$setElementOrder/<list>`: merges the list now (the patch loses it) and puts the listed
    elements in that order, the server-only ones where the live order places them (mergePatchIntoOriginal)."""
    order = patch.pop(key)
    field = key.removeprefix(ORDER)
    live, change = original.get(field), patch.pop(field, None)
    for value in (order, live, change):  # lists; only the order cannot be absent
        if not isinstance(value, list) and (value is not None or value is order):
            raise _failed(f"expected a []interface {{}}, but received a {GO_TYPES.get(_kind(value), '%!s(<nil>)')}")
    child = node.field(field)
    _check_order(change or [], order, child.merge_key)
    if live is None and change is None:
        return
    if change is None:
        merged = live
    elif live is None:
        merged = _without_directives(change)
    elif _has(child, "merge"):
        merged = _merge_list(live, change, child)  # and `live` becomes the live order it leaves
    else:
        merged = change
    _element_kind(live or [], change or [])  # one element type, as patch.go checks before ordering
    original[field] = _place(merged, order, live or [], child.merge_key)


def _check_order(change: list[Any], order: list[Any], key: str) -> None:
    """The patch list's elements (deletions aside) must come in the order `$setElementOrder` gives."""
    if not change or not order:
        return
    wanted = [i for i in change if not (key and isinstance(i, dict) and i.get(DIRECTIVE) == "delete")]
    # Go walks both lists at once: a patch element is passed when it matches the order's next one
    at = 0
    for item in order:
        while at < len(wanted) and isinstance(wanted[at], dict) and DIRECTIVE in wanted[at]:
            at += 1
        if at < len(wanted) and _ident(wanted[at], key) == _ident(item, key):
            at += 1
    if at < len(wanted):
        raise _failed(f"The order in patch list:\n{go_value(change)}\n doesn't match $setElementOrder list:\n{go_value(order)}\n")


def _ident(item: Any, key: str) -> Any:
    if not key:
        return item
    if not isinstance(item, dict) or key not in item:
        raise _failed(f"map: {go_value(item)} does not contain declared merge key: {key}")
    return item[key]


def _element_kind(*lists: list[Any]) -> str:
    """sliceElementType: the one type of the elements of the lists merged."""
    values = [v for one in lists for v in one]
    if not values:
        raise _failed("no elements in any of the given slices")
    if isinstance(values[0], list):  # ErrNoListOfLists: 422 from the API server, with its generic text
        raise ApiError("the server rejected our request due to an error in our request", 422, "Invalid")
    if len({_kind(v) for v in values}) > 1:
        raise _failed(f"list element types are not identical: {go_value(list(lists))}")
    return _kind(values[0])


def _merge_list(original: list[Any], patch: list[Any], node: Node, deletions: bool = False) -> list[Any]:
    """mergeSlice. Lists of maps: `$patch: delete` elements remove every element with that key,
    `$patch: replace` makes the patch the list; the others merge into the element with their key or
    are added."""
    if not original and not patch:
        return original
    key = node.merge_key
    if _element_kind(original, patch) != "dict":
        if deletions:
            return [v for v in original if v not in patch]
        merged = []
        for value in original + patch:
            if value not in merged:
                merged.append(value)
        return _place(merged, patch, original)
    if not key:
        raise _failed("cannot merge lists without merge key for struct")  # the API server looks patch keys up in Go structs
    live, items, replace = original, [], False
    for item in patch:
        directive = item.get(DIRECTIVE)
        if directive is None:
            items.append(item)
        elif directive == "delete":
            gone = _ident(item, key)
            live = [v for v in live if _find([v], key, gone) is None]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _failed("merging lists cannot yet be specified in the patch")
        else:
            raise _failed(f"unknown patch type: {directive} in map: {go_value(item)}")
    if replace:
        return _place(items, [], items, key)
    merged = list(live)
    for item in items:
        at = _find(merged, key, _ident(item, key))
        if at is None:
            merged.append(item)
        else:
            merged[at] = _merge_map(merged[at], item, node.items())
    added = merged[len(live):]
    # What $setElementOrder then takes for the live order (mergePatchIntoOriginal reads the list whose
    # storage mergeSlice reused): the elements left, and the first added one in a place a deletion
    # freed. Later added ones, live or not, end up after every live element either way.
    original[:] = live + added[:1] if len(live) < len(original) else live
    return _place(merged, items, live, key)


def _find(items: list[Obj], key: str, value: Any) -> int | None:
    return next((i for i, v in enumerate(items) if key in v and v[key] == value), None)


def _place(merged: list[Any], order: list[Any], live: list[Any], key: str = "") -> list[Any]:
    """normalizeElementOrder: the elements named in `order` in that order; the others (server-only) in
    their live order, each put before the first ordered element that comes after it in `live`."""
    named = [_ident(o, key) for o in order]
    listed = sorted((m for m in merged if _ident(m, key) in named), key=lambda m: named.index(_ident(m, key)))
    seen = [_ident(v, key) for v in live]
    # (an element in neither list only comes from a patch without its $setElementOrder entry: last)
    server = sorted((m for m in merged if _ident(m, key) not in named),
                    key=lambda m: seen.index(_ident(m, key)) if _ident(m, key) in seen else len(seen))
    result: list[Any] = []
    while listed and server:
        first, other = _ident(server[0], key), _ident(listed[0], key)
        result.append(server.pop(0) if first in seen and other in seen and seen.index(first) < seen.index(other) else listed.pop(0))
    return result + listed + server


def _without_nulls(value: Any) -> Any:
    """discardNullValuesFromPatch: null fields go from maps, at any depth; null list elements stay."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _without_directives(value: Any) -> Any:
    """removeDirectives: a map with `$patch` goes (from its list or its parent), at any depth."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return _DROP
        kept = {k: _without_directives(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not _DROP}
    if isinstance(value, list):
        return [v for v in (_without_directives(i) for i in value) if v is not _DROP]
    return value


def _strip(value: Any) -> Any:
    """Directive fields never reach the stored object."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not (k in (DIRECTIVE, RETAIN) or k.startswith((ORDER, DELETE_PRIMITIVE)))}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
