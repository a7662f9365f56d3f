"""lab preview end to end: a real headless Chromium, a real lab (Envoy sidecars), a copy of the course.

Opens the preview, types `kubectl get pods` in its terminal and reads the table back, ends a
`kubectl get pods -w` with Ctrl-C, runs step 1's blocks in order by clicking ▶ Ejecutar (each one is
typed into the terminal) and sees their output, presses Comprobar and sees it pass, edits the
Markdown and sees the page change; then stops the preview and checks that it took its lab down and
left no process behind. Needs the lab: run it under `flock /work/lab.lock` (one lab per machine).
Screenshot: artifacts/preview-step1.png.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_preview import (
    PROMPT,
    REPO,
    chromium,
    psutil_children,
    require_chromium,
    run_step_in_browser,
    terminal_text,
    type_in_terminal,
    wait_for,
    wait_idle,
)

from lab.course.model import load_course

COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".lab", "node_modules", "artifacts", "__pycache__", "*.egg-info", ".pytest_cache", "*.pyc"
)


def _listening(port: int) -> bool:
    import psutil

    return any(c.laddr and c.laddr.port == port and c.status == "LISTEN" for c in psutil.net_connections("tcp"))


@pytest.mark.lab
@pytest.mark.timeout(1200)
def test_preview_runs_step1_against_the_lab(tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    require_chromium()
    assert not _listening(30000), "ya hay un laboratorio en 127.0.0.1:30000 (¿falta flock /work/lab.lock?)"
    course = tmp_path / "curso"
    shutil.copytree(REPO, course, ignore=COPY_IGNORE, symlinks=True)
    step1 = load_course(course).page("step1")
    runnable = [b for b in step1.blocks if b.runs]
    assert runnable

    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "preview", "--course", str(course), "--port", "0"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    out = ""
    descendants: list = []
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "http://127.0.0.1:" in first, first + proc.stdout.read(4000)
        url = first.split(": ", 1)[1].strip()
        with chromium(tmp_path) as driver:
            driver.get(url)
            WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "next"))
            driver.find_element(By.ID, "next").click()
            WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "title").text == step1.title)
            WebDriverWait(driver, 420, 0.5).until(lambda d: d.find_element(By.ID, "lab-state").text == "Laboratorio listo")
            wait_idle(driver, 60)
            # Teclear en la terminal: el kubectl de la sesión de quien aprende, contra el laboratorio.
            type_in_terminal(driver, "kubectl get pods\n")
            table = wait_idle(driver, 120, contains="\nNAME ").split(f"{PROMPT} kubectl get pods\n")[-1]
            assert re.search(r"^NAME +READY +STATUS +RESTARTS +AGE$", table, re.M), table
            assert re.search(r"^bff-\S+ +2/2 +Running ", table, re.M), table
            # Ctrl-C acaba con un `kubectl get pods -w` (que no acaba solo). Si el kubectl del laboratorio
            # aún no sabe vigilar (-w), vuelve al prompt con su error y se corta un `sleep 100`.
            type_in_terminal(driver, "kubectl get pods -w\n")

            def watching_or_back(d):
                after = terminal_text(d).split(f"{PROMPT} kubectl get pods -w")[-1]
                return "watch" if "\nNAME " in after else "back" if after.rstrip().endswith(PROMPT) else None

            long_running, name = "kubectl get pods -w", "kubectl"
            if WebDriverWait(driver, 60, 0.2).until(watching_or_back) == "back":
                long_running, name = "sleep 100", "sleep"
                type_in_terminal(driver, "sleep 100\n")

            def running(n=name):
                return any(n in " ".join(p.cmdline()) for p in psutil_children(proc.pid))

            wait_for(running, long_running, timeout=60)
            ActionChains(driver).key_down(Keys.CONTROL).send_keys("c").key_up(Keys.CONTROL).perform()
            wait_for(lambda: not running(), f"{long_running} parado")
            assert "^C" in wait_idle(driver, 60).split(f"{PROMPT} {long_running}")[-1]
            terminal = run_step_in_browser(driver, runnable, timeout=420, screenshot=REPO / "artifacts" / "preview-step1.png")
            for block in runnable:
                assert f"{PROMPT} " + block.code.splitlines()[0] in terminal
            if any("set env deployment/backend1" in b.code for b in runnable):
                assert "deployment.apps/backend1 env updated" in terminal
            if any("localhost:30000/toapp" in b.code for b in runnable):
                assert re.search(r'"backend1_status"\s*:\s*(200|503)', terminal), terminal
            # Editar el Markdown (de la copia) cambia la página abierta.
            md = step1.text
            text = md.read_text(encoding="utf-8")
            heading = next(line for line in text.splitlines() if line.startswith("# "))
            md.write_text(text.replace(heading, "# Título cambiado en caliente", 1), encoding="utf-8")
            WebDriverWait(driver, 20, 0.2).until(
                lambda d: "Título cambiado en caliente" in d.find_element(By.ID, "content").text
            )
            assert terminal_text(driver).startswith(terminal)  # la terminal sigue ahí, con lo que tenía
            type_in_terminal(driver, "sleep 1000 &\n")
            wait_for(lambda: any(p.name() == "sleep" for p in psutil_children(proc.pid)), "sleep en segundo plano")
            descendants = psutil_children(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=240)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
                subprocess.run([sys.executable, "-m", "lab", "down", "--course", str(course)], timeout=240)
    assert proc.returncode == 0, out
    assert "Vista previa cerrada." in out
    # La vista previa apagó su laboratorio: nadie escucha en el NodePort de bff.
    wait_for(lambda: not _listening(30000), "127.0.0.1:30000 libre tras lab down", timeout=30, step=0.5)
    assert not _listening(30000)
    # Y no deja procesos: ni bash ni lo que se lanzó en él ni los del laboratorio.
    left = [p for p in descendants if p.is_running() and p.status() != "zombie"]
    assert left == [], [(p.pid, p.cmdline()) for p in left]
