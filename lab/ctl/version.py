"""La versión de Kubernetes (y de kubectl) que imita el laboratorio: la que fija setup.sh.

`KUBERNETES_VERSION=` de setup.sh es el único sitio del dato; el kubectl del laboratorio sigue las
fuentes de kubernetes/kubectl en `KUBECTL_SOURCE_TAG` (el espejo de staging: v0.X.Y = Kubernetes
1.X.Y), y una prueba exige que las dos versiones coincidan.
"""

from __future__ import annotations

import re
from pathlib import Path

from lab.errors import LabError

KUBECTL_SOURCE_TAG = "v0.36.3"


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
