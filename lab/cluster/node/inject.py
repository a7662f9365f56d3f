"""Istio's sidecar injection (the `sidecar-injector.istio.io` mutating webhook), as a mutating admission
for pods created in a namespace labelled `istio-injection=enabled`.

Follows istio/istio release-1.31 `pkg/kube/inject/inject.go` and
`manifests/charts/istio-control/istio-discovery/files/injection-template.yaml`: with native sidecars
(Istio ≥ 1.27 on Kubernetes ≥ 1.33, the sandbox) `istio-init` and `istio-proxy` go in
`initContainers`, istio-proxy with `restartPolicy: Always`; the pod gets the annotations
`sidecar.istio.io/status`, `kubectl.kubernetes.io/default-container` (the app: what `kubectl logs`
and `exec` pick without `-c`) and `kubectl.kubernetes.io/default-logs-container`, and the labels
`security.istio.io/tlsMode`, `service.istio.io/canonical-name` and `canonical-revision`.
The image is `<hub>/proxyv2:<ISTIO_VERSION>` (hub from the IstioOperator, version from retries.json).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from lab.cluster.envoyconfig import INBOUND_PORT, OUTBOUND_PORT
from lab.cluster.istio import istio_data
from lab.constants import SIDECAR_CONTAINER

INIT = "istio-init"
STATUS_ANNOTATION = "sidecar.istio.io/status"
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
INJECT_LABEL = "istio-injection"
VOLUMES = ["workload-socket", "credential-socket", "workload-certs", "istio-envoy", "istio-data",
           "istio-podinfo", "istio-token", "istiod-ca-cert", "istio-ca-crl"]


def proxy_image(hub: str) -> str:
    return f"{hub}/proxyv2:{istio_data()['istio']['version']}"


def injected(pod: dict[str, Any]) -> bool:
    return STATUS_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})


def inject(pod: dict[str, Any], hub: str) -> None:
    """Adds the sidecar to `pod` in place (nothing if already injected or opted out)."""
    meta = pod.setdefault("metadata", {})
    annotations = meta.setdefault("annotations", {})
    labels = meta.setdefault("labels", {})
    if injected(pod) or annotations.get("sidecar.istio.io/inject") == "false" or labels.get("sidecar.istio.io/inject") == "false":
        return
    spec = pod.setdefault("spec", {})
    containers = spec.get("containers") or []
    if not containers:
        return
    app = containers[0]["name"]
    image = proxy_image(hub)
    init = {
        "name": INIT, "image": image,
        "args": ["istio-iptables", "-p", str(OUTBOUND_PORT), "-z", str(INBOUND_PORT), "-u", "1337", "-m", "REDIRECT", "-i", "*",
                 "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info"],
        "resources": {"requests": {"cpu": "10m", "memory": "40Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": False,
                            "runAsGroup": 0, "runAsNonRoot": False, "runAsUser": 0,
                            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}},
        "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    proxy = {
        "name": SIDECAR_CONTAINER, "image": image, "restartPolicy": "Always",
        "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning",
                 "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"],
        "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                           "periodSeconds": 15, "timeoutSeconds": 3, "failureThreshold": 4, "successThreshold": 1},
        "startupProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                         "periodSeconds": 1, "timeoutSeconds": 3, "failureThreshold": 600, "successThreshold": 1},
        "resources": {"requests": {"cpu": "10m", "memory": "40Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
                            "runAsGroup": 1337, "runAsNonRoot": True, "runAsUser": 1337,
                            "capabilities": {"drop": ["ALL"]}},
        "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    spec["initContainers"] = [init, proxy, *copy.deepcopy(spec.get("initContainers") or [])]
    annotations[STATUS_ANNOTATION] = json.dumps({
        "initContainers": [INIT, SIDECAR_CONTAINER], "containers": None, "volumes": VOLUMES,
        "imagePullSecrets": None, "revision": "default",
    }, separators=(",", ":"))
    annotations.setdefault(DEFAULT_CONTAINER, app)
    annotations.setdefault("kubectl.kubernetes.io/default-logs-container", app)
    annotations.setdefault("istio.io/rev", "default")
    labels.setdefault("security.istio.io/tlsMode", "istio")
    labels.setdefault("service.istio.io/canonical-name", labels.get("app", meta.get("generateName", "").rstrip("-")))
    labels.setdefault("service.istio.io/canonical-revision", labels.get("version", "latest"))
