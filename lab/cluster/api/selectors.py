"""Label and field selectors, and the continue token of paged lists.

Label selectors follow k8s.io/apimachinery `pkg/labels/selector.go` (=, ==, !=, in, notin, exists,
!exists); field selectors `pkg/fields/selector.go` (=, ==, != on a dotted field path such as
`metadata.name`, `involvedObject.uid`, `spec.nodeName`, `status.phase`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from lab.cluster.api.errors import bad_request

Obj = dict[str, Any]
Match = Callable[[Obj], bool]

_IN = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\)|(==|!=|=)\s*([A-Za-z0-9_.-]*))?\s*$")


def _split_requirements(text: str) -> list[str]:
    """Commas separate requirements except inside `in (a, b)`."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def label_selector(text: str | None) -> Match | None:
    if not text:
        return None
    tests: list[Match] = []
    for requirement in _split_requirements(text):
        found = _IN.match(requirement)
        if found is None:
            raise bad_request(f"unable to parse requirement: {requirement.strip()}")
        negated, key, set_op, values, op, value = found.groups()
        tests.append(_label_test(negated == "!", key, set_op, values, op, value))
    return lambda obj: all(test(obj) for test in tests)


def _label_test(negated: bool, key: str, set_op: str | None, values: str | None, op: str | None, value: str | None) -> Match:
    def labels(obj: Obj) -> dict[str, str]:
        return (obj.get("metadata") or {}).get("labels") or {}

    if set_op:
        allowed = {v.strip() for v in (values or "").split(",") if v.strip()}
        if set_op == "in":
            return lambda obj: labels(obj).get(key) in allowed
        return lambda obj: labels(obj).get(key) not in allowed
    if op in ("=", "=="):
        return lambda obj: labels(obj).get(key) == value
    if op == "!=":
        return lambda obj: labels(obj).get(key) != value
    if negated:
        return lambda obj: key not in labels(obj)
    return lambda obj: key in labels(obj)


def field_value(obj: Obj, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def field_selector(text: str | None) -> Match | None:
    if not text:
        return None
    tests: list[Match] = []
    for requirement in text.split(","):
        found = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*", requirement)
        if found is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{requirement}'")
        path, op, value = found.groups()
        if op == "!=":
            tests.append(lambda obj, p=path, v=value: field_value(obj, p) != v)
        else:
            tests.append(lambda obj, p=path, v=value: field_value(obj, p) == v)
    return lambda obj: all(test(obj) for test in tests)


def both(*matches: Match | None) -> Match | None:
    real = [m for m in matches if m is not None]
    if not real:
        return None
    return lambda obj: all(m(obj) for m in real)


def continue_token(resource_version: int, offset: int) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": resource_version, "start": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_continue(token: str) -> tuple[int, int]:
    """(resourceVersion, offset); BadRequest for a token this server did not write."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return int(raw["rv"]), int(raw["start"])
    except (ValueError, KeyError, TypeError):
        raise bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)") from None

