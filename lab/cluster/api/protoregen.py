"""Writes k8s-proto.json: the protobuf field numbers and types of the kinds the lab serves.

From the `generated.proto` files of kubernetes/api and kubernetes/apimachinery at the tag of the
pinned kubectl (v0.<minor>.<patch>), reduced to what protobuf.py needs to decode a request body:
per message, `{number: [json name, type, "repeated"|"map"|"", map value type]}`, for the messages
reachable from the served kinds. Usage: `python -m lab.cluster.api.protoregen <api checkout> <apimachinery checkout>`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

from lab.cluster.api.discovery import server_version
from lab.cluster.api.protobuf import DATA as OUT
from lab.cluster.api.resources import RESOURCES

API_FILES = ["core/v1/generated.proto", "apps/v1/generated.proto", "discovery/v1/generated.proto",
             "autoscaling/v1/generated.proto"]
MACHINERY_FILES = ["pkg/apis/meta/v1/generated.proto", "pkg/runtime/generated.proto", "pkg/util/intstr/generated.proto",
                   "pkg/api/resource/generated.proto"]
FIELD = re.compile(r"^\s*(optional|repeated)?\s*([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;")
MAP = re.compile(r"^\s*map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;")
SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float", "fixed64", "sfixed64"}


def parse(text: str) -> dict[str, dict[str, list[Any]]]:
    package = re.search(r"^package ([\w.]+);", text, re.M)[1]
    messages: dict[str, dict[str, list[Any]]] = {}
    current: dict[str, list[Any]] | None = None
    depth = 0
    for line in text.splitlines():
        line = line.split("//")[0]
        opened = re.match(r"^\s*message (\w+) \{", line)
        if opened and depth == 0:
            current = messages.setdefault(f"{package}.{opened[1]}", {})
        depth += line.count("{") - line.count("}")
        if current is None or depth != 1:
            continue
        if found := MAP.match(line):
            key, value, name, number = found.groups()
            current[number] = [name, _qualify(value, package), "map", key]
        elif found := FIELD.match(line):
            label, kind, name, number = found.groups()
            current[number] = [name, _qualify(kind, package), "repeated" if label == "repeated" else "", ""]
    return messages


def _qualify(kind: str, package: str) -> str:
    if kind.startswith("."):
        return kind[1:]
    return kind if kind in SCALARS or "." in kind else f"{package}.{kind}"


def reachable(messages: dict[str, dict[str, list[Any]]], roots: list[str]) -> dict[str, dict[str, list[Any]]]:
    keep: dict[str, dict[str, list[Any]]] = {}
    todo = [r for r in roots if r in messages]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep[name] = messages[name]
        todo += [f[1] for f in messages[name].values() if f[1] in messages and f[1] not in keep]
    return dict(sorted(keep.items()))


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        print("uso: python -m lab.cluster.api.protoregen <clon de kubernetes/api> <clon de kubernetes/apimachinery>", file=sys.stderr)
        return 2
    tag = f"v0.{server_version().split('.', 1)[1]}"
    messages: dict[str, dict[str, list[Any]]] = {}
    for checkout, files in ((args[0], API_FILES), (args[1], MACHINERY_FILES)):
        for path in files:
            text = subprocess.run(["git", "-C", checkout, "show", f"{tag}:{path}"], check=True, capture_output=True, text=True).stdout
            messages.update(parse(text))
    roots = [f"k8s.io.api.{r.group.split('.')[0] or 'core'}.{r.version}.{r.kind}" for r in RESOURCES if not r.group.endswith("istio.io")]
    roots.append("k8s.io.api.autoscaling.v1.Scale")
    data = {"source": {"tag": tag, "files": API_FILES + MACHINERY_FILES}, "messages": reachable(messages, roots)}
    OUT.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(data['messages'])} mensajes de {tag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
