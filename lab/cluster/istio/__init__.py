"""Lo que el laboratorio toma de las fuentes de Istio: `retries.json`, escrito por `regenerate.py`.

El archivo lleva la versión de Istio, la ref y el commit de donde salió, los hechos que usa el
laboratorio (política por defecto, tokens de retryOn, mensajes de validación, esquema del CRD,
valores del ConfigMap `istio`) y los casos de conformidad. Solo se lee aquí.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "retries.json"
# The name of Istio's VirtualService CRD, which is also the key the API serves it under (plural.group).
VIRTUALSERVICES = "virtualservices.networking.istio.io"


@cache
def istio_data() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def facts() -> dict[str, Any]:
    return istio_data()["facts"]
