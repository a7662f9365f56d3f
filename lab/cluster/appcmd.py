"""Cómo arranca el contenedor de la aplicación: la línea de órdenes y el entorno.

La línea sale del CMD (forma JSON) de apps/Dockerfile, la única fuente: `uvicorn main:app ...`,
con `--host 0.0.0.0` cambiado por la IP del pod. Se ejecuta desde apps/<servicio>/ con apps/ en
PYTHONPATH (en la imagen todo está en /app). El entorno: el del manifiesto (POD_NAME por la API
descendente = el nombre del pod del laboratorio), HOSTNAME, y HTTP_PROXY hacia el sidecar del pod
(en Kubernetes, iptables); cualquier otra variable de proxy del entorno se quita.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from lab.cluster.topology import NAMESPACE, EnvVar
from lab.constants import DOCKERFILE, PROXY_VARS
from lab.errors import LabError


def without_proxies(env: dict[str, str]) -> dict[str, str]:
    """Una copia del entorno sin variables de proxy (en mayúsculas o minúsculas)."""
    return {k: v for k, v in env.items() if k.lower() not in PROXY_VARS}


def dockerfile_cmd(course_root: Path) -> list[str]:
    """El último CMD en forma JSON de apps/Dockerfile."""
    path = course_root / DOCKERFILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabError(f"No puedo leer {path}: {exc.strerror}.") from exc
    text = re.sub(r"\\\n", " ", text)
    found = [line for line in text.splitlines() if re.match(r"\s*CMD\s*\[", line, re.IGNORECASE)]
    if not found:
        raise LabError(f"{path}: falta un CMD en forma JSON (CMD [\"uvicorn\", ...]).")
    try:
        cmd = json.loads(found[-1].strip()[3:].strip())
    except json.JSONDecodeError as exc:
        raise LabError(f"{path}: el CMD no es una lista JSON válida: {exc}.") from exc
    if not cmd or not all(isinstance(part, str) for part in cmd):
        raise LabError(f"{path}: el CMD debe ser una lista de textos.")
    return cmd


def app_argv(cmd: list[str], ip: str) -> list[str]:
    """El CMD con `--host 0.0.0.0` cambiado por la IP del pod (lo que ejecuta el lanzador por fork)."""
    args = list(cmd)
    if "--host" not in args:
        raise LabError(f"El CMD de {DOCKERFILE} no tiene --host: el laboratorio necesita fijar la IP del pod.")
    args[args.index("--host") + 1] = ip
    return args


def app_command(cmd: list[str], ip: str) -> list[str]:
    """app_argv para exec: `uvicorn` = el del Python del laboratorio (`python -m uvicorn`)."""
    args = app_argv(cmd, ip)
    if Path(args[0]).name == "uvicorn":
        return [sys.executable, "-m", "uvicorn", *args[1:]]
    return args


def app_env(course_root: Path, pod: str, ip: str, env: tuple[EnvVar, ...], proxy_port: int) -> dict[str, str]:
    result = without_proxies(dict(os.environ))
    apps = str((course_root / "apps").resolve())
    result.update(
        PYTHONPATH=apps,
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        HOSTNAME=pod,
        HTTP_PROXY=f"http://{ip}:{proxy_port}",
    )
    fields = {"metadata.name": pod, "status.podIP": ip, "metadata.namespace": NAMESPACE}
    for var in env:
        result[var.name] = var.value if var.value is not None else fields[var.field_path or ""]
    return result
