"""lab/cluster/api/patch.py held to apimachinery's own strategic merge patch test data.

The cases and the test schemas are data carried from k8s.io/apimachinery v0.36.3
`pkg/util/strategicpatch/patch_test.go` and `testdata/swagger-*.json` into
tests/data/strategicpatch_upstream.yaml (tests/strategicpatch_cases.py wrote it; its header cites the
commit). This module only says which pairs upstream applies, as its test functions do:

- TestCustomStrategicMergePatch: `original` + `twoWay` → `twoWayResult` (or `modified`), or an error
  containing `expectedError`;
- TestStrategicMergePatch, TestReplaceWithRawExtension: that, and `current` + `threeWay` → `result`
  when the case has a result (a "conflict" case without one only checks patch creation);
- TestUnknownField, TestNumberConversion: the same two pairs from their JSON tables.

The YAML tables (format `structured`) go through upstream's sortMergeListsByName first, on the
inputs and on the expected result, never on the result patch.py gives (testTwoWayPatch,
twoWayTestCaseToJSONOrFail): lists with the merge strategy sorted by their merge key's text, merging
lists of scalars deduplicated and sorted, `$retainKeys`/`$deleteFromPrimitiveList` sorted. Raw YAML
and JSON cases compare as they are, list order included.

Patch creation (two- and three-way diffs) is kubectl's part, not the API server's: not tested here.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from lab.cluster.api.errors import ApiError
from lab.cluster.api.patch import strategic_merge
from lab.cluster.api.schema import Node

DATA = Path(__file__).resolve().parent / "data" / "strategicpatch_upstream.yaml"
UPSTREAM = yaml.safe_load(DATA.read_text(encoding="utf-8"))
DEFINITIONS = UPSTREAM["definitions"]

# Cases patch.py does not reproduce, by id (see `applications`), with the reason. Each runs as a
# strict xfail: listed in pytest's summary (-ra), and a case that starts passing fails until it leaves
# this list.
NOT_IMPLEMENTED: dict[str, str] = {}


class Application(NamedTuple):
    original: Any
    patch: Any
    expected: Any
    error: str
    schema: str
    sort: bool


def decode(case: dict[str, Any], field: str) -> Any:
    value = case.get(field)
    if case["format"] == "yaml":
        return yaml.safe_load(value) if value is not None else None
    if case["format"] == "json":
        return json.loads(value) if value is not None else None
    return copy.deepcopy(value)


def applications() -> dict[str, Application]:
    found: dict[str, Application] = {}
    for index, case in enumerate(UPSTREAM["cases"]):
        name = f"{case['table']}[{index}] {case['description']}"
        sort = case["format"] == "structured"
        if case.get("twoWay") is not None:
            expected = "twoWayResult" if case.get("twoWayResult") is not None else "modified"
            found[f"{name} /twoWay"] = Application(decode(case, "original"), decode(case, "twoWay"), decode(case, expected),
                                                   case.get("expectedError", ""), case["schema"], sort)
        if case.get("threeWay") is not None and case.get("result") is not None:
            found[f"{name} /threeWay"] = Application(decode(case, "current"), decode(case, "threeWay"), decode(case, "result"),
                                                     case.get("expectedError", ""), case["schema"], sort)
    return found


APPLICATIONS = applications()


def root(schema: str) -> Node:
    return Node(DEFINITIONS[schema], defs=DEFINITIONS)


def go_text(value: Any) -> str:
    """fmt's %v of a decoded JSON scalar, the key upstream sorts by (SortableSliceOfScalars/OfMaps)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        # %v of a float64 switches to exponent form from 1e21 on (and 1e+06 for 'g'): the data stays far below.
        assert abs(value) < 1e6, f"the sort key of {value} needs Go's float formatting: extend go_text"
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return "%v" if value is None else str(value)


def strategy(node: Node) -> str:
    """The strategy besides retainKeys (extractRetainKeysPatchStrategy)."""
    return ",".join(s for s in node.strategy.split(",") if s and s != "retainKeys")


def by_name(value: Any, node: Node) -> Any:
    """upstream's sortMergeListsByNameMap, as its tests apply it to their YAML tables."""
    if not isinstance(value, dict):
        return value
    result = {}
    for key, inner in value.items():
        if key == "$retainKeys" or key.startswith("$deleteFromPrimitiveList/"):
            inner = sorted(inner, key=go_text)
        elif key.startswith("$setElementOrder/") or key == "$patch":
            pass
        elif isinstance(inner, dict):
            inner = by_name(inner, node.field(key))
        elif isinstance(inner, list) and strategy(node.field(key)) == "merge" and inner:
            field = node.field(key)
            if isinstance(inner[0], dict):
                inner = sorted((by_name(item, field.items()) for item in inner), key=lambda item: go_text(item.get(field.merge_key)))
            else:
                unique: list[Any] = []
                for item in inner:
                    if item not in unique:
                        unique.append(item)
                inner = sorted(unique, key=go_text)
        result[key] = inner
    return result


@pytest.mark.parametrize("name", [
    pytest.param(name, id=name, marks=[pytest.mark.xfail(strict=True, reason=NOT_IMPLEMENTED[name])] if name in NOT_IMPLEMENTED else [])
    for name in APPLICATIONS])
def test_upstream_case(name: str) -> None:
    case = APPLICATIONS[name]
    node = root(case.schema)
    original, patch, expected = case.original or {}, case.patch or {}, case.expected
    if case.sort:
        original, patch, expected = by_name(original, node), by_name(patch, node), by_name(expected, node)
    if case.error:
        with pytest.raises(ApiError) as failed:
            strategic_merge(original, patch, node)
        assert case.error in failed.value.status["message"]
        return
    assert strategic_merge(original, patch, node) == expected


def test_the_data_is_upstreams_and_every_table_is_read() -> None:
    assert UPSTREAM["upstream"]["tag"] == "v0.36.3" and len(UPSTREAM["upstream"]["commit"]) == 40
    tables = {case["table"] for case in UPSTREAM["cases"]}
    assert tables == {"customStrategicMergePatchTestCaseData", "createStrategicMergePatchTestCaseData",
                      "customStrategicMergePatchRawTestCases", "strategicMergePatchRawTestCases",
                      "replaceRawExtensionPatchTestCases", "TestUnknownField", "TestNumberConversion"}
    assert len(UPSTREAM["cases"]) == 168 and len(APPLICATIONS) == 299  # 167 two-way, 132 three-way
    assert set(NOT_IMPLEMENTED) <= set(APPLICATIONS), "a NOT_IMPLEMENTED id names no case"
