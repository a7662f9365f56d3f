"""Política de la malla: lo que istiod programaría en las rutas de salida de cada sidecar.

Fuentes: `meshConfig` del IstioOperator de apps/istio/ y las VirtualService aplicadas al
laboratorio. Los valores (política por defecto, previous_hosts, previous_priorities, el ConfigMap
`istio`) vienen de las fuentes de Istio por lab/cluster/istio/retries.json; las reglas son las de
pilot/pkg/networking/core/route/retry/retry.go#ConvertPolicy y route.go#applyHTTPRouteDestination:

- Ruta sin VirtualService, o VirtualService sin `retries` → `meshConfig.defaultHttpRetryPolicy`
  (la VirtualService la sustituye entera: no se mezclan campos).
- Sin política de malla → la de Istio (≥ 1.24, **sin** 503). `attempts <= 0` (también la política
  vacía `{}`) → ninguna política.
- `retryOn`: los códigos HTTP (Atoi + StatusText de Go) pasan a retriableStatusCodes y, si el
  texto no contiene «retriable-status-codes», se le añade «,retriable-status-codes» (con la coma
  delante aunque no quede nada antes, como Istio).
- `perTryTimeout`, `backoff` (baseInterval), `retryIgnorePreviousHosts` (quita o pone
  previous_hosts), `retryRemoteLocalities` (previous_priorities).
- DestinationRule con consistentHash (que quitaría previous_hosts): el laboratorio no la emula.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab.cluster.istio import facts
from lab.cluster.istio.gotypes import atoi, duration_json, is_status_code, parse_duration
from lab.cluster.istio.validation import check_http_route
from lab.cluster.topology import NAMESPACE, SAFE_LOADER, Topology
from lab.constants import ISTIO_DIR
from lab.errors import LabError

CODES_TOKEN = "retriable-status-codes"
VS_API_VERSIONS = ("networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3")


def load_mesh_config(course_root: Path) -> dict[str, Any]:
    """El `spec.meshConfig` del IstioOperator de apps/istio/ ({} si no tiene)."""
    folder = course_root / ISTIO_DIR
    for path in sorted(folder.glob("*.y*ml")):
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER):
            if doc and doc.get("kind") == "IstioOperator":
                return dict((doc.get("spec") or {}).get("meshConfig") or {})
    raise LabError(f"No encuentro el IstioOperator en {folder}.")


def mesh_config(mesh: dict[str, Any]) -> dict[str, Any]:
    """El meshConfig que `istioctl install` escribe en el ConfigMap `istio` (clave `mesh`).

    La plantilla del chart (valores por defecto en retries.json) fusionada en profundidad con el
    meshConfig del IstioOperator (`mergeOverwrite`); `defaultProviders` con prometheus solo si el
    IstioOperator no pone los suyos (helper `default-prometheus`).
    """
    chart = copy.deepcopy(facts()["mesh_configmap"]["mesh"])
    if facts()["mesh_configmap"]["prometheus_unless"] in mesh:
        chart.pop("defaultProviders", None)
    return _merge(chart, mesh)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def mesh_configmap(mesh: dict[str, Any]) -> str:
    """El texto de `kubectl -n istio-system get configmap istio -o jsonpath='{.data.mesh}'`."""
    return yaml.safe_dump(mesh_config(mesh), sort_keys=True, default_flow_style=False).rstrip("\n")


def access_log_enabled(mesh: dict[str, Any]) -> bool:
    return bool(mesh.get("accessLogFile"))


def duration(value: Any, what: str) -> str:
    """Una duración de Istio (sintaxis de Go: «2s», «500ms», «1.5s») → la de Envoy («0.500s»)."""
    nanos = parse_duration(value) if isinstance(value, str) else None
    if nanos is None:
        raise LabError(f"{what}: duración no válida «{value}» (ejemplos: 500ms, 2s).")
    return duration_json(nanos)


def convert_policy(retries: dict[str, Any] | None) -> dict[str, Any] | None:
    """HTTPRetry de Istio → RetryPolicy de Envoy en JSON de proto3 (None: la ruta no reintenta)."""
    policy = copy.deepcopy(facts()["default_policy"])
    if retries is None:
        return policy
    attempts = retries.get("attempts") or 0
    if attempts <= 0:
        return None
    policy["numRetries"] = attempts
    if retries.get("retryOn"):
        words, codes = [], []
        for part in str(retries["retryOn"]).split(","):
            part = part.strip()
            if part:
                (codes if is_status_code(part) else words).append(part)
        policy["retryOn"] = ",".join(words)
        if codes:
            policy["retriableStatusCodes"] = [atoi(c) for c in codes]
            if CODES_TOKEN not in policy["retryOn"]:
                policy["retryOn"] += "," + CODES_TOKEN
    if retries.get("perTryTimeout") is not None:
        policy["perTryTimeout"] = duration(retries["perTryTimeout"], "perTryTimeout")
    if retries.get("retryIgnorePreviousHosts") is False:
        del policy["retryHostPredicate"]
    if retries.get("retryRemoteLocalities") is True:
        policy["retryPriority"] = copy.deepcopy(facts()["retry_priority"])
    if retries.get("backoff") is not None:
        policy["retryBackOff"] = {"baseInterval": duration(retries["backoff"], "backoff")}
    return policy


def inbound_policy() -> dict[str, Any]:
    """La política de las rutas de entrada (route.go#BuildDefaultHTTPInboundRoute, puertos no gRPC)."""
    return copy.deepcopy(facts()["inbound_policy"])


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
    for index, rule in enumerate(spec.get("http") or []):  # lo que respondería el servidor de API, primero
        if isinstance(rule, dict):
            check_http_route(name, str(doc.get("apiVersion", "")), index, rule)
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
    timeout = duration(rule["timeout"], "timeout") if rule.get("timeout") else None
    return VirtualService(name, host, hosts, retries, timeout, rule.get("name"), doc)


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
