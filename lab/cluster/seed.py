"""What a fresh sandbox has in its API when the course starts, from the course's own files.

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
from pathlib import Path
from typing import Any, Protocol

import yaml

from lab.cluster.api.store import Obj
from lab.cluster.controllers.api import CONFIGMAPS, DEPLOYMENTS, NAMESPACES, SERVICES
from lab.cluster.meshpolicy import mesh_configmap
from lab.cluster.node.inject import INJECT_LABEL
from lab.cluster.topology import NAMESPACE, Topology
from lab.constants import DEFAULT_NAMESPACE, ISTIO_NAMESPACE, KUBECONFIG_FILE, MESH_CONFIGMAP, kubeconfig_path

NAMESPACE_LABELS = {NAMESPACE: {INJECT_LABEL: "enabled"}, ISTIO_NAMESPACE: {}, "kube-system": {}}
CONTEXT = "lab"


class Creator(Protocol):
    def create(self, resource: str, obj: Obj) -> Obj: ...


def seed(registry: Creator, topology: Topology, mesh: dict[str, Any]) -> None:
    for name, labels in NAMESPACE_LABELS.items():
        registry.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}}})
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
