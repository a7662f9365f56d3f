"""La aplicación FastAPI común: /healthz, la línea de registro y el cliente HTTP."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from common.logline import HEALTH_PATH, OneLinePerRequest, silence_uvicorn
from common.settings import pod_name, upstream_timeout
from common.upstream import UpstreamError, body_of, forwarded_headers, get, new_client

__all__ = ["body_of", "call", "create_app", "request_id"]

DEFAULT_TIMEOUT = 5.0


def create_app(name: str, timeout: float = DEFAULT_TIMEOUT) -> FastAPI:
    """Una app FastAPI con /healthz, una línea de registro por petición y un cliente httpx.

    `timeout` (segundos) es la espera máxima por el siguiente servicio; UPSTREAM_TIMEOUT la cambia.
    """
    silence_uvicorn()
    seconds = upstream_timeout(timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
        async with new_client(seconds) as client:
            yield {"client": client}

    app = FastAPI(title=name, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(OneLinePerRequest, pod=pod_name())

    @app.get(HEALTH_PATH, include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(UpstreamError)
    async def upstream_failed(request: Request, exc: UpstreamError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    return app


def request_id(request: Request) -> str:
    """El x-request-id de esta petición (o el generado si no llegó ninguno)."""
    return request.state.request_id


async def call(request: Request, base_url: str) -> httpx.Response:
    """GET <base_url>/ reenviando el id de la petición y las cabeceras de traza.

    Si no hay conexión o se agota el tiempo, la petición termina aquí con 502 o 504 y un JSON
    {"error": ...}; si el servicio responde (aunque sea un 503), se devuelve su respuesta.
    """
    service = urlsplit(base_url).hostname or base_url
    headers = forwarded_headers(request.headers, request_id(request))
    return await get(request.state.client, base_url + "/", headers, service)
