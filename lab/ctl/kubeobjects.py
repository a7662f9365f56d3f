"""Lo que el laboratorio sabe de cada objeto, con la forma del objeto de Kubernetes (para -o jsonpath)."""

from __future__ import annotations

from typing import Any

from lab.cluster.state import DeploymentState, LabState, PodState
from lab.ctl.kubeargs import NAMESPACE


def list_of(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def pod_object(pod: PodState) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod.name, "namespace": NAMESPACE, "labels": pod.labels},
        "spec": {"containers": [{"name": c.name} for c in pod.containers]},
        "status": {
            "phase": "Failed" if pod.phase == "Error" else "Running",
            "podIP": pod.ip,
            "conditions": [{"type": "Ready", "status": "True" if pod.ready else "False"}],
            "containerStatuses": [
                {"name": c.name, "ready": c.ready, "restartCount": pod.restarts} for c in pod.containers
            ],
        },
    }


def deployment_status(state: LabState, item: DeploymentState) -> dict[str, int]:
    """status.replicas/updatedReplicas/readyReplicas/availableReplicas (los pods que se apagan no cuentan)."""
    live = state.live_pods(item.name)
    ready = sum(p.ready for p in live)
    return {
        "replicas": len(live),
        "updatedReplicas": sum(p.rs_hash == item.rs_hash for p in live),
        "readyReplicas": ready,
        "availableReplicas": ready,
    }


def deployment_object(state: LabState, item: DeploymentState) -> dict[str, Any]:
    env = [
        {"name": e.name, "value": e.value}
        if e.field_path is None
        else {"name": e.name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": e.field_path}}}
        for e in item.env
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": item.name, "namespace": NAMESPACE, "labels": item.labels},
        "spec": {
            "replicas": item.replicas,
            "selector": {"matchLabels": item.labels},
            "template": {
                "metadata": {"labels": item.labels},
                "spec": {"containers": [{"name": item.container, "env": env}]},
            },
        },
        "status": deployment_status(state, item),
    }


def configmap_object(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}
