"""bff, backend1 y app2 como procesos uvicorn reales en 127.0.0.1, sin malla."""

from __future__ import annotations

import socket
import socketserver
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_apps_harness import APPS, HOST, RunningApp, app_env, start_app, start_chain, uvicorn_command, wait_ready  # noqa: E402

sys.path.insert(0, str(APPS))
from common.logline import attempt, clean, format_line  # noqa: E402

# --- Servidor falso (sockets, sin httpx): responde algo fijo o se queda callado -----------------


class FakeUpstream:
    def __init__(self, stall: bool = False, status: int = 200, body: bytes = b'{"falso": true}') -> None:
        self.stall = stall
        self.response = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        self.requests: list[bytes] = []
        self.release = threading.Event()
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                fake.requests.append(data)
                if fake.stall:
                    fake.release.wait(timeout=120)  # callado hasta que la prueba termine
                else:
                    self.request.sendall(fake.response)

        self.server = socketserver.ThreadingTCPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    def headers(self, index: int = 0) -> dict[str, str]:
        head = self.requests[index].decode("latin-1").split("\r\n\r\n")[0].split("\r\n")
        return {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:])}

    def request_line(self, index: int = 0) -> str:
        return self.requests[index].decode("latin-1").split("\r\n")[0]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def fake() -> Iterator[type[FakeUpstream]]:
    started: list[FakeUpstream] = []

    def make(**kwargs: object) -> FakeUpstream:
        server = FakeUpstream(**kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in started:
        server.close()


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[list[RunningApp]]:
    """Lista donde cada prueba deja sus procesos: se paran todos al final."""
    running: list[RunningApp] = []
    yield running
    for app in running:
        app.stop()


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunningApp]]:
    """La cadena sin STATUS_CODE_APP, compartida por las pruebas que solo leen sus líneas nuevas."""
    started = start_chain(tmp_path_factory.mktemp("sana"))
    yield started
    for app in started.values():
        app.stop()


class NewLines:
    """Las líneas de registro que escriban las apps a partir de ahora."""

    def __init__(self, apps: dict[str, RunningApp]) -> None:
        self.apps = apps
        self.seen = {name: len(app.lines()) for name, app in apps.items()}

    def __getitem__(self, name: str) -> list[dict[str, str]]:
        return self.apps[name].records()[self.seen[name]:]


def chain(apps: list[RunningApp], tmp_path: Path, **envs: dict[str, str]) -> dict[str, RunningApp]:
    started = start_chain(tmp_path / "logs", **envs)
    apps.extend(started.values())
    return started


def launch(apps: list[RunningApp], tmp_path: Path, name: str, **env: str) -> RunningApp:
    app = start_app(name, tmp_path / "logs", env)
    apps.append(app)
    wait_ready(app)
    return app


def get(url: str, **headers: str) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=60) as client:
        return client.get(url, headers=headers)


def closed_port_url() -> str:
    """Una URL a un puerto donde no escucha nadie (conexión rechazada)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return f"http://{HOST}:{sock.getsockname()[1]}"


def rid() -> str:
    return f"prueba-{uuid.uuid4()}"


# --- Los dos escenarios del curso ------------------------------------------------------------


def test_all_healthy_gives_200_through_the_chain(healthy: dict[str, RunningApp]) -> None:
    c, new = healthy, NewLines(healthy)
    request_id = rid()
    response = get(f"{c['bff'].url}/toapp", **{"x-request-id": request_id})
    assert response.status_code == 200
    assert response.json() == {
        "request_id": request_id,
        "backend1_status": 200,
        "backend1_body": {"pod": "app2-prueba", "mensaje": "app2 responde 200"},
    }
    for name, path in (("bff", "/toapp"), ("backend1", "/"), ("app2", "/")):
        assert new[name] == [
            {"pod": f"{name}-prueba", "path": path, "status": "200", "attempt": "-", "request_id": request_id}
        ]


def test_step1_backend1_answers_503_although_app2_answered_200(apps: list[RunningApp], tmp_path: Path) -> None:
    c = chain(apps, tmp_path, backend1={"STATUS_CODE_APP": "503"})
    request_id = rid()
    response = get(f"{c['bff'].url}/toapp", **{"x-request-id": request_id})
    assert response.status_code == 200  # bff responde 200: el 503 queda a la vista en el cuerpo
    body = response.json()
    assert body["backend1_status"] == 503
    assert body["backend1_body"]["app2_status"] == 200
    assert body["backend1_body"]["pod"] == "backend1-prueba"
    assert [r["status"] for r in c["app2"].records()] == ["200"]
    assert [r["status"] for r in c["backend1"].records()] == ["503"]
    assert [r["status"] for r in c["bff"].records()] == ["200"]
    assert get(f"{c['backend1'].url}/").status_code == 503


def test_step2_app2_503_is_passed_on_by_backend1(apps: list[RunningApp], tmp_path: Path) -> None:
    c = chain(apps, tmp_path, app2={"STATUS_CODE_APP": "503"})
    direct = get(f"{c['backend1'].url}/")
    assert direct.status_code == 503
    assert direct.json() == {"pod": "app2-prueba", "mensaje": "app2 responde 503"}  # el cuerpo de app2, intacto
    response = get(f"{c['bff'].url}/toapp")
    assert response.status_code == 200
    assert response.json()["backend1_status"] == 503
    assert response.json()["backend1_body"] == {"pod": "app2-prueba", "mensaje": "app2 responde 503"}
    assert [r["status"] for r in c["app2"].records()] == ["503", "503"]
    assert [r["status"] for r in c["backend1"].records()] == ["503", "503"]


def test_backend1_passes_a_non_json_body_on_as_text(apps: list[RunningApp], tmp_path: Path, fake) -> None:
    upstream = fake(status=418, body=b"no soy JSON")
    backend1 = launch(apps, tmp_path, "backend1", APP2_URL=upstream.url)
    bff = launch(apps, tmp_path, "bff", BACKEND1_URL=backend1.url)
    body = get(f"{bff.url}/toapp").json()
    assert body["backend1_status"] == 418
    assert body["backend1_body"] == "no soy JSON"


# --- Registro: una línea por petición, ninguna por /healthz -----------------------------------


def test_one_line_per_request_and_none_for_health_checks(healthy: dict[str, RunningApp]) -> None:
    c, new = healthy, NewLines(healthy)
    ids = [rid() for _ in range(5)]
    for request_id in ids:
        assert get(f"{c['bff'].url}/healthz", **{"x-request-id": "salud"}).status_code == 200
        assert get(f"{c['bff'].url}/toapp", **{"x-request-id": request_id}).status_code == 200
        assert get(f"{c['app2'].url}/healthz", **{"x-request-id": "salud"}).status_code == 200
    for name in c:
        assert [r["request_id"] for r in new[name]] == ids


def test_unknown_path_is_logged_once_with_its_404(healthy: dict[str, RunningApp]) -> None:
    app2, new = healthy["app2"], NewLines(healthy)
    assert get(f"{app2.url}/nada", **{"x-request-id": "r1"}).status_code == 404
    assert new["app2"] == [{"pod": "app2-prueba", "path": "/nada", "status": "404", "attempt": "-", "request_id": "r1"}]


@pytest.mark.parametrize(
    ("header", "logged"),
    [("1", "1"), ("2", "2"), ("3", "3"), ("abc", "-"), ("0", "-"), ("-1", "-"), ("2.5", "-"), ("", "-"), (None, "-")],
)
def test_attempt_is_logged_from_the_envoy_header(header: str | None, logged: str) -> None:
    assert attempt(header) == logged
    line = format_line("app2-x", "/", 200, header, "r")
    assert line == f"pod=app2-x path=/ status=200 attempt={logged} request_id=r"


def test_attempt_header_in_a_real_process(healthy: dict[str, RunningApp]) -> None:
    app2, new = healthy["app2"], NewLines(healthy)
    for value in ("2", "tres", "3"):
        get(f"{app2.url}/", **{"x-envoy-attempt-count": value, "x-request-id": "mismo-id"})
    get(f"{app2.url}/", **{"x-request-id": "sin-intento"})
    assert [(r["attempt"], r["request_id"]) for r in new["app2"]] == [
        ("2", "mismo-id"), ("-", "mismo-id"), ("3", "mismo-id"), ("-", "sin-intento"),
    ]


def test_request_id_is_sanitised_in_the_log(healthy: dict[str, RunningApp]) -> None:
    assert clean("a b\tc\nd") == "a_b_c_d"
    assert clean("") == "-"
    assert clean("ñ") == "_"
    assert len(clean("x" * 5000)) == 200
    app2 = healthy["app2"]
    seen = len(app2.lines())
    get(f"{app2.url}/", **{"x-request-id": "id con espacios status=200"})
    assert app2.lines()[seen:] == ["pod=app2-prueba path=/ status=200 attempt=- request_id=id_con_espacios_status=200"]
    get(f"{app2.url}/a%20b%0Ac")  # la ruta también se limpia: una sola línea
    assert [r["path"] for r in app2.records()[seen + 1:]] == ["/a_b_c"]


# --- Id de petición y cabeceras de traza --------------------------------------------------------


def test_request_id_and_trace_headers_are_forwarded(apps: list[RunningApp], tmp_path: Path, fake) -> None:
    upstream = fake()
    bff = launch(apps, tmp_path, "bff", BACKEND1_URL=upstream.url)
    trace = {
        "x-request-id": "id-1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": "a=b",
        "x-b3-traceid": "80f198ee56343ba864fe8b2a57d3eff7",
        "x-b3-spanid": "e457b5a2e4d86bd1",
        "x-b3-parentspanid": "05e3ac9a4f6e3b90",
        "x-b3-sampled": "1",
        "b3": "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
    }
    response = get(f"{bff.url}/toapp", **trace, **{"x-envoy-attempt-count": "2", "cookie": "no=reenviar"})
    assert response.json() == {"request_id": "id-1", "backend1_status": 200, "backend1_body": {"falso": True}}
    received = upstream.headers()
    assert {k: received.get(k) for k in trace} == trace
    # El número de intento lo pone el sidecar de cada salto: no se reenvía. Tampoco otras cabeceras.
    assert "x-envoy-attempt-count" not in received
    assert "cookie" not in received


def test_without_request_id_one_is_generated_and_shared_by_the_chain(healthy: dict[str, RunningApp]) -> None:
    new = NewLines(healthy)
    generated = get(f"{healthy['bff'].url}/toapp").json()["request_id"]
    uuid.UUID(generated)
    for name in healthy:
        assert [r["request_id"] for r in new[name]] == [generated]


def test_nothing_else_is_written_by_the_servers(healthy: dict[str, RunningApp]) -> None:
    """Ni registro de acceso de uvicorn ni mensajes de arranque: solo nuestras líneas."""
    get(f"{healthy['bff'].url}/toapp")
    for app in healthy.values():
        assert app.records()  # todas las líneas de stdout tienen la forma del contrato
        assert app.stderr.read_text() == ""


def test_http_proxy_is_honoured(apps: list[RunningApp], tmp_path: Path, fake) -> None:
    """En el laboratorio HTTP_PROXY apunta al sidecar del pod: la URL de servicio no cambia."""
    proxy = fake(body=b'{"via": "proxy"}')
    bff = launch(apps, tmp_path, "bff", BACKEND1_URL="http://backend1:8080", HTTP_PROXY=proxy.url)
    body = get(f"{bff.url}/toapp").json()
    assert body["backend1_body"] == {"via": "proxy"}
    assert proxy.request_line() == "GET http://backend1:8080/ HTTP/1.1"


# --- Fallos del servicio siguiente: 502 y 504, sin colgarse ----------------------------------


def test_bff_answers_502_when_backend1_refuses_connections(apps: list[RunningApp], tmp_path: Path) -> None:
    bff = launch(apps, tmp_path, "bff", BACKEND1_URL=closed_port_url())
    response = get(f"{bff.url}/toapp", **{"x-request-id": "r502"})
    assert response.status_code == 502
    assert set(response.json()) == {"error"}
    assert "no se pudo conectar" in response.json()["error"]
    assert [(r["status"], r["request_id"]) for r in bff.records()] == [("502", "r502")]


def test_backend1_answers_502_when_app2_refuses_connections(apps: list[RunningApp], tmp_path: Path) -> None:
    backend1 = launch(apps, tmp_path, "backend1", APP2_URL=closed_port_url(), STATUS_CODE_APP="503")
    response = get(f"{backend1.url}/")
    assert response.status_code == 502  # sin respuesta de app2 no hay nada que forzar
    assert "no se pudo conectar" in response.json()["error"]


def test_a_stalled_backend1_gives_504_from_bff(apps: list[RunningApp], tmp_path: Path, fake) -> None:
    upstream = fake(stall=True)
    bff = launch(apps, tmp_path, "bff", BACKEND1_URL=upstream.url, UPSTREAM_TIMEOUT="0.5")
    response = get(f"{bff.url}/toapp")
    assert response.status_code == 504
    assert "no respondió a tiempo" in response.json()["error"]
    assert [r["status"] for r in bff.records()] == ["504"]


def test_a_stalled_app2_is_cut_by_backend1_first(apps: list[RunningApp], tmp_path: Path, fake) -> None:
    """backend1 espera menos que bff: bff responde 200 y cuenta que backend1 dio 504."""
    upstream = fake(stall=True)
    backend1 = launch(apps, tmp_path, "backend1", APP2_URL=upstream.url, UPSTREAM_TIMEOUT="0.5")
    bff = launch(apps, tmp_path, "bff", BACKEND1_URL=backend1.url)
    response = get(f"{bff.url}/toapp")
    assert response.status_code == 200
    assert response.json()["backend1_status"] == 504
    assert len(upstream.requests) == 1


# --- Configuración inválida: el proceso no arranca y dice por qué -----------------------------


def start_failure(name: str, tmp_path: Path, **env: str) -> tuple[int, list[str], str]:
    """Arranca `uvicorn main:app` y espera a que termine: (código, líneas de stderr, stdout)."""
    result = subprocess.run(
        uvicorn_command(0), cwd=APPS / name, env=app_env(name, env),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )
    return result.returncode, result.stderr.splitlines(), result.stdout


@pytest.mark.parametrize(("name", "value"), [("app2", "abc"), ("app2", "600"), ("backend1", "99")])
def test_invalid_status_code_app_stops_the_app(name: str, value: str, tmp_path: Path) -> None:
    code, stderr, stdout = start_failure(name, tmp_path, STATUS_CODE_APP=value)
    assert code != 0
    assert len(stderr) == 1, stderr
    assert "STATUS_CODE_APP" in stderr[0] and repr(value) in stderr[0]
    assert "entre 200 y 599" in stderr[0]
    assert stdout == ""


@pytest.mark.parametrize("value", ["abc", "99", "600", "1000", "2OO", "503.0", "+503", "5_03", "-503", "٥٠٣"])
def test_status_code_app_rejects(value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from common.settings import status_code_from_env

    monkeypatch.setenv("STATUS_CODE_APP", value)
    with pytest.raises(SystemExit) as stop:
        status_code_from_env(default=200)
    assert stop.value.code not in (0, None)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert "STATUS_CODE_APP" in err[0] and repr(value) in err[0]
    assert "200" in err[0] and "599" in err[0]


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [("200", 200, 200), ("599", None, 599), (" 503 ", 200, 503), ("", 200, 200), ("", None, None), (None, None, None)],
)
def test_status_code_app_accepts(value: str | None, default: int | None, expected: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    from common.settings import status_code_from_env

    if value is None:
        monkeypatch.delenv("STATUS_CODE_APP", raising=False)
    else:
        monkeypatch.setenv("STATUS_CODE_APP", value)
    assert status_code_from_env(default=default) == expected


@pytest.mark.parametrize(
    ("name", "variable"), [("bff", "BACKEND1_URL"), ("backend1", "APP2_URL")],
)
@pytest.mark.parametrize("value", ["backend1:8080"])
def test_malformed_upstream_url_stops_the_app(name: str, variable: str, value: str, tmp_path: Path) -> None:
    code, stderr, _ = start_failure(name, tmp_path, **{variable: value})
    assert code != 0
    assert len(stderr) == 1, stderr
    assert variable in stderr[0] and repr(value) in stderr[0]


def test_invalid_upstream_timeout_stops_the_app(tmp_path: Path) -> None:
    code, stderr, _ = start_failure("bff", tmp_path, UPSTREAM_TIMEOUT="nunca")
    assert code != 0
    assert len(stderr) == 1 and "UPSTREAM_TIMEOUT='nunca'" in stderr[0], stderr


@pytest.mark.parametrize("value", ["0", "-1", "nunca", "1e9", "nan", "inf"])
def test_upstream_timeout_rejects(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from common.settings import upstream_timeout

    monkeypatch.setenv("UPSTREAM_TIMEOUT", value)
    with pytest.raises(SystemExit):
        upstream_timeout(5.0)


@pytest.mark.parametrize("value", ["backend1:8080", "http://", "ftp://app2:8080", "http://app2:puerto", "http://a b:8080", "//app2"])
def test_upstream_url_rejects(value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from common.settings import upstream_url

    monkeypatch.setenv("APP2_URL", value)
    with pytest.raises(SystemExit) as stop:
        upstream_url("APP2_URL", "http://app2:8080")
    assert stop.value.code not in (0, None)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert "APP2_URL" in err[0] and repr(value) in err[0]


@pytest.mark.parametrize(
    ("value", "expected"), [("http://app2:8080", "http://app2:8080"), ("http://app2:8080/", "http://app2:8080"), ("", "http://app2:8080")]
)
def test_upstream_url_accepts(value: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from common.settings import upstream_url

    monkeypatch.setenv("APP2_URL", value)
    assert upstream_url("APP2_URL", "http://app2:8080") == expected
