"""Código compartido por bff, backend1 y app2.

Cada servicio importa de aquí lo mismo: la lectura de variables de entorno, la línea de
registro por petición y el cliente HTTP que reenvía las cabeceras de traza.
"""

from common.service import body_of, call, create_app, request_id
from common.settings import pod_name, status_code_from_env, upstream_timeout, upstream_url

__all__ = [
    "body_of",
    "call",
    "create_app",
    "pod_name",
    "request_id",
    "status_code_from_env",
    "upstream_timeout",
    "upstream_url",
]
