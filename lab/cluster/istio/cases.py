"""Los casos de las pruebas de Istio (TestRetry, TestValidateHTTPRetry) como datos.

Parte de regenerate.py: lee las tablas de casos con golit y traduce las aserciones de TestRetry
(gomega: `g.Expect(policy.X).To(Equal(…))`) a lo que el config_dump de Envoy debe enseñar.
"""

from __future__ import annotations

import re
from typing import Any

from lab.cluster.istio.golit import Duration, Func, GoDataError, Parser, Ref, Struct, table
from lab.cluster.istio.gotypes import duration_json
from lab.cluster.istio.sources import (
    INT64_FIELDS,
    RETRY_TEST,
    VALIDATION_TEST,
    Source,
    camel,
    go_imports,
    http_retry_yaml,
    type_url,
)

EXPECT = re.compile(r"^g\.Expect\((?P<subject>[\w.]+)\)\.To\((?P<matcher>.*)\)$")
DEEP_EQUAL = re.compile(r"^if !reflect\.DeepEqual\((?P<subject>[\w.]+), (?P<value>\w+)\) \{$")
IGNORED = re.compile(r"^(//.*|}|t\.Fatalf\(.*\)|)$")


def retry_test_cases(src: Source, facts: dict[str, Any]) -> list[dict[str, Any]]:
    text = src.read(RETRY_TEST)
    imports = go_imports(text)
    cases = []
    for case in table(text, "testCases := []struct {"):
        retries = case["route"].fields.get("Retries")
        expect = _assertions(case["assertFunc"], imports, facts)
        cases.append({
            "id": f"TestRetry/{case['name']}",
            "origin": f"{RETRY_TEST}#TestRetry",
            "retries": http_retry_yaml(retries) if retries is not None else None,
            "consistent_hash": bool(case.get("hashPolicy", False)),
            "expect": expect,
        })
    return cases


def _assertions(func: Func, imports: dict[str, str], facts: dict[str, Any]) -> dict[str, Any]:
    """Las aserciones de un assertFunc → {"policy": None | "default" | {"equal": …, "absent": […]}}."""
    body, local = func.body, {}
    while match := re.search(r"^\s*(\w+) := ", body, re.MULTILINE):  # variables locales, fuera del cuerpo
        parser = Parser(body, match.end())
        local[match.group(1)] = parser.expr()
        kind, text, pos = parser.toks[parser.i - 1]
        body = body[: match.start()] + "\n" + body[pos + len(text) :]
    equal: dict[str, Any] = {}
    absent: list[str] = []
    policy: Any = {"equal": equal, "absent": absent}
    for raw in body.splitlines():
        line = re.sub(r"\s+", " ", raw.strip())
        if IGNORED.match(line):
            continue
        match, deep = EXPECT.match(line), DEEP_EQUAL.match(line)
        if deep:
            subject, matcher = deep.group("subject"), f"Equal({deep.group('value')})"
        elif match:
            subject, matcher = match.group("subject"), match.group("matcher")
        else:
            raise GoDataError(f"aserción no reconocida en TestRetry: {line!r}")
        if subject == "policy":
            if matcher == "Not(BeNil())":
                continue
            if matcher == "BeNil()":
                policy = None
            elif matcher == "Equal(retry.DefaultPolicy())":
                policy = "default"
            else:
                raise GoDataError(f"aserción sobre la política no reconocida: {line!r}")
            continue
        if not subject.startswith("policy."):
            raise GoDataError(f"aserción sobre algo que no es la política: {line!r}")
        field = camel(subject.removeprefix("policy."))
        if matcher == "BeNil()":
            absent.append(field)
            continue
        inner = re.fullmatch(r"Equal\((.*)\)", matcher)
        if not inner:
            raise GoDataError(f"comparación no reconocida: {line!r}")
        value = _json_value(Parser(inner.group(1)).expr(), local, imports, facts, field)
        if value in (None, []):
            absent.append(field)
        else:
            equal[field] = value
    return {"policy": policy}


def _json_value(value: Any, local: dict[str, Any], imports: dict[str, str], facts: dict[str, Any], field: str) -> Any:
    default = facts["default_policy"]
    if isinstance(value, Ref) and value.name in local:
        value = local[value.name]
    if isinstance(value, Ref):
        if value.name.startswith("retry.DefaultPolicy()."):
            return default.get(camel(value.name.removeprefix("retry.DefaultPolicy().")))
        raise GoDataError(f"referencia no reconocida: {value.name}")
    if isinstance(value, Duration):
        return duration_json(value.nanos)
    if isinstance(value, list):
        if value == [Ref("xdsfilters.RetryPreviousHosts")]:
            return default["retryHostPredicate"]
        if all(isinstance(v, int) for v in value):
            return value
        raise GoDataError(f"lista no reconocida: {value!r}")
    if isinstance(value, Struct) and value.type.endswith("RetryPolicy_RetryPriority"):
        return _retry_priority(value, local, imports)
    if isinstance(value, int) and field in INT64_FIELDS:
        return str(value)
    if isinstance(value, (int, str)):
        return value
    raise GoDataError(f"valor no reconocido para {field}: {value!r}")


def _retry_priority(value: Struct, local: dict[str, Any], imports: dict[str, str]) -> dict[str, Any]:
    """`&RetryPolicy_RetryPriority{Name, TypedConfig: MessageToAny(cfg)}` con cfg en una variable local."""
    configs = [v for v in local.values() if isinstance(v, Struct) and v.type.endswith("PreviousPrioritiesConfig")]
    if len(configs) != 1:
        raise GoDataError("TestRetryRemoteLocalities cambió de forma")
    config = configs[0]
    return {
        "name": value.fields["Name"],
        "typedConfig": {"@type": type_url(imports, config.type), **{camel(k): v for k, v in config.fields.items()}},
    }


def validation_test_cases(src: Source) -> list[dict[str, Any]]:
    text = src.read(VALIDATION_TEST)
    start = text.index("func TestValidateHTTPRetry(")
    return [
        {
            "id": f"TestValidateHTTPRetry/{case['name']}",
            "origin": f"{VALIDATION_TEST}#TestValidateHTTPRetry",
            "retries": http_retry_yaml(case["in"]),
            "expect": {"valid": case["valid"]},
        }
        for case in table(text[start:], "testCases := []struct {")
    ]


