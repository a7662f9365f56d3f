"""El lanzador de apps sin laboratorio: lo que precarga, lo que deja fuera como la imagen y el
contexto TLS por defecto de httpx que comparten los clientes de las apps (lab/cluster/zygote.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import certifi

from lab.cluster.zygote import ABSENT, IMAGE_LACKS, preload_modules

ROOT = Path(__file__).resolve().parent.parent


def course_with(tmp_path: Path, pinned: str) -> Path:
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "requirements.in").write_text("fastapi==1.0  # las apps\nuvicorn\n", encoding="utf-8")
    (apps / "requirements.txt").write_text(pinned, encoding="utf-8")
    return tmp_path


def test_what_the_image_lacks_is_made_absent_first(tmp_path: Path) -> None:
    course = course_with(tmp_path, "fastapi==1.0 \\\n    --hash=sha256:00\nuvicorn==2.0\n")
    modules = preload_modules(course)
    assert modules[:len(IMAGE_LACKS)] == [ABSENT + name for name in IMAGE_LACKS]
    assert modules[len(IMAGE_LACKS):len(IMAGE_LACKS) + 2] == ["fastapi", "uvicorn"]
    assert not any(m.startswith(ABSENT) for m in modules[len(IMAGE_LACKS):])


def test_what_the_image_pins_is_preloaded_not_hidden(tmp_path: Path) -> None:
    course = course_with(tmp_path, "".join(f"{name}==1.0\n" for name in IMAGE_LACKS))
    assert not [m for m in preload_modules(course) if m.startswith(ABSENT)]


def test_the_course_image_lacks_trio() -> None:
    assert ABSENT + "trio" in preload_modules(ROOT)  # apps/requirements.txt no lo instala


SHARED = """
import json, os, sys, httpx
from lab.cluster.zygote import _share_default_tls_context
_share_default_tls_context()
def ctx(client):
    return client._transport._pool._ssl_context
first, second = httpx.AsyncClient(trust_env=True), httpx.AsyncClient(trust_env=True)
unverified = httpx.AsyncClient(verify=False)
os.environ["SSL_CERT_FILE"] = sys.argv[1]
own_bundle = httpx.AsyncClient(trust_env=True)
print(json.dumps({"shared": ctx(first) is ctx(second), "unverified": ctx(unverified) is ctx(first),
                  "own_bundle": ctx(own_bundle) is ctx(first),
                  "verifies": ctx(first).verify_mode == ctx(own_bundle).verify_mode}))
"""


def test_apps_share_httpx_default_tls_context_only_when_it_would_be_the_same() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE")}
    done = subprocess.run([sys.executable, "-c", SHARED, certifi.where()], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"shared": True, "unverified": False, "own_bundle": False, "verifies": True}
