"""pods/exec's WebSocket with a second real client: the `websockets` package's own client, speaking
client-go's `v5.channel.k8s.io` the way kubectl does (tests/test_api_kubectl.py runs kubectl itself).

What kubectl does not show: the frames one by one, the close handshake (code 1000), the subprotocol
the server picks, and the refusal of a broken handshake as an apiserver Status, before anything of
a WebSocket is written.
"""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlencode

import pytest
from api_seed import PODS, STATS, ApiLab
from websockets.exceptions import ConnectionClosedOK, InvalidStatus
from websockets.sync.client import connect

COMMAND = ["pilot-agent", "request", "GET", "stats"]



def exec_path(command: list[str], container: str = "istio-proxy") -> str:
    query = urlencode([("container", container), ("stdout", "true"), ("stderr", "true"),
                       *(("command", part) for part in command)])
    return f"/api/v1/namespaces/default/pods/{PODS[0]}/exec?{query}"


def test_exec_frames_and_close_handshake(api: ApiLab) -> None:
    url = f"ws://127.0.0.1:{api.server.port}{exec_path(COMMAND)}"
    with connect(url, subprotocols=["v5.channel.k8s.io", "v4.channel.k8s.io"], open_timeout=10) as ws:
        assert ws.subprotocol == "v5.channel.k8s.io"
        stdout = ws.recv(timeout=10)
        assert stdout == b"\x01" + STATS
        status = ws.recv(timeout=10)
        assert status[:1] == b"\x03" and json.loads(status[1:]) == {"metadata": {}, "status": "Success"}
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=10)
        assert ws.close_code == 1000


def test_the_older_v4_protocol_is_picked_when_it_is_the_only_one_offered(api: ApiLab) -> None:
    url = f"ws://127.0.0.1:{api.server.port}{exec_path(COMMAND)}"
    with connect(url, subprotocols=["v4.channel.k8s.io"], open_timeout=10) as ws:
        assert ws.subprotocol == "v4.channel.k8s.io"
        assert ws.recv(timeout=10) == b"\x01" + STATS


def test_an_unknown_subprotocol_is_a_bad_request(api: ApiLab) -> None:
    url = f"ws://127.0.0.1:{api.server.port}{exec_path(COMMAND)}"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, subprotocols=["channel.k8s.io"], open_timeout=10)
    assert refused.value.response.status_code == 400
    assert b"v5.channel.k8s.io o v4.channel.k8s.io" in refused.value.response.body


def test_a_handshake_without_its_key_is_refused_as_a_status(api: ApiLab) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", api.server.port, timeout=10)
    connection.request("GET", exec_path(COMMAND), headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Protocol": "v5.channel.k8s.io"})
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 400
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "BadRequest", 400)
    assert body["message"].startswith("WebSocket handshake refused: ")
    assert "Sec-WebSocket-Key" in body["message"]



def test_a_client_that_never_answers_the_close_is_let_go(api: ApiLab) -> None:
    """A client that reads but never sends its close frame: the server sends its own, waits a little
    and ends the connection (the socket reaches EOF) instead of holding the handler forever."""
    with socket.create_connection(("127.0.0.1", api.server.port), timeout=30) as client:
        client.sendall((f"GET {exec_path(COMMAND)} HTTP/1.1\r\nHost: lab\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n").encode())
        received = b""
        while chunk := client.recv(65536):  # ends at EOF (or the 30 s socket timeout fails the test)
            received += chunk
    head, _, frames = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head  # RFC 6455, section 1.3's example
    assert frames.endswith(b"\x88\x02\x03\xe8")  # an unmasked close frame, code 1000
