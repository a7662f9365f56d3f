"""Las estadísticas que guarda el Envoy de un sidecar del laboratorio: las reglas del bootstrap de
Istio (pkg/bootstrap/config.go, release-1.31) con el proxyStatsMatcher del IstioOperator del curso."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from lab.cluster.meshpolicy import load_mesh_config
from lab.cluster.procs import envoy_binary
from lab.cluster.statsmatcher import stats_config
from lab.errors import LabError

ROOT = Path(__file__).resolve().parents[1]
BACKEND1 = "cluster.outbound|8080||backend1.default.svc.cluster.local"


def kept(name: str, config: dict[str, Any]) -> bool:
    """Envoy's StringMatcher over the inclusion list, for names a bare Envoy does not create (reporter=,
    vhost…): prefix, suffix, or a regex that matches the whole name. The real Envoy below checks the
    same config where it can."""
    for pattern in config["stats_matcher"]["inclusion_list"]["patterns"]:
        if "prefix" in pattern and name.startswith(pattern["prefix"]):
            return True
        if "suffix" in pattern and name.endswith(pattern["suffix"]):
            return True
        if "safe_regex" in pattern and re.fullmatch(pattern["safe_regex"]["regex"], name):
            return True
    return False


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


def test_a_real_envoy_lists_only_the_included_stats(tmp_path: Path) -> None:
    """Envoy 1.40 de verdad con el stats_config del curso: /stats (lo que devuelve
    `pilot-agent request GET stats`) tiene los dos contadores de reintentos de un cluster y no el resto."""
    name = BACKEND1.removeprefix("cluster.")
    bootstrap = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "stats_config": stats_config(load_mesh_config(ROOT), "127.0.0.1"),
        "static_resources": {"clusters": [{
            "name": name, "type": "STATIC", "connect_timeout": "1s",
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 9}}}}]}]},
        }]},
    }
    (tmp_path / "b.json").write_text(json.dumps(bootstrap), encoding="utf-8")
    address = tmp_path / "admin"
    proc = subprocess.Popen([envoy_binary(), "-c", str(tmp_path / "b.json"), "--use-dynamic-base-id",
                             "--admin-address-path", str(address), "-l", "error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not address.exists() or not address.read_text().strip():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://{address.read_text().strip()}/stats", timeout=10) as answer:
            stats = answer.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    mine = [line for line in stats.splitlines() if line.startswith(BACKEND1 + ".")]
    assert mine == [f"{BACKEND1}.upstream_rq_retry: 0", f"{BACKEND1}.upstream_rq_retry_success: 0"], mine
    assert "server.live: 1" in stats
