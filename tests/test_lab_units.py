"""Piezas del laboratorio sin procesos: topología, política de reintentos, formatos, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.cluster.appcmd import app_command, dockerfile_cmd
from lab.cluster.envoyconfig import Workload, outbound_routes, routes_name, sidecar_bootstrap
from lab.cluster.meshpolicy import load_mesh_config, parse_virtual_service
from lab.cluster.topology import EnvVar, Probe, load_topology
from lab.errors import LabError

ROOT = Path(__file__).resolve().parent.parent


def test_topology_comes_from_the_manifests() -> None:
    topo = load_topology(ROOT)
    assert [(d.name, d.replicas, d.service.index) for d in topo.deployments] == [
        ("bff", 1, 1), ("backend1", 3, 2), ("app2", 3, 3)
    ]
    assert topo.node_ports() == [(30000, topo.deployment("bff"))]
    assert topo.node_urls() == "bff: http://127.0.0.1:30000"
    assert EnvVar("POD_NAME", field_path="metadata.name") in topo.deployment("app2").env
    # readinessProbe httpGet {path: /healthz, port: http} → el containerPort de nombre http
    assert {d.readiness_probe() for d in topo.deployments} == {Probe(8080, "/healthz")}


def test_readiness_probe_and_ports_come_from_the_manifest(course_copy) -> None:
    manifest = (ROOT / "apps/k8s/app2.yaml").read_text(encoding="utf-8")
    changed = manifest.replace("{name: http, containerPort: 8080}", "{name: web, containerPort: 8081}")
    changed = changed.replace("httpGet: {path: /healthz, port: http}", "httpGet: {path: /listo, port: 8081}", 1)
    changed = changed.replace("port: 8080, targetPort: http}", "port: 7070, targetPort: web}")
    assert changed.count("8081") == 2 and "7070" in changed
    app2 = load_topology(course_copy({"apps/k8s/app2.yaml": changed})).deployment("app2")
    assert (app2.container_port, app2.readiness_probe()) == (8081, Probe(8081, "/listo"))
    assert (app2.service.port, app2.service.target_port) == (7070, 8081)
    no_probe = manifest.replace("readinessProbe:", "startupProbe:")
    app2 = load_topology(course_copy({"apps/k8s/app2.yaml": no_probe})).deployment("app2")
    assert app2.readiness is None and app2.readiness_probe() == Probe(8080, None)  # TCP al containerPort


def test_routes_point_at_the_clusters_each_sidecar_has(course_copy, tmp_path: Path) -> None:
    """La ruta hacia un Service usa el nombre de cluster del bootstrap (outbound|<puerto>||...)."""
    manifest = (ROOT / "apps/k8s/app2.yaml").read_text(encoding="utf-8")
    topo = load_topology(course_copy({"apps/k8s/app2.yaml": manifest.replace("port: 8080, targetPort", "port: 7070, targetPort")}))
    mesh = load_mesh_config(ROOT)
    rds = outbound_routes(topo, mesh, {}, 1)["resources"][0]
    bff = topo.deployment("bff")
    boot = sidecar_bootstrap("bff-x", "127.0.1.10", Workload("bff", bff.container_port, bff.service), topo, mesh, tmp_path)
    clusters = {c["name"] for c in boot["static_resources"]["clusters"]}
    assert {vh["routes"][0]["route"]["cluster"] for vh in rds["virtual_hosts"]} <= clusters
    assert "outbound|7070||app2.default.svc.cluster.local" in clusters
    assert rds["name"] == routes_name(topo) == "7070+8080"
    assert routes_name(load_topology(ROOT)) == "8080"  # como Istio: la RouteConfiguration «8080»


def test_virtual_service_validation() -> None:
    topo = load_topology(ROOT)
    doc = {"metadata": {"name": "b"}, "spec": {"hosts": ["backend1.default.svc.cluster.local"],
           "http": [{"route": [{"destination": {"host": "backend1"}}], "retries": {"attempts": 0}}]}}
    assert parse_virtual_service(doc, topo, "-").host == "backend1"
    doc["spec"]["http"][0]["retries"] = {"attempts": 0, "retryOn": "503"}
    with pytest.raises(LabError, match="denied the request"):
        parse_virtual_service(doc, topo, "-")
    doc["spec"]["http"][0] = {"match": [{"uri": {"prefix": "/"}}], "route": []}
    with pytest.raises(LabError, match="not supported by the lab"):
        parse_virtual_service(doc, topo, "-")


def test_uvicorn_command_comes_from_the_dockerfile() -> None:
    cmd = dockerfile_cmd(ROOT)
    assert cmd[:2] == ["uvicorn", "main:app"] and "0.0.0.0" in cmd
    args = app_command(cmd, "127.0.2.11")
    assert args[:3] == [sys.executable, "-m", "uvicorn"]
    assert args[args.index("--host") + 1] == "127.0.2.11" and "0.0.0.0" not in args


def run_lab(*args: str, course: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", "--course", str(course), *args],
                          capture_output=True, text=True, timeout=60)


def test_commands_without_a_running_lab(tmp_path: Path) -> None:
    get = run_lab("kubectl", "get", "pods", course=tmp_path)
    assert get.returncode == 1 and "no está en marcha" in get.stderr
    assert run_lab("status", course=tmp_path).returncode == 3
    down = run_lab("down", course=tmp_path)
    assert down.returncode == 0 and "no estaba en marcha" in down.stdout
    assert run_lab("bailar", course=tmp_path).returncode == 1


def test_up_without_manifests_is_a_clear_error(tmp_path: Path) -> None:
    out = run_lab("up", "--detach", course=tmp_path)
    assert out.returncode == 1 and "No encuentro manifiestos" in out.stderr
