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
