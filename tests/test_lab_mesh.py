"""Las cifras del curso contra Envoy real: 1/3/3, 1/3/9, attempts: 0, un pod caído, URX, ~91 %.

Un solo laboratorio para todo el módulo (con la política de malla de apps/istio/); cada prueba
pone el entorno que necesita (set env + rollout, como quien aprende) y cuenta, por x-request-id,
las líneas de registro de cada app que causó cada curl.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from lab.course.model import load_course
from lab.testing.driver import LabDriver

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parent.parent


def course_virtual_services() -> dict[str, str]:
    """Las VirtualService que aplican los pasos 5 y 6, por nombre: el cuerpo del heredoc de cada
    `kubectl apply -f - <<'EOF'` (así las pruebas usan las del curso)."""
    found: dict[str, str] = {}
    for page in ("step5", "step6"):
        for block in load_course(ROOT).page(page).blocks:
            for match in re.finditer(r"kubectl apply -f - <<-?\s*'?(\w+)'?\n(.*?\n)\1$", block.code, re.S | re.M):
                if "kind: VirtualService" in match.group(2):
                    found[re.search(r"^  name: (\S+)$", match.group(2), re.M).group(1)] = match.group(2)
    assert set(found) == {"backend1", "app2"}, f"los pasos 5 y 6 aplican {sorted(found)}"
    return found


VS_NO_RETRIES = course_virtual_services()


def configure(lab: LabDriver, backend1: str | None, app2: str | None, vs: str | None) -> None:
    """STATUS_CODE_APP de backend1 y app2 (None = sin definir) y cuál de las VirtualService de los
    pasos 5 y 6 está aplicada (None = ninguna)."""
    for deployment, wanted in (("backend1", backend1), ("app2", app2)):
        if lab.current_env(deployment).get("STATUS_CODE_APP") != wanted:
            lab.set_env(deployment, STATUS_CODE_APP=wanted)
    listed = lab.kubectl("get", "virtualservices", "-o", "name").stdout.split()
    applied = {item.rsplit("/", 1)[1] for item in listed}
    for name in applied - {vs}:
        lab.kubectl("delete", "-f", "-", stdin=VS_NO_RETRIES[name])
    if vs is not None and vs not in applied:
        lab.kubectl("apply", "-f", "-", stdin=VS_NO_RETRIES[vs])


def curl_counts(lab: LabDriver, n: int) -> list[tuple[tuple[int, ...], int, dict]]:
    results = []
    for _ in range(n):
        status, body = lab.curl()
        assert isinstance(body, dict) and "request_id" in body, body
        results.append((lab.counts(body["request_id"]), status, body))
    return results


def test_healthy_chain_is_one_request_per_hop(lab: LabDriver) -> None:
    configure(lab, None, None, vs=None)
    for counts, status, body in curl_counts(lab, 5):
        assert (counts, status, body["backend1_status"]) == ((1, 1, 1), 200, 200)


def test_step3_backend1_503_gives_1_3_3_and_http_200(lab: LabDriver) -> None:
    configure(lab, "503", None, vs=None)
    for counts, status, body in curl_counts(lab, 20):
        assert counts == (1, 3, 3)
        assert status == 200 and body["backend1_status"] == 503


def test_step3_attempts_are_1_2_3_with_one_request_id(lab: LabDriver) -> None:
    configure(lab, "503", None, vs=None)
    _, body = lab.curl()
    attempts = sorted(h.attempt for h in lab.hits(body["request_id"]) if h.deployment == "backend1")
    assert attempts == ["1", "2", "3"]


def test_step3_bff_sidecar_log_shows_urx(lab: LabDriver) -> None:
    configure(lab, "503", None, vs=None)
    _, body = lab.curl()
    rid = body["request_id"]
    deadline = time.monotonic() + 5
    while True:  # el registro de acceso de Envoy se vuelca cada 50 ms
        out = lab.kubectl("logs", "deploy/bff", "-c", "istio-proxy", "--tail=20").stdout
        lines = [line for line in out.splitlines() if f'"{rid}"' in line and "outbound|8080||backend1" in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(lines) == 1, out
    assert '"GET / HTTP/1.1" 503 URX via_upstream' in lines[0]


def test_step3_three_distinct_backend1_pods_about_91_percent(lab: LabDriver) -> None:
    """1 − (2/3)^6 ≈ 0.912 (previous_hosts + 5 reintentos de selección): nunca «siempre».

    Con n = 200, σ = √(0.912 · 0.088 / 200) ≈ 0.020. Los límites, simétricos a ±4σ (0.83–0.99),
    fallan por azar con probabilidad ~6e-5 y aun así separan el 91 % de «siempre» (1.0, a 4.4σ)
    y de un reparto sin previous_hosts (tres pods distintos al azar: 3!/3³ = 2/9 ≈ 0.22).
    """
    configure(lab, "503", None, vs=None)
    n = 200
    distinct = 0
    for _ in range(n):
        _, body = lab.curl()
        pods = {h.pod for h in lab.hits(body["request_id"]) if h.deployment == "backend1"}
        distinct += len(pods) == 3
    assert 0.83 <= distinct / n <= 0.99, distinct


def test_steps5_6_backend1_vs_in_step3_state_gives_1_1_1(lab: LabDriver) -> None:
    """La VirtualService backend1 del paso 5 (attempts: 0) con el 503 del paso 3 en backend1: la
    salvedad del texto (si falla backend1, la primera opción no lo reintenta)."""
    assert "attempts: 0" in VS_NO_RETRIES["backend1"]
    configure(lab, "503", None, vs="backend1")
    for counts, status, body in curl_counts(lab, 10):
        assert (counts, status, body["backend1_status"]) == ((1, 1, 1), 200, 503)


def test_step5_first_option_gives_1_1_3(lab: LabDriver) -> None:
    """Paso 5: app2 sigue en 503 (paso 4) y solo reintenta el salto backend1 → app2."""
    configure(lab, None, "503", vs="backend1")
    for counts, _, body in curl_counts(lab, 10):
        assert (counts, body["backend1_status"]) == ((1, 1, 3), 503)


def test_step4_app2_503_gives_1_3_9(lab: LabDriver) -> None:
    configure(lab, None, "503", vs=None)
    for counts, status, body in curl_counts(lab, 10):
        assert (counts, status, body["backend1_status"]) == ((1, 3, 9), 200, 503)


def test_step6_second_option_gives_1_3_3(lab: LabDriver) -> None:
    """Paso 6: solo reintenta el salto bff → backend1; cada intento llama una vez a app2."""
    configure(lab, None, "503", vs="app2")
    for counts, status, body in curl_counts(lab, 10):
        assert (counts, status, body["backend1_status"]) == ((1, 3, 3), 200, 503)


def test_proxy_config_route_shows_the_programmed_policy(lab: LabDriver) -> None:
    configure(lab, None, "503", vs="backend1")
    routes = json.loads(lab.run("istioctl", "proxy-config", "route", "deploy/bff", "-o", "json").stdout)
    hosts = {vh["name"]: vh["routes"][0]["route"] for r in routes for vh in r.get("virtualHosts", [])}
    assert "retryPolicy" not in hosts["backend1.default.svc.cluster.local:8080"]
    app2 = hosts["app2.default.svc.cluster.local:8080"]["retryPolicy"]
    assert app2["numRetries"] == 2 and app2["retriableStatusCodes"] == [503]
    table = lab.run("istioctl", "proxy-config", "route", "deploy/bff").stdout
    header, *lines = table.splitlines()
    assert re.split(r"\s{2,}", header.strip()) == ["NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"]
    rows = {cols[1]: cols for cols in (re.split(r"\s{2,}", line.strip()) for line in lines)}
    # La columna VIRTUAL SERVICE: la del paso 5 en la ruta hacia backend1; ninguna hacia app2.
    assert rows["backend1.default.svc.cluster.local:8080"][3:] == ["/*", "backend1.default"], table
    assert rows["app2.default.svc.cluster.local:8080"][3:] == ["/*"], table


def test_proxy_config_route_name_filter(lab: LabDriver) -> None:
    """`--name` se queda con la RouteConfiguration de ese nombre (RouteFilter.Verify de
    istio/istio, istioctl/pkg/writer/envoy/configdump/route.go, release-1.31): el paso 5 mira la
    del puerto 8080; un nombre que no existe da una lista vacía y una tabla sin filas."""
    configure(lab, None, "503", vs="app2")
    every = json.loads(lab.run("istioctl", "proxy-config", "route", "deploy/backend1", "-o", "json").stdout)
    assert len({r["name"] for r in every}) > 1
    only = json.loads(lab.run("istioctl", "proxy-config", "route", "deploy/backend1", "--name", "8080", "-o", "json").stdout)
    assert [r["name"] for r in only] == ["8080"]
    retries = {vh["name"]: vh["routes"][0]["route"].get("retryPolicy", {}).get("numRetries") for vh in only[0]["virtualHosts"]}
    assert retries == {f"{svc}.default.svc.cluster.local:8080": n for svc, n in (("bff", 2), ("backend1", 2), ("app2", None))}
    assert json.loads(lab.run("istioctl", "proxy-config", "route", "deploy/backend1", "--name=9999", "-o", "json").stdout) == []
    assert len(lab.run("istioctl", "proxy-config", "route", "deploy/backend1", "--name", "9999").stdout.splitlines()) == 1


def test_killed_pod_is_restarted_and_requests_never_fail(lab: LabDriver) -> None:
    """SIGKILL to a backend1 pod's app and sidecar: kubelet restarts them (exit code 137, RESTARTS 1),
    the pod leaves the endpoints while it is not ready, and bff's retries (connect-failure) hide the
    requests that still reached it: no curl fails."""
    configure(lab, None, None, vs=None)
    victim = next(p for p in lab.state().pods if p.deployment == "backend1")
    for container in victim.containers:
        assert container.process is not None
        os.killpg(container.process.pid, signal.SIGKILL)
    results = curl_counts(lab, 30)
    assert all(status == 200 and body["backend1_status"] == 200 for _, status, body in results)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pod = json.loads(lab.kubectl("get", "pod", victim.name, "-o", "json").stdout)
        app = pod["status"]["containerStatuses"][0]
        ready = [c["status"] for c in pod["status"]["conditions"] if c["type"] == "Ready"] == ["True"]
        if app["restartCount"] >= 1 and ready:
            break
        time.sleep(0.2)
    assert app["restartCount"] >= 1 and ready, pod["status"]
    assert app["lastState"]["terminated"]["exitCode"] == 137 and app["lastState"]["terminated"]["reason"] == "Error"
    row = lab.kubectl("get", "pod", victim.name).stdout.splitlines()[1].split()
    assert row[1:4] == ["2/2", "Running", "1"] or row[3].startswith("1 ("), row
    status, body = lab.curl()
    assert status == 200 and body["backend1_status"] == 200
