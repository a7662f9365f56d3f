"""Defaulting of the built-in kinds the lab serves, as the apiserver does before storing.

Follows k8s.io/kubernetes `pkg/apis/core/v1/defaults.go` (SetDefaults_Pod, SetDefaults_PodSpec,
SetDefaults_Container, SetDefaults_Service, SetDefaults_ContainerPort…) and
`pkg/apis/apps/v1/defaults.go` (SetDefaults_Deployment, SetDefaults_ReplicaSet), plus the
generated defaults of the types they embed (e.g. `schedulerName: default-scheduler`,
`terminationMessagePath: /dev/termination-log`), which every cluster shows in `kubectl get -o yaml`.
"""

from __future__ import annotations

import itertools
from typing import Any

Obj = dict[str, Any]

_CLUSTER_IPS = itertools.count(10)  # 10.96.0.10…: the Service IP allocator of a kind-like cluster


def image_pull_policy(image: str) -> str:
    """SetDefaults_Container: Always for `:latest` or no tag, else IfNotPresent (a digest counts as a tag)."""
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    tag = name.split(":", 1)[1] if ":" in name else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def container(c: Obj) -> None:
    c.setdefault("imagePullPolicy", image_pull_policy(str(c.get("image", ""))))
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for env in c.get("env") or []:
        source = env.get("valueFrom") or {}
        if "fieldRef" in source:
            source["fieldRef"].setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(c.get(probe), dict):
            p = c[probe]
            for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
                p.setdefault(key, value)
            if "httpGet" in p:
                p["httpGet"].setdefault("path", "/")
                p["httpGet"].setdefault("scheme", "HTTP")


def pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        container(c)


def pod(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    tolerations = spec.setdefault("tolerations", [])
    if not tolerations:  # the DefaultTolerationSeconds admission plugin
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            tolerations.append({"effect": "NoExecute", "key": key, "operator": "Exists", "tolerationSeconds": 300})
    obj.setdefault("status", {}).setdefault("phase", "Pending")
    obj["status"].setdefault("qosClass", "BestEffort")


def _template(spec: Obj) -> None:
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    pod_spec(template.setdefault("spec", {}))


def deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec)


def replicaset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _template(spec)


def service(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    if spec["type"] in ("ClusterIP", "NodePort", "LoadBalancer") and spec.get("clusterIP") != "None":
        if not spec.get("clusterIP"):  # the registry's IP allocator (pkg/registry/core/service/ipallocator)
            n = next(_CLUSTER_IPS)
            spec["clusterIP"] = f"10.96.{n // 256}.{n % 256}"
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


NODE_PORTS = range(30000, 32768)  # kube-apiserver's --service-node-port-range default


def allocate_node_ports(obj: Obj, taken: set[int]) -> None:
    """The node port allocator (pkg/registry/core/service/portallocator): a free port of the range
    for every port of a NodePort/LoadBalancer Service that has none (the lowest free one here;
    kube-apiserver picks at random)."""
    spec = obj.get("spec") or {}
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        return
    for port in spec.get("ports") or []:
        if not port.get("nodePort"):
            port["nodePort"] = next(p for p in NODE_PORTS if p not in taken)
        taken.add(port["nodePort"])


def namespace(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")
    labels = obj.setdefault("metadata", {}).setdefault("labels", {})
    labels.setdefault("kubernetes.io/metadata.name", obj["metadata"].get("name", ""))


DEFAULTS = {
    "pods": pod,
    "deployments.apps": deployment,
    "replicasets.apps": replicaset,
    "services": service,
    "namespaces": namespace,
}


def apply_defaults(resource: str, obj: Obj) -> None:
    if resource in DEFAULTS:
        DEFAULTS[resource](obj)
