"""Variables de entorno de los servicios, validadas al arrancar.

Un valor inválido detiene el proceso antes de servir nada, con una sola línea en stderr que
nombra la variable y el valor, y código de salida 1: mejor un pod que no arranca (y lo dice)
que uno que responde algo inesperado.
"""

import os
import re
import socket
import sys
from typing import NoReturn
from urllib.parse import urlsplit

STATUS_CODE_VAR = "STATUS_CODE_APP"
TIMEOUT_VAR = "UPSTREAM_TIMEOUT"


def fail(message: str) -> NoReturn:
    """Termina el proceso con una única línea de error (uvicorn no llega a escuchar)."""
    print(f"Error de configuración: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def status_code_from_env(default: int | None) -> int | None:
    """STATUS_CODE_APP: un entero entre 200 y 599. Sin definir (o vacío) → `default`."""
    raw = os.environ.get(STATUS_CODE_VAR, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{3}", raw) or not 200 <= int(raw) <= 599:
        fail(
            f"{STATUS_CODE_VAR}={os.environ[STATUS_CODE_VAR]!r} no es válido: "
            "debe ser un número entero entre 200 y 599."
        )
    return int(raw)


def upstream_url(variable: str, default: str) -> str:
    """URL base del siguiente servicio (http://nombre:puerto); se devuelve sin «/» final."""
    raw = os.environ.get(variable, "").strip() or default
    try:
        parts = urlsplit(raw)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - un puerto no numérico lanza ValueError
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in raw):
        fail(f"{variable}={raw!r} no es una URL válida: se esperaba algo como {default}.")
    return raw.rstrip("/")


def upstream_timeout(default: float) -> float:
    """UPSTREAM_TIMEOUT: segundos de espera máxima por el siguiente servicio."""
    raw = os.environ.get(TIMEOUT_VAR, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 300:
        fail(f"{TIMEOUT_VAR}={raw!r} no es válido: debe ser un número de segundos entre 0 y 300.")
    return seconds


def pod_name() -> str:
    """El nombre del pod: POD_NAME (API descendente de Kubernetes), si no HOSTNAME."""
    return os.environ.get("POD_NAME") or os.environ.get("HOSTNAME") or socket.gethostname()
