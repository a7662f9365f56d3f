"""The server side of a WebSocket (RFC 6455), enough for pods/exec: the handshake, unmasked binary
frames to the client, and a close. What the client sends (stdin, resize, pings, close) is read and
answered in a thread: pings get pongs (client-go sends one every 5 s), the rest is not used.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import threading
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from lab.cluster.api.server import _Handler

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
BINARY, CLOSE, PING, PONG = 0x2, 0x8, 0x9, 0xA


def accept(out: _Handler, key: str, protocol: str) -> Connection:
    digest = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    out.send_response(101, "Switching Protocols")
    out.send_header("Upgrade", "websocket")
    out.send_header("Connection", "Upgrade")
    out.send_header("Sec-WebSocket-Accept", digest)
    out.send_header("Sec-WebSocket-Protocol", protocol)
    out.end_headers()
    out.wfile.flush()
    return Connection(out.rfile, out.wfile)


class Connection:
    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self._reader, self._writer = reader, writer
        self._lock = threading.Lock()
        self.closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def send(self, payload: bytes, opcode: int = BINARY) -> None:
        header = bytes([0x80 | opcode])
        size = len(payload)
        if size < 126:
            header += bytes([size])
        elif size < 1 << 16:
            header += bytes([126]) + struct.pack("!H", size)
        else:
            header += bytes([127]) + struct.pack("!Q", size)
        with self._lock:
            self._writer.write(header + payload)
            self._writer.flush()

    def close(self, code: int = 1000) -> None:
        """Sends the close frame and waits (briefly) for the client's."""
        try:
            self.send(struct.pack("!H", code), CLOSE)
        except OSError:
            return
        self.closed.wait(2)

    def _read(self) -> None:
        try:
            while True:
                head = self._reader.read(2)
                if len(head) < 2:
                    break
                opcode, size = head[0] & 0x0F, head[1] & 0x7F
                if size == 126:
                    size = struct.unpack("!H", self._reader.read(2))[0]
                elif size == 127:
                    size = struct.unpack("!Q", self._reader.read(8))[0]
                mask = self._reader.read(4) if head[1] & 0x80 else b""
                data = self._reader.read(size)
                if mask:
                    data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
                if opcode == PING:
                    self.send(data, PONG)
                elif opcode == CLOSE:
                    break
        except (OSError, struct.error):
            pass
        finally:
            self.closed.set()
