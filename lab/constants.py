"""Facts that more than one layer of lab/ needs (the twin, the learner's tools, the course player, the
preview), written once here and read from here. A fact only one layer needs stays in the module of
that layer that owns it (topology.NAMESPACE, envoyconfig.OUTBOUND_PORT...).

Istio's own conventions, kept as Istio spells them:
- the sidecar container is `istio-proxy` (istio/istio `manifests/charts/istio-control/istio-discovery/
  files/injection-template.yaml`);
- Envoy's admin listens on 15000 (istio/api `mesh/v1alpha1/proxy.proto` ProxyConfig.proxy_admin_port;
  istioctl's `defaultProxyAdminPort` in istio/istio `istioctl/pkg/proxyconfig/proxyconfig.go`).
"""

from __future__ import annotations

from pathlib import Path

SIDECAR_CONTAINER = "istio-proxy"
ENVOY_ADMIN_PORT = 15000
# Kubernetes's namespace for what names none (k8s.io/apimachinery pkg/apis/meta/v1/types.go
# NamespaceDefault): an object created without one, a kubeconfig context without one. The course's
# own namespace is topology.NAMESPACE (its manifests say it).
DEFAULT_NAMESPACE = "default"
# Where `istioctl install` leaves the mesh config: the ConfigMap `istio` of istio-system (key `mesh`).
ISTIO_NAMESPACE = "istio-system"
MESH_CONFIGMAP = "istio"

# The course's layout (the same files the Killercoda scenario uses).
K8S_DIR = Path("apps") / "k8s"  # the Deployments and Services
ISTIO_DIR = Path("apps") / "istio"  # the IstioOperator
DOCKERFILE = Path("apps") / "Dockerfile"  # the apps' image: its CMD is how the lab starts an app

COURSE_ENV = "LAB_COURSE"  # the course folder when --course is not given (`lab shell` sets it)

# The running lab's files, in <course>/STATE_DIR.
STATE_DIR = ".lab"
KUBECONFIG_FILE = "kubeconfig"
KUBE_CACHE_DIR = "kube-cache"  # kubectl's discovery cache (KUBECACHEDIR): cleared when a lab starts
NOT_RUNNING = "El laboratorio no está en marcha: arráncalo con «lab up --detach»."

NODE_NAME = "controlplane"  # the node of Killercoda's kubeadm sandbox (pods, events, the terminal's prompt)
NODE_PORT_IP = "127.0.0.1"  # where the NodePorts listen (the «node» as the learner sees it)

# Proxy variables (any case) taken out of the environment of the apps and of the learner's tools: the
# lab's traffic is all on loopback and goes through the sidecars, never through a proxy of the host.
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy", "grpc_proxy")


def manifest_files(course_root: Path) -> list[Path]:
    """The course's manifests: K8S_DIR/*.yaml, then *.yml (`kubectl apply -f apps/k8s/` reads both)."""
    folder = course_root / K8S_DIR
    return sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))


def kubeconfig_path(state_dir: Path) -> Path:
    """The kubeconfig `lab up` writes for the lab's API server (in <course>/STATE_DIR)."""
    return state_dir / KUBECONFIG_FILE
