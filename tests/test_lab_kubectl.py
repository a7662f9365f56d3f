"""`lab kubectl` / `lab istioctl` / `lab shell` contra un laboratorio real: formas de salida de
kubectl, rollouts (también uno que se atasca), VirtualService y órdenes no soportadas."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lab.ctl.shell import course_environment
from lab.testing.driver import LabDriver

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parent.parent

HASH = "[bcdfghjklmnpqrstvwxz2456789]"
POD_ROW = re.compile(rf"^(bff|backend1|app2)-{HASH}{{10}}-{HASH}{{5}} +(\d/2) +(\S+) +(\d+) +(\d+s|\d+m\d*s?)$")
ISTIO_LINE = re.compile(
    r'^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "GET /\S* HTTP/1\.1" \d{3} \S+ \S+ \S+ "[^"]*" \d+ \d+ \d+ \S+ "[^"]*" "[^"]*" '
    r'"[^"]*" "[^"]*" "[^"]*" \S+ \S+ \S+ \S+ \S+ \S+$'
)
VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app2}
spec:
  hosts: [app2]
  http:
  - route:
    - destination: {host: app2}
    retries: {attempts: 1, retryOn: "connect-failure,503", perTryTimeout: 2s}
"""


def rows(text: str) -> list[str]:
    return text.rstrip("\n").splitlines()


def test_get_pods_has_kubectl_shape(lab: LabDriver) -> None:
    out = lab.kubectl("get", "pods").stdout
    header, *body = rows(out)
    assert re.fullmatch(r"NAME +READY +STATUS +RESTARTS +AGE", header)
    assert len(body) == 7
    for row in body:
        match = POD_ROW.match(row)
        assert match and match.group(2, 3, 4) == ("2/2", "Running", "0"), row
    assert [r.split()[0] for r in body] == sorted(r.split()[0] for r in body)
    assert header.index("READY") == body[0].index("2/2")  # columnas alineadas
    assert len(rows(lab.kubectl("get", "pods", "-l", "app=backend1").stdout)) == 4
    assert len(rows(lab.kubectl("get", "pod", "-lapp=bff").stdout)) == 2
    empty = lab.kubectl("get", "pods", "-l", "app=nadie")
    assert empty.stdout == "" and "No resources found in default namespace." in empty.stderr


def test_get_deploy_has_kubectl_shape(lab: LabDriver) -> None:
    header, *body = rows(lab.kubectl("get", "deploy").stdout)
    assert re.fullmatch(r"NAME +READY +UP-TO-DATE +AVAILABLE +AGE", header)
    assert [r.split()[:4] for r in body] == [["app2", "3/3", "3", "3"], ["backend1", "3/3", "3", "3"], ["bff", "1/1", "1", "1"]]


def test_jsonpath_on_deployments_and_pods(lab: LabDriver) -> None:
    env_value = '{.spec.template.spec.containers[0].env[?(@.name=="APP2_URL")].value}'
    assert lab.kubectl("get", "deployment", "backend1", "-o", f"jsonpath={env_value}").stdout == "http://app2:8080"
    names = lab.kubectl("get", "pods", "-l", "app=app2", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    assert len(names) == 3 and all(n.startswith("app2-") for n in names)


def test_mesh_configmap_shows_the_operator_policy(lab: LabDriver) -> None:
    out = lab.kubectl("-n", "istio-system", "get", "configmap", "istio", "-o", "jsonpath={.data.mesh}").stdout
    assert "defaultHttpRetryPolicy:\n  attempts: 2\n" in out
    assert "503" in out and "accessLogFile: /dev/stdout" in out
    assert not out.endswith("\n")  # jsonpath no añade salto de línea


def test_logs_tail_prefix_and_sidecar_format(lab: LabDriver) -> None:
    for _ in range(12):
        lab.curl()
    assert len(rows(lab.kubectl("logs", "-l", "app=bff").stdout)) == 10  # --tail=10 por pod con -l
    everything = rows(lab.kubectl("logs", "-l", "app=bff", "--tail=-1").stdout)
    assert len(everything) >= 12
    assert all(re.fullmatch(r"pod=bff-\S+ path=/toapp status=200 attempt=- request_id=\S+", line) for line in everything)
    prefixed = rows(lab.kubectl("logs", "-l", "app=backend1", "--prefix", "--tail=1").stdout)
    assert len(prefixed) == 3
    assert all(re.match(rf"\[pod/backend1-{HASH}{{10}}-{HASH}{{5}}/backend1\] pod=backend1-", line) for line in prefixed)
    proxy = lab.kubectl("logs", "-l", "app=bff", "-c", "istio-proxy", "--tail=4").stdout
    assert rows(proxy) and all(ISTIO_LINE.match(line) for line in rows(proxy)), proxy
    by_deploy = lab.kubectl("logs", "deploy/backend1", "--tail=1")
    assert "Found 3 pods, using pod/backend1-" in by_deploy.stderr
    pod = lab.state().pods[0].name
    assert lab.kubectl("logs", pod, "-c", "istio-proxy").returncode == 0
    bad = lab.kubectl("logs", pod, "-c", "nope", check=False)
    assert bad.returncode == 1 and f"error: container nope is not valid for pod {pod} out of: " in bad.stderr


def test_pod_order_of_logs_changes_and_traza_and_verify_do_not_depend_on_it(lab: LabDriver) -> None:
    """kubernetes/kubectl v0.36.3 `pkg/cmd/logs/logs.go`: sequentialConsumeRequest recorre un map de Go,
    así que `kubectl logs -l` da los pods en otro orden de una llamada a otra. traza (y con ella lab
    play, que cuenta las promesas con `traza --recuento`) y el verify.sh del paso 3 (todo backend1 con 503) dan siempre lo mismo."""
    lab.set_env("backend1", STATUS_CODE_APP="503")
    try:
        status, body = lab.curl()
        assert status == 200 and body["backend1_status"] == 503
        lab.sync_logs()
        orders = set()
        for _ in range(8):
            out = lab.kubectl("logs", "-l", "app=backend1", "--prefix", "--tail=-1").stdout
            orders.add(tuple(dict.fromkeys(row.split()[0] for row in rows(out))))
        assert len(orders) > 1, orders
        env = course_environment(lab.root)
        counted = {
            subprocess.run(["traza", "--recuento", body["request_id"]], env=env, capture_output=True, text=True,
                           timeout=60, check=True).stdout
            for _ in range(4)
        }
        assert len(counted) == 1 and " bff=1 backend1=3 app2=3 " in counted.pop()
        for _ in range(3):
            verify = subprocess.run(["bash", str(ROOT / "step3" / "verify.sh")], env=env, capture_output=True,
                                    text=True, timeout=120, check=False)
            assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        lab.set_env("backend1", STATUS_CODE_APP=None)


def test_set_env_rolls_the_deployment_with_new_names(lab: LabDriver) -> None:
    before = {p.name for p in lab.state().pods if p.deployment == "app2"}
    out = lab.kubectl("set", "env", "deploy/app2", "SALUDO=hola")
    assert out.stdout == "deployment.apps/app2 env updated\n"
    status = lab.kubectl("rollout", "status", "deployment", "app2", "--timeout=120s").stdout
    assert status.rstrip().endswith('deployment "app2" successfully rolled out')
    after = {p.name for p in lab.state().live_pods("app2")}
    assert len(after) == 3 and not after & before
    assert len({n.split("-")[1] for n in after}) == 1  # un mismo pod-template-hash
    lab.kubectl("set", "env", "deployment/app2", "SALUDO-")
    lab.kubectl("rollout", "status", "deployment/app2")
    assert "SALUDO" not in lab.current_env("app2")


def test_rollout_restart_and_wait(lab: LabDriver) -> None:
    old = next(p for p in lab.state().pods if p.deployment == "bff")
    assert lab.kubectl("rollout", "restart", "deployment/bff").stdout == "deployment.apps/bff restarted\n"
    lab.kubectl("rollout", "status", "deployment/bff")
    new = lab.state().live_pods("bff")[0]
    assert new.name != old.name and new.ip != old.ip
    out = lab.kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=bff", "--timeout=30s").stdout
    assert out == f"pod/{new.name} condition met\n"
    assert lab.curl()[0] == 200  # el NodePort ya apunta al pod nuevo
    assert len(rows(lab.kubectl("wait", "--for=condition=Ready", "pods", "--all").stdout)) == 7


def test_rollout_with_crashing_pod_gets_stuck_and_old_pods_keep_serving(lab: LabDriver) -> None:
    lab.kubectl("set", "env", "deployment/app2", "STATUS_CODE_APP=abc")
    out = lab.kubectl("rollout", "status", "deployment/app2", "--timeout=4s", check=False)
    assert out.returncode == 1 and "error: timed out waiting for the condition" in out.stderr
    assert "1 out of 3 new replicas have been updated" in out.stdout
    phases = [p.phase for p in lab.state().live_pods("app2")]
    assert sorted(phases) == ["CrashLoopBackOff", "Running", "Running", "Running"]
    crashed = next(p for p in lab.state().pods if p.phase == "CrashLoopBackOff")
    assert "STATUS_CODE_APP='abc'" in lab.kubectl("logs", crashed.name).stdout
    status, body = lab.curl()
    assert status == 200 and body["backend1_status"] == 200
    lab.kubectl("set", "env", "deployment/app2", "STATUS_CODE_APP-")
    lab.kubectl("rollout", "status", "deployment/app2", "--timeout=120s")
    assert all(p.ready for p in lab.state().pods if p.live)


def test_virtual_service_apply_get_delete(lab: LabDriver) -> None:
    assert "No resources found" in lab.kubectl("get", "vs").stderr
    assert lab.kubectl("apply", "-f", "-", stdin=VS).stdout == "virtualservice.networking.istio.io/app2 created\n"
    assert lab.kubectl("apply", "-f", "-", stdin=VS).stdout == "virtualservice.networking.istio.io/app2 unchanged\n"
    header, row = rows(lab.kubectl("get", "virtualservices").stdout)
    assert re.fullmatch(r"NAME +GATEWAYS +HOSTS +AGE", header) and re.fullmatch(r'app2 +\["app2"\] +\d+s', row)
    routes = lab.run("istioctl", "proxy-config", "route", "deploy/backend1", "-o", "json").stdout
    assert '"perTryTimeout": "2s"' in routes and '"numRetries": 1' in routes
    table = lab.run("istioctl", "proxy-config", "route", "deploy/backend1").stdout
    assert re.search(r"app2\.default\.svc\.cluster\.local:8080 .* app2\.default$", table, re.M), table
    deleted = lab.kubectl("delete", "-f", "-", stdin=VS)
    assert deleted.stdout == 'virtualservice.networking.istio.io "app2" deleted from default namespace\n'
    again = lab.kubectl("delete", "-f", "-", stdin=VS, check=False)
    assert again.returncode == 1 and "NotFound" in again.stderr
    invalid = VS.replace("attempts: 1,", "attempts: 0,")
    denied = lab.kubectl("apply", "-f", "-", stdin=invalid, check=False)
    assert denied.returncode == 1 and "denied the request" in denied.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["exec", "-it", "bff", "--", "sh"],
        ["get", "nodes"],
        ["get", "pods", "-o", "wide"],
        ["logs", "-f", "deploy/bff"],
        ["delete", "pod", "bff"],
        ["scale", "deployment/backend1", "--replicas=2"],
        ["-n", "kube-system", "logs", "coredns"],
    ],
)
def test_unsupported_kubectl_is_a_clear_error(lab: LabDriver, argv: list[str]) -> None:
    out = lab.kubectl(*argv, check=False)
    assert out.returncode == 1
    assert "no soportado por el laboratorio (not supported by the lab)" in out.stderr


def test_unsupported_resource_in_apply_and_istioctl(lab: LabDriver) -> None:
    deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
    assert "no soportado" in lab.kubectl("apply", "-f", "-", stdin=deployment, check=False).stderr
    out = lab.run("istioctl", "analyze", check=False)
    assert out.returncode == 1 and "no soportado por el laboratorio" in out.stderr


PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def test_shell_environment_runs_course_commands(lab: LabDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:  # un proxy que no existe: si llegara a curl, la petición fallaría
        monkeypatch.setenv(name, "http://127.0.0.1:9" if name != "NO_PROXY" else "example.invalid")
    env = course_environment(lab.root)
    assert [name for name in PROXY_VARIABLES if name in env] == []
    out = subprocess.run(
        ["bash", "-c", "kubectl get pods -l app=bff | tail -1; curl -s localhost:30000/toapp; echo; command -v istioctl"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    first, body, istioctl = out.stdout.splitlines()
    assert first.startswith("bff-") and '"backend1_status":200' in body
    assert istioctl.endswith("/.lab/bin/istioctl")
