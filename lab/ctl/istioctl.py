"""`lab istioctl proxy-config route deploy/X [--name R] [-o json]`: la configuración de rutas *real* del sidecar.

Busca el pod en el servidor de API del laboratorio (como istioctl: `deploy/X` → el selector del
Deployment → el pod listo más antiguo, kubectl `polymorphichelpers.GetFirstPod`), lee /config_dump del
admin de Envoy de ese pod (istioctl pide lo mismo a pilot-agent por un port-forward) y
lo muestra con la forma de istioctl: tabla NAME/VHOST NAME/DOMAINS/MATCH/VIRTUAL SERVICE, o el
JSON de las RouteConfiguration con los nombres de campo en camelCase (retryPolicy, numRetries...).
`--name R` se queda con la RouteConfiguration que se llama R, en las dos formas (como `RouteFilter`
de istio/istio, istioctl/pkg/writer/envoy/configdump/route.go, release-1.31).
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

from lab.constants import ENVOY_ADMIN_PORT
from lab.ctl.kubeapi import KubeApi
from lab.ctl.shell import kubeconfig
from lab.errors import LabError

MIN_WIDTH, PADDING = 6, 3  # el tabwriter de la tabla (minwidth 6, padding 3)

SUPPORTED = "proxy-config route deploy/X|POD [--name R] [-o json]"


def _unsupported(argv: list[str]) -> LabError:
    return LabError(
        f"error: «istioctl {' '.join(argv)}» no soportado por el laboratorio (not supported by the lab). "
        f"El laboratorio entiende: istioctl {SUPPORTED}."
    )


def istioctl(course: Path, argv: list[str]) -> int:
    words, output, name, namespace = [], "table", None, None
    items = list(argv)
    while items:
        item = items.pop(0)
        if item in ("-o", "--output") and items:
            output = items.pop(0)
        elif item.startswith(("-o=", "--output=")):
            output = item.split("=", 1)[1]
        elif item == "--name" and items:
            name = items.pop(0)
        elif item.startswith("--name="):
            name = item.split("=", 1)[1]
        elif item in ("-n", "--namespace") and items:
            namespace = items.pop(0)
        elif item.startswith("-"):
            raise _unsupported(argv)
        else:
            words.append(item)
    if len(words) != 3 or words[0] not in ("proxy-config", "pc") or words[1] not in ("route", "routes"):
        raise _unsupported(argv)
    if output not in ("json", "table", "short"):
        raise _unsupported(argv)
    api = KubeApi(kubeconfig(course))
    dump = _config_dump(_pod_ip(api, namespace or api.namespace, words[2]))
    routes = [r for r in _route_configs(dump) if name is None or r.get("name") == name]
    if output == "json":
        print(json.dumps([camel(r) for r in routes], indent=4))
    else:
        print(_table(routes))
    return 0


def _pod_ip(api: KubeApi, namespace: str, target: str) -> str:
    kind, slash, name = target.partition("/")
    name = name if slash else target
    if slash and kind in ("deploy", "deployment", "deployments"):
        deployment = api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        selector = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        pods = [p for p in api.pods(namespace, selector) if not p["metadata"].get("deletionTimestamp")]
    elif not slash or kind in ("pod", "pods", "po"):
        name, _, namespace_part = name.partition(".")
        pods = [api.get(f"/api/v1/namespaces/{namespace_part or namespace}/pods/{name}")]
    else:
        raise LabError(f"error: «{target}» no soportado por el laboratorio (not supported by the lab)")
    pods = [p for p in pods if (p.get("status") or {}).get("podIP")]
    if not pods:
        raise LabError(f'Error: failed to get pod for "{target}": not found')
    ready = [p for p in pods if _ready(p)] or pods
    return min(ready, key=lambda p: p["metadata"].get("creationTimestamp", ""))["status"]["podIP"]


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def _config_dump(ip: str) -> dict[str, Any]:
    address = f"{ip}:{ENVOY_ADMIN_PORT}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{address}/config_dump?resource=&mask=", timeout=5) as response:
            return json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise LabError(f"Error: no pude leer la configuración del sidecar ({address}): {exc}") from exc


def _route_configs(dump: dict[str, Any]) -> list[dict[str, Any]]:
    routes = []
    for config in dump.get("configs", []):
        if config.get("@type", "").endswith("RoutesConfigDump"):
            for item in config.get("dynamic_route_configs", []):
                routes.append(item["route_config"])
            for item in config.get("static_route_configs", []):
                routes.append(item["route_config"])
    return routes


def camel(value: Any) -> Any:
    """Nombres de campo proto → JSON de protobuf (lo que imprime istioctl): retry_on → retryOn."""
    if isinstance(value, dict):
        return {(_camel(k) if not k.startswith("@") else k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def _camel(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def _table(routes: list[dict[str, Any]]) -> str:
    rows = []
    for route in routes:
        for vhost in route.get("virtual_hosts", []):
            domains = vhost.get("domains", [])
            shown = ", ".join(domains[:2]) + (f" + {len(domains) - 2} more..." if len(domains) > 2 else "")
            for item in vhost.get("routes", []):
                match = item.get("match", {})
                path = match.get("prefix", match.get("path", "")) + ("*" if "prefix" in match else "")
                config = item.get("metadata", {}).get("filter_metadata", {}).get("istio", {}).get("config", "")
                parts = config.split("/")
                vs = f"{parts[-1]}.{parts[-3]}" if config else ""
                rows.append([route.get("name", ""), vhost.get("name", ""), shown, path, vs])
    return table(["NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"], rows)


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columnas alineadas (la última sin relleno)."""
    all_rows = [header, *rows]
    widths = [max(MIN_WIDTH, max(len(r[i]) for r in all_rows) + PADDING) for i in range(len(header) - 1)]
    return "\n".join("".join(c.ljust(widths[i]) for i, c in enumerate(row[:-1])) + row[-1] for row in all_rows)
