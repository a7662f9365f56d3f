"""One Kubernetes version: setup.sh's KUBERNETES_VERSION, the pinned kubectl, the version the API
server reports and the OpenAPI schemas it serves agree on the minor."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from api_seed import KUBECTL

from lab.cluster.api import discovery, schema
from lab.ctl.version import kubernetes_version

ROOT = Path(__file__).resolve().parents[1]


def minor(version: str) -> str:
    return ".".join(version.lstrip("v").split(".")[:2])


def test_kubectl_pin_server_and_schemas_follow_setup_sh() -> None:
    wanted = kubernetes_version(ROOT)
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    (pin,) = [p for p in pins if p.startswith(discovery.KUBECTL_PACKAGE + "==")]
    pinned = pin.split("==")[1]
    assert minor(pinned) == wanted, f"pyproject.toml fija {pin}; setup.sh dice KUBERNETES_VERSION={wanted}"
    assert discovery.server_version() == pinned, "el kubectl instalado no es el fijado: make venv"
    client = subprocess.run([str(KUBECTL), "version", "--client"], capture_output=True, text=True, check=True).stdout
    assert re.search(rf"^Client Version: v{re.escape(pinned)}$", client, re.M), client
    assert discovery.version_info()["gitVersion"] == f"v{pinned}"
    assert minor(schema.SCHEMA_VERSION) == wanted, "los esquemas OpenAPI servidos son de otra versión de Kubernetes"


def test_storage_version_hashes_are_the_ones_a_real_apiserver_serves() -> None:
    """The values kube-apiserver puts in /api/v1 and /apis/apps/v1 discovery (the same on every cluster:
    apiserver storageversionhash.go hashes group/version/kind), as `kubectl get --raw /api/v1` shows."""
    from lab.cluster.api.discovery import storage_version_hash
    from lab.cluster.api.resources import RESOURCES

    seen = {r.kind: storage_version_hash(r) for r in RESOURCES}
    assert {k: seen[k] for k in ("Pod", "Service", "ConfigMap", "Namespace", "Deployment")} == {
        "Pod": "xPOwRZ+Yhw8=", "Service": "0/CO1lhkEBI=", "ConfigMap": "qFsyl6wFWjQ=",
        "Namespace": "Q3oi5N2YM8M=", "Deployment": "8aSe+NMegvE=",
    }
