"""Los tipos que conoce el servidor de API del laboratorio (lo que kubectl sabría por «discovery»).

Solo VirtualService se emula (`emulated`); los demás son tipos que un clúster con Istio conoce y
que kubectl aceptaría, para que `kubectl apply` de uno de ellos diga «no soportado por el
laboratorio» en vez de «no matches for kind», que sería falso en un clúster real.
"""

from __future__ import annotations

from lab.cluster.meshpolicy import VS_API_VERSIONS
from lab.cluster.state import ApiResource

_ISTIO_NETWORKING = ("DestinationRule", "Gateway", "ServiceEntry", "Sidecar", "WorkloadEntry")
_ISTIO_SECURITY = ("PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication")

API_RESOURCES: tuple[ApiResource, ...] = (
    *(ApiResource(v, "VirtualService", "virtualservices", emulated=True) for v in VS_API_VERSIONS),
    *(ApiResource("v1", k, k.lower() + "s") for k in ("Pod", "Service", "ConfigMap", "Secret", "Namespace", "ServiceAccount")),
    ApiResource("v1", "Endpoints", "endpoints"),
    *(ApiResource("apps/v1", k, k.lower() + "s") for k in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")),
    *(ApiResource(v, k, k.lower() + "s") for v in VS_API_VERSIONS for k in _ISTIO_NETWORKING),
    *(ApiResource(f"security.istio.io/{v}", k, k.lower() + "s") for v in ("v1", "v1beta1") for k in _ISTIO_SECURITY),
)
VIRTUAL_SERVICE = API_RESOURCES[0]


def api_resource(api_version: str, kind: str) -> ApiResource | None:
    """El tipo de `apiVersion`/`kind`, o None si el servidor no lo conoce («no matches for kind»)."""
    return next((r for r in API_RESOURCES if (r.api_version, r.kind) == (api_version, kind)), None)


def emulated_kinds() -> list[str]:
    return sorted({r.kind for r in API_RESOURCES if r.emulated})
