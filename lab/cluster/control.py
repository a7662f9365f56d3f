"""El canal de órdenes del supervisor: HTTP + JSON en 127.0.0.1 (puerto efímero en state.json)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lab.errors import LabError, StatusError

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ControlServer:
    def __init__(self, handlers: dict[str, Handler]) -> None:
        outer = self

        class _Request(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - nombre de http.server
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length) or b"{}")
                    handler = outer.handlers.get(self.path.strip("/"))
                    if handler is None:
                        raise LabError(f"orden desconocida: {self.path}")
                    answer, status = {"ok": True, **handler(payload)}, 200
                except StatusError as exc:  # la respuesta del servidor de API, entera
                    answer, status = {"ok": False, "error": str(exc), "status": exc.status}, 400
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
