"""lab.course.expected: encontrar las «Salida esperada» del curso y compararlas con la salida real.

Las reglas siguen a los verificadores de istio.io (istio/istio.io `tests/util/verify.sh`:
`_verify_elided`, `_verify_like`); el orden de pods de `kubectl logs -l`, a kubernetes/kubectl
`pkg/cmd/logs/logs.go` (v0.36.3, `sequentialConsumeRequest` recorre un map de Go).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.course.expected import compare, expected_outputs
from lab.course.model import CourseError, load_course

ROOT = Path(__file__).resolve().parent.parent
POD_A, POD_B, POD_C = "backend1-7d9f8c6b5d-4xk2p", "backend1-7d9f8c6b5d-m8zt6", "backend1-7d9f8c6b5d-r2v9n"
REAL_A, REAL_B, REAL_C = "backend1-5c8b9d7f4d-zq2xk", "backend1-5c8b9d7f4d-h7wtn", "backend1-5c8b9d7f4d-b8rlm"
ID = "3f6c2a9e-8b1d-4c7a-9e52-1d0b7f4a6c21"
REAL_ID = "0d4e0c5a-77b2-4f0e-9a53-96f1c3e2ab10"


def page(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "text.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_finds_the_text_block_after_each_exec_block(tmp_path: Path) -> None:
    path = page(
        tmp_path,
        "# T\n\n```plain\nkubectl get pods\n```{{exec}}\n\nSalida esperada:\n\n```text\nNAME   READY\n```\n\n"
        "```plain\necho sin salida anunciada\n```{{exec}}\n\n```plain\nexit 0\n```{{exec}}\n",
    )
    found = expected_outputs(path)
    assert [(e.block.code, e.line, e.text, e.free) for e in found] == [("kubectl get pods", 10, "NAME   READY", None)]
    assert found[0].where == f"{path}:10"


def test_opt_out_needs_a_reason(tmp_path: Path) -> None:
    ok = page(tmp_path, "```plain\ndate\n```{{exec}}\n\n<!-- salida: libre — la hora cambia -->\nSalida esperada:\n\n```text\nlun\n```\n")
    assert expected_outputs(ok)[0].free == "la hora cambia"
    bad = page(tmp_path, "```plain\ndate\n```{{exec}}\n\n<!-- salida: libre -->\n\n```text\nlun\n```\n")
    with pytest.raises(CourseError, match=r"text\.md:5: .*sin motivo"):
        expected_outputs(bad)


def test_the_course_has_expected_outputs_and_each_opt_out_says_why() -> None:
    course = load_course(ROOT)
    found = [e for p in course.pages for e in expected_outputs(p.text)]
    assert len(found) >= 20
    assert all(e.free is None or len(e.free) > 10 for e in found)


def test_identical_output_matches_and_a_different_message_does_not() -> None:
    assert compare("kubectl set env deployment/backend1 X=1", "deployment.apps/backend1 env updated",
                   "deployment.apps/backend1 env updated\n") is None
    stale = compare(
        "kubectl delete -f vs.yaml",
        'virtualservice.networking.istio.io "app2" deleted',
        'virtualservice.networking.istio.io "app2" deleted from default namespace\n',
    )
    assert stale is not None
    assert '-virtualservice.networking.istio.io "app2" deleted' in stale.diff
    assert '+virtualservice.networking.istio.io "app2" deleted from default namespace' in stale.diff
    assert "no concuerda" in str(stale)


def test_generated_names_ids_ips_ages_and_times_are_normalised() -> None:
    expected = (
        f"NAME                        READY   STATUS    RESTARTS   AGE\n{POD_A}   2/2     Running   0          31s\n"
        f'[2026-05-14T10:21:33.512Z] "GET / HTTP/1.1" 503 URX via_upstream - "-" 0 180 71 70 "-" "python-httpx/0.28.1" '
        f'"{ID}" "backend1:8080" "10.244.0.23:8080"'
    )
    actual = (
        f"NAME                        READY   STATUS    RESTARTS   AGE\n{REAL_A}   2/2     Running   0          2m3s\n"
        f'[2026-12-01T23:59:01.004Z] "GET / HTTP/1.1" 503 URX via_upstream - "-" 0 181 9 8 "-" "python-httpx/0.28.1" '
        f'"{REAL_ID}" "backend1:8080" "127.0.2.11:15006"'
    )
    assert compare("kubectl get pods", expected, actual) is None
    assert compare("kubectl get pods", expected, actual.replace("2/2", "1/2")) is not None
    assert compare("kubectl get pods", expected, actual.replace("503 URX", "503 UF")) is not None


def test_ellipsis_lines_stand_for_any_lines_and_inline_for_any_text() -> None:
    expected = '…\ndeployment "backend1" successfully rolled out\n…\ndeployment "bff" successfully rolled out'
    actual = (
        'Waiting for deployment "backend1" rollout to finish: 1 out of 3 new replicas have been updated...\n'
        'deployment "backend1" successfully rolled out\n'
        'deployment "bff" successfully rolled out\n'
    )
    assert compare("kubectl rollout status deployment/backend1", expected, actual) is None
    assert compare("kubectl rollout status deployment/backend1", expected, actual + "error: timed out\n") is not None
    assert compare("x", "[1] outbound|8080||backend1 …", "[1] outbound|8080||backend1 extra fields here") is None
    assert compare("x", "[1] outbound|8080||backend1 …", "[1] inbound|8080|| extra") is not None
    assert compare("x", "a\nb", "a") is not None  # sin «…», ni una línea de menos


def test_pod_order_is_free_only_for_kubectl_logs_with_a_selector() -> None:
    lines = [f"[pod/{p}/backend1] pod={p} path=/ status=503 attempt={n} request_id={ID}" for p, n in
             ((POD_A, 2), (POD_B, 3), (POD_C, 1))]
    expected = "\n".join(lines)
    real = [
        f"[pod/{p}/backend1] pod={p} path=/ status=503 attempt={n} request_id={REAL_ID}"
        for p, n in ((REAL_C, 1), (REAL_A, 2), (REAL_B, 3))
    ]
    actual = "\n".join(real)
    assert compare("kubectl logs -l app=backend1 --prefix --tail=-1", expected, actual) is None
    assert compare("traza", expected, actual) is not None  # sin -l, el orden cuenta
    assert compare("kubectl logs -l app=backend1 --prefix --tail=-1", expected, "\n".join(real[:2])) is not None
    one_more = actual + "\n" + real[0]
    assert compare("kubectl logs -l app=backend1 --prefix --tail=-1", expected, one_more) is not None
    elided = lines[0] + "\n… (3 líneas en total)\n3"
    piped = 'ID=$(kubectl logs -l app=bff --tail=1 | sed "s/.*=//")\nkubectl logs -l app=backend1 | grep "$ID"\necho 3'
    assert compare(piped, elided, actual + "\n3") is None
    assert compare(piped, elided, actual + "\n4") is not None


def test_terminating_pods_do_not_count_in_get_pods() -> None:
    header = "NAME   READY   STATUS    RESTARTS   AGE"
    expected = f"{header}\n{POD_A}   2/2     Running   0          25s"
    actual = f"{header}\n{REAL_A}   2/2     Running   0          5s\n{REAL_B}   2/2     Terminating   0          2m"
    assert compare("kubectl get pods", expected, actual) is None
    assert compare("kubectl logs deploy/x", expected, actual) is not None

