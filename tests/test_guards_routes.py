"""El orden de los hosts virtuales de la ruta de salida: el de istiod (util.SortVirtualHosts en
istio/istio pilot/pkg/networking/util/util.go, release-1.31: por nombre), no el de los manifiestos.
`istioctl proxy-config route` lo enseña en ese orden y el paso 3 lo muestra. Python puro."""

from __future__ import annotations

from pathlib import Path

from lab.cluster.envoyconfig import outbound_routes
from lab.cluster.meshpolicy import load_mesh_config
from lab.cluster.topology import load_topology

ROOT = Path(__file__).resolve().parent.parent


def test_virtual_hosts_are_sorted_by_name_not_in_manifest_order() -> None:
    topology = load_topology(ROOT)
    assert [d.name for d in topology.deployments] == ["bff", "backend1", "app2"]  # el orden de apps/k8s
    rds = outbound_routes(topology, load_mesh_config(ROOT), {}, 1)["resources"][0]
    assert [vh["name"] for vh in rds["virtual_hosts"]] == [
        "app2.default.svc.cluster.local:8080",
        "backend1.default.svc.cluster.local:8080",
        "bff.default.svc.cluster.local:8080",
    ]
