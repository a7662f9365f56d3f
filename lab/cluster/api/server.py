"""The lab's kube-apiserver: HTTP on 127.0.0.1 (ephemeral port) in front of the Registry.

The plumbing of k8s.io/apiserver `pkg/endpoints` (handlers/rest.go, get.go, create.go, update.go,
patch.go, delete.go, watch.go, responsewriters/status.go): every error is a metav1.Status with its
HTTP code; JSON only (a client that also accepts protobuf gets JSON, as from any apiserver for
CRDs). Routing and the verbs are in rest.py, watches in watch.py, pods/log and pods/exec in
streams.py; this module owns the sockets.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from lab.cluster.api import errors, openapi, protobuf, rest
from lab.cluster.api.errors import ApiError
from lab.cluster.api.node import NodeHooks
from lab.cluster.api.registry import Registry

Obj = dict[str, Any]
LOG = logging.getLogger(__name__)


class ApiServer:
    def __init__(self, registry: Registry, node: NodeHooks | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = registry
        self.node = node
        self.stop = threading.Event()  # set by close(): every watch and stream ends
        self._address = (host, port)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._streams: set[Any] = set()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "ApiServer.start() first"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> int:
        server = self

        class Handler(_Handler):
            api = server

        self._httpd = _Server(self._address, Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="lab-apiserver", daemon=True)
        self._thread.start()
        threading.Thread(target=_warm_up, name="lab-apiserver-warm-up", daemon=True).start()
        return self.port

    def close(self) -> None:
        """Ends every watch and stream (clients see a clean end), then stops listening."""
        self.stop.set()
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.close()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def track(self, stream: Any) -> None:
        with self._lock:
            self._streams.add(stream)

    def untrack(self, stream: Any) -> None:
        with self._lock:
            self._streams.discard(stream)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # `logs -l` opens several connections at once, watches hold theirs


def _warm_up() -> None:
    """Loads the schemas and builds the OpenAPI documents off the request path (≈0.3 s of CPU that
    the first `kubectl get` or `apply` would otherwise wait for)."""
    openapi.served(["v3"])


def warning_header(text: str) -> str:
    """RFC 7234 warn-code 299, agent "-", the text quoted with `\\` and `"` escaped (apimachinery
    `pkg/util/net/http.go` NewWarningHeader), the header client-go's warning handler prints."""
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Handler(BaseHTTPRequestHandler):
    api: ApiServer
    protocol_version = "HTTP/1.1"
    server_version = "lab-apiserver"
    sys_version = ""
    # TCP_NODELAY, as Go's net/http sets on every connection: a streamed answer (pods/log) is the
    # headers and then small chunks, and with Nagle each chunk waited for the client's delayed ACK
    # (40 ms): `kubectl logs -l` over three pods took 0.15 s more than its requests.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass  # no access log on the learner's terminal

    # ------------------------------------------------------------------ verbs
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        query_lists = parse_qs(url.query, keep_blank_values=True)
        try:
            request = rest.Request(method, url.path, query, query_lists, dict(self.headers.items()), self._body)
            rest.handle(self.api, request, self)
        except ApiError as error:
            self.send_json(error.status, error.code)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:  # a bug here: a 500 Status (as apiserver's panic recovery), not a cut connection
            LOG.exception("%s %s", method, self.path)
            status = ApiError(f"Internal error occurred: {error}", 500, "InternalError").status
            try:
                self.send_json(status, 500)
            except OSError:
                self.close_connection = True

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._read_chunked()
        if not raw.strip():
            return None
        kind = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if kind == protobuf.CONTENT_TYPE:
            return protobuf.decode(raw)
        try:
            if kind in ("application/yaml", "application/apply-patch+yaml"):
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as error:
            raise errors.bad_request(f"the object provided is unrecognized or invalid: {error}") from None

    def _read_chunked(self) -> bytes:
        data = b""
        while True:
            size = int(self.rfile.readline().strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    # ------------------------------------------------------------------ answers
    def send_json(self, obj: Any, code: int = 200, content_type: str = "application/json",
                  warnings: list[str] | None = None) -> None:
        body = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        for text in dict.fromkeys(warnings or []):  # once each (apiserver endpoints/filters/warning.go deduplicates)
            self.send_header("Warning", warning_header(text).encode().decode("latin-1"))  # UTF-8 bytes, as Go writes them
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_bytes(self, body: bytes, headers: dict[str, str], content_type: str = "application/json") -> None:
        """A body already serialised, with headers of its own (Cache-Control only if they set none,
        as the apiserver's WithCacheControl filter)."""
        self.send_status(200, {"Content-Type": content_type, **headers}, len(body))
        self.wfile.write(body)

    def send_status(self, code: int, headers: dict[str, str], length: int | None = 0) -> None:
        """A bodiless answer (301; a 304 with length None, without Content-Length) or the head of send_bytes."""
        self.send_response(code)
        for name, value in {"Cache-Control": "no-cache, private", **headers}.items():
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    def end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def client_gone(self) -> bool:
        """True once the client closed its side (Ctrl-C of `kubectl get -w`, `logs -f`)."""
        sock: socket.socket = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
