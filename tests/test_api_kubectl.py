"""The real kubectl 1.36.3 against the lab's API server over a seeded store (no Envoy, no lab).

Each test runs kubectl and checks what it prints — what it would print against a cluster with
these objects — not the server's data structures.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml
from api_seed import APP, PODS, RS, STATS, ApiLab

from lab.cluster.istio import facts, istio_data


def rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


def virtual_service(name: str = "reintentos", attempts: int = 3, **retries: object) -> str:
    return yaml.safe_dump({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name},
                           "spec": {"hosts": [APP], "http": [{"route": [{"destination": {"host": APP}}],
                                                              "retries": {"attempts": attempts, **retries}}]}})


def deployment(name: str = "web", replicas: int = 1, **extra: object) -> str:
    container = {"name": name, "image": "apps/k8s/backend:1.0", **extra}
    return yaml.safe_dump({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                                    "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}})


# ---------------------------------------------------------------------------------------------- reads
def test_get_pods_prints_printers_go_columns(api: ApiLab) -> None:
    table = rows(api.kubectl("get", "pods").stdout)
    assert table[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[:4] for r in table[1:]] == [[p, "2/2", "Running", "0"] for p in PODS]
    assert all(re.fullmatch(r"\d+(s|m\d*s?)", r[4]) for r in table[1:])


def test_get_pods_wide_adds_the_priority_one_columns(api: ApiLab) -> None:
    table = rows(api.kubectl("get", "pods", "-o", "wide").stdout)
    assert table[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    assert table[1][5:] == ["10.244.0.11", "lab", "<none>", "<none>"]


def test_get_pods_yaml_and_jsonpath_show_the_defaulted_objects(api: ApiLab) -> None:
    listed = yaml.safe_load(api.kubectl("get", "pods", "-o", "yaml").stdout)
    assert listed["kind"] == "List" and len(listed["items"]) == 3
    container = listed["items"][0]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent" and container["terminationMessagePath"] == "/dev/termination-log"
    ips = api.kubectl("get", "pods", "-l", f"app={APP}", "-o", "jsonpath={.items[*].status.podIP}").stdout
    assert ips == "10.244.0.11 10.244.0.12 10.244.0.13"


def test_get_all_expands_the_all_category(api: ApiLab) -> None:
    out = api.kubectl("get", "all").stdout
    for name in (f"pod/{PODS[0]}", f"service/{APP}", f"deployment.apps/{APP}", f"replicaset.apps/{RS}"):
        assert re.search(rf"^{re.escape(name)}\s", out, re.M), out
    assert "virtualservice" not in out  # Istio's CRD is in the istio-io categories, not in all


def test_get_rs_events_services_configmaps_and_endpointslices(api: ApiLab) -> None:
    assert rows(api.kubectl("get", "rs").stdout)[1][:4] == [RS, "3", "3", "3"]
    events = rows(api.kubectl("get", "events").stdout)
    assert events[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert events[1][1:4] == ["Normal", "Scheduled", f"pod/{PODS[0]}"]
    service = rows(api.kubectl("get", "svc", APP, "-o", "wide").stdout)
    assert service[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    assert service[1][1] == "ClusterIP" and service[1][3:5] == ["<none>", "8080/TCP"] and service[1][6] == f"app={APP}"
    assert rows(api.kubectl("get", "cm", "-n", "istio-system").stdout)[1][:2] == ["istio", "2"]
    slices = rows(api.kubectl("get", "endpointslices").stdout)
    assert slices[0] == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert slices[1][1:4] == ["IPv4", "8080", "10.244.0.11,10.244.0.12,10.244.0.13"]


def test_get_nodes(api: ApiLab) -> None:
    table = rows(api.kubectl("get", "nodes", "-o", "wide").stdout)
    assert table[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION",
                        "CONTAINER-RUNTIME"]
    assert table[1][:3] == ["lab", "Ready", "control-plane"] and table[1][4:] == [
        "v1.36.3", "127.0.0.1", "<none>", "Debian GNU/Linux 12 (bookworm)", "<unknown>", "<unknown>"]


def test_describe_pod_and_deployment(api: ApiLab) -> None:
    pod = api.kubectl("describe", "pod", PODS[0]).stdout
    assert re.search(rf"^Controlled By:\s+ReplicaSet/{RS}$", pod, re.M)
    assert re.search(r"^\s+Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned", pod, re.M), pod
    deploy = api.kubectl("describe", "deployment", APP).stdout
    assert re.search(r"^Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$", deploy, re.M), deploy
    assert re.search(rf"^NewReplicaSet:\s+{RS} \(3/3 replicas created\)$", deploy, re.M), deploy


def test_api_resources_and_explain(api: ApiLab) -> None:
    resources = rows(api.kubectl("api-resources").stdout)
    assert ["virtualservices", "vs", "networking.istio.io/v1", "true", "VirtualService"] in resources
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in resources
    explained = api.kubectl("explain", "virtualservice.spec.http.retries").stdout
    assert "FIELD: retries <Object>" in explained and re.search(r"^  attempts\t<integer>$", explained, re.M)
    assert re.search(r"^  perTryTimeout\t<string>$", explained, re.M)
    spec = api.kubectl("explain", "deployment.spec").stdout
    assert "FIELD: spec <DeploymentSpec>" in spec and re.search(r"^  template\t<PodTemplateSpec> -required-$", spec, re.M)


def test_unknown_resource_and_missing_object(api: ApiLab) -> None:
    done = api.kubectl("get", "foo", check=False)
    assert (done.returncode, done.stderr) == (1, 'error: the server doesn\'t have a resource type "foo"\n')
    done = api.kubectl("get", "pod", "nope", check=False)
    assert (done.returncode, done.stderr) == (1, 'Error from server (NotFound): pods "nope" not found\n')


def test_logs_with_prefix_and_tail(api: ApiLab) -> None:
    out = api.kubectl("logs", "-l", f"app={APP}", "--prefix").stdout.splitlines()  # pods read in parallel: any order
    for pod in PODS:
        mine = [line for line in out if line.startswith(f"[pod/{pod}/{APP}] ")]
        assert len(mine) == 3 and mine[0] == f"[pod/{pod}/{APP}] [{APP}] INFO:     Started server process [1]"
    assert len(out) == 9
    tail = api.kubectl("logs", f"deploy/{APP}", "-c", "istio-proxy", "--tail=1").stdout
    assert tail == '[istio-proxy] INFO:     127.0.0.6:0 - "GET /work HTTP/1.1" 503 Service Unavailable\n'


def test_logs_previous_as_the_kubelet_answers(api: ApiLab) -> None:
    done = api.kubectl("logs", "-p", PODS[0], "-c", "istio-proxy", check=False)
    assert done.stderr == (f'Error from server (BadRequest): previous terminated container "istio-proxy" in pod "{PODS[0]}" '
                           "not found\n")


def test_exec_reads_envoy_stats_and_refuses_anything_else(api: ApiLab) -> None:
    done = api.kubectl("exec", f"deploy/{APP}", "-c", "istio-proxy", "--", "pilot-agent", "request", "GET", "stats")
    assert done.stdout == STATS.decode()
    assert api.node.exec_calls[-1] == (PODS[0], "istio-proxy", ["pilot-agent", "request", "GET", "stats"])
    failed = api.kubectl("exec", PODS[0], "-c", "istio-proxy", "--", "pilot-agent", "request", "GET", "nada", check=False)
    assert (failed.returncode, failed.stdout) == (3, "")
    assert failed.stderr == "invalid path\ncommand terminated with exit code 3\n"
    refused = api.kubectl("exec", PODS[0], "--", "ls", "/", check=False)
    assert refused.returncode == 1
    assert refused.stderr.endswith("error: El laboratorio solo ejecuta «pilot-agent request GET|POST <ruta>» "
                                   "en el contenedor istio-proxy.\n")


def test_what_the_lab_does_not_do_is_said(api: ApiLab) -> None:
    top = api.kubectl("top", "pods", check=False)
    assert (top.returncode, top.stderr) == (1, "error: Metrics API not available\n")  # as on a cluster without metrics-server
    server_side = api.kubectl("apply", "--server-side", "-f", "-", stdin=virtual_service(name="ssa"), check=False)
    assert server_side.stderr == ("Error from server (BadRequest): El laboratorio no implementa server-side apply (--server-side): "
                                  "usa kubectl apply sin esa opción.\n")
    forward = api.kubectl("port-forward", PODS[0], "18080:8080", check=False)
    assert forward.returncode == 1 and "El laboratorio no implementa kubectl port-forward" in forward.stderr


# ---------------------------------------------------------------------------------------------- writes
def test_apply_a_virtual_service_created_unchanged_configured_deleted(api: ApiLab) -> None:
    assert api.kubectl("apply", "-f", "-", stdin=virtual_service()).stdout == "virtualservice.networking.istio.io/reintentos created\n"
    assert api.kubectl("apply", "-f", "-", stdin=virtual_service()).stdout == "virtualservice.networking.istio.io/reintentos unchanged\n"
    changed = virtual_service(attempts=2)
    assert api.kubectl("apply", "-f", "-", stdin=changed).stdout == "virtualservice.networking.istio.io/reintentos configured\n"
    table = rows(api.kubectl("get", "vs").stdout)
    assert table[0] == ["NAME", "GATEWAYS", "HOSTS", "AGE"] and table[1][:2] == ["reintentos", f'["{APP}"]']
    assert api.kubectl("get", "virtualservices.v1beta1.networking.istio.io", "reintentos", "-o",
                       "jsonpath={.apiVersion} {.spec.http[0].retries.attempts}").stdout == "networking.istio.io/v1beta1 2"
    deleted = api.kubectl("delete", "-f", "-", stdin=changed)
    assert deleted.stdout == 'virtualservice.networking.istio.io "reintentos" deleted from default namespace\n'
    again = api.kubectl("delete", "-f", "-", stdin=changed, check=False)
    assert again.stderr == ('Error from server (NotFound): error when deleting "STDIN": '
                            'virtualservices.networking.istio.io "reintentos" not found\n')


def test_apply_a_deployment_created_unchanged_configured(api: ApiLab) -> None:
    assert api.kubectl("apply", "-f", "-", stdin=deployment()).stdout == "deployment.apps/web created\n"
    assert api.kubectl("apply", "-f", "-", stdin=deployment()).stdout == "deployment.apps/web unchanged\n"
    assert api.kubectl("apply", "-f", "-", stdin=deployment(replicas=2)).stdout == "deployment.apps/web configured\n"
    got = json.loads(api.kubectl("get", "deploy", "web", "-o", "json").stdout)
    assert (got["spec"]["replicas"], got["metadata"]["generation"]) == (2, 2)
    assert got["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    api.kubectl("delete", "deploy", "web")


def test_unknown_fields_are_a_strict_decoding_error(api: ApiLab) -> None:
    done = api.kubectl("apply", "-f", "-", stdin=deployment(name="strict", foo=1), check=False)
    assert done.returncode == 1
    assert done.stderr == ('Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" cannot be '
                           'handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].foo"\n')
    done = api.kubectl("apply", "-f", "-", stdin=virtual_service(name="strict", retryOnn="5xx"), check=False)
    assert done.stderr == ('Error from server (BadRequest): error when creating "STDIN": VirtualService in version "v1" cannot be '
                           'handled as a VirtualService: strict decoding error: unknown field "spec.http[0].retries.retryOnn"\n')
    assert "strict" not in api.kubectl("get", "deploy,vs").stdout


def denied_cases() -> list[dict]:
    return [c for c in istio_data()["cases"] if c["id"].startswith("rule/") and "denied" in c["expect"]]


@pytest.mark.parametrize("case", denied_cases(), ids=lambda c: c["id"])
def test_invalid_virtual_services_get_istios_answer(api: ApiLab, case: dict) -> None:
    """The webhook's denial and the CRD's Invalid, as kubectl prints them (kubectl pkg/cmd/util/helpers.go)."""
    doc = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "conformidad"},
           "spec": {"hosts": [APP], "http": [{"route": [{"destination": {"host": APP}}], "retries": case["retries"]}]}}
    done = api.kubectl("apply", "-f", "-", stdin=json.dumps(doc), check=False)
    denied = case["expect"]["denied"]
    if denied["by"] == "crd":
        (cause,) = denied["causes"]
        expected = f'The VirtualService "conformidad" is invalid: {cause["field"]}: {cause["message"]}\n'
    else:
        message = f'admission webhook "{facts()["validation"]["webhook"]}" denied the request: {denied["message"]}'
        expected = f'Error from server: error when creating "STDIN": {message}'
        expected += "" if expected.endswith("\n") else "\n"
    assert (done.returncode, done.stderr) == (1, expected)


def test_a_stale_replace_is_a_conflict(api: ApiLab, tmp_path: Path) -> None:
    stale = tmp_path / "svc.yaml"
    stale.write_text(api.kubectl("get", "svc", APP, "-o", "yaml").stdout, encoding="utf-8")
    api.kubectl("label", "svc", APP, "nuevo=1")
    done = api.kubectl("replace", "-f", str(stale), check=False)
    assert done.stderr == (f'Error from server (Conflict): error when replacing "{stale}": Operation cannot be fulfilled on '
                           f'services "{APP}": the object has been modified; please apply your changes to the latest version '
                           "and try again\n")


def test_set_env_is_a_strategic_merge_patch(api: ApiLab) -> None:
    assert api.kubectl("set", "env", f"deployment/{APP}", "RETRIES=3").stdout == f"deployment.apps/{APP} env updated\n"
    assert api.kubectl("set", "env", f"deployment/{APP}", "MODE=slow").stdout == f"deployment.apps/{APP} env updated\n"
    listed = api.kubectl("set", "env", f"deployment/{APP}", "--list").stdout
    assert listed == f"# Deployment {APP}, container {APP}\nRETRIES=3\nMODE=slow\n"
    api.kubectl("set", "env", f"deployment/{APP}", "RETRIES-")
    assert api.kubectl("set", "env", f"deployment/{APP}", "--list").stdout.splitlines()[1:] == ["MODE=slow"]


def controller(api: ApiLab, stop: threading.Event) -> None:
    """What the deployment controller does for `rollout status`: status catches up with the generation."""
    while not stop.wait(0.2):
        def catch_up(obj: dict) -> None:
            obj["status"].update(observedGeneration=obj["metadata"]["generation"], updatedReplicas=3, replicas=3,
                                 availableReplicas=3, readyReplicas=3)
        api.store.mutate("deployments.apps", "default", APP, catch_up)


def test_rollout_restart_then_status(api: ApiLab) -> None:
    before = api.kubectl("get", "deploy", APP, "-o", "jsonpath={.metadata.generation}").stdout
    assert api.kubectl("rollout", "restart", f"deployment/{APP}").stdout == f"deployment.apps/{APP} restarted\n"
    after = json.loads(api.kubectl("get", "deploy", APP, "-o", "json").stdout)
    assert after["metadata"]["generation"] == int(before) + 1
    assert "kubectl.kubernetes.io/restartedAt" in after["spec"]["template"]["metadata"]["annotations"]
    stop = threading.Event()
    thread = threading.Thread(target=controller, args=(api, stop), daemon=True)
    time.sleep(0.5)
    thread.start()
    try:
        done = api.kubectl("rollout", "status", f"deployment/{APP}", "--timeout=20s")
    finally:
        stop.set()
        thread.join()
    assert done.stdout.splitlines()[-1] == f'deployment "{APP}" successfully rolled out'


def test_get_pods_watch_shows_terminating_and_ends_on_ctrl_c(api: ApiLab) -> None:
    from api_seed import KUBECTL

    watcher = subprocess.Popen([str(KUBECTL), "get", "pods", "-w"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=api.env)
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        for _ in PODS:
            watcher.stdout.readline()
        api.kubectl("delete", "pod", PODS[2], "--wait=false")
        changed = watcher.stdout.readline().split()
        assert changed[:3] == [PODS[2], "2/2", "Terminating"]
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode is not None


def test_apply_removes_what_the_file_no_longer_has(api: ApiLab) -> None:
    """kubectl's three-way strategic merge: `$patch: delete` by merge key, `$retainKeys` on the strategy."""
    both = deployment(name="env", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    api.kubectl("apply", "-f", "-", stdin=both)
    doc = yaml.safe_load(deployment(name="env", env=[{"name": "A", "value": "1"}]))
    doc["spec"]["strategy"] = {"type": "Recreate"}
    assert api.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc)).stdout == "deployment.apps/env configured\n"
    got = json.loads(api.kubectl("get", "deploy", "env", "-o", "json").stdout)["spec"]
    assert got["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    assert got["strategy"] == {"type": "Recreate"}
    api.kubectl("delete", "deploy", "env")


def test_dry_run_server_changes_nothing(api: ApiLab) -> None:
    done = api.kubectl("apply", "-f", "-", "--dry-run=server", stdin=deployment(name="seco"))
    assert done.stdout == "deployment.apps/seco created (server dry run)\n"
    missing = api.kubectl("get", "deploy", "seco", check=False)
    assert missing.stderr == 'Error from server (NotFound): deployments.apps "seco" not found\n'


def test_scale_and_label_selectors(api: ApiLab) -> None:
    api.kubectl("apply", "-f", "-", stdin=deployment(name="escala"))
    assert api.kubectl("scale", "deploy", "escala", "--replicas=4").stdout == "deployment.apps/escala scaled\n"
    assert api.kubectl("get", "deploy", "escala", "-o", "jsonpath={.spec.replicas}").stdout == "4"
    names = api.kubectl("get", "deploy", "-l", "app!=nada", "-o", "name").stdout.split()
    assert "deployment.apps/escala" in names
    assert api.kubectl("get", "pods", "-l", "app in (otra)", "-o", "name").stdout == ""
    api.kubectl("delete", "deploy", "escala")


def test_deployment_generation_and_immutable_selector(api: ApiLab) -> None:
    """deployment strategy.go: annotations bump the generation; the selector cannot change."""
    api.kubectl("apply", "-f", "-", stdin=deployment(name="gen"))
    api.kubectl("annotate", "deploy", "gen", "nota=1")
    assert api.kubectl("get", "deploy", "gen", "-o", "jsonpath={.metadata.generation}").stdout == "2"
    doc = yaml.safe_load(deployment(name="gen"))
    doc["spec"]["selector"]["matchLabels"] = doc["spec"]["template"]["metadata"]["labels"] = {"app": "otra"}
    done = api.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc), check=False)
    assert done.stderr == ('The Deployment "gen" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:'
                           'map[string]string{"app":"otra"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable\n')
    api.kubectl("delete", "deploy", "gen")


def test_unknown_fields_in_a_patch_are_invalid(api: ApiLab) -> None:
    """handlers/patch.go: a patch that brings unknown fields is 422 on the field `patch`; kubectl says
    «The request is invalid» (no kind or name in the Status)."""
    api.kubectl("apply", "-f", "-", stdin=virtual_service(name="parche"))
    done = api.kubectl("apply", "-f", "-", stdin=virtual_service(name="parche", retryOnn="5xx"), check=False)
    assert done.returncode == 1
    assert done.stderr.startswith('The request is invalid: patch: Invalid value: "{\\"apiVersion\\":\\"networking.istio.io/v1\\"')
    assert done.stderr.endswith('": strict decoding error: unknown field "spec.http[0].retries.retryOnn"\n')
    api.kubectl("delete", "vs", "parche")


def test_logs_follow_ends_on_ctrl_c(api: ApiLab) -> None:
    from api_seed import KUBECTL

    follower = subprocess.Popen([str(KUBECTL), "logs", "-f", PODS[0]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=api.env)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == f"[{APP}] INFO:     Started server process [1]\n"
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=10)
    finally:
        if follower.poll() is None:
            follower.kill()


def test_generated_clients_send_protobuf(api: ApiLab) -> None:
    """`kubectl create deployment|configmap` and `expose` use client-go's typed clients, which send
    built-in kinds as application/vnd.kubernetes.protobuf (no JSON fallback)."""
    done = api.kubectl("create", "deployment", "proto", "--image=apps/k8s/backend:1.0", "--replicas=2", "--port=8080")
    assert done.stdout == "deployment.apps/proto created\n"
    assert api.kubectl("expose", "deployment", "proto", "--port=8080").stdout == "service/proto exposed\n"
    assert api.kubectl("create", "configmap", "proto", "--from-literal=a=b", "--from-literal=vacio=").stdout == "configmap/proto created\n"
    got = json.loads(api.kubectl("get", "deploy", "proto", "-o", "json").stdout)
    container = got["spec"]["template"]["spec"]["containers"][0]
    assert (got["spec"]["replicas"], got["spec"]["selector"], container["image"], container["ports"]) == (
        2, {"matchLabels": {"app": "proto"}}, "apps/k8s/backend:1.0", [{"containerPort": 8080, "protocol": "TCP"}])
    assert json.loads(api.kubectl("get", "cm", "proto", "-o", "json").stdout)["data"] == {"a": "b", "vacio": ""}
    service = rows(api.kubectl("get", "svc", "proto", "-o", "wide").stdout)[1]
    assert service[4] == "8080/TCP" and service[6] == "app=proto"
    api.kubectl("expose", "deployment", "proto", "--name=proto-np", "--type=NodePort", "--port=8080")
    node_port = rows(api.kubectl("get", "svc", "proto-np").stdout)[1]
    assert node_port[1] == "NodePort" and re.fullmatch(r"8080:3\d{4}/TCP", node_port[4])
    api.kubectl("delete", "deploy,svc,cm", "proto")
    api.kubectl("delete", "svc", "proto-np")


def test_the_crd_schema_checks_types_and_required_fields(api: ApiLab) -> None:
    doc = yaml.safe_load(virtual_service(name="tipos"))
    doc["spec"]["hosts"] = APP
    del doc["spec"]["http"][0]["route"][0]["destination"]["host"]
    done = api.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc), check=False)
    assert done.stderr == ('The VirtualService "tipos" is invalid: \n'
                           '* spec.hosts: Invalid value: "string": spec.hosts in body must be of type array: "string"\n'
                           "* spec.http[0].route[0].destination.host: Required value\n")


def test_delete_cascade_orphan_and_foreground_leave_the_owner_terminating_on_its_finalizer(api: ApiLab) -> None:
    """--cascade=orphan|foreground send propagationPolicy; the object waits on the garbage collector's
    finalizer (this API has no controllers: tests/test_controllers.py follows the collector)."""
    for cascade, finalizer in (("orphan", "orphan"), ("foreground", "foregroundDeletion")):
        name = f"cascade-{cascade}"
        api.kubectl("create", "deployment", name, "--image=apps/k8s/backend:1.0")
        done = api.kubectl("delete", "deployment", name, f"--cascade={cascade}", "--wait=false")
        assert done.stdout == f'deployment.apps "{name}" deleted from default namespace\n'
        meta = json.loads(api.kubectl("get", "deployment", name, "-o", "json").stdout)["metadata"]
        assert (meta["finalizers"], meta["deletionGracePeriodSeconds"]) == ([finalizer], 0) and meta["deletionTimestamp"]
        api.kubectl("patch", "deployment", name, "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
        gone = api.kubectl("get", "deployment", name, check=False)
        assert gone.stderr == f'Error from server (NotFound): deployments.apps "{name}" not found\n'


def test_validate_warn_and_false_drop_unknown_fields_as_the_apiserver_does(api: ApiLab) -> None:
    """fieldValidation Warn (kubectl --validate=warn, and the apiserver's default) and Ignore
    (--validate=false): the object is stored without the unknown fields; Warn also says which, as a
    `Warning` header that kubectl prints. Strict (kubectl's default) refuses it (tests above)."""
    typo = virtual_service(name="typo", attempts=2, retryOnn="5xx")
    warned = api.kubectl("apply", "--validate=warn", "-f", "-", stdin=typo)
    assert (warned.stdout, warned.stderr) == ("virtualservice.networking.istio.io/typo created\n",
                                              'Warning: unknown field "spec.http[0].retries.retryOnn"\n')
    stored = json.loads(api.kubectl("get", "vs", "typo", "-o", "json").stdout)
    assert stored["spec"]["http"][0]["retries"] == {"attempts": 2}
    api.kubectl("delete", "vs", "typo")
    ignored = api.kubectl("apply", "--validate=false", "-f", "-", stdin=deployment(name="quiet", imagee="x"))
    assert (ignored.stdout, ignored.stderr) == ("deployment.apps/quiet created\n", "")
    container = json.loads(api.kubectl("get", "deploy", "quiet", "-o", "json").stdout)["spec"]["template"]["spec"]["containers"][0]
    assert "imagee" not in container and container["image"] == "apps/k8s/backend:1.0"
    patched = api.kubectl("patch", "deploy", "quiet", "-p", '{"spec":{"paused":true,"pausd":true}}')  # no fieldValidation: Warn
    assert patched.stderr == 'Warning: unknown field "spec.pausd"\n'
    assert json.loads(api.kubectl("get", "deploy", "quiet", "-o", "json").stdout)["spec"]["paused"] is True
    api.kubectl("delete", "deploy", "quiet")
