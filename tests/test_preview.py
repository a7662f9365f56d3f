"""lab preview: render, token, only course blocks run, images path-safe, lab up/down, and the
page in a real headless Chromium against a fake lab (the real-lab test is in test_preview_lab.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lab.course.model import load_course
from lab.preview import WS_PROTOCOL, build, close, vendor
from lab.preview.render import digest, render_page

REPO = Path(__file__).resolve().parents[1]
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf0000000301010018dd8db00000000049454e44ae426082"
)
FAKE_LAB = textwrap.dedent(
    """\
    import sys, pathlib
    args = sys.argv[1:]
    course = pathlib.Path(args[args.index("--course") + 1])
    with open(course / "fake-lab.log", "a") as log:
        log.write(args[0] + "\\n")
    if args[0] == "up":
        print("fake: pods listos", flush=True)
        sys.exit(int((course / "fake-lab-up-exit").read_text()) if (course / "fake-lab-up-exit").exists() else 0)
    print("fake: todo parado")
    """
)


def make_course(root: Path) -> Path:
    """Un curso pequeño con la forma del de verdad: intro con imagen, un paso con verify, final."""
    (root / "step1").mkdir(parents=True)
    (root / "assets").mkdir()
    (root / "assets" / "diagrama.png").write_bytes(PNG)
    (root / "secreto.txt").write_text("no se sirve\n")
    (root / "index.json").write_text(
        json.dumps(
            {
                "title": "Curso de prueba",
                "description": "Para la vista previa",
                "details": {
                    "intro": {"text": "intro.md"},
                    "steps": [{"title": "Primer paso", "text": "step1/text.md", "verify": "step1/verify.sh"}],
                    "finish": {"text": "finish.md"},
                },
                "backend": {"imageid": "kubernetes-kubeadm-1node"},
            },
            ensure_ascii=False,
        )
    )
    (root / "intro.md").write_text(
        "<br>\n\n# Bienvenida\n\n![El diagrama](./assets/diagrama.png)\n\n"
        "<img src=\"assets/diagrama.png\" width=\"50\">\n\n![fuera](../../etc/passwd.png)\n\n"
        "[Abrir bff]({{TRAFFIC_HOST1_30000}}/toapp)\n"
    )
    (root / "step1" / "text.md").write_text(
        textwrap.dedent(
            """\
            # Paso uno

            Primero crea el fichero:

            ```plain
            echo "hola desde el paso 1"
            echo uno > paso1.txt
            ```{{exec}}

            Luego míralo con `cat paso1.txt`{{exec}} y copia `ls -l`{{copy}} o `pwd`.

            ```yaml
            clave: valor
            ```{{copy}}
            """
        )
    )
    (root / "step1" / "verify.sh").write_text('#!/bin/bash\ngrep -q uno "$HOME/paso1.txt"\n')
    (root / "finish.md").write_text("# Fin\n\n¡Enhorabuena!\n")
    (root / "fake_lab.py").write_text(FAKE_LAB)
    return root


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return make_course(tmp_path / "curso")


def fake_env(root: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}


def fake_preview(root: Path, *, port: int = 0, lab_enabled: bool = True):
    return build(
        root,
        port=port,
        token="token-de-prueba",
        lab_enabled=lab_enabled,
        lab_command=[sys.executable, str(root / "fake_lab.py")],
        env_factory=fake_env,
    )


def wait_for(predicate, what: str, timeout: float = 90.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"no llegó a pasar: {what}")


# --------------------------------------------------------------------------- render


def test_render_marks_course_blocks_and_rewrites_images(course: Path) -> None:
    c = load_course(course)
    step = c.page("step1")
    out = render_page(c, step, "TOK")
    runnable = [i for i, b in enumerate(step.blocks) if b.runs]
    assert out.runnable == [f"step1:{i}" for i in runnable] and len(runnable) == 2
    for i in runnable:
        assert f'data-block="step1:{i}" data-digest="{digest(step.blocks[i].code)}"' in out.html
    assert out.html.count('class="kc-run"') == 2
    assert out.html.count('class="kc-copy"') == 2  # el bloque exec y el bloque {{copy}}
    assert "{{" not in out.html  # los marcadores no se ven
    assert '<code class="kc-copyable" title="Haz clic para copiar">pwd</code>' in out.html
    assert out.warnings == []

    intro = render_page(c, c.page("intro"), "TOK")
    assert '<img src="/files/assets/diagrama.png?t=TOK" alt="El diagrama">' in intro.html
    assert 'src="/files/assets/diagrama.png?t=TOK" width="50"' in intro.html
    assert "[imagen no disponible: fuera]" in intro.html
    assert intro.html.count("<img ") == 2 and "passwd.png?t=" not in intro.html
    assert any("fuera del curso" in w for w in intro.warnings)
    assert 'href="http://127.0.0.1:30000/toapp"' in intro.html


def test_render_takes_fences_ids_and_actions_from_the_course_model(course: Path) -> None:
    md = course / "step1" / "text.md"
    md.write_text(
        textwrap.dedent(
            """\
            # Casos difíciles

            1. En una lista:

               ```bash
               kubectl get pods
               ```{{exec}}

            ~~~~plain
            ```{{exec}}
            dentro de una valla más larga
            ~~~~{{copy}}

            `ls`{{}} no se copia, `ls`{{exec}} se ejecuta, `pwd` se copia y `pwd`{{copy}} también.

            <div>
            `oculto`{{exec}}
            </div>
            """
        )
    )
    c = load_course(course)
    step = c.page("step1")
    assert [(b.action, b.code) for b in step.blocks] == [
        ("exec", "kubectl get pods"),
        ("copy", "```{{exec}}\ndentro de una valla más larga"),
        ("exec", "ls"),
        ("copy", "pwd"),
        ("exec", "oculto"),
    ]
    out = render_page(c, step, "TOK")
    # Ejecutar: solo los {{exec}} que se ven, con el id y la huella que acepta /api/run.
    assert out.runnable == ["step1:0", "step1:2"]
    assert out.html.count('class="kc-run"') == 2
    for i in (0, 2):
        assert f'id="b-step1-{i}"' in out.html
        assert f'data-block="step1:{i}" data-digest="{digest(step.blocks[i].code)}"' in out.html
    # El bloque de la lista sale sin la sangría y como bash; la valla de cierre no se ve.
    assert '<code class="language-bash">kubectl get pods</code>' in out.html
    # La valla ``` dentro de ~~~~ es código del bloque {{copy}}, no otro bloque.
    assert '<div class="kc-block kc-copyblock"><pre><code class="language-plain">```{{exec}}\ndentro' in out.html
    assert out.html.count('class="kc-copy"') == 2  # el {{exec}} cercado y el {{copy}} cercado
    # `ls`{{}} va sin copia y sin botón; el botón es del segundo `ls`.
    assert "<code>ls</code> no se copia" in out.html
    assert out.html.index("<code>ls</code>") < out.html.index('data-block="step1:2"')
    assert out.html.count('<code class="kc-copyable" title="Haz clic para copiar">pwd</code>') == 2
    # Dentro de HTML no hay código: sin botón, y se avisa con la línea de lab.course.model.
    assert "step1:4" not in out.html
    assert out.warnings == [
        f"step1/text.md:{step.blocks[4].line}: el bloque {{{{exec}}}} no se ve como código en la página "
        "(¿dentro de un bloque HTML?); se queda sin botón"
    ]


def _page_buttons(client: TestClient, slug: str) -> list[tuple[str, str]]:
    """(id, huella) de cada botón Ejecutar de la página, en orden, tal como los manda el navegador."""
    html = client.get(f"/api/page/{slug}").json()["html"]
    return re.findall(r'data-block="([^"]+)" data-digest="([^"]+)"', html)


# --------------------------------------------------------------------------- seguridad


def test_every_request_needs_the_token(course: Path) -> None:
    preview, app = fake_preview(course, lab_enabled=False)
    client = TestClient(app)
    paths = ["/", "/page/intro", "/api/page/step1", "/api/state", "/files/assets/diagrama.png", "/vendor/xterm.js"]
    for path in paths:
        assert client.get(path).status_code == 403, path
        assert client.get(path + "?t=otro-token").status_code == 403, path
        assert client.get(path, headers={"X-Preview-Token": "token-de-prueba-"}).status_code == 403, path
    for path, body in [("/api/run", {"block": "step1:0", "digest": "x"}), ("/api/check", {"page": "step1"})]:
        assert client.post(path, json=body).status_code == 403
    assert client.get("/page/intro?t=token-de-prueba").status_code == 200
    assert client.get("/api/state", headers={"X-Preview-Token": "token-de-prueba"}).status_code == 200
    close(preview)


def test_page_embeds_token_and_strict_headers(course: Path) -> None:
    preview, app = fake_preview(course, lab_enabled=False)
    client = TestClient(app)
    r = client.get("/page/step1?t=token-de-prueba")
    assert r.status_code == 200
    assert '"token": "token-de-prueba"' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in csp  # el JS de la página y xterm.js de /vendor/, nada de fuera
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "Primer paso" in r.text and "Comprobar" in r.text and "Paso 1 de 1" in r.text
    # xterm.js llega de node_modules (package.json), con el token como todo lo demás.
    require_xterm()
    for name, kind in [("xterm.js", "javascript"), ("addon-fit.js", "javascript"), ("xterm.css", "css")]:
        assert f'src="/vendor/{name}?t=token-de-prueba"' in r.text or f'href="/vendor/{name}?t=token-de-prueba"' in r.text
        served = client.get(f"/vendor/{name}?t=token-de-prueba")
        assert served.status_code == 200 and kind in served.headers["content-type"] and len(served.content) > 1000
    assert client.get("/vendor/package.json?t=token-de-prueba").status_code == 404
    close(preview)


def test_only_course_blocks_can_run(course: Path, tmp_path: Path) -> None:
    preview, app = fake_preview(course)
    preview.lab.start()
    assert preview.lab.ready.wait(90)
    client = TestClient(app, headers={"X-Preview-Token": "token-de-prueba"})
    sentinel = tmp_path / "pwned"
    evil = f"touch {sentinel}"
    step = load_course(course).page("step1")
    copy_index = next(i for i, b in enumerate(step.blocks) if b.action == "copy")
    refused = [
        ({"command": evil}, 403),
        ({"code": evil}, 403),
        ({"block": "step1:0", "digest": digest(step.blocks[0].code), "code": evil}, 403),
        ({"block": evil, "digest": digest(evil)}, 404),
        ({"block": "step1:99", "digest": "x"}, 404),
        ({"block": "step9:0", "digest": "x"}, 404),
        ({"block": f"step1:{copy_index}", "digest": digest(step.blocks[copy_index].code)}, 404),
        ({"block": "step1:0", "digest": digest(evil)}, 409),
        ({"block": ["step1:0"], "digest": "x"}, 403),
    ]
    for body, status in refused:
        r = client.post("/api/run", json=body)
        assert r.status_code == status, (body, r.status_code, r.text)
    assert client.post("/api/run", content=evil).status_code == 400
    assert client.post("/api/check", json={"page": "intro"}).status_code == 404
    assert client.post("/api/check", json={"page": "step1", "script": evil}).status_code == 403
    for method in ("get", "put", "delete"):
        assert getattr(client, method)("/api/run").status_code in (404, 405)
    assert client.get("/api/exec", params={"cmd": evil}).status_code == 404
    # Otro Host (DNS rebinding) se rechaza aunque lleve el token.
    preview.port = 8123
    app2 = build(course, port=8123, token="token-de-prueba", lab_enabled=False)[1]
    r = TestClient(app2, base_url="http://evil.example:8123").get("/api/state?t=token-de-prueba")
    assert r.status_code == 403
    time.sleep(0.3)
    assert not sentinel.exists()
    assert preview.terminal.shell is None  # nada se tecleó: ni siquiera hay terminal sin una página conectada
    close(preview)


def test_files_only_serves_course_images(course: Path, tmp_path: Path) -> None:
    preview, app = fake_preview(course, lab_enabled=False)
    client = TestClient(app)
    outside = tmp_path / "fuera.png"
    outside.write_bytes(PNG)
    (course / "assets" / "enlace.png").symlink_to(outside)
    (course / ".lab").mkdir()
    (course / ".lab" / "x.png").write_bytes(PNG)
    ok = client.get("/files/assets/diagrama.png?t=token-de-prueba")
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png" and ok.content == PNG
    for path in [
        "/files/secreto.txt",
        "/files/index.json",
        "/files/../fuera.png",
        "/files/%2e%2e/fuera.png",
        "/files/assets/%2e%2e/%2e%2e/fuera.png",
        "/files/assets/enlace.png",
        "/files/.lab/x.png",
        "/files//etc/passwd",
        "/files/assets/no-existe.png",
    ]:
        r = client.get(path + "?t=token-de-prueba")
        assert r.status_code in (403, 404), (path, r.status_code)
        assert r.content != PNG
    close(preview)


# --------------------------------------------------------------------------- ejecución


def test_check_runs_verify_in_the_learner_home(course: Path) -> None:
    preview, app = fake_preview(course)
    client = TestClient(app, headers={"X-Preview-Token": "token-de-prueba"})
    assert client.post("/api/check", json={"page": "step1"}).status_code == 409  # el laboratorio arranca
    preview.lab.start()
    assert preview.lab.ready.wait(90)
    r = client.post("/api/check", json={"page": "step1"})
    assert r.status_code == 200 and r.json()["exit"] != 0  # aún no hay ~/paso1.txt
    (preview.learner.session.home / "paso1.txt").write_text("uno\n")
    r = client.post("/api/check", json={"page": "step1"})
    assert r.json() == {"page": "step1", "title": "Primer paso", "exit": 0, "output": ""}
    home = preview.learner.session.home
    close(preview)
    assert not home.exists()
    assert (course / "fake-lab.log").read_text().split() == ["up", "down"]


def test_failed_lab_up_is_shown_and_blocks_refused(course: Path) -> None:
    (course / "fake-lab-up-exit").write_text("3")
    preview, app = fake_preview(course)
    preview.lab.start()
    wait_for(lambda: preview.lab.state == "error", "estado error")
    client = TestClient(app, headers={"X-Preview-Token": "token-de-prueba"})
    step = load_course(course).page("step1")
    r = client.post("/api/run", json={"block": "step1:0", "digest": digest(step.blocks[0].code)})
    assert r.status_code == 409 and "no arrancó" in r.json()["error"]
    assert "El laboratorio no arrancó (lab up salió con 3)." in preview.log.text()
    close(preview)
    assert (course / "fake-lab.log").read_text().split() == ["up", "down"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_always_runs_lab_down(course: Path, sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab.preview", "--course", str(course), "--port", "0",
         "--lab-command", sys.executable, str(course / "fake_lab.py")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Vista previa de «curso»: http://127.0.0.1:"), first
        url = first.split(": ", 1)[1].strip()
        import httpx

        wait_for(lambda: (course / "fake-lab.log").exists(), "lab up")
        page = httpx.get(url, follow_redirects=True, timeout=60)
        assert page.status_code == 200 and "Bienvenida" in page.text
        assert httpx.get(url.split("?")[0] + "api/state", timeout=60).status_code == 403
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, out
    assert (course / "fake-lab.log").read_text().split() == ["up", "down"]
    assert "Vista previa cerrada." in out


def test_cli_binds_loopback_only(course: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab.preview", "--course", str(course), "--port", "0", "--no-lab"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split("127.0.0.1:")[1].split("/")[0])
        import psutil

        listening = [c for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == "LISTEN"]
        assert [c.laddr.ip for c in listening] == ["127.0.0.1"]
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert not (course / "fake-lab.log").exists()  # --no-lab: ni up ni down


# --------------------------------------------------------------------------- navegador

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def require_xterm() -> None:
    """xterm.js viene de node_modules (npm ci); `make test` lo instala, `make unit` no."""
    problem = vendor.missing()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


def require_chromium() -> None:
    require_xterm()
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("falta Chromium de Debian: apt-get install -y chromium chromium-driver")
    pytest.skip("sin /usr/bin/chromium ni /usr/bin/chromedriver (apt-get install -y chromium chromium-driver)")


@contextmanager
def chromium(tmp_path: Path):
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1400,900", "--lang=es",
    ):
        options.add_argument(flag)
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(90)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def serve(app, port_holder):
    """La app en un uvicorn de verdad en 127.0.0.1, en un hilo."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port_holder.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws=WS_PROTOCOL))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, "uvicorn arrancado")
        yield port_holder.port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


PROMPT = "controlplane:~$"


def terminal_text(driver) -> str:
    """Todo el texto de la terminal (también lo que ya subió), tal como lo guarda xterm.js."""
    return driver.execute_script("return window.terminalText()")


def terminal_screen(driver) -> str:
    """Lo que se ve ahora en la terminal: las filas que pinta el renderizador DOM de xterm.js."""
    text = driver.execute_script("return document.querySelector('#xterm .xterm-rows').innerText")
    return text.replace("\u00a0", " ")


def wait_idle(driver, timeout: float, contains: str = "") -> str:
    """Espera a que la terminal muestre `contains` y acabe en el prompt vacío (bash espera otra orden)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def idle(d):
        text = terminal_text(d)
        return text if contains in text and text.rstrip().endswith(PROMPT) else None

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(idle)
    except Exception as exc:
        raise AssertionError(f"la terminal no volvió al prompt con «{contains}»:\n{terminal_text(driver)}") from exc


def type_in_terminal(driver, text: str) -> None:
    """Teclea en la terminal como una persona (el textarea oculto de xterm.js recibe las teclas)."""
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.CSS_SELECTOR, "#xterm .xterm-helper-textarea")
    box.send_keys(text)


def run_step_in_browser(driver, blocks: list, *, timeout: float, screenshot: Path | None = None) -> str:
    """Pulsa ▶ Ejecutar en cada bloque del paso en orden (cada uno se teclea en la terminal y se espera
    a que bash vuelva al prompt), pulsa Comprobar y devuelve el texto de la terminal."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout, poll_frequency=0.2)
    wait.until(EC.text_to_be_present_in_element((By.ID, "lab-state"), "Laboratorio listo"))
    wait.until(lambda d: terminal_text(d).rstrip().endswith(PROMPT))
    buttons = driver.find_elements(By.CSS_SELECTOR, "#content .kc-run")
    assert len(buttons) == len(blocks)
    for button, block in zip(buttons, blocks, strict=True):
        wait.until(lambda d, button=button: button.is_enabled())
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        last = block.code.rstrip("\n").splitlines()[-1]
        before = terminal_text(driver).count(last)
        button.click()
        wait.until(lambda d, last=last, before=before: terminal_text(d).count(last) > before)
        wait_idle(driver, timeout)
    check = driver.find_element(By.ID, "check")
    check.click()
    wait.until(lambda d: d.find_element(By.ID, "check-result").get_attribute("data-result") in ("ok", "fail"))
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(screenshot))
    result = driver.find_element(By.ID, "check-result")
    terminal = terminal_text(driver)
    assert result.get_attribute("data-result") == "ok", result.text + "\n" + terminal
    assert "✔ ¡Correcto! Comprobación superada" in result.text
    return terminal


class Port:
    port = 0


def test_browser_runs_step_and_reloads_on_save(course: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    preview, app = fake_preview(course)
    # El Host se comprueba contra el puerto real: se fija cuando uvicorn ha elegido uno.
    with serve(app, Port()) as port, chromium(tmp_path) as driver:
        preview.port = port
        preview.lab.start()
        driver.get(f"http://127.0.0.1:{port}/?t=token-de-prueba")
        assert "Bienvenida" in driver.find_element(By.ID, "content").text
        img = driver.find_element(By.CSS_SELECTOR, "#content img")
        assert driver.execute_script("return arguments[0].naturalWidth", img) == 1
        wait_idle(driver, 60)
        driver.execute_script("window.sameDocument = true")
        driver.find_element(By.ID, "next").click()
        WebDriverWait(driver, 60).until(lambda d: "Primer paso" in d.find_element(By.ID, "title").text)
        assert driver.execute_script("return window.sameDocument") is True  # sin recargar: la terminal sigue
        assert driver.current_url.endswith("/page/step1?t=token-de-prueba")
        assert driver.find_element(By.ID, "label").text.upper() == "PASO 1 DE 1"
        # Comprobar antes de los bloques: «todavía no».
        driver.find_element(By.ID, "check").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "check-result").get_attribute("data-result") == "fail")
        shown = driver.find_element(By.ID, "check-result").text
        assert "✘ Todavía no: verify.sh salió con 2." in shown and "paso1.txt" in shown  # el código y la salida de grep
        blocks = [b for b in load_course(course).page("step1").blocks if b.runs]
        terminal = run_step_in_browser(
            driver, blocks, timeout=120, screenshot=REPO / "artifacts" / "preview-step1-fake-lab.png"
        )
        # Cada bloque, tecleado tras el prompt, con su salida debajo.
        assert f'{PROMPT} echo "hola desde el paso 1"\nhola desde el paso 1\n' in terminal
        assert f"{PROMPT} cat paso1.txt\nuno\n" in terminal
        # Guardar el Markdown cambia la página abierta, sin recargar (el terminal sigue ahí).
        md = course / "step1" / "text.md"
        md.write_text(md.read_text().replace("Primero crea el fichero:", "Texto editado en caliente."))
        WebDriverWait(driver, 60, 0.2).until(
            lambda d: "Texto editado en caliente." in d.find_element(By.ID, "content").text
        )
        assert "hola desde el paso 1" in terminal_text(driver)
        # Un error en el Markdown se muestra, y al corregirlo desaparece.
        good = md.read_text()
        md.write_text(good.replace("```{{exec}}", "```{{execute}}"))
        WebDriverWait(driver, 60, 0.2).until(lambda d: d.find_element(By.ID, "error").is_displayed())
        assert "Katacoda" in driver.find_element(By.ID, "error").text
        md.write_text(good)
        WebDriverWait(driver, 60, 0.2).until(lambda d: not d.find_element(By.ID, "error").is_displayed())
        # Atrás en el navegador vuelve a la introducción, también sin recargar.
        driver.back()
        WebDriverWait(driver, 60).until(lambda d: "Bienvenida" in d.find_element(By.ID, "content").text)
        assert driver.execute_script("return window.sameDocument") is True
        close(preview)
    assert (course / "fake-lab.log").read_text().split() == ["up", "down"]


def test_exec_interrupt_sends_ctrl_c_to_the_running_block(course: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    (course / "step1" / "text.md").write_text(
        "# Esperar\n\n`sleep 120; echo no-debe-salir`{{exec}}\n\n`echo después del Ctrl-C`{{exec interrupt}}\n"
    )
    preview, app = fake_preview(course)
    with serve(app, Port()) as port, chromium(tmp_path) as driver:
        preview.port = port
        preview.lab.start()
        driver.get(f"http://127.0.0.1:{port}/page/step1?t=token-de-prueba")
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, ".kc-run").is_enabled())
        wait_idle(driver, 60)
        first, second = driver.find_elements(By.CSS_SELECTOR, "#content .kc-run")
        first.click()
        shell = wait_for(lambda: preview.terminal.shell, "bash")
        wait_for(lambda: any(p.name() == "sleep" for p in psutil_children(shell.pid)), "el sleep corre")
        second.click()
        text = wait_idle(driver, 60, contains="\ndespués del Ctrl-C\n")
        assert "^C" in text
        assert text.count("no-debe-salir") == 1  # solo la orden tecleada: el echo tras el sleep no llegó
        assert not any(p.name() == "sleep" for p in psutil_children(shell.pid))
        close(preview)


def psutil_children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
