"""Llamada al siguiente servicio de la cadena con httpx.

- Tiempo máximo explícito: un servicio que no contesta nunca deja colgada la petición.
- trust_env=True: se respetan HTTP_PROXY/NO_PROXY. En Kubernetes no hay ninguna (iptables desvía
  el tráfico al sidecar); en el laboratorio local HTTP_PROXY apunta al sidecar del pod.
- Se reenvían x-request-id y las cabeceras de traza que Istio documenta, para que todos los
  saltos (y todos los reintentos) compartan el mismo id.
"""

from typing import Any

import httpx

# https://istio.io/latest/docs/tasks/observability/distributed-tracing/overview/
TRACE_HEADERS = (
    "x-request-id",
    "traceparent",
    "tracestate",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "b3",
    "x-ot-span-context",
    "x-cloud-trace-context",
    "grpc-trace-bin",
    "sw8",
    "x-datadog-trace-id",
    "x-datadog-parent-id",
    "x-datadog-sampling-priority",
)


class UpstreamError(Exception):
    """El siguiente servicio no respondió: 502 (no se pudo conectar) o 504 (tiempo agotado)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def new_client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), trust_env=True, follow_redirects=False)


def forwarded_headers(incoming: Any, request_id: str) -> dict[str, str]:
    headers = {name: incoming[name] for name in TRACE_HEADERS if name in incoming}
    headers["x-request-id"] = request_id
    return headers


async def get(client: httpx.AsyncClient, url: str, headers: dict[str, str], service: str) -> httpx.Response:
    """GET `url`; cualquier fallo de red se convierte en UpstreamError con un mensaje claro."""
    try:
        return await client.get(url, headers=headers)
    except httpx.TimeoutException:
        raise UpstreamError(504, f"{service} no respondió a tiempo ({url})") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = str(exc) or type(exc).__name__
        raise UpstreamError(502, f"no se pudo conectar con {service} ({url}): {reason}") from None


def body_of(response: httpx.Response) -> Any:
    """El cuerpo como JSON si lo es; si no, como texto."""
    try:
        return response.json()
    except ValueError:
        return response.text
