"""Qué estadísticas guarda el Envoy de un sidecar: las reglas del bootstrap de Istio.

Sigue istio/istio release-1.31: `pkg/bootstrap/config.go#getStatsOptions` (las inclusiones
obligatorias más las de `meshConfig.defaultConfig.proxyStatsMatcher`, estas primero) y la plantilla
`tools/packaging/common/envoy_bootstrap.json` («stats_matcher»: `reporter=` delante, luego prefijos,
sufijos y expresiones regulares, y `component` e `istio` al final). Envoy crea solo las estadísticas
cuyo nombre casa con algún patrón; las demás no existen (no salen en `/stats`). Por eso, sin
`proxyStatsMatcher`, `pilot-agent request GET stats` no muestra `upstream_rq_retry` de ningún cluster
`outbound|…`.

Lo que no se emula: las anotaciones `sidecar.istio.io/statsInclusion*` de cada pod (en Istio
sustituyen a proxyStatsMatcher, no se suman), el prefijo `workload_discovery` (solo con
metadata discovery), el sufijo `downstream_cx_active` (solo con EXIT_ON_ZERO_ACTIVE_CONNECTIONS) y
los `stats_tags` del bootstrap, que no cambian el nombre de una estadística en `/stats`.
"""

from __future__ import annotations

from typing import Any

from lab.errors import LabError

# pkg/bootstrap/config.go: requiredEnvoyStatsMatcherInclusionPrefixes, rbacEnvoyStatsMatcherInclusionSuffix,
# requiredEnvoyStatsMatcherInclusionRegexes.
REQUIRED_PREFIXES = ("cluster_manager", "listener_manager", "server", "cluster.xds-grpc", "wasm")
REQUIRED_SUFFIXES = ("rbac.allowed", "rbac.denied", "shadow_allowed", "shadow_denied")
REQUIRED_REGEXPS = (r"vhost\..*\.route\..*",)
# envoy_bootstrap.json: patrones fijos de la plantilla, antes y después de los configurables.
TEMPLATE_FIRST = ("reporter=",)
TEMPLATE_LAST = ("component", "istio")
POD_IP = "{pod_ip}"  # config.go#substituteValues: se sustituye por la IP del pod


def _configured(mesh: dict[str, Any], field: str) -> list[str]:
    matcher = (mesh.get("defaultConfig") or {}).get("proxyStatsMatcher") or {}
    values = matcher.get(field) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise LabError(f"meshConfig.defaultConfig.proxyStatsMatcher.{field} debe ser una lista de textos (en apps/istio/).")
    return values


def stats_config(mesh: dict[str, Any], pod_ip: str) -> dict[str, Any]:
    """El `stats_config` del bootstrap de un sidecar (solo su `stats_matcher`)."""

    def values(field: str, required: tuple[str, ...]) -> list[str]:
        return [v.replace(POD_IP, pod_ip) for v in [*_configured(mesh, field), *required]]

    patterns: list[dict[str, Any]] = [{"prefix": p} for p in TEMPLATE_FIRST]
    patterns += [{"prefix": p} for p in values("inclusionPrefixes", REQUIRED_PREFIXES)]
    patterns += [{"suffix": s} for s in values("inclusionSuffixes", REQUIRED_SUFFIXES)]
    patterns += [{"safe_regex": {"regex": r}} for r in values("inclusionRegexps", REQUIRED_REGEXPS)]
    patterns += [{"prefix": p} for p in TEMPLATE_LAST]
    return {"stats_matcher": {"inclusion_list": {"patterns": patterns}}}

