"""El canal de órdenes del supervisor: HTTP + JSON en 127.0.0.1 (puerto efímero, anotado en state.json).

Solo lo que no es de Kubernetes: parar el laboratorio y volcar a los .log lo que los contenedores ya
escribieron (las pruebas cuentan líneas). Todo lo demás va por el servidor de API (kubectl).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lab.errors import LabError


class Op(StrEnum):
    SYNC_LOGS = "sync-logs"
    STOP = "stop"


Handler = Callable[[dict[str, Any]], dict[str, Any]]
DEFAULT_TIMEOUT = 60.0


def post(port: int | None, op: Op, payload: dict[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Una orden al supervisor; su error (LabError) llega con el mismo texto."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/{op.value}",
        data=json.dumps(payload or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        answer = json.loads(exc.read() or b"{}")
    except (OSError, json.JSONDecodeError) as exc:
        raise LabError(f"El supervisor del laboratorio no responde ({exc}).") from exc
    if not answer.get("ok"):
        raise LabError(answer.get("error", "error desconocido del supervisor"))
    return answer


class ControlServer:
    def __init__(self, handlers: dict[Op, Handler]) -> None:
        missing = set(Op) - set(handlers)
        assert not missing, f"órdenes sin atender: {missing}"
        outer = self

        class _Request(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - nombre de http.server
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length) or b"{}")
                    try:
                        handler = outer.handlers[Op(self.path.strip("/"))]
                    except ValueError:
                        raise LabError(f"orden desconocida: {self.path}") from None
                    answer, status = {"ok": True, **handler(payload)}, 200
                except LabError as exc:
                    answer, status = {"ok": False, "error": str(exc)}, 400
                except Exception as exc:  # noqa: BLE001 - el cliente debe recibir algo
                    answer, status = {"ok": False, "error": f"error interno del supervisor: {exc!r}"}, 500
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.handlers = handlers
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
