"""Configuración de Envoy tal como la programaría istiod, en archivos que Envoy vigila.

- Un bootstrap por pod (sidecar): admin en <IP del pod>:15000, escucha de salida en :15001 (la
  app la usa como proxy HTTP: HTTP_PROXY; en Kubernetes sería iptables) y de entrada en :15006
  (virtualInbound → la app en <IP>:<containerPort>). Clusters de salida
  `outbound|<puerto del Service>||<svc>...` de tipo EDS.
- Las rutas de salida (la RouteConfiguration que Istio llama como el puerto de los Services,
  «8080», con la política de reintentos) y los endpoints
  de cada Service (EDS) van en archivos aparte (`path_config_source`). Como istiod por xDS, el
  supervisor los reescribe (renombrado atómico) y los sidecars en marcha los recargan solos:
  un rollout o una VirtualService no reinician a nadie.
- Un Envoy más hace de kube-proxy: 127.0.0.1:<nodePort> → TCP → la entrada (:15006) de los pods.
  Los endpoints son <IP del pod>:15006 porque no hay iptables que redirija el puerto de la app
  al sidecar.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.cluster.meshpolicy import VirtualService, access_log_enabled, inbound_policy, route_action
from lab.cluster.statsmatcher import stats_config
from lab.cluster.topology import NAMESPACE, Deployment, Service, Topology
from lab.constants import ENVOY_ADMIN_PORT, NODE_PORT_IP


@dataclass(frozen=True)
class Workload:
    """Lo que el sidecar de un pod necesita saber de él: su app (el Deployment o la etiqueta app),
    el containerPort de la app y el Service del curso que lo selecciona (None si ninguno)."""

    name: str
    container_port: int
    service: Service | None

OUTBOUND_PORT = 15001
INBOUND_PORT = 15006
# pilot/pkg/model/telemetry_logging.go#EnvoyTextLogFormat (formato TEXT por defecto de Istio).
ISTIO_TEXT_LOG_FORMAT = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
    '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% '
    '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
    '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% '
    "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
    "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n"
)
UNLIMITED = 4294967295
OVERLOAD_MANAGER = {  # solo para callar el aviso «no configured limit ... downstream connections»
    "resource_monitors": [
        {
            "name": "envoy.resource_monitors.global_downstream_max_connections",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.resource_monitors."
                "downstream_connections.v3.DownstreamConnectionsConfig",
                "max_active_downstream_connections": 2147483647,
            },
        }
    ]
}
ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}
HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


def outbound_cluster(service: Service) -> str:
    return f"outbound|{service.port}||{service.fqdn()}"


def node_port_cluster(port: int, service: Service) -> str:
    """The kube-proxy's cluster of a NodePort."""
    return f"nodeport|{port}||{service.fqdn()}"


def routes_name(topology: Topology) -> str:
    """El nombre de la RouteConfiguration de salida: como Istio, el puerto de los Services («8080»).

    Istio tiene una escucha (y una RouteConfiguration) por puerto de Service; aquí la app usa su
    sidecar como proxy HTTP por una sola escucha (:15001), así que, si los Services usan puertos
    distintos, una sola RouteConfiguration los junta a todos («8080+9080»): cada host virtual
    lleva sus dominios con su puerto, de modo que el enrutado es el mismo.
    """
    return "+".join(str(port) for port in sorted({s.port for s in topology.services}))


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Escritura atómica (archivo temporal + rename): Envoy vigila los renombrados."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def eds_path(xds_dir: Path, service: Service) -> Path:
    return xds_dir / f"eds-{service.name}.json"


def routes_path(xds_dir: Path, topology: Topology) -> Path:
    return xds_dir / f"routes-{routes_name(topology)}.json"


def endpoints(service: Service, ips: list[str], version: int) -> dict[str, Any]:
    """DiscoveryResponse EDS: los pods listos de un Service (su entrada :15006)."""
    return {
        "version_info": str(version),
        "resources": [
            {
                "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
                "cluster_name": outbound_cluster(service),
                "endpoints": [
                    {
                        "lb_endpoints": [
                            {"endpoint": {"address": _address(ip, INBOUND_PORT)}} for ip in ips
                        ]
                    }
                ],
            }
        ],
    }


def outbound_routes(
    topology: Topology, mesh: dict[str, Any], virtual_services: dict[str, VirtualService], version: int
) -> dict[str, Any]:
    """DiscoveryResponse RDS: la RouteConfiguration de salida («8080») que comparten todos los sidecars."""
    by_host = {vs.host: vs for vs in virtual_services.values()}
    hosts = []
    for service in topology.services:
        vs = by_host.get(service.name)
        route: dict[str, Any] = {
            "name": (vs.route_name or f"{vs.name}.{NAMESPACE}") if vs else "default",
            "match": {"prefix": "/"},
            "decorator": {"operation": f"{service.fqdn()}:{service.port}/*"},
            "route": route_action(outbound_cluster(service), mesh, vs),
        }
        if vs:
            route["metadata"] = {
                "filter_metadata": {
                    "istio": {"config": f"/apis/networking.istio.io/v1/namespaces/{NAMESPACE}/virtual-service/{vs.name}"}
                }
            }
        hosts.append(
            {
                "name": f"{service.fqdn()}:{service.port}",
                "domains": _domains(service),
                "include_request_attempt_count": True,
                "routes": [route],
            }
        )
    return {
        "version_info": str(version),
        "resources": [
            {
                "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
                "name": routes_name(topology),
                # Sorted by name, like istiod (util.SortVirtualHosts in istio/istio
                # pilot/pkg/networking/util/util.go, called from httproute.go, release-1.31).
                "virtual_hosts": sorted(hosts, key=lambda host: host["name"]),
                "validate_clusters": False,
            }
        ],
    }


def _domains(service: Service) -> list[str]:
    names = [service.name, f"{service.name}.{NAMESPACE}", f"{service.name}.{NAMESPACE}.svc", service.fqdn()]
    return [d for name in names for d in (name, f"{name}:{service.port}")]


def sidecar_bootstrap(
    pod: str, ip: str, workload: Workload, topology: Topology, mesh: dict[str, Any], xds_dir: Path
) -> dict[str, Any]:
    """El bootstrap del sidecar de un pod (istio-proxy); `workload`: su app, su puerto y su Service."""
    access_log = _access_log(mesh)
    outbound = _hcm(
        f"outbound_0.0.0.0_{routes_name(topology)}",
        access_log,
        rds={
            "route_config_name": routes_name(topology),
            "config_source": {
                "path_config_source": {"path": str(routes_path(xds_dir, topology))},
                "resource_api_version": "V3",
            },
        },
    )
    port = workload.container_port
    inbound_cluster = f"inbound|{port}||"
    service = workload.service
    operation = f"{service.fqdn()}:{service.port}/*" if service else f"{workload.name}.{NAMESPACE}.svc.cluster.local:{port}/*"
    inbound = _hcm(
        f"inbound_0.0.0.0_{port}",
        access_log,
        route_config={
            "name": inbound_cluster,
            "validate_clusters": False,
            "virtual_hosts": [
                {
                    "name": f"inbound|http|{port}",
                    "domains": ["*"],
                    "routes": [
                        {
                            "name": "default",
                            "match": {"prefix": "/"},
                            "decorator": {"operation": operation},
                            "route": {
                                "cluster": inbound_cluster,
                                "timeout": "0s",
                                "max_stream_duration": {"max_stream_duration": "0s", "grpc_timeout_header_max": "0s"},
                                # Istio >= 1.24: la entrada solo reintenta si la app no llegó a recibir nada.
                                "retry_policy": inbound_policy(),
                            },
                        }
                    ],
                }
            ],
        },
    )
    clusters = [_eds_cluster(s, xds_dir, "LEAST_REQUEST", source_ip=ip) for s in topology.services]
    clusters.append(_static_cluster(inbound_cluster, ip, port))
    return {
        "node": {
            "id": f"sidecar~{ip}~{pod}.{NAMESPACE}~{NAMESPACE}.svc.cluster.local",
            "cluster": f"{workload.name}.{NAMESPACE}",
        },
        "admin": {"address": _address(ip, ENVOY_ADMIN_PORT)},
        "stats_config": stats_config(mesh, ip),  # las estadísticas que guarda el bootstrap de Istio
        "overload_manager": OVERLOAD_MANAGER,
        "static_resources": {
            "listeners": [
                _listener("outbound", ip, OUTBOUND_PORT, outbound),
                _listener("virtualInbound", ip, INBOUND_PORT, inbound),
            ],
            "clusters": clusters,
        },
    }


def kube_proxy_bootstrap(node_ports: list[tuple[int, Deployment]], xds_dir: Path, admin_ip: str) -> dict[str, Any]:
    """Un Envoy de capa 4 en el papel de kube-proxy: 127.0.0.1:<nodePort> → pods del Service."""
    listeners, clusters = [], []
    for port, deployment in node_ports:
        name = node_port_cluster(port, deployment.service)
        tcp = {
            "name": "envoy.filters.network.tcp_proxy",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                "stat_prefix": f"nodeport_{port}",
                "cluster": name,
            },
        }
        listeners.append(_listener(f"nodeport_{port}", NODE_PORT_IP, port, tcp))
        clusters.append(_eds_cluster(deployment.service, xds_dir, "RANDOM", name=name))
    return {
        "node": {"id": "kube-proxy", "cluster": "kube-proxy"},
        "admin": {"address": _address(admin_ip, ENVOY_ADMIN_PORT)},
        "overload_manager": OVERLOAD_MANAGER,
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }


def _address(ip: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": ip, "port_value": port}}


def _listener(name: str, ip: str, port: int, network_filter: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "address": _address(ip, port), "filter_chains": [{"filters": [network_filter]}]}


def _access_log(mesh: dict[str, Any]) -> list[dict[str, Any]]:
    if not access_log_enabled(mesh):
        return []
    fmt = mesh.get("accessLogFormat") or ISTIO_TEXT_LOG_FORMAT
    return [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": "/dev/stdout",  # la salida del contenedor: `kubectl logs -c istio-proxy`
                "log_format": {"text_format_source": {"inline_string": fmt if fmt.endswith("\n") else fmt + "\n"}},
            },
        }
    ]


def _hcm(stat_prefix: str, access_log: list[dict[str, Any]], **routing: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "@type": HCM_TYPE,
        "stat_prefix": stat_prefix,
        "use_remote_address": False,
        "stream_idle_timeout": "0s",
        "normalize_path": True,
        "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
        "access_log": access_log,
        "http_filters": [ROUTER],
        **routing,
    }
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": config}


def _eds_cluster(
    service: Service, xds_dir: Path, lb_policy: str, name: str | None = None, source_ip: str | None = None
) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name or outbound_cluster(service),
        "type": "EDS",
        "eds_cluster_config": {
            "service_name": outbound_cluster(service),
            "eds_config": {
                "path_config_source": {"path": str(eds_path(xds_dir, service))},
                "resource_api_version": "V3",
            },
        },
        "connect_timeout": "10s",
        "lb_policy": lb_policy,
        # Istio levanta los límites de Envoy (max_retries sería 3).
        "circuit_breakers": {
            "thresholds": [
                {
                    "max_connections": UNLIMITED,
                    "max_pending_requests": UNLIMITED,
                    "max_requests": UNLIMITED,
                    "max_retries": UNLIMITED,
                }
            ]
        },
    }
    if source_ip:  # las conexiones salen de la IP del pod, como en Kubernetes
        cluster["upstream_bind_config"] = {"source_address": {"address": source_ip, "port_value": 0}}
    return cluster


def _static_cluster(name: str, ip: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "10s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _address(ip, port)}}]}],
        },
    }
