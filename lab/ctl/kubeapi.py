"""A small client of the lab's Kubernetes API, over HTTP like any other client (istioctl uses it).

Reads the server from the kubeconfig (`clusters[0].cluster.server` of the current context), as
client-go's clientcmd does for this simple file; answers JSON; an error answer (a metav1.Status)
becomes a LabError with its message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from lab.constants import DEFAULT_NAMESPACE
from lab.errors import LabError

TIMEOUT = 10.0


class KubeApi:
    def __init__(self, kubeconfig: Path) -> None:
        try:
            config = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
        except OSError as exc:
            raise LabError("El laboratorio no está en marcha: arráncalo con «lab up --detach».") from exc
        contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
        context = contexts.get(config.get("current-context"), {})
        clusters = {c["name"]: c["cluster"] for c in config.get("clusters") or []}
        self.server = clusters[context.get("cluster")]["server"].rstrip("/")
        self.namespace = context.get("namespace") or DEFAULT_NAMESPACE
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(self, path: str, **query: str) -> dict[str, Any]:
        url = self.server + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        try:
            with self.opener.open(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=TIMEOUT) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("message", str(exc))
            except ValueError:
                message = str(exc)
            raise LabError(f"Error from server: {message}") from exc
        except OSError as exc:
            raise LabError(f"El servidor de API del laboratorio ({self.server}) no responde: {exc}") from exc

    def pods(self, namespace: str, selector: dict[str, str] | None = None) -> list[dict[str, Any]]:
        query = {"labelSelector": ",".join(f"{k}={v}" for k, v in selector.items())} if selector else {}
        return self.get(f"/api/v1/namespaces/{namespace}/pods", **query).get("items", [])
