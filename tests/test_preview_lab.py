"""lab preview end to end: a real headless Chromium, a real lab (Envoy sidecars), a copy of the course.

Opens the preview, runs step 1's blocks in order by clicking ▶ Ejecutar, sees their output in the
terminal pane, presses Comprobar and sees it pass, edits the Markdown and sees the page change;
then stops the preview and checks that it took its lab down. Needs the lab: run it under
`flock /work/lab.lock` (one lab per machine). Screenshot: artifacts/preview-step1.png.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_preview import REPO, chromium, require_chromium, run_step_in_browser, wait_for

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
    from selenium.webdriver.common.by import By
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
            terminal = run_step_in_browser(
                driver, len(runnable), timeout=420, screenshot=REPO / "artifacts" / "preview-step1.png"
            )
            for block in runnable:
                assert "controlplane:~$ " + block.code.splitlines()[0] in terminal
            assert "✔ Comprobación superada" in terminal
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
            shown = driver.execute_script("return document.getElementById('term-out').innerText")
            assert terminal.strip().splitlines()[-1] in shown  # el terminal sigue ahí
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
