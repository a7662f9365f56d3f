"""Server-side printing: the meta.k8s.io/v1 Table kubectl asks for (`Accept: …;as=Table`).

Columns and cells follow k8s.io/kubernetes `pkg/printers/internalversion/printers.go`
(AddHandlers: podColumnDefinitions/printPod, deploymentColumnDefinitions/printDeployment,
replicaSetColumnDefinitions/printReplicaSet, serviceColumnDefinitions/printService,
endpointSliceColumnDefinitions/printEndpointSlice, configMapColumnDefinitions/printConfigMap,
eventColumnDefinitions/printEvent, namespaceColumnDefinitions/printNamespace, nodeColumnDefinitions/printNode); the server always
prints wide (`pkg/printers/storage/storage.go`: GenerateOptions{Wide: true}) and kubectl hides
priority-1 columns without `-o wide`. A CRD's columns come from additionalPrinterColumns
(apiextensions-apiserver `pkg/registry/customresource/tableconvertor/tableconvertor.go`).
Row objects per `includeObject` (apiserver `pkg/endpoints/handlers/response.go`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lab.cluster.api import printers as p
from lab.cluster.api.resources import Resource
from lab.cluster.api.schema import definitions

Obj = dict[str, Any]


def _doc(definition: str, field: str) -> str:
    return definitions().get(definition, {}).get("properties", {}).get(field, {}).get("description", "")


META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def _col(name: str, description: str = "", *, kind: str = "string", priority: int = 0, fmt: str = "") -> Obj:
    return {"name": name, "type": kind, "format": fmt, "description": description, "priority": priority}


def _name() -> Obj:
    return _col("Name", _doc(META, "name"), fmt="name")


def _age() -> Obj:
    return _col("Age", _doc(META, "creationTimestamp"))


def _age_of(obj: Obj, now: datetime | None) -> str:
    return p.since(obj["metadata"].get("creationTimestamp"), now)


def _containers(template: Obj) -> tuple[str, str]:
    """layoutContainerCells: names and images joined by commas."""
    containers = (template.get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _pods() -> list[Obj]:
    status, spec = "io.k8s.api.core.v1.PodStatus", "io.k8s.api.core.v1.PodSpec"
    return [_name(), _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
            _col("Status", "The aggregate status of the containers in this pod."),
            _col("Restarts", "The number of times the containers in this pod have been restarted and when the last "
                             "container in this pod has restarted."),
            _age(), _col("IP", _doc(status, "podIP"), priority=1), _col("Node", _doc(spec, "nodeName"), priority=1),
            _col("Nominated Node", _doc(status, "nominatedNodeName"), priority=1),
            _col("Readiness Gates", _doc(spec, "readinessGates"), priority=1)]


def _deployments() -> list[Obj]:
    status = "io.k8s.api.apps.v1.DeploymentStatus"
    return [_name(), _col("Ready", "Number of the pod with ready state"),
            _col("Up-to-date", _doc(status, "updatedReplicas")), _col("Available", _doc(status, "availableReplicas")),
            _age(), _col("Containers", "Names of each container in the template.", priority=1),
            _col("Images", "Images referenced by each container in the template.", priority=1),
            _col("Selector", _doc("io.k8s.api.apps.v1.DeploymentSpec", "selector"), priority=1)]


def _deployment_row(obj: Obj, now: datetime | None) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(spec.get("template") or {})
    return [obj["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), _age_of(obj, now),
            names, images, p.selector_string(spec.get("selector"))]


def _replicasets() -> list[Obj]:
    spec, status = "io.k8s.api.apps.v1.ReplicaSetSpec", "io.k8s.api.apps.v1.ReplicaSetStatus"
    return [_name(), _col("Desired", _doc(spec, "replicas"), kind="integer"),
            _col("Current", _doc(status, "replicas"), kind="integer"),
            _col("Ready", _doc(status, "readyReplicas"), kind="integer"), _age(),
            _col("Containers", "Names of each container in the template.", priority=1),
            _col("Images", "Images referenced by each container in the template.", priority=1),
            _col("Selector", _doc(spec, "selector"), priority=1)]


def _replicaset_row(obj: Obj, now: datetime | None) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(spec.get("template") or {})
    return [obj["metadata"]["name"], spec.get("replicas", 0), status.get("replicas", 0), status.get("readyReplicas", 0),
            _age_of(obj, now), names, images, p.selector_string(spec.get("selector"))]


def _services() -> list[Obj]:
    spec = "io.k8s.api.core.v1.ServiceSpec"
    return [_name(), _col("Type", _doc(spec, "type")), _col("Cluster-IP", _doc(spec, "clusterIP")),
            _col("External-IP", _doc(spec, "externalIPs")), _col("Port(s)", "The port(s) the service listens on."),
            _age(), _col("Selector", _doc(spec, "selector"), priority=1)]


def _service_row(obj: Obj, now: datetime | None) -> list[Any]:
    spec = obj.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    ips = spec.get("clusterIPs") or []
    external = ",".join(spec.get("externalIPs") or []) or "<none>"
    if kind == "ExternalName":
        external = spec.get("externalName") or "<none>"
    elif kind == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname") for i in (obj.get("status") or {}).get("loadBalancer", {}).get("ingress") or []]
        external = ",".join([*(spec.get("externalIPs") or []), *ingress]) or "<pending>"
    return [obj["metadata"]["name"], kind, ips[0] if ips else "<none>", external,
            p.port_string(spec.get("ports") or []) or "<none>", _age_of(obj, now), p.format_labels(spec.get("selector"))]


def _endpointslices() -> list[Obj]:
    slice_ = "io.k8s.api.discovery.v1.EndpointSlice"
    return [_name(), _col("AddressType", _doc(slice_, "addressType")), _col("Ports", _doc(slice_, "ports")),
            _col("Endpoints", _doc(slice_, "endpoints")), _age()]


def _endpointslice_row(obj: Obj, now: datetime | None) -> list[Any]:
    return [obj["metadata"]["name"], obj.get("addressType", ""), p.discovery_ports(obj.get("ports") or []),
            p.discovery_endpoints(obj.get("endpoints") or []), _age_of(obj, now)]


def _events() -> list[Obj]:
    event = "io.k8s.api.core.v1.Event"
    return [_col("Last Seen", _doc(event, "lastTimestamp")), _col("Type", _doc(event, "type")),
            _col("Reason", _doc(event, "reason")), _col("Object", _doc(event, "involvedObject")),
            _col("Subobject", "", priority=1), _col("Source", _doc(event, "source"), priority=1),
            _col("Message", _doc(event, "message")), _col("First Seen", _doc(event, "firstTimestamp"), priority=1),
            _col("Count", _doc(event, "count"), priority=1), _col("Name", _doc(META, "name"), priority=1)]


def _event_row(obj: Obj, now: datetime | None) -> list[Any]:
    first = p.since(obj.get("firstTimestamp"), now) if obj.get("firstTimestamp") else p.since(obj.get("eventTime"), now)
    last = p.since(obj.get("lastTimestamp"), now) if obj.get("lastTimestamp") else first
    count = obj.get("count") or 1
    if obj.get("series"):
        last, count = p.since(obj["series"].get("lastObservedTime"), now), obj["series"].get("count", count)
    involved = obj.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return [last, obj.get("type", ""), obj.get("reason", ""), target, involved.get("fieldPath", ""),
            f"{component}, {instance}" if instance else component, str(obj.get("message", "")).strip(),
            first, count, obj["metadata"]["name"]]


def _configmaps() -> list[Obj]:
    return [_name(), _col("Data", _doc("io.k8s.api.core.v1.ConfigMap", "data"), kind="integer"), _age()]


def _namespaces() -> list[Obj]:
    return [_name(), _col("Status", "The status of the namespace"), _age()]


def _nodes() -> list[Obj]:
    info = "io.k8s.api.core.v1.NodeSystemInfo"
    return [_name(), _col("Status", "The status of the node"), _col("Roles", "The roles of the node"), _age(),
            _col("Version", _doc(info, "kubeletVersion")),
            _col("Internal-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", priority=1),
            _col("External-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", priority=1),
            _col("OS-Image", _doc(info, "osImage"), priority=1), _col("Kernel-Version", _doc(info, "kernelVersion"), priority=1),
            _col("Container-Runtime", _doc(info, "containerRuntimeVersion"), priority=1)]


def _node_row(obj: Obj, now: datetime | None) -> list[Any]:
    """printNode: the Ready condition (Ready/NotReady/Unknown, SchedulingDisabled), roles from the
    node-role.kubernetes.io/ labels (findNodeRoles), the first InternalIP and ExternalIP."""
    status, labels = obj.get("status") or {}, obj["metadata"].get("labels") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    states = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if (obj.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    roles = sorted({k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k} |
                   ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set()))
    info = status.get("nodeInfo") or {}

    def address(kind: str) -> str:
        return next((a.get("address") for a in status.get("addresses") or [] if a.get("type") == kind), "<none>")

    return [obj["metadata"]["name"], ",".join(states), ",".join(roles) or "<none>", _age_of(obj, now), info.get("kubeletVersion", ""),
            address("InternalIP"), address("ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


Row = Callable[[Obj, "datetime | None"], list[Any]]
PRINTERS: dict[str, tuple[Callable[[], list[Obj]], Row]] = {
    "pods": (_pods, lambda o, now: p.pod_row(o, now)),
    "deployments.apps": (_deployments, _deployment_row),
    "replicasets.apps": (_replicasets, _replicaset_row),
    "services": (_services, _service_row),
    "endpointslices.discovery.k8s.io": (_endpointslices, _endpointslice_row),
    "events": (_events, _event_row),
    "configmaps": (_configmaps, lambda o, now: [o["metadata"]["name"], len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                                                _age_of(o, now)]),
    "nodes": (_nodes, _node_row),
    "namespaces": (_namespaces, lambda o, now: [o["metadata"]["name"], (o.get("status") or {}).get("phase", ""), _age_of(o, now)]),
}


def _crd_columns(res: Resource) -> list[Obj]:
    cols = [_name()]
    for column in res.printer_columns:
        cols.append(_col(column["name"], column.get("description", ""), kind=column.get("type", "string"),
                         priority=column.get("priority", 0), fmt=column.get("format", "")))
    return cols


def _json_path(obj: Any, path: str) -> Any:
    for part in path.strip(".").split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _crd_row(res: Resource, obj: Obj, now: datetime | None) -> list[Any]:
    cells: list[Any] = [obj["metadata"]["name"]]
    for column in res.printer_columns:
        value = _json_path(obj, column["jsonPath"])
        if value is None or value == [] or value == {}:
            cells.append(None)
        elif column.get("type") == "date":
            cells.append(p.since(value, now))
        elif column.get("type") == "string":
            cells.append(value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))
        else:
            cells.append(value)
    return cells


def columns(res: Resource) -> list[Obj]:
    return PRINTERS[res.key][0]() if res.key in PRINTERS else _crd_columns(res)


def row_cells(res: Resource, obj: Obj, now: datetime | None = None) -> list[Any]:
    if res.key in PRINTERS:
        return PRINTERS[res.key][1](obj, now)
    return _crd_row(res, obj, now)


def row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(res: Resource, objects: list[Obj], *, include: str = "Metadata", resource_version: str = "",
          continue_: str = "", with_columns: bool = True) -> Obj:
    rows = [{"cells": row_cells(res, o), "object": row_object(o, include)} for o in objects]
    for row in rows:
        if row["object"] is None:
            del row["object"]
    meta: Obj = {"resourceVersion": resource_version} if resource_version else {}
    if continue_:
        meta["continue"] = continue_
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": columns(res) if with_columns else None, "rows": rows}
