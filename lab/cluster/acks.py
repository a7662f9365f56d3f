"""Esperar a que los sidecars carguen una configuración nueva (como el ACK de xDS a istiod).

Cada RouteConfiguration que escribe el supervisor lleva un número de versión; `wait_routes`
pregunta al admin de cada Envoy (/config_dump) hasta que todos tienen esa versión o se agota el tiempo.
"""

from __future__ import annotations

import json
import time
import urllib.request

from lab.constants import ENVOY_ADMIN_PORT

POLL = 0.02


def routes_version(ip: str) -> int:
    """La versión de rutas que tiene cargada el sidecar de `ip` (muy grande si no contesta)."""
    url = f"http://{ip}:{ENVOY_ADMIN_PORT}/config_dump?resource=dynamic_route_configs"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=1) as response:
            dump = json.loads(response.read())
        return max(int(c.get("version_info", 0)) for c in dump.get("configs", [])) if dump.get("configs") else 0
    except (OSError, ValueError):
        return 1 << 30  # un sidecar que no contesta no bloquea la orden


def wait_routes(ips: list[str], version: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    for ip in ips:
        while routes_version(ip) < version and time.monotonic() < deadline:
            time.sleep(POLL)


def cluster_hosts(ip: str, cluster: str) -> set[str] | None:
    """The hosts (`ip:port`) Envoy at `ip` has in `cluster` (its admin's /clusters), or None if it does not answer."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{ip}:{ENVOY_ADMIN_PORT}/clusters", timeout=1) as response:
            text = response.read().decode(errors="replace")
    except OSError:
        return None
    prefix = f"{cluster}::"
    return {line.split("::")[1] for line in text.splitlines() if line.startswith(prefix) and "::health_flags::" in line}


def wait_endpoints(targets: list[tuple[str, str]], hosts: set[str], timeout: float = 5.0) -> None:
    """Until every (Envoy admin IP, cluster) has exactly `hosts` (an EDS update loaded, as istiod's
    ACK): a pod out of the endpoints gets no new request once this returns."""
    deadline = time.monotonic() + timeout
    for ip, cluster in targets:
        while time.monotonic() < deadline:
            found = cluster_hosts(ip, cluster)
            if found is None or found == hosts:
                break  # a sidecar that does not answer does not block the others
            time.sleep(POLL)
