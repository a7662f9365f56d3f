"""Las estadísticas que guarda el Envoy de un sidecar del laboratorio: las reglas del bootstrap de
Istio (pkg/bootstrap/config.go, release-1.31) con el proxyStatsMatcher del IstioOperator del curso."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cluster.meshpolicy import load_mesh_config
from lab.cluster.statsmatcher import kept, stats_config
from lab.errors import LabError

ROOT = Path(__file__).resolve().parents[1]
BACKEND1 = "cluster.outbound|8080||backend1.default.svc.cluster.local"


def test_the_course_keeps_the_retry_counters_of_each_cluster() -> None:
    config = stats_config(load_mesh_config(ROOT), "10.0.0.7")
    for name in (f"{BACKEND1}.upstream_rq_retry", f"{BACKEND1}.upstream_rq_retry_success",
                 "cluster.inbound|8080||.upstream_rq_retry"):
        assert kept(name, config), name
    # Lo que el curso no pide sigue fuera, como en un clúster con Istio.
    for name in (f"{BACKEND1}.upstream_rq_retry_limit_exceeded", f"{BACKEND1}.upstream_rq_retry_overflow",
                 f"{BACKEND1}.upstream_rq_total", f"{BACKEND1}.upstream_rq_503",
                 "http.outbound_0.0.0.0_8080.downstream_rq_total"):
        assert not kept(name, config), name


def test_without_proxy_stats_matcher_only_istios_own_inclusions() -> None:
    config = stats_config({}, "10.0.0.7")
    assert not kept(f"{BACKEND1}.upstream_rq_retry", config)
    for name in ("cluster_manager.cds.update_success", "server.live", "cluster.xds-grpc.upstream_rq_retry",
                 "listener_manager.total_listeners_active", "reporter=.istio_requests_total",
                 "component.proxy", "istio_build", "http.inbound.rbac.allowed",
                 "vhost.backend1.default.svc.cluster.local:8080.route.mine.upstream_rq_total"):
        assert kept(name, config), name
    # La expresión regular casa con el nombre entero (StringMatcher de Envoy).
    assert not kept("xvhost", config)


def test_order_and_pod_ip_are_istios() -> None:
    mesh = {"defaultConfig": {"proxyStatsMatcher": {"inclusionPrefixes": ["http.{pod_ip}_"],
                                                    "inclusionRegexps": [".*outlier.*"]}}}
    patterns = stats_config(mesh, "10.0.0.7")["stats_matcher"]["inclusion_list"]["patterns"]
    assert patterns[0] == {"prefix": "reporter="}
    assert patterns[1] == {"prefix": "http.10.0.0.7_"}  # las configuradas, antes que las obligatorias
    assert patterns[2] == {"prefix": "cluster_manager"}
    assert {"safe_regex": {"regex": ".*outlier.*"}} in patterns
    assert patterns[-2:] == [{"prefix": "component"}, {"prefix": "istio"}]


def test_a_bad_matcher_names_the_field() -> None:
    with pytest.raises(LabError, match="proxyStatsMatcher.inclusionSuffixes"):
        stats_config({"defaultConfig": {"proxyStatsMatcher": {"inclusionSuffixes": "upstream_rq_retry"}}}, "10.0.0.7")
