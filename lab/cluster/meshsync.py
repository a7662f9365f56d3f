"""istiod's part: EndpointSlices and VirtualServices in the store → EDS and RDS files for the sidecars.

- EDS: for each course Service, the addresses of its EndpointSlices' endpoints that are `ready`
  (istio/istio `pilot/pkg/serviceregistry/kube/controller/endpointslice.go`: a terminating or not
  ready endpoint gets no traffic), written only when they change.
- RDS: the VirtualServices of namespace `default` (lab/cluster/meshpolicy.py reads them) → the
  outbound RouteConfiguration. A VirtualService write answers only once every ready sidecar loaded
  the new routes (lab/cluster/acks.py, like the xDS ACK istiod waits for): this runs as a synchronous
  store observer, in the writer's thread, so the next `curl` after `kubectl apply` sees the route.
- Admission: what the lab cannot emulate of a VirtualService (a host outside the course, `match`,
  several destinations…) is refused by a validating admission with a Spanish message that says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.cluster import envoyconfig as xds
from lab.cluster.acks import wait_endpoints, wait_routes
from lab.cluster.api.errors import ApiError, lab_cannot
from lab.cluster.api.store import Event, Obj, Store
from lab.cluster.controllers.api import ENDPOINTSLICES
from lab.cluster.controllers.endpointslice import SERVICE_NAME
from lab.cluster.istio import VIRTUALSERVICES
from lab.cluster.meshpolicy import VirtualService, parse_virtual_service
from lab.cluster.topology import NAMESPACE, Topology
from lab.errors import LabError, StatusError


class MeshSync:
    def __init__(self, store: Store, topology: Topology, mesh: dict[str, Any], xds_dir: Path,
                 sidecars: Callable[[], list[str]], node_ip: str, log: Callable[[str], None] = print) -> None:
        self.store = store
        self.topology = topology
        self.mesh = mesh
        self.dir = xds_dir
        self.sidecars = sidecars  # IPs of the ready sidecars (the ones that must ACK a route)
        self.node_ip = node_ip  # the kube-proxy's admin
        self.log = log
        self.lock = threading.Lock()
        self.versions = {"eds": 0, "rds": 0}
        self.last_eds: dict[str, list[str]] = {}
        store.observe(self._observe)

    def _observe(self, event: Event) -> None:
        if event.resource == ENDPOINTSLICES:
            self.write_eds()
        elif event.resource == VIRTUALSERVICES and event.namespace == NAMESPACE:
            wait_routes(*self.write_routes())

    def write_all(self) -> None:
        self.write_eds(force=True)
        self.write_routes()

    def ready_ips(self, service: str) -> list[str]:
        slices, _ = self.store.list(ENDPOINTSLICES, NAMESPACE,
                                    lambda s: (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == service)
        return sorted({
            address
            for item in slices for endpoint in item.get("endpoints") or []
            if (endpoint.get("conditions") or {}).get("ready")
            for address in endpoint.get("addresses") or []
        })

    def write_eds(self, force: bool = False) -> None:
        """Writes the endpoints that changed and, but at start (`force`), waits until the sidecars
        (and the kube-proxy, for a NodePort) loaded them: a pod that leaves the endpoints gets no
        new request once the controllers go on (before `rollout status` says the rollout finished)."""
        with self.lock:
            for service in self.topology.services:
                ips = self.ready_ips(service.name)
                if not force and self.last_eds.get(service.name) == ips:
                    continue
                self.versions["eds"] += 1
                self.last_eds[service.name] = ips
                xds.write_json(xds.eds_path(self.dir, service), xds.endpoints(service, ips, self.versions["eds"]))
                if force:
                    continue
                targets = [(ip, xds.outbound_cluster(service)) for ip in self.sidecars()]
                if service.node_port:
                    targets.append((self.node_ip, xds.node_port_cluster(service.node_port, service)))
                wait_endpoints(targets, {f"{ip}:{xds.INBOUND_PORT}" for ip in ips})

    def write_routes(self) -> tuple[list[str], int]:
        """Writes the routes; (sidecar IPs, version) to wait for."""
        with self.lock:
            self.versions["rds"] += 1
            xds.write_json(
                xds.routes_path(self.dir, self.topology),
                xds.outbound_routes(self.topology, self.mesh, self.virtual_services(), self.versions["rds"]),
            )
            return self.sidecars(), self.versions["rds"]

    def virtual_services(self) -> dict[str, VirtualService]:
        found = {}
        for doc in self.store.list(VIRTUALSERVICES, NAMESPACE)[0]:
            try:
                vs = parse_virtual_service(doc, self.topology, "")
            except LabError as exc:  # admission refuses these; one written around it is ignored
                self.log(f"VirtualService {doc['metadata']['name']} ignorada: {exc}")
                continue
            found[vs.name] = vs
        return found

    def admit(self, resource: str, new: Obj, old: Obj | None, dry_run: bool) -> None:
        """Validating admission: what the lab cannot turn into Envoy routes is refused."""
        if resource != VIRTUALSERVICES or (new.get("metadata") or {}).get("namespace", NAMESPACE) != NAMESPACE:
            return
        try:
            parse_virtual_service(new, self.topology, "")
        except ApiError:
            raise
        except StatusError as exc:
            raise ApiError(str(exc), exc.status["code"], exc.status.get("reason") or "", exc.status.get("details")) from None
        except LabError as exc:
            raise lab_cannot(str(exc).removeprefix("error: ")) from None
