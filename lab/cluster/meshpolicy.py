"""Política de la malla: lo que istiod programaría en las rutas de salida de cada sidecar.

Fuentes: `meshConfig` del IstioOperator de apps/istio/ y las VirtualService aplicadas al
laboratorio. Reglas de Istio (pilot/pkg/networking/core/route/retry/retry.go#ConvertPolicy):

- Ruta sin VirtualService, o VirtualService sin `retries` → `meshConfig.defaultHttpRetryPolicy`.
- Sin política de malla → la de Istio ≥ 1.24: 2 reintentos por connect-failure, refused-stream,
  unavailable, cancelled y retriable-status-codes, **sin** 503.
- `attempts` → num_retries; `attempts: 0` → ninguna política (ni reintentos).
- `retryOn`: los números pasan a retriable_status_codes (y se añade retriable-status-codes).
- `perTryTimeout` → per_try_timeout; siempre previous_hosts y host_selection_retry_max_attempts 5.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab.cluster.topology import NAMESPACE, Topology
from lab.errors import LabError

ISTIO_DIR = Path("apps") / "istio"
DEFAULT_RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
DEFAULT_NUM_RETRIES = 2
HOST_SELECTION_RETRY_MAX_ATTEMPTS = 5
PREVIOUS_HOSTS = {
    "name": "envoy.retry_host_predicates.previous_hosts",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
    },
}
# Lo que `istioctl install` añade a meshConfig (ConfigMap istio de istio-system, clave mesh).
MESH_DEFAULTS: dict[str, Any] = {
    "defaultConfig": {"discoveryAddress": "istiod.istio-system.svc:15012"},
    "defaultProviders": {"metrics": ["prometheus"]},
    "enablePrometheusMerge": True,
    "rootNamespace": "istio-system",
    "trustDomain": "cluster.local",
}
VS_API_VERSIONS = ("networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3")


def load_mesh_config(course_root: Path) -> dict[str, Any]:
    """El `spec.meshConfig` del IstioOperator de apps/istio/ ({} si no tiene)."""
    folder = course_root / ISTIO_DIR
    for path in sorted(folder.glob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc.get("kind") == "IstioOperator":
                return dict((doc.get("spec") or {}).get("meshConfig") or {})
    raise LabError(f"No encuentro el IstioOperator en {folder}.")


def mesh_configmap(mesh: dict[str, Any]) -> str:
    """El texto de `kubectl -n istio-system get configmap istio -o jsonpath='{.data.mesh}'`."""
    merged = {**MESH_DEFAULTS, **mesh}
    return yaml.safe_dump(merged, sort_keys=True, default_flow_style=False).rstrip("\n")


def access_log_enabled(mesh: dict[str, Any]) -> bool:
    return bool(mesh.get("accessLogFile"))


def duration(value: Any, what: str) -> str:
    """Una duración de Istio («2s», «500ms», «1m», «1.5s») → la de Envoy en segundos («0.500s»)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)\s*", str(value))
    if not match:
        raise LabError(f"{what}: duración no válida «{value}» (ejemplos: 500ms, 2s).")
    number, unit = float(match.group(1)), match.group(2)
    seconds = number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return f"{seconds:.3f}s".replace(".000s", "s")


def convert_policy(retries: dict[str, Any] | None) -> dict[str, Any] | None:
    """HTTPRetry de Istio → retry_policy de Envoy (None: la ruta no reintenta)."""
    policy: dict[str, Any] = {
        "retry_on": DEFAULT_RETRY_ON,
        "num_retries": DEFAULT_NUM_RETRIES,
        "retry_host_predicate": [PREVIOUS_HOSTS],
        "host_selection_retry_max_attempts": HOST_SELECTION_RETRY_MAX_ATTEMPTS,
    }
    if retries is None:
        return policy
    attempts = int(retries.get("attempts") or 0)
    if attempts <= 0:
        return None
    policy["num_retries"] = attempts
    if retries.get("retryOn"):
        tokens = [t.strip() for t in str(retries["retryOn"]).split(",") if t.strip()]
        codes = [int(t) for t in tokens if t.isdigit()]
        words = [t for t in tokens if not t.isdigit()]
        if codes and "retriable-status-codes" not in words:
            words.append("retriable-status-codes")
        policy["retry_on"] = ",".join(words)
        if codes:
            policy["retriable_status_codes"] = codes
    if retries.get("perTryTimeout"):
        policy["per_try_timeout"] = duration(retries["perTryTimeout"], "perTryTimeout")
    if retries.get("retryIgnorePreviousHosts") is False:
        del policy["retry_host_predicate"]
    if retries.get("backoff"):
        policy["retry_back_off"] = {"base_interval": duration(retries["backoff"], "backoff")}
    return policy


@dataclass(frozen=True)
class VirtualService:
    """Lo que el laboratorio entiende de una VirtualService: una ruta HTTP a un Service."""

    name: str
    host: str  # nombre corto del Service
    hosts: tuple[str, ...]  # tal como se escribieron (para `kubectl get vs`)
    retries: dict[str, Any] | None
    timeout: str | None
    route_name: str | None
    doc: dict[str, Any]


def parse_virtual_service(doc: dict[str, Any], topology: Topology, origin: str) -> VirtualService:
    """Valida una VirtualService como lo harían el servidor de API y el webhook de Istio."""
    name = (doc.get("metadata") or {}).get("name")
    if not name:
        raise LabError(f'error: error validating "{origin}": la VirtualService no tiene metadata.name')
    namespace = (doc.get("metadata") or {}).get("namespace", NAMESPACE)
    if namespace != NAMESPACE:
        raise LabError(f"error: el laboratorio solo tiene el namespace «{NAMESPACE}» (no «{namespace}»).")
    spec = doc.get("spec") or {}
    hosts = tuple(str(h) for h in spec.get("hosts") or [])
    services = {s.name for s in topology.services}
    short = {_short(h) for h in hosts}
    if len(short) != 1 or not short <= services:
        raise LabError(
            f"error: la VirtualService {name} debe tener un único host de un Service del curso "
            f"({', '.join(sorted(services))}); no soportado por el laboratorio (not supported by the lab)."
        )
    host = short.pop()
    http = spec.get("http") or []
    unsupported = [k for k in spec if k not in ("hosts", "http")]
    if len(http) != 1 or unsupported or any(k not in ("name", "route", "retries", "timeout") for k in http[0]):
        raise LabError(
            f"error: la VirtualService {name}: el laboratorio solo emula una ruta http sin «match» "
            "con route, retries y timeout; no soportado por el laboratorio (not supported by the lab)."
        )
    rule = http[0]
    for dest in rule.get("route") or []:
        if _short(str((dest.get("destination") or {}).get("host", ""))) != host:
            raise LabError(
                f"error: la VirtualService {name} envía tráfico a otro Service; "
                "no soportado por el laboratorio (not supported by the lab)."
            )
    retries = rule.get("retries")
    if retries is not None:
        _validate_retries(name, origin, retries)
    timeout = duration(rule["timeout"], "timeout") if rule.get("timeout") else None
    return VirtualService(name, host, hosts, retries, timeout, rule.get("name"), doc)


def _validate_retries(name: str, origin: str, retries: Any) -> None:
    denied = (
        f'Error from server: error when creating "{origin}": admission webhook "validation.istio.io" '
        "denied the request: configuration is invalid: "
    )
    if not isinstance(retries, dict):
        raise LabError(denied + "retries must be an object")
    unknown = set(retries) - {"attempts", "retryOn", "perTryTimeout", "retryIgnorePreviousHosts", "backoff"}
    if unknown:
        raise LabError(f"error: campos de retries no soportados por el laboratorio: {', '.join(sorted(unknown))}")
    attempts = retries.get("attempts", 0)
    if not isinstance(attempts, int) or attempts < 0:
        raise LabError(denied + "attempts cannot be negative")
    if attempts == 0 and (retries.get("retryOn") or retries.get("perTryTimeout")):
        raise LabError(denied + "http retry policy: retryOn and perTryTimeout require attempts > 0")
    for token in str(retries.get("retryOn") or "").split(","):
        token = token.strip()
        if token.isdigit() and not 100 <= int(token) <= 599:
            raise LabError(denied + f"{token} is not a valid HTTP status code")
    for key in ("perTryTimeout", "backoff"):
        if retries.get(key):
            duration(retries[key], key)


def _short(host: str) -> str:
    return host.split(".")[0]


def route_action(cluster: str, mesh: dict[str, Any], vs: VirtualService | None) -> dict[str, Any]:
    """La acción de la ruta de salida hacia el cluster de un Service (timeout y reintentos).

    `cluster` es el nombre que le da envoyconfig.outbound_cluster() (el único sitio que lo forma).
    """
    retries = vs.retries if vs is not None and vs.retries is not None else mesh.get("defaultHttpRetryPolicy")
    action: dict[str, Any] = {
        "cluster": cluster,
        "timeout": vs.timeout if vs is not None and vs.timeout else "0s",
    }
    policy = convert_policy(retries)
    if policy is not None:
        action["retry_policy"] = policy
    return action
