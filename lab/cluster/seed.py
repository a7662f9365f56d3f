"""What a fresh sandbox has in its API when the course starts, from the course's own files.

- The node `controlplane` (Ready, control-plane role, the pinned Kubernetes version), as Killercoda's.
- Namespaces `default` (labelled `istio-injection=enabled`, as setup.sh labels it), `istio-system`,
  `kube-system`; the `kubernetes` Service of `default`.
- The ConfigMap `istio` in istio-system with the mesh config `istioctl install` writes
  (lab/cluster/meshpolicy.py mesh_configmap).
- The Services and Deployments of apps/k8s/*.yaml, as `kubectl apply` would send them: through the
  registry, so defaults, validation and admission apply; the controllers and the node do the rest.
- The kubeconfig `<course>/.lab/kubeconfig` (cluster `http://127.0.0.1:PORT`, context `lab`,
  namespace default), which the learner's kubectl reads.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any, Protocol

import yaml

from lab.cluster.api.discovery import server_version
from lab.cluster.api.store import Obj
from lab.cluster.controllers.api import CONFIGMAPS, DEPLOYMENTS, NAMESPACES, NODES, SERVICES
from lab.cluster.meshpolicy import mesh_configmap
from lab.cluster.node.inject import INJECT_LABEL
from lab.cluster.node.podstatus import NODE_IP
from lab.cluster.topology import NAMESPACE, Topology
from lab.constants import DEFAULT_NAMESPACE, ISTIO_NAMESPACE, KUBECONFIG_FILE, MESH_CONFIGMAP, NODE_NAME, kubeconfig_path

NAMESPACE_LABELS = {NAMESPACE: {INJECT_LABEL: "enabled"}, ISTIO_NAMESPACE: {}, "kube-system": {}}
CONTEXT = "lab"
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}  # runtime.GOARCH, what a kubelet reports


class Creator(Protocol):
    def create(self, resource: str, obj: Obj) -> Obj: ...

    def update(self, resource: str, obj: Obj, *, subresource: str | None = None) -> Obj: ...


def seed(registry: Creator, topology: Topology, mesh: dict[str, Any]) -> None:
    for name, labels in NAMESPACE_LABELS.items():
        registry.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}}})
    node = registry.create(NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME, "node-role.kubernetes.io/control-plane": ""}}})
    node["status"] = {  # what its kubelet reports: Ready, its address and version (`kubectl get nodes -o wide`)
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
        "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": NODE_NAME}],
        "nodeInfo": {"kubeletVersion": f"v{server_version()}", "operatingSystem": "linux",
                     "architecture": GO_ARCH.get(platform.machine(), platform.machine())},
    }
    registry.update(NODES, node, subresource="status")
    registry.create(SERVICES, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": DEFAULT_NAMESPACE,
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                 "type": "ClusterIP", "sessionAffinity": "None"},
    })
    registry.create(CONFIGMAPS, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": MESH_CONFIGMAP, "namespace": ISTIO_NAMESPACE,
                     "labels": {"app.kubernetes.io/name": "istiod", "install.operator.istio.io/owning-resource": "unknown",
                                "istio.io/rev": "default", "operator.istio.io/component": "Pilot", "release": "istio"}},
        "data": {"mesh": mesh_configmap(mesh), "meshNetworks": "networks: {}"},
    })
    for kind, resource in (("Service", SERVICES), ("Deployment", DEPLOYMENTS)):
        for doc in topology.manifests:  # the course's apps/k8s, as load_topology read them
            if doc.get("kind") == kind:
                registry.create(resource, doc)


def write_kubeconfig(state_dir: Path, port: int) -> Path:
    path = kubeconfig_path(state_dir)
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": CONTEXT, "user": {}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": NAMESPACE}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    tmp = path.with_name(f".{KUBECONFIG_FILE}.{os.getpid()}")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)
    return path
