"""What the controllers and the node need from the API: the store (reads, status writes) and the
registry's create/update/delete (defaults, admission such as Istio's sidecar injection, graceful pod
deletion), as kube-controller-manager and kubelet reach kube-apiserver. The Registry itself is one."""

from __future__ import annotations

from typing import Protocol

from lab.cluster.api.store import Obj, Store

DEPLOYMENTS = "deployments.apps"
REPLICASETS = "replicasets.apps"
PODS = "pods"
SERVICES = "services"
NAMESPACES = "namespaces"
NODES = "nodes"
CONFIGMAPS = "configmaps"
ENDPOINTSLICES = "endpointslices.discovery.k8s.io"


class Api(Protocol):
    store: Store

    def create(self, resource: str, obj: Obj) -> Obj: ...

    def update(self, resource: str, obj: Obj) -> Obj: ...

    def delete(self, resource: str, namespace: str, name: str, *, propagation: str | None = None,
               grace_period: int | None = None, preconditions: Obj | None = None) -> object: ...
