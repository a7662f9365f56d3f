"""Una línea de registro por petición servida, en stdout:

    pod=backend1-7d9f8c6b5d-4xk2p path=/ status=503 attempt=2 request_id=9b1f...

`attempt` es la cabecera x-envoy-attempt-count que pone el sidecar que llama (1, 2, 3...);
`request_id` es x-request-id, idéntica en todos los intentos de una misma petición.
Las comprobaciones de salud (/healthz) no se registran.
"""

import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEALTH_PATH = "/healthz"
MAX_FIELD = 200


def silence_uvicorn() -> None:
    """Sin registro de acceso de uvicorn: la única línea por petición es la nuestra.

    uvicorn configura sus loggers antes de importar la aplicación, así que basta con hacerlo al
    importar: `uvicorn main:app` tal cual (sin --no-access-log) ya registra una línea por petición.
    También callamos sus mensajes informativos de arranque; los avisos y errores siguen saliendo.
    """
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


def clean(value: str | None) -> str:
    """Un campo legible y sin espacios: otros caracteres se cambian por «_», vacío → «-»."""
    if not value:
        return "-"
    value = value[:MAX_FIELD]
    return "".join(c if "!" <= c <= "~" else "_" for c in value)


def attempt(value: str | None) -> str:
    """x-envoy-attempt-count si es un entero positivo; si no, «-»."""
    if value and value.isascii() and value.isdigit() and len(value) <= 9 and int(value) > 0:
        return str(int(value))
    return "-"


def format_line(pod: str, path: str, status: int, attempt_header: str | None, request_id: str | None) -> str:
    return (
        f"pod={clean(pod)} path={clean(path)} status={status} "
        f"attempt={attempt(attempt_header)} request_id={clean(request_id)}"
    )


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class OneLinePerRequest:
    """Middleware ASGI: escribe la línea al empezar la respuesta (antes de que llegue al cliente).

    También fija el id de la petición: el x-request-id recibido o, si no llega ninguno (sin malla),
    uno nuevo. Queda en `request.state.request_id` y se reenvía al siguiente servicio.
    """

    def __init__(self, app: ASGIApp, pod: str) -> None:
        self.app = app
        self.pod = pod

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        request_id = header(scope, b"x-request-id") or str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        logged = False

        def log(status: int) -> None:
            nonlocal logged
            if not logged:
                logged = True
                attempt_header = header(scope, b"x-envoy-attempt-count")
                print(format_line(self.pod, scope["path"], status, attempt_header, request_id), flush=True)

        async def send_and_log(message: Message) -> None:
            if message["type"] == "http.response.start":
                log(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_log)
        finally:
            log(500)  # la aplicación falló sin responder: Starlette contestará 500
