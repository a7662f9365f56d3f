"""Comprobaciones estáticas de apps/: Dockerfile, manifiestos y configuración de la malla.

Los números de aquí son los de shared/design.md (réplicas 1/3/3, NodePort 30000, reintentos
«attempts: 2» con 503...). Si alguien cambia un manifiesto por accidente, esta prueba lo dice.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.ctl.version import kubernetes_version

REPO = Path(__file__).resolve().parents[1]
APPS = REPO / "apps"
BIN = Path(sys.executable).parent

# Lo que dice el diseño.
REPLICAS = {"bff": 1, "backend1": 3, "app2": 3}
VERSION = "1.0.0"
PORT = 8080
NODE_PORT = 30000
UPSTREAM_ENV = {"bff": ("BACKEND1_URL", "http://backend1:8080"), "backend1": ("APP2_URL", "http://app2:8080")}
RETRY_ON = {"connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes", "503"}
# El Kubernetes del sandbox (KUBERNETES_VERSION de setup.sh), contra cuyo esquema se validan los manifiestos.
KUBERNETES_VERSIONS = (f"{kubernetes_version(REPO)}.0",)
MiB = 1024 * 1024


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def manifest(name: str) -> dict[str, dict[str, Any]]:
    """{"Deployment": ..., "Service": ...} de apps/k8s/<name>.yaml."""
    docs = documents(APPS / "k8s" / f"{name}.yaml")
    by_kind = {doc["kind"]: doc for doc in docs}
    assert sorted(by_kind) == ["Deployment", "Service"] and len(docs) == 2, name
    return by_kind


def container(name: str) -> dict[str, Any]:
    containers = manifest(name)["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def memory(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * MiB * (1024 if unit == "Gi" else 1)


# --- Dockerfile -------------------------------------------------------------------------------


def dockerfile() -> list[str]:
    return [line for line in (APPS / "Dockerfile").read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]


def test_hadolint_reports_nothing() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), str(APPS / "Dockerfile")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_dockerfile_shares_the_dependency_layer_and_runs_as_non_root() -> None:
    lines = dockerfile()
    index = {word: next(i for i, line in enumerate(lines) if line.startswith(word)) for word in ("FROM", "RUN", "ARG", "USER", "CMD")}
    assert re.fullmatch(r"FROM python:3\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", lines[index["FROM"]])
    assert lines[index["RUN"]] == "RUN pip install --no-cache-dir --require-hashes -r requirements.txt"
    assert index["RUN"] < index["ARG"], "ARG SERVICE debe ir después de instalar las dependencias"
    assert lines[index["ARG"]] == "ARG SERVICE"
    assert re.fullmatch(r"USER [1-9]\d*:[1-9]\d*", lines[index["USER"]])
    text = "\n".join(lines)
    assert "PYTHONDONTWRITEBYTECODE=1" in text and "PYTHONUNBUFFERED=1" in text
    cmd = json.loads(lines[index["CMD"]][4:])
    assert cmd[:2] == ["uvicorn", "main:app"]
    options = dict(zip(cmd[2::2], cmd[3::2], strict=False))
    assert options == {"--host": "0.0.0.0", "--port": str(PORT), "--timeout-keep-alive": "120"}


def test_requirements_are_all_pinned_with_hashes() -> None:
    text = (APPS / "requirements.txt").read_text(encoding="utf-8")
    pins = re.findall(r"^([a-z0-9_.-]+)==(\S+) \\$", text, flags=re.M)
    names = {name for name, _ in pins}
    assert {"fastapi", "uvicorn", "httpx"} <= names
    blocks = re.split(r"^(?=[a-z0-9_.-]+==)", text, flags=re.M)[1:]
    assert len(blocks) == len(pins)
    assert all("--hash=sha256:" in block for block in blocks)


def test_dockerignore_keeps_manifests_and_caches_out() -> None:
    lines = [line for line in (APPS / ".dockerignore").read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]
    assert lines[0] == "*"
    assert {"!requirements.txt", "!common/", "**/__pycache__"} <= set(lines)
    assert {f"!{name}/main.py" for name in REPLICAS} <= set(lines)


# --- Manifiestos de Kubernetes ----------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_are_valid_for_current_kubernetes(version: str) -> None:
    # Un proxy inexistente: si kubernetes-validate intentara descargar algo, fallaría aquí.
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    files = sorted(str(path) for path in (APPS / "k8s").glob("*.yaml"))
    assert len(files) == 3
    result = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", "-k", version, *files],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed for resource ") == 6, result.stdout


@pytest.mark.parametrize("name", REPLICAS)
def test_deployment_says_what_the_design_says(name: str) -> None:
    deployment, service = manifest(name)["Deployment"], manifest(name)["Service"]
    labels = {"app": name, "version": "v1"}
    assert deployment["metadata"]["name"] == name and deployment["metadata"]["namespace"] == "default"
    assert deployment["spec"]["replicas"] == REPLICAS[name]
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    assert deployment["spec"]["template"]["metadata"]["labels"] == labels

    c = container(name)
    assert c["name"] == name
    assert c["image"] == f"{name}:{VERSION}" and c["imagePullPolicy"] == "Never"
    assert c["ports"] == [{"name": "http", "containerPort": PORT}]
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    if name in UPSTREAM_ENV:
        variable, url = UPSTREAM_ENV[name]
        assert env[variable]["value"] == url
    assert "STATUS_CODE_APP" not in env  # el curso lo pone con kubectl set env
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    security = c["securityContext"]
    assert security["runAsNonRoot"] is True and security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False and security["capabilities"] == {"drop": ["ALL"]}
    requests, limits = c["resources"]["requests"], c["resources"]["limits"]
    assert set(requests) == {"cpu", "memory"}
    assert 48 * MiB <= memory(requests["memory"]) <= memory(limits["memory"])  # una app usa ~56 MiB (bench)

    assert service["metadata"]["name"] == name
    assert service["spec"]["selector"] == {"app": name}
    (port,) = service["spec"]["ports"]
    assert port["name"] == "http" and port["port"] == PORT and port["targetPort"] == "http"
    if name == "bff":
        assert service["spec"]["type"] == "NodePort" and port["nodePort"] == NODE_PORT
    else:
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP" and "nodePort" not in port


def operator() -> dict[str, Any]:
    (doc,) = documents(APPS / "istio" / "istio-operator.yaml")
    assert doc["kind"] == "IstioOperator"
    return doc


def test_istio_operator_says_what_the_design_says() -> None:
    spec = operator()["spec"]
    assert spec["profile"] == "minimal"
    mesh = spec["meshConfig"]
    assert mesh["accessLogFile"] == "/dev/stdout"
    policy = mesh["defaultHttpRetryPolicy"]
    assert policy["attempts"] == 2
    retry_on = policy["retryOn"].split(",")
    assert len(retry_on) == len(set(retry_on)) and set(retry_on) == RETRY_ON


def test_whole_scenario_fits_a_4_gb_sandbox() -> None:
    """7 apps + 7 sidecars, aun llegando todos a su límite de memoria, caben en 4 GiB menos 1¼ GiB
    para el plano de control de Kubernetes, la CNI, containerd e istiod."""
    proxy = operator()["spec"]["values"]["global"]["proxy"]["resources"]
    assert memory(proxy["requests"]["memory"]) == 0
    assert memory(proxy["limits"]["memory"]) >= 192 * MiB  # Envoy ~65 MiB + pilot-agent, con margen
    apps = sum(REPLICAS[name] * memory(container(name)["resources"]["limits"]["memory"]) for name in REPLICAS)
    sidecars = sum(REPLICAS.values()) * memory(proxy["limits"]["memory"])
    assert apps + sidecars <= (4096 - 1280) * MiB
    istiod = operator()["spec"]["components"]["pilot"]["k8s"]["resources"]["requests"]
    assert memory(istiod["memory"]) <= 256 * MiB
