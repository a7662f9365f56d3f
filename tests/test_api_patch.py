"""lab/cluster/api/patch.py beyond upstream's strategic merge data (tests/test_api_patch_upstream.py):
JSON merge patch against RFC 7386's own examples, JSON patch errors, and the strategic merge patch's
errors and guarantees as the API server gives them (k8s.io/apimachinery v0.36.3
pkg/util/strategicpatch/patch.go and mergepatch/errors.go for the texts; apiserver
handlers/patch.go interpretStrategicMergePatchError for the codes: the four format errors 400, lists
of lists 422, any other 500 with no reason). Expected values written by hand from those sources.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from test_api_patch_upstream import DEFINITIONS

from lab.cluster.api.errors import ApiError
from lab.cluster.api.patch import json_patch, merge_patch, strategic_merge
from lab.cluster.api.schema import Node

ITEM = Node(DEFINITIONS["mergeItem"], defs=DEFINITIONS)  # upstream's test schema (swagger-merge-item.json)

# RFC 7386 Appendix A: original, patch, result.
RFC7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "result"), RFC7386)
def test_merge_patch_follows_rfc7386(original: Any, patch: Any, result: Any) -> None:
    before = copy.deepcopy(original)
    assert merge_patch(original, patch) == result
    assert original == before


def test_merge_patch_results_share_nothing_with_their_inputs() -> None:
    original, patch = {"kept": {"a": 1}}, {"new": {"b": 2}}
    result = merge_patch(original, patch)
    result["kept"]["a"], result["new"]["b"] = 10, 20
    assert (original, patch) == ({"kept": {"a": 1}}, {"new": {"b": 2}})
    listed = [{"c": 3}]
    merge_patch({}, listed)[0]["c"] = 30
    assert listed == [{"c": 3}]


def test_json_patch_errors_say_whether_the_patch_is_malformed_or_does_not_apply() -> None:
    assert json_patch({"a": 1}, [{"op": "add", "path": "/b", "value": 2}]) == {"a": 1, "b": 2}
    # the texts are the jsonpatch package's (the API server's are evanphx/json-patch's: the lab does not copy them)
    cases = [([{"op": "jump", "path": "/a"}], 400, "BadRequest", "Unknown operation 'jump'"),
             ([{"op": "test", "path": "/a", "value": 2}], 422, "Invalid", "not equal to tested value"),
             ([{"op": "remove", "path": "/x"}], 422, "Invalid", "can't remove a non-existent object 'x'")]
    for operations, code, reason, text in cases:
        with pytest.raises(ApiError) as failed:
            json_patch({"a": 1}, operations)
        assert (failed.value.code, failed.value.status["reason"]) == (code, reason), operations
        assert text in failed.value.status["message"], operations
    with pytest.raises(ApiError) as failed:
        json_patch({}, {"op": "add"})
    assert failed.value.status["message"] == "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
    assert failed.value.status["reason"] == "BadRequest"


def fails(patch: Any, original: dict[str, Any] | None = None) -> ApiError:
    with pytest.raises(ApiError) as failed:
        strategic_merge(original or {}, patch, ITEM)
    return failed.value


@pytest.mark.parametrize(("original", "patch", "code", "message"), [
    ({}, {"$patch": "merge"}, 500, "unknown patch type: merge in map: map[$patch:merge]"),
    ({}, {"$patch": "other", "name": "x"}, 500, "unknown patch type: other in map: map[$patch:other name:x]"),
    ({"mergingList": [{"name": "a"}]}, {"mergingList": [{"name": "a", "$patch": "merge"}]}, 500,
     "merging lists cannot yet be specified in the patch"),
    ({"mergingList": [{"name": "a"}]}, {"mergingList": [{"name": "a", "$patch": "x"}]}, 500,
     "unknown patch type: x in map: map[$patch:x name:a]"),
    ({"mergingList": [{"name": "a"}]}, {"mergingList": [{"value": "b"}]}, 500,
     "map: map[value:b] does not contain declared merge key: name"),
    ({"mergingList": [{"name": "a"}]}, {"mergingList": [{"$patch": "delete"}]}, 500,
     "map: map[$patch:delete] does not contain declared merge key: name"),
    ({"mergingList": [{"name": "a"}]}, {"mergingList": ["b"]}, 500, "list element types are not identical: [[map[name:a]] [b]]"),
    ({"mergingIntList": [1]}, {"mergingIntList": [[2]]}, 500, "list element types are not identical: [[1] [[2]]]"),
    ({"mergingIntList": [[1]]}, {"mergingIntList": [2]}, 422, "the server rejected our request due to an error in our request"),
    ({"simpleMap": {"a": "b"}}, {"$retainKeys": "name"}, 400, "invalid patch format of retainKeys"),
    ({}, {"$retainKeys": ["name"], "value": "v"}, 400, "invalid patch format of retainKeys"),
    ({}, {"$setElementOrder/mergingList": "a"}, 500, "expected a []interface {}, but received a string"),
    ({}, {"$setElementOrder/mergingList": None}, 500, "expected a []interface {}, but received a %!s(<nil>)"),
    ({"mergingList": {"name": "a"}}, {"$setElementOrder/mergingList": []}, 500,
     "expected a []interface {}, but received a map[string]interface {}"),
    ({}, {"$setElementOrder/mergingList": [], "mergingList": 1}, 500, "expected a []interface {}, but received a float64"),
    ({}, {"$setElementOrder/mergingList": [], "mergingList": True}, 500, "expected a []interface {}, but received a bool"),
    ({"mergingList": []}, {"$setElementOrder/mergingList": []}, 500, "no elements in any of the given slices"),
    ({"nonMergingList": [{"name": "a"}]}, {"$deleteFromPrimitiveList/nonMergingList": [{"name": "a"}]}, 500,
     "cannot merge lists without merge key for struct"),
    ({"mergingList": [{"name": 1}]}, {"$setElementOrder/mergingList": [{"name": 2}], "mergingList": [{"name": 1}]}, 500,
     "The order in patch list:\n[map[name:1]]\n doesn't match $setElementOrder list:\n[map[name:2]]\n"),
    ({}, {"$setElementOrder/mergingList": [{"name": "b"}, {"name": "d"}, {"name": "c"}],
          "mergingList": [{"name": "b"}, {"$patch": "replace"}, {"name": "c"}, {"name": "d"}]}, 500,
     "The order in patch list:\n[map[name:b] map[$patch:replace] map[name:c] map[name:d]]\n doesn't match $setElementOrder list:\n"
     "[map[name:b] map[name:d] map[name:c]]\n"),
    ({"mergingList": [{"name": "a"}]}, {"mergingList": [{"value": "v"}, {"$patch": "replace"}]}, 500,
     "map: map[value:v] does not contain declared merge key: name"),
])
def test_strategic_merge_errors_carry_the_api_servers_code_and_text(original: dict[str, Any], patch: dict[str, Any], code: int,
                                                                    message: str) -> None:
    error = fails(patch, original)
    assert (error.code, error.status["message"]) == (code, message)
    assert error.status.get("reason", "") == {400: "BadRequest", 422: "Invalid", 500: ""}[code]


@pytest.mark.parametrize(("patch", "kind"), [(["name"], "array"), ("name", "string"), (1, "number"), (True, "bool")])
def test_a_strategic_patch_must_be_an_object(patch: Any, kind: str) -> None:
    error = fails(patch)
    assert (error.code, error.status["reason"]) == (400, "BadRequest")
    assert error.status["message"] == f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"


def test_a_null_strategic_patch_changes_nothing() -> None:
    assert strategic_merge({"name": "a"}, None, ITEM) == {"name": "a"}


@pytest.mark.parametrize(("original", "patch", "result"), [
    # a map with $patch where the original has no such field, or one of another type: the field goes
    ({"name": "a", "value": "v"}, {"value": {"$patch": "delete"}}, {"name": "a"}),
    ({}, {"simpleMap": {"$patch": "replace", "a": "b"}}, {}),
    # $setElementOrder for a list the object does not have yet, or has empty
    ({}, {"$setElementOrder/mergingList": [{"name": "b"}, {"name": "a"}],
          "mergingList": [{"name": "b"}, {"name": "a", "$patch": "delete"}]}, {"mergingList": [{"name": "b"}]}),
    ({"mergingList": []}, {"$setElementOrder/mergingList": [{"name": "a"}], "mergingList": [{"name": "a"}]},
     {"mergingList": [{"name": "a"}]}),
    # an empty $setElementOrder orders nothing: the new element after the live ones
    ({}, {"$setElementOrder/mergingList": [], "mergingList": [{"name": "a"}]}, {"mergingList": [{"name": "a"}]}),
    ({"mergingList": [{"name": "a"}]}, {"$setElementOrder/mergingList": [], "mergingList": [{"name": "x"}]},
     {"mergingList": [{"name": "a"}, {"name": "x"}]}),
    # a list without the merge strategy is replaced, then ordered
    ({"nonMergingIntList": [1, 2]}, {"$setElementOrder/nonMergingIntList": [3, 4], "nonMergingIntList": [3, 4]},
     {"nonMergingIntList": [3, 4]}),
    # $patch: replace inside the patch list: passed over when checking the order
    ({"mergingList": [{"name": "a"}]}, {"$setElementOrder/mergingList": [{"name": "b"}, {"name": "c"}],
                                        "mergingList": [{"name": "b"}, {"$patch": "replace"}, {"name": "c"}]},
     {"mergingList": [{"name": "b"}, {"name": "c"}]}),
    # merging lists of scalars: a union without repeats
    ({"mergingIntList": []}, {"mergingIntList": [1]}, {"mergingIntList": [1]}),
    ({"mergingIntList": [1, 1]}, {"mergingIntList": []}, {"mergingIntList": [1]}),
    # without $setElementOrder the patch's order still comes before the live one (normalizeElementOrder)
    ({"mergingList": [{"name": "a", "other": "x"}, {"name": "b"}]},
     {"mergingList": [{"name": "b", "value": "1"}, {"name": "a", "value": "2"}]},
     {"mergingList": [{"name": "b", "value": "1"}, {"name": "a", "other": "x", "value": "2"}]}),
    # merge,retainKeys merges (a new element without $setElementOrder goes first: normalizeElementOrder)
    ({"retainKeysMergingList": [{"name": "a", "value": "1"}]}, {"retainKeysMergingList": [{"name": "b"}]},
     {"retainKeysMergingList": [{"name": "b"}, {"name": "a", "value": "1"}]}),
])
def test_strategic_merge_corners_upstream_data_leaves_out(original: dict[str, Any], patch: dict[str, Any], result: Any) -> None:
    assert strategic_merge(original, patch, ITEM) == result


def test_strategic_merge_leaves_its_inputs_alone_and_no_directive_in_the_result() -> None:
    original = {"mergingList": [{"name": "a", "value": "1"}, {"name": "b"}], "nonMergingList": [{"name": "x"}],
                "retainKeysMap": {"name": "o", "value": "v"}}
    patch = {"$setElementOrder/mergingList": [{"name": "b"}, {"name": "a"}], "mergingList": [{"name": "a", "value": "2"}],
             "retainKeysMap": {"$retainKeys": ["name"], "name": "n"},
             "nonMergingList": [{"name": "y", "$setElementOrder/mergingList": [{"name": "z"}], "$retainKeys": ["name"],
                                 "mergingList": [{"name": "z", "$patch": "delete"}]}],
             "$deleteFromPrimitiveList/mergingIntList": [1]}
    kept_original, kept_patch = copy.deepcopy(original), copy.deepcopy(patch)
    result = strategic_merge(original, patch, ITEM)
    assert result == {"mergingList": [{"name": "b"}, {"name": "a", "value": "2"}], "retainKeysMap": {"name": "n"},
                      "nonMergingList": [{"name": "y", "mergingList": [{"name": "z"}]}]}
    assert (original, patch) == (kept_original, kept_patch)
