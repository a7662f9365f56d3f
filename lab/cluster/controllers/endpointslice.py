"""The EndpointSlice controller: one EndpointSlice per Service with the pods its selector picks.

Follows kubernetes/kubernetes v1.36 `pkg/controller/endpointslice/` and
`staging/src/k8s.io/endpointslice/reconciler.go` + `utils.go`: slices named by generateName
`<service>-`, labels `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by:
endpointslice-controller.k8s.io`, owned by the Service; one endpoint per pod with an IP, with
conditions ready (Ready and not terminating), serving (Ready) and terminating, its nodeName and
targetRef; ports from the Service's ports (named targetPorts resolved against the pod's containers).
"""

from __future__ import annotations

from typing import Any

from lab.cluster.api.store import NotFound, Obj
from lab.cluster.controllers.api import ENDPOINTSLICES, PODS, SERVICES, Api
from lab.cluster.controllers.objects import controller_uid, meta, owner_ref, pod_ready, service_selects, terminating

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"


def _target_port(port: dict[str, Any], pod: Obj | None) -> int:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for container in ((pod or {}).get("spec") or {}).get("containers") or []:
        for item in container.get("ports") or []:
            if item.get("name") == target:
                return int(item["containerPort"])
    return int(port.get("port"))


class EndpointSliceController:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def sync_all(self) -> None:
        services, _ = self.store.list(SERVICES)
        pods, _ = self.store.list(PODS)
        slices, _ = self.store.list(ENDPOINTSLICES)
        for service in services:
            if not (service.get("spec") or {}).get("selector"):
                continue  # no selector: endpoints are someone else's business (the `kubernetes` Service)
            mine = [s for s in slices if controller_uid(s) == meta(service)["uid"]]
            try:
                self.sync(service, [p for p in pods if meta(p)["namespace"] == meta(service)["namespace"]], mine)
            except NotFound:
                continue

    def sync(self, service: Obj, pods: list[Obj], slices: list[Obj]) -> None:
        selected = [p for p in pods if service_selects(service, meta(p).get("labels"))
                    and (p.get("status") or {}).get("podIP")]
        endpoints = []
        for pod in sorted(selected, key=lambda p: meta(p)["name"]):
            gone = terminating(pod)
            endpoints.append({
                "addresses": [pod["status"]["podIP"]],
                "conditions": {"ready": pod_ready(pod) and not gone, "serving": pod_ready(pod), "terminating": gone},
                "nodeName": pod["spec"].get("nodeName"),
                "targetRef": {"kind": "Pod", "namespace": meta(pod)["namespace"], "name": meta(pod)["name"],
                              "uid": meta(pod)["uid"]},
            })
        ports = [
            {"name": p.get("name", ""), "port": _target_port(p, selected[0] if selected else None),
             "protocol": p.get("protocol", "TCP")}
            for p in (service.get("spec") or {}).get("ports") or []
        ]
        if not slices:
            name = meta(service)["name"]
            self.api.create(ENDPOINTSLICES, {  # the registry names it from generateName, as the apiserver does
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {
                    "generateName": f"{name}-",
                    "namespace": meta(service)["namespace"],
                    "labels": {SERVICE_NAME: name, MANAGED_BY: CONTROLLER},
                    "ownerReferences": [owner_ref(service, "Service", "v1")],
                },
                "addressType": "IPv4", "endpoints": endpoints, "ports": ports,
            })
            return
        current = slices[0]
        if current.get("endpoints") != endpoints or current.get("ports") != ports:
            def change(obj: Obj) -> None:
                obj["endpoints"] = endpoints
                obj["ports"] = ports
            self.store.mutate(ENDPOINTSLICES, meta(current)["namespace"], meta(current)["name"], change)
        for extra in slices[1:]:
            self.store.delete(ENDPOINTSLICES, meta(extra)["namespace"], meta(extra)["name"])
