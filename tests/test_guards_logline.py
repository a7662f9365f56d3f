"""Una línea de registro por petición servida, también cuando la aplicación revienta
(apps/common/logline.py): sin ella, `traza --recuento` contaría un intento de menos y una promesa
1/3/3 se vería como 1/2/3. Dentro del proceso (ASGI y httpx.ASGITransport), sin uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apps"))  # uvicorn arranca cada app desde apps/

from common.logline import OneLinePerRequest  # noqa: E402
from common.service import create_app  # noqa: E402

RID = "9b1f2c3d-8b1d-4c7a-9e52-1d0b7f4a6c21"


def lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("pod=")]


def test_an_app_that_raises_leaves_one_line_with_status_500(capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "backend1-7d9f8c6b5d-4xk2p")
    app = create_app("prueba")

    @app.get("/")
    async def boom() -> None:
        raise RuntimeError("fallo a propósito")

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://backend1") as client:
            return await client.get("/", headers={"x-request-id": RID, "x-envoy-attempt-count": "2"})

    response = asyncio.run(get())
    assert response.status_code == 500
    assert lines(capsys.readouterr().out) == [f"pod=backend1-7d9f8c6b5d-4xk2p path=/ status=500 attempt=2 request_id={RID}"]


async def call(app, path: str = "/") -> list[dict]:
    scope = {"type": "http", "path": path, "headers": [(b"x-request-id", RID.encode())]}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        sent.append(message)

    # Lo que sale del middleware lo contesta Starlette con un 500 (ServerErrorMiddleware, por fuera).
    with contextlib.suppress(RuntimeError):
        await OneLinePerRequest(app, pod="p")(scope, receive, send)
    return sent


async def raises_before_answering(scope, receive, send) -> None:
    raise RuntimeError("sin respuesta")


async def raises_after_answering(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 503, "headers": []})
    raise RuntimeError("a mitad del cuerpo")


async def answers(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 503, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.mark.parametrize(("app", "status"), [(raises_before_answering, 500), (raises_after_answering, 503), (answers, 503)])
def test_exactly_one_line_with_the_status_the_client_sees(capsys: pytest.CaptureFixture[str], app, status: int) -> None:
    asyncio.run(call(app))
    assert lines(capsys.readouterr().out) == [f"pod=p path=/ status={status} attempt=- request_id={RID}"]


def test_health_checks_leave_no_line(capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(call(answers, "/healthz"))
    assert lines(capsys.readouterr().out) == []
