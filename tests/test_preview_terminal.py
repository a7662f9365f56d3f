"""lab preview's terminal: a real bash in a real PTY behind xterm.js, driven from a real headless
Chromium (typing, accents, Ctrl-C, resize, copy and paste) and from raw WebSocket clients (the
handshake's token, Origin and Host; one terminal per preview; no process left behind)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_preview import (
    PROMPT,
    REPO,
    chromium,
    fake_env,
    make_course,
    psutil_children,
    serve,
    terminal_screen,
    terminal_text,
    type_in_terminal,
    wait_for,
    wait_idle,
)

from lab.preview import build, close, main, vendor
from lab.preview.shell import CLOSE_GRACE
from lab.preview.terminal import DETACH_GRACE

TOKEN = "token-de-prueba"
MARK = "desde-la-sesion-de-quien-aprende"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return make_course(tmp_path / "curso")


class Port:
    port = 0


@contextmanager
def running(course: Path):
    """Una vista previa servida por uvicorn en 127.0.0.1 con el laboratorio de mentira ya listo; el
    entorno de la terminal es el de env_factory (aquí con LAB_MARK, para ver que llega a bash)."""
    preview, app = build(
        course, token=TOKEN, lab_command=[sys.executable, str(course / "fake_lab.py")],
        env_factory=lambda root: {**fake_env(root), "LAB_MARK": MARK},
    )
    with serve(app, Port()) as port:
        preview.port = port
        preview.lab.start()
        assert preview.lab.ready.wait(90)
        try:
            yield preview, port
        finally:
            close(preview)


def session_of(sid: int) -> list[int]:
    """Los procesos vivos (no zombis) de la sesión `sid`, según psutil."""
    import psutil

    found = []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getsid(proc.pid) == sid:
                found.append(proc.pid)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return found


# --------------------------------------------------------------------------- WebSocket a pelo


def ws_connect(port: int, *, token: str | None = TOKEN, origin: str | None = "local", host: str | None = None,
               query: str = ""):
    """Un cliente WebSocket (el de `websockets`) que manda el Host, el Origin y el token que se le digan."""
    from websockets.sync.client import connect

    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    host = host or f"127.0.0.1:{port}"
    origin = f"http://127.0.0.1:{port}" if origin == "local" else origin
    params = "&".join(p for p in (f"t={token}" if token is not None else "", query) if p)
    return connect(f"ws://{host}/ws/terminal?{params}", sock=sock, origin=origin, open_timeout=10)


def send(ws, text: str) -> None:
    ws.send(json.dumps({"type": "input", "data": text}))


def read_until(ws, needle: str, timeout: float = 30.0) -> str:
    """Lo que llega por el WebSocket hasta que aparece `needle` (falla si no llega en `timeout` s)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = ws.recv(timeout=0.5)
        except TimeoutError:
            continue
        seen += message if isinstance(message, bytes) else message.encode()
        if needle in seen.decode(errors="replace"):
            return seen.decode(errors="replace")
    raise AssertionError(f"no llegó «{needle}»; llegó:\n{seen.decode(errors='replace')}")


def shell_pid(ws) -> int:
    send(ws, 'echo "PID=$((1000*$$))"\r')  # el producto solo sale en la salida, no en lo tecleado
    text = read_until(ws, "000\r\n")
    return int(text.split("PID=")[-1].split("\r")[0]) // 1000


def test_handshake_needs_token_local_origin_and_local_host(course: Path) -> None:
    from websockets.exceptions import InvalidStatus

    with running(course) as (preview, port):
        refused = {
            "sin token": {"token": None},
            "otro token": {"token": "otro-token"},
            "token casi igual": {"token": TOKEN + "x"},
            "otro Origin": {"origin": "http://evil.example"},
            "Origin con otro puerto": {"origin": f"http://127.0.0.1:{port + 1}"},
            "sin Origin": {"origin": None},
            "otro Host (DNS rebinding)": {"host": f"evil.example:{port}"},
        }
        for what, kwargs in refused.items():
            with pytest.raises(InvalidStatus) as info:
                ws_connect(port, **kwargs).close()
            assert info.value.response.status_code == 403, what
        assert preview.terminal.shell is None  # ningún intento arrancó bash
        with ws_connect(port, host=f"localhost:{port}", origin=f"http://localhost:{port}") as ws:
            assert PROMPT in read_until(ws, PROMPT)


def closed_with(ws) -> int | None:
    """Espera a que el servidor cierre el WebSocket y devuelve su código de cierre."""
    from websockets.exceptions import ConnectionClosed

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            ws.recv(timeout=1)
        except TimeoutError:
            continue
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("el servidor no cerró el WebSocket")


def test_one_terminal_per_preview_and_a_reload_gets_it_back(course: Path) -> None:
    with running(course) as (preview, port):
        with ws_connect(port) as first:
            read_until(first, PROMPT)
            pid = shell_pid(first)
            send(first, "cd curso && MARCA=uno-$((2+3))\r")
            read_until(first, "controlplane:~/curso$")
            with ws_connect(port) as second:  # otra pestaña: se queda la terminal, la primera se desconecta
                assert closed_with(first) == 4001
                assert "cd curso" in read_until(second, "controlplane:~/curso$")  # lo último que se vio
                send(second, 'echo "$MARCA"\r')
                read_until(second, "uno-5")
                assert shell_pid(second) == pid  # el mismo bash, con su carpeta y sus variables
        with ws_connect(port) as third:  # una recarga dentro del margen: sigue el mismo bash
            read_until(third, PROMPT)
            assert shell_pid(third) == pid
            send(third, "sleep 1006 &\r")  # un trabajo que sigue teniendo la PTY cuando bash ya no está
            wait_for(lambda: any(p.name() == "sleep" for p in psutil_children(pid)), "sleep en segundo plano")
            send(third, "exit\r")  # bash termina: la página lo sabe y la siguiente conexión abre otro
            assert closed_with(third) == 1000
        wait_for(lambda: not session_of(pid), "el bash de exit y su sleep ya no están", timeout=20)
        with ws_connect(port) as fourth:
            read_until(fourth, PROMPT)
            assert shell_pid(fourth) != pid


def test_the_shell_session_ends_when_the_page_goes(course: Path) -> None:
    with running(course) as (preview, port):
        with ws_connect(port) as ws:
            read_until(ws, PROMPT)
            pid = shell_pid(ws)
            # Un trabajo en segundo plano, uno que ignora SIGHUP y SIGTERM (solo SIGKILL lo para) y uno en primer plano.
            send(ws, "sleep 1001 & nohup bash -c 'trap \"\" HUP TERM; sleep 1002' >/dev/null 2>&1 & sleep 1003\r")
            wait_for(lambda: len([p for p in psutil_children(pid) if p.name() == "sleep"]) == 3, "tres sleep")
            family = session_of(pid)
            assert pid in family and len(family) >= 4  # bash y los tres sleep (el de trap hereda las señales ignoradas)
        time.sleep(DETACH_GRACE / 2)
        assert session_of(pid) == family  # aún dentro del margen de una recarga
        wait_for(lambda: not session_of(pid), "la sesión de bash, acabada", timeout=DETACH_GRACE + CLOSE_GRACE + 20, step=0.2)
        assert preview.terminal.shell is None


def test_stopping_the_preview_leaves_no_process(course: Path) -> None:
    import psutil

    proc = subprocess.Popen(
        [sys.executable, "-m", "lab.preview", "--course", str(course), "--port", "0",
         "--lab-command", sys.executable, str(course / "fake_lab.py")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(": ", 1)[1].strip()
        port, token = int(url.split(":")[2].split("/")[0]), url.split("t=")[1]
        wait_for(lambda: "starting" not in ws_state(port, token), "el laboratorio de mentira", timeout=60)
        with ws_connect(port, token=token) as ws:
            read_until(ws, PROMPT)
            pid = shell_pid(ws)
            send(ws, "nohup bash -c 'trap \"\" HUP TERM; sleep 1004' >/dev/null 2>&1 & sleep 1005\r")
            wait_for(lambda: len([p for p in psutil_children(pid) if p.name() == "sleep"]) == 2, "dos sleep")
            descendants = psutil.Process(proc.pid).children(recursive=True)
            assert pid in {p.pid for p in descendants}
            proc.send_signal(signal.SIGINT)  # con la página aún conectada
            out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, out
    assert "Vista previa cerrada." in out
    assert session_of(pid) == []
    assert [p.pid for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []


def ws_state(port: int, token: str) -> str:
    import httpx

    return httpx.get(f"http://127.0.0.1:{port}/api/state", params={"t": token}, timeout=10).json()["lab"]


def test_missing_xterm_says_to_run_npm_ci(course: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(vendor, "NODE_MODULES", tmp_path / "node_modules")
    assert main(["--course", str(course), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "xterm.js" in err and "npm ci" in err and "@xterm/xterm/lib/xterm.js" in err
    assert not (course / "fake-lab.log").exists()  # falla antes de arrancar nada


# --------------------------------------------------------------------------- en Chromium


@contextmanager
def page(course: Path, tmp_path: Path, slug: str = "step1"):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with running(course) as (preview, port), chromium(tmp_path) as driver:
        driver.get(f"http://127.0.0.1:{port}/page/{slug}?t={TOKEN}")
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "lab-state").text == "Laboratorio listo")
        wait_idle(driver, 60)
        yield preview, port, driver


def test_typing_accents_and_colour_read_back_from_the_page(course: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    with page(course, tmp_path) as (preview, port, driver):
        type_in_terminal(driver, "echo «¿Qué tal?» señal\n")
        wait_idle(driver, 30, contains="\n«¿Qué tal?» señal\n")
        # El texto que pinta el renderizador DOM, lo que lee un lector de pantalla. Lo pinta en el siguiente
        # cuadro de animación, después de que el búfer (terminalText) ya lo tenga: se espera a que llegue.
        expected = f"{PROMPT} echo «¿Qué tal?» señal\n«¿Qué tal?» señal\n"
        wait_for(lambda: expected in terminal_screen(driver), "el texto pintado en la pantalla de la terminal", timeout=10)
        screen = terminal_screen(driver)
        assert expected in screen
        # El entorno y la carpeta de la sesión de quien aprende (los de lab play).
        type_in_terminal(driver, 'echo "$LAB_MARK en $PWD"; ls ~/curso/index.json\n')
        text = wait_idle(driver, 30, contains=f"\n{MARK} en {preview.learner.session.home}\n")
        assert "curso/index.json\n" in text
        # Color: la salida con secuencias ANSI se pinta en color (xterm-fg-1 = rojo), no como texto.
        type_in_terminal(driver, "printf 'a \\033[31mrojo\\033[0m b\\n'\n")
        wait_idle(driver, 30, contains="\na rojo b\n")
        red = driver.find_elements(By.CSS_SELECTOR, "#xterm .xterm-rows span.xterm-fg-1")
        assert [s.text for s in red] == ["rojo"]


def test_ctrl_c_from_the_keyboard_and_resize(course: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    with page(course, tmp_path) as (preview, port, driver):
        shell = preview.terminal.shell
        assert shell is not None
        type_in_terminal(driver, "sleep 100\n")
        wait_for(lambda: any(p.name() == "sleep" for p in psutil_children(shell.pid)), "el sleep corre")
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("c").key_up(Keys.CONTROL).perform()
        wait_for(lambda: not any(p.name() == "sleep" for p in psutil_children(shell.pid)), "el sleep, parado")
        type_in_terminal(driver, 'echo "rc=$?"\n')
        assert "^C" in wait_idle(driver, 30, contains="\nrc=130\n")
        # La PTY tiene el tamaño de la terminal de la página, y lo sigue al cambiar la ventana.
        sizes = []
        for width, height in [(1400, 900), (1000, 600)]:
            driver.set_window_size(width, height)
            time.sleep(0.5)
            rows = driver.execute_script("return document.querySelector('#xterm .xterm-rows').children.length")
            type_in_terminal(driver, f"stty size # {width}\n")
            text = wait_idle(driver, 30, contains=f"stty size # {width}\n")
            size = text.split(f"stty size # {width}\n")[-1].split("\n")[0]
            assert int(size.split()[0]) == rows, (size, rows)
            sizes.append(size)
        assert sizes[0] != sizes[1]


def test_copy_button_and_paste_into_the_terminal(course: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    (course / "step1" / "text.md").write_text("# Copiar\n\n```plain\necho pegado-$((6*7))\n```{{copy}}\n")
    with page(course, tmp_path) as (preview, port, driver):
        driver.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": f"http://127.0.0.1:{port}", "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
        })
        driver.find_element(By.CSS_SELECTOR, "#content .kc-copy").click()
        copied = driver.execute_async_script("navigator.clipboard.readText().then(arguments[0])")
        assert copied == "echo pegado-$((6*7))"
        driver.find_element(By.CSS_SELECTOR, "#xterm .xterm-helper-textarea").click()
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("v").key_up(Keys.CONTROL).perform()
        type_in_terminal(driver, "\n")
        wait_idle(driver, 30, contains=f"{PROMPT} echo pegado-$((6*7))\npegado-42\n")
        assert "pegado-42" in terminal_text(driver)
