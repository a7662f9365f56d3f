"""Los casos de conformidad de retries.json y cómo se comparan (común a las pruebas test_lab_istio_*).

Las expectativas vienen de Istio (sus tests y las reglas de su código); aquí solo se leen y se
comparan con lo que enseña Envoy, en el JSON de proto3 de su config_dump (camelCase).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lab.cluster.istio import istio_data
from lab.testing.driver import LabDriver

DATA = istio_data()
FACTS = DATA["facts"]
CASES: list[dict[str, Any]] = DATA["cases"]
TOKENS = set(FACTS["validation"]["retry_on_tokens"])
SUMMARY = pytest.StashKey[list[str]]()  # líneas para el final de la salida de pytest (conftest.py)

# Escritas a mano desde istio/istio release-1.31 (commit a8d7012191ebf42bacd48fa72b32a05828e4c564), no
# leídas de retries.json (lo que lee la implementación): pilot/pkg/networking/core/route/retry/retry.go
# (defaultRetryOn, defaultNumRetries 2, HostSelectionRetryMaxAttempts 5, RetryPreviousHosts de
# pilot/pkg/xds/filters/filters.go) y route.go#BuildDefaultHTTPInboundRoute (puertos no gRPC).
ISTIO_DEFAULT_POLICY = {
    "retryOn": "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
    "numRetries": 2,
    "retryHostPredicate": [{
        "name": "envoy.retry_host_predicates.previous_hosts",
        "typedConfig": {"@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"},
    }],
    "hostSelectionRetryMaxAttempts": "5",
}
ISTIO_INBOUND_POLICY = {"retryOn": "reset-before-request", "numRetries": 2}
# Los casos de Istio que el laboratorio no emula, y por qué (se listan al final de la conformidad).
NOT_EMULATED = {
    "TestRetry/TestRetryPreviousHostsDefaultWithHashPolicy":
        "DestinationRule con consistentHash (quita previous_hosts): el curso no usa DestinationRule",
    "TestRetry/TestRetryPreviousHostsForHashPolicyWithRetryIgnorePreviousHosts":
        "DestinationRule con consistentHash (quita previous_hosts): el curso no usa DestinationRule",
}


def report(config: pytest.Config, line: str) -> None:
    config.stash.setdefault(SUMMARY, []).append(line)


def by_prefix(prefix: str) -> list[dict[str, Any]]:
    """Los casos cuyo id empieza por `prefix`, sin los de NOT_EMULATED."""
    return [c for c in CASES if c["id"].startswith(prefix) and c["id"] not in NOT_EMULATED]


def not_emulated_lines() -> list[str]:
    return [f"  sin emular: {case}: {why}" for case, why in NOT_EMULATED.items()]


def lookup(policy: dict[str, Any], dotted: str) -> Any:
    value: Any = policy
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def policy_problems(expect: Any, policy: dict[str, Any] | None) -> list[str]:
    """Diferencias entre la expectativa de Istio y una retryPolicy (None: la ruta no tiene)."""
    if expect is None:
        return [] if policy is None else [f"esperaba ninguna retryPolicy y hay {json.dumps(policy)}"]
    if policy is None:
        return ["esperaba una retryPolicy y la ruta no tiene"]
    if expect == "default":
        expect = {"exact": ISTIO_DEFAULT_POLICY}
    if "exact" in expect:
        return [] if policy == expect["exact"] else [f"esperaba {json.dumps(expect['exact'])}\n   y hay {json.dumps(policy)}"]
    problems = [
        f"{path}: esperaba {json.dumps(value)} y hay {json.dumps(lookup(policy, path))}"
        for path, value in expect["equal"].items()
        if lookup(policy, path) != value
    ]
    problems += [f"{path}: esperaba que no estuviera y vale {json.dumps(lookup(policy, path))}"
                 for path in expect["absent"] if lookup(policy, path) is not None]
    return problems


def virtual_service(retries: dict[str, Any] | None, host: str = "backend1", name: str = "conformidad") -> str:
    """Una VirtualService con una ruta http al Service `host` (JSON: es YAML válido y no reinterpreta
    los textos, con sus espacios y tabuladores)."""
    rule: dict[str, Any] = {"route": [{"destination": {"host": host}}]}
    if retries is not None:
        rule["retries"] = retries
    doc = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name},
        "spec": {"hosts": [host], "http": [rule]},
    }
    return json.dumps(doc, ensure_ascii=False) + "\n"


def route_to(lab: LabDriver, host: str = "backend1", workload: str = "deploy/bff") -> dict[str, Any]:
    configs = json.loads(lab.run("istioctl", "proxy-config", "route", workload, "-o", "json").stdout)
    for config in configs:
        for vhost in config.get("virtualHosts", []):
            if vhost["name"].startswith(f"{host}."):
                return vhost["routes"][0]["route"]
    raise AssertionError(f"{workload} no tiene ruta a {host}")


def webhook_would_refuse(retries: dict[str, Any] | None) -> bool:
    """Un token de retryOn que no es de Istio ni un número: el webhook lo rechaza (validateHTTPRetry)."""
    words = str((retries or {}).get("retryOn") or "").split(",") if (retries or {}).get("retryOn") else []
    return any(w not in TOKENS and not w.isdigit() for w in words)
