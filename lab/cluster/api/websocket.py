"""The server side of a WebSocket for pods/exec, on the `websockets` package's sans-I/O protocol
(`websockets.server.ServerProtocol`): it checks the handshake, frames, masks and answers pings
(client-go sends one every 5 s); this module only moves its bytes over the request's socket.

The API server's handler has already read the HTTP request, so the protocol is given the same
request line and headers again; from then on the socket belongs to the WebSocket. What the client sends (stdin,
resize) is read and discarded: the lab's exec runs no interactive process.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TYPE_CHECKING

from websockets.frames import CloseCode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from lab.cluster.api import errors

if TYPE_CHECKING:
    from lab.cluster.api.server import _Handler

CLOSE_WAIT = 2.0  # seconds to wait for the client's close frame


def accept(out: _Handler, protocol: str) -> Connection:
    """Completes the handshake with `protocol` as the subprotocol, or raises a 400 Status (before
    anything is written) naming what the client's handshake lacked."""
    ws = ServerProtocol(subprotocols=[protocol])
    head = "".join(f"{name}: {value}\r\n" for name, value in out.headers.items())
    ws.receive_data(f"{out.requestline}\r\n{head}\r\n".encode("latin-1"))  # the bytes http.server read
    request = next((event for event in ws.events_received() if isinstance(event, Request)), None)
    if request is None:
        raise errors.bad_request(f"WebSocket handshake refused: {ws.handshake_exc}")
    response = ws.accept(request)
    if ws.handshake_exc is not None:
        raise errors.bad_request(f"WebSocket handshake refused: {ws.handshake_exc}")
    ws.send_response(response)
    return Connection(ws, out)


class Connection:
    """One open WebSocket: `send` from the handler's thread, reading in a thread of its own."""

    def __init__(self, ws: ServerProtocol, out: _Handler) -> None:
        self._ws, self._out = ws, out
        self._lock = threading.Lock()  # the protocol object is not thread-safe
        self.closed = threading.Event()
        self._flush()
        threading.Thread(target=self._read, daemon=True).start()

    def send(self, payload: bytes) -> None:
        with self._lock:
            self._ws.send_binary(payload)
            self._flush()

    def close(self, code: int = CloseCode.NORMAL_CLOSURE) -> None:
        """Sends the close frame and waits (briefly) for the client's."""
        try:
            with self._lock:
                if self._ws.state is State.OPEN:
                    self._ws.send_close(code)
                self._flush()
        except OSError:
            return
        if not self.closed.wait(CLOSE_WAIT):
            # no close frame: end the socket so that the reading thread's read returns and the
            # handler can close its buffered reader (closing it waits for a read in progress)
            with contextlib.suppress(OSError):
                self._out.connection.shutdown(socket.SHUT_RDWR)

    def _flush(self) -> None:
        """Writes what the protocol has queued (frames, pongs); call with the lock held."""
        data = b"".join(self._ws.data_to_send())
        if data:
            self._out.wfile.write(data)
            self._out.wfile.flush()

    def _read(self) -> None:
        try:
            while self._ws.state is not State.CLOSED:
                data = self._out.rfile.read1(65536)
                with self._lock:
                    if data:
                        self._ws.receive_data(data)
                    else:
                        self._ws.receive_eof()
                    self._ws.events_received()  # stdin and resize frames: not used
                    self._flush()
                if not data or self._ws.close_rcvd is not None:
                    break  # the close handshake is done: nothing more to read
        except OSError:
            pass
        finally:
            self.closed.set()
