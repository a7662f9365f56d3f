"""Carry apimachinery's strategic merge patch test DATA into tests/data/strategicpatch_upstream.yaml.

Not a test (pytest collects only test_*.py) and not run in CI: run it by hand when the pinned
Kubernetes version changes, on a clone of kubernetes/apimachinery, and review the diff of the data file.

    python tests/strategicpatch_cases.py /path/to/apimachinery v0.36.3 > tests/data/strategicpatch_upstream.yaml

It reads, at that tag, `pkg/util/strategicpatch/patch_test.go` (the YAML tables
customStrategicMergePatchTestCaseData and createStrategicMergePatchTestCaseData; the raw tables
customStrategicMergePatchRawTestCases, strategicMergePatchRawTestCases and
replaceRawExtensionPatchTestCases; the JSON tables of TestUnknownField and TestNumberConversion)
and the test schemas `testdata/swagger-merge-item.json`, `swagger-precision-item.json`. Only the
values move: each case keeps every field upstream gives it (original, twoWay, modified, current,
threeWay, result, twoWayResult, expectedError), raw YAML and JSON as the text upstream wrote.
Which pairs upstream applies and how it compares them is the reader's part
(tests/test_api_patch_upstream.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import yaml

FOLDER = "pkg/util/strategicpatch"
YAML_TABLES = {"customStrategicMergePatchTestCaseData": "TestCustomStrategicMergePatch",
               "createStrategicMergePatchTestCaseData": "TestStrategicMergePatch"}
RAW_TABLES = {"customStrategicMergePatchRawTestCases": "TestCustomStrategicMergePatch",
              "strategicMergePatchRawTestCases": "TestStrategicMergePatch",
              "replaceRawExtensionPatchTestCases": "TestReplaceWithRawExtension"}
JSON_TABLES = {"TestUnknownField": "mergeItem", "TestNumberConversion": "precisionItem"}
RAW_FIELDS = {"Original": "original", "TwoWay": "twoWay", "Modified": "modified", "Current": "current",
              "ThreeWay": "threeWay", "Result": "result", "TwoWayResult": "twoWayResult"}
JSON_FIELDS = {"Original": "original", "Current": "current", "Modified": "modified", "Old": "original", "New": "modified",
               "ExpectedTwoWay": "twoWay", "ExpectedTwoWayResult": "twoWayResult", "ExpectedTwoWayErr": "twoWayError",
               "ExpectedThreeWay": "threeWay", "ExpectedThreeWayResult": "result", "ExpectedThreeWayErr": "threeWayError",
               "ExpectedPatch": "twoWay", "ExpectedResult": "twoWayResult"}
GO_STRING = r'"((?:[^"\\]|\\.)*)"'


def show(repo: str, tag: str, path: str) -> str:
    return subprocess.run(["git", "-C", repo, "show", f"{tag}:{FOLDER}/{path}"], check=True, capture_output=True, text=True).stdout


def block(source: str, opening: str) -> str:
    """The text from `opening` to the brace that closes it (Go source: braces in strings are not counted
    inside backquoted literals)."""
    start = source.index(opening) + len(opening)
    depth, i = 1, start
    while depth:
        char = source[i]
        if char == "`":
            i = source.index("`", i + 1)
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        i += 1
    return source[start:i - 1]


def yaml_cases(source: str, table: str) -> list[dict[str, Any]]:
    text = re.search(rf"var {table} = \[\]byte\(`(.*?)`\)", source, re.S).group(1)
    return [{"table": table, "test": YAML_TABLES[table], "schema": "mergeItem", "format": "structured", **case}
            for case in yaml.safe_load(text)["testCases"]]


def raw_cases(source: str, table: str) -> list[dict[str, Any]]:
    body = block(source, f"var {table} = []StrategicMergePatchRawTestCase{{")
    parts = re.split(rf"\bDescription:\s*{GO_STRING}", body)[1:]
    cases = []
    for description, fields in zip(parts[::2], parts[1::2], strict=True):
        case: dict[str, Any] = {"table": table, "test": RAW_TABLES[table], "schema": "mergeItem", "format": "yaml",
                                "description": json.loads(f'"{description}"')}
        for name, text in re.findall(r"(\w+):\s*\[\]byte\(`(.*?)`\)", fields, re.S):
            case[RAW_FIELDS[name]] = text.lstrip("\n")
        error = re.search(rf"ExpectedError:\s*{GO_STRING}", fields)
        if error:
            case["expectedError"] = json.loads(f'"{error.group(1)}"')
        cases.append(case)
    return cases


def json_cases(source: str, test: str) -> list[dict[str, Any]]:
    body = block(source, f"func {test}(t *testing.T) {{")
    table = block(body, "}{")  # the map literal after its anonymous struct type
    cases = []
    for name, fields in re.findall(rf"\n\t\t{GO_STRING}: \{{(.*?)\n\t\t\}},", table, re.S):
        case: dict[str, Any] = {"table": test, "test": test, "schema": JSON_TABLES[test], "format": "json", "description": name}
        for field, text in re.findall(r"(\w+):\s*`(.*?)`", fields, re.S):
            case[JSON_FIELDS[field]] = text
        cases.append(case)
    return cases


class Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _text)


def main(repo: str, tag: str) -> None:
    commit = subprocess.run(["git", "-C", repo, "rev-parse", f"{tag}^{{commit}}"], check=True, capture_output=True,
                            text=True).stdout.strip()
    source = show(repo, tag, "patch_test.go")
    definitions: dict[str, Any] = {}
    for swagger in ("testdata/swagger-merge-item.json", "testdata/swagger-precision-item.json"):
        definitions.update(yaml.safe_load(show(repo, tag, swagger))["definitions"])  # YAML: the file has a trailing comma
    cases = [case for table in YAML_TABLES for case in yaml_cases(source, table)]
    cases += [case for table in RAW_TABLES for case in raw_cases(source, table)]
    cases += [case for test in JSON_TABLES for case in json_cases(source, test)]
    print(f"""# DATA, not code: the strategic merge patch test cases of Kubernetes' apimachinery, carried over
# as values (no upstream code) so that lab/cluster/api/patch.py is held to upstream's own test data.
# Upstream: https://github.com/kubernetes/apimachinery/blob/{tag}/{FOLDER}/patch_test.go
#   and {FOLDER}/testdata/swagger-merge-item.json, swagger-precision-item.json
#   (the `definitions` below: the schemas upstream's tests look patch keys up in)
# Tag {tag} (= kubernetes/kubernetes staging at v1.{tag.split(".", 1)[1]}), commit {commit}.
# Reviewed 2026-12-04. Written by tests/strategicpatch_cases.py; read by tests/test_api_patch_upstream.py.
# Fields: `format` structured = upstream's YAML table (maps), yaml = raw YAML text, json = JSON text;
# `test` = the upstream test function that applies the case.""")
    document = {"upstream": {"repository": "kubernetes/apimachinery", "tag": tag, "commit": commit, "reviewed": "2026-12-04"},
                "definitions": definitions, "cases": cases}
    sys.stdout.write(yaml.dump(document, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120))


if __name__ == "__main__":
    main(*sys.argv[1:])
