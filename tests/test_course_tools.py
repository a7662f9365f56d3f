"""traza y los verify.sh de los pasos, contra un kubectl falso con registros sintéticos.

El kubectl falso (escrito en un directorio temporal que va primero en el PATH) lee un estado JSON:
las variables STATUS_CODE_APP de cada deployment y las líneas de registro de cada pod. Como el de
verdad, `kubectl logs -l` sin --tail muestra solo las 10 últimas líneas de cada pod. Responde solo
a las formas del subconjunto que usan traza y los verify.sh; cualquier otra cosa falla con «no
soportado por el laboratorio» y queda anotada para el test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lab.course.promises import Promise, broken, parse_requests

ROOT = Path(__file__).resolve().parents[1]
TRAZA = ROOT / "tools" / "traza"
SHELLCHECK = Path(sys.executable).parent / "shellcheck"

JSONPATH = '{.spec.template.spec.containers[0].env[?(@.name=="STATUS_CODE_APP")].value}'

FAKE_KUBECTL = r'''#!/usr/bin/env python3
import json, os, sys
state = json.load(open(os.environ["FAKE_KUBE_STATE"]))
args = sys.argv[1:]
with open(os.environ["FAKE_KUBE_STATE"] + ".calls", "a") as calls:
    calls.write(json.dumps(args) + "\n")

def unsupported():
    print("error: no soportado por el laboratorio: kubectl " + " ".join(args), file=sys.stderr)
    sys.exit(1)

if state.get("broken"):
    print("The connection to the server localhost:8080 was refused", file=sys.stderr)
    sys.exit(1)
if len(args) == 5 and args[:2] == ["get", "deployment"] and args[3] == "-o" \
        and args[4] == "jsonpath=" + JSONPATH:
    name = args[2]
    if name not in state["env"]:
        print('Error from server (NotFound): deployments.apps "%s" not found' % name, file=sys.stderr)
        sys.exit(1)
    sys.stdout.write(state["env"][name] or "")
    sys.exit(0)
if args[:2] == ["get", "deployment"] and args[3:] == ["--ignore-not-found", "-o", "name"]:
    if args[2] in state["env"]:
        print("deployment.apps/" + args[2])
    sys.exit(0)
if args == ["exec", "deploy/bff", "-c", "istio-proxy", "--", "pilot-agent", "request", "GET", "stats"]:
    print("cluster.outbound|8080||app2.default.svc.cluster.local.upstream_rq_retry: 0")
    if state["retry_success"] is not None:  # None: sin proxyStatsMatcher, el contador no existe
        name = "cluster.outbound|8080||backend1.default.svc.cluster.local"
        print("%s.upstream_rq_retry: %d" % (name, state["retry_success"]))
        print("%s.upstream_rq_retry_success: %d" % (name, state["retry_success"]))
    print("server.live: 1")
    sys.exit(0)
if args == ["get", "virtualservices"]:
    if not state["virtual_services"]:
        print("No resources found in default namespace.", file=sys.stderr)
        sys.exit(0)
    print("NAME       GATEWAYS   HOSTS          AGE")
    for name in state["virtual_services"]:
        print("%-10s %-10s %-14s 5s" % (name, "", '["%s"]' % name))
    sys.exit(0)
if args[:2] == ["logs", "-l"] and args[2].startswith("app=") and state.get("vanishing", 0) > 0:
    state["vanishing"] -= 1  # un pod que termina de apagarse entre la lista y la lectura
    json.dump(state, open(os.environ["FAKE_KUBE_STATE"], "w"))
    print('Error from server (NotFound): pods "backend1-7d9f8c6b5d-gone1" not found', file=sys.stderr)
    sys.exit(1)
if args[:2] == ["logs", "-l"] and args[2].startswith("app="):
    app = args[2][4:]
    tail, prefix, stamps = 10, False, False
    for flag in args[3:]:
        if flag.startswith("--tail="):
            tail = int(flag[7:])
        elif flag == "--prefix":
            prefix = True
        elif flag == "--timestamps" and state.get("timestamps", True):
            stamps = True
        else:
            unsupported()
    for pod, lines in state["logs"].get(app, {}).items():
        chosen = lines if tail < 0 else lines[len(lines) - tail:] if tail else []
        for stamp, line in chosen:
            out = ("[pod/%s/%s] " % (pod, app) if prefix else "") + (stamp + " " if stamps else "") + line
            print(out)
    sys.exit(0)
unsupported()
'''.replace("JSONPATH", repr(JSONPATH))


# --------------------------------------------------------------------------- el clúster falso


@dataclass
class Cluster:
    """Un estado de clúster: env de los deployments y registros por pod, con hora."""

    env: dict[str, str | None] = field(default_factory=lambda: {"bff": None, "backend1": None, "app2": None})
    virtual_services: list[str] = field(default_factory=list)  # nombres (= host) de las VirtualService
    logs: dict[str, dict[str, list[tuple[str, str]]]] = field(default_factory=dict)
    timestamps: bool = True
    broken: bool = False
    retry_success: int | None = 0  # el contador del sidecar de bff hacia backend1 (None: no existe)
    vanishing: int = 0  # cuántas lecturas de `logs -l` dan NotFound antes de salir bien
    clock: int = 0
    counter: int = 0

    def restart(self, app: str) -> None:
        """Como un rollout: los pods nuevos empiezan con el registro vacío."""
        self.logs[app] = {}

    def line(self, app: str, pod: str, path: str, status: int, attempt: str, request_id: str) -> None:
        self.clock += 7
        stamp = f"2026-05-14T10:{self.clock // 60000 % 60:02d}:{self.clock // 1000 % 60:02d}.{self.clock % 1000:03d}000000Z"
        text = f"pod={pod} path={path} status={status} attempt={attempt} request_id={request_id}"
        self.logs.setdefault(app, {}).setdefault(pod, []).append((stamp, text))

    def curl(self, backend_pods: list[str], app2_rounds: list[list[str]], backend_status: int | None,
             app2_status: int, request_id: str | None = None) -> str:
        """Una petición de curl, escrita en el orden en que la registran las apps: cada app2 al
        responder, luego el backend1 que la llamó; bff al final."""
        self.counter += 1
        request_id = request_id or f"{self.counter:08x}-8b1d-4c7a-9e52-1d0b7f4a6c21"
        for attempt, (pod, calls) in enumerate(zip(backend_pods, app2_rounds, strict=True), start=1):
            for app2_attempt, app2_pod in enumerate(calls, start=1):
                self.line("app2", app2_pod, "/", app2_status, str(app2_attempt), request_id)
            self.line("backend1", pod, "/", backend_status or app2_status, str(attempt), request_id)
        self.line("bff", "bff-6c8f9d7b4d-q7w2m", "/toapp", 200, "-", request_id)
        return request_id

    def save(self, path: Path) -> None:
        state = {"env": self.env, "logs": self.logs, "timestamps": self.timestamps, "broken": self.broken,
                 "virtual_services": self.virtual_services, "retry_success": self.retry_success,
                 "vanishing": self.vanishing}
        path.write_text(json.dumps(state), encoding="utf-8")


B = ["backend1-7d9f8c6b5d-4xk2p", "backend1-7d9f8c6b5d-m8zt6", "backend1-7d9f8c6b5d-r2v9n"]
A = ["app2-5b6d4f8c9d-k2j7h", "app2-5b6d4f8c9d-p9x4s", "app2-5b6d4f8c9d-w5n8q"]


def step3_request(cluster: Cluster, backend_pods=None, request_id=None) -> str:
    return cluster.curl(backend_pods or B, [[A[0]], [A[2]], [A[0]]], 503, 200, request_id)


def step4_request(cluster: Cluster, backend_pods=None, request_id=None) -> str:
    rounds = [[A[0], A[1], A[2]], [A[1], A[0], A[2]], [A[2], A[1], A[0]]]
    return cluster.curl(backend_pods or B, rounds, None, 503, request_id)


def setup_state() -> Cluster:
    """Tras setup.sh: sin STATUS_CODE_APP, quizá con una petición de prueba que salió bien."""
    cluster = Cluster()
    cluster.curl([B[0]], [[A[1]]], None, 200)
    return cluster


def step3_done(curls: int = 1) -> Cluster:
    cluster = setup_state()
    cluster.env["backend1"] = "503"
    for app in ("bff", "backend1", "app2"):
        cluster.restart(app)
    for _ in range(curls):
        step3_request(cluster)
    return cluster


def step4_done(curls: int = 1) -> Cluster:
    cluster = step3_done()
    cluster.env["backend1"] = None
    cluster.env["app2"] = "503"
    for app in ("bff", "backend1", "app2"):
        cluster.restart(app)
    for _ in range(curls):
        step4_request(cluster)
    return cluster


@dataclass
class Run:
    code: int
    out: str
    err: str
    calls: list[list[str]]


@pytest.fixture
def run(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(FAKE_KUBECTL, encoding="utf-8")
    kubectl.chmod(0o755)
    state = tmp_path / "state.json"

    def _run(cluster: Cluster | None, *command: str, path: str | None = None) -> Run:
        calls_file = Path(str(state) + ".calls")
        calls_file.unlink(missing_ok=True)
        if cluster is not None:
            cluster.save(state)
        env = {"PATH": path if path is not None else f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               "FAKE_KUBE_STATE": str(state), "LANG": "C.UTF-8"}
        result = subprocess.run(list(command), capture_output=True, text=True, env=env, timeout=60, check=False)
        calls = [json.loads(line) for line in calls_file.read_text().splitlines()] if calls_file.exists() else []
        return Run(result.returncode, result.stdout, result.stderr, calls)

    _run.bin_dir = bin_dir
    return _run


# --------------------------------------------------------------------------- verify.sh


def verify(run, step: str, cluster: Cluster) -> Run:
    """El verify.sh con tools/ en el PATH (como en `lab play`; en Killercoda, traza está en /usr/local/bin)."""
    path = f"{run.bin_dir}{os.pathsep}{ROOT / 'tools'}{os.pathsep}{os.environ['PATH']}"
    result = run(cluster, "bash", str(ROOT / step / "verify.sh"), path=path)
    for call in result.calls:  # solo formas del subconjunto del laboratorio y de su API
        assert call == ["get", "virtualservices"] or call == STATS or call in (
            ["get", "deployment", call[2], "-o", "jsonpath=" + JSONPATH],
            ["get", "deployment", call[2], "--ignore-not-found", "-o", "name"],
            ["logs", "-l", call[2], "--tail=-1", "--timestamps"],
            ["logs", "-l", call[2], "--tail=-1"],
        ), call
    if step not in COUNTER_STEPS:
        assert any(call[:1] == ["logs"] for call in result.calls) or result.code != 0
    return result


STATS = ["exec", "deploy/bff", "-c", "istio-proxy", "--", "pilot-agent", "request", "GET", "stats"]
COUNTER_STEPS = ("step1", "step2")  # miran el contador de reintentos del sidecar de bff, no los registros
TRAZA_STEPS = ("step3", "step4", "step5", "step6")


def test_verify_scripts_count_with_traza_not_their_own_parser():
    """Un solo lector de registros: traza. Los verify.sh solo comparan su línea de --recuento."""
    for step in TRAZA_STEPS:
        script = (ROOT / step / "verify.sh").read_text(encoding="utf-8")
        assert "traza --recuento" in script
        assert "awk" not in script and "kubectl logs" not in script, step
        assert len(script.splitlines()) <= 45, step


@pytest.mark.parametrize("script", [f"step{n}/verify.sh" for n in range(1, 7)])
def test_verify_scripts_are_executable_bash_and_shellcheck_clean(script):
    path = ROOT / script
    assert os.access(path, os.X_OK)
    assert path.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    shellcheck = str(SHELLCHECK) if SHELLCHECK.exists() else "shellcheck"
    result = subprocess.run([shellcheck, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def bad_release_state(retried: int) -> Cluster:
    """Paso 1: backend1-v2 (503) desplegado y el sidecar de bff con `retried` reintentos con éxito."""
    cluster = setup_state()
    cluster.env["backend1-v2"] = "503"
    cluster.retry_success = retried
    return cluster


def test_step1_fails_before_the_step(run):
    result = verify(run, "step1", setup_state())
    assert result.code != 0 and "backend1-v2" in result.out


def test_step1_fails_after_apply_but_before_the_requests(run):
    result = verify(run, "step1", bad_release_state(0))
    assert result.code != 0 and "60 peticiones" in result.out


def test_step1_passes_after_the_step_and_is_idempotent(run):
    cluster = bad_release_state(14)
    first, second = verify(run, "step1", cluster), verify(run, "step1", cluster)
    assert first.code == 0, first.out
    assert (second.code, second.out) == (first.code, first.out)
    assert STATS in first.calls


def test_step1_fails_without_the_retry_counter_or_with_a_good_v2(run):
    missing = bad_release_state(14)
    missing.retry_success = None
    result = verify(run, "step1", missing)
    assert result.code != 0 and "proxyStatsMatcher" in result.out
    good = bad_release_state(14)
    good.env["backend1-v2"] = None
    assert verify(run, "step1", good).code != 0


def test_step2_fails_in_the_state_step1_left_and_passes_after_the_delete(run):
    cluster = bad_release_state(14)
    result = verify(run, "step2", cluster)
    assert result.code != 0 and "kubectl delete deployment backend1-v2" in result.out
    del cluster.env["backend1-v2"]
    first, second = verify(run, "step2", cluster), verify(run, "step2", cluster)
    assert first.code == 0, first.out
    assert (second.code, second.out) == (first.code, first.out)


def test_step2_fails_without_retries_or_when_kubectl_fails(run):
    assert verify(run, "step2", setup_state()).code != 0  # sin backend1-v2, pero tampoco reintentos
    cluster = bad_release_state(14)
    del cluster.env["backend1-v2"]
    cluster.broken = True
    assert verify(run, "step2", cluster).code != 0


def test_step3_fails_before_the_step(run):
    result = verify(run, "step3", setup_state())
    assert result.code != 0 and "STATUS_CODE_APP=503" in result.out


def test_step3_fails_after_set_env_but_before_curl(run):
    cluster = setup_state()
    cluster.env["backend1"] = "503"
    for app in ("bff", "backend1", "app2"):
        cluster.restart(app)
    assert verify(run, "step3", cluster).code != 0


def test_step3_passes_after_the_step_and_is_idempotent(run):
    cluster = step3_done()
    first, second = verify(run, "step3", cluster), verify(run, "step3", cluster)
    assert first.code == 0, first.out
    assert (second.code, second.out) == (first.code, first.out)


def test_step3_passes_with_several_curls(run):
    assert verify(run, "step3", step3_done(curls=5)).code == 0


def test_step3_passes_when_a_pod_is_repeated(run):
    """previous_hosts da 3 pods distintos unas 9 de cada 10 veces: 2 pods también vale."""
    cluster = step3_done(curls=0)
    step3_request(cluster, backend_pods=[B[0], B[1], B[0]])
    assert verify(run, "step3", cluster).code == 0


def test_step3_reads_the_whole_log_not_the_last_ten_lines(run):
    cluster = step3_done(curls=0)
    step3_request(cluster)
    for _ in range(12):  # después, peticiones que no cuentan (por ejemplo, durante un rollout)
        cluster.curl([B[0]], [[A[0]]], 503, 200)
    assert verify(run, "step3", cluster).code == 0


def test_step3_fails_without_retries(run):
    """Istio ≥ 1.24 sin la política de la malla: bff 1, backend1 1, app2 1."""
    cluster = step3_done(curls=0)
    for _ in range(3):
        cluster.curl([B[0]], [[A[0]]], 503, 200)
    assert verify(run, "step3", cluster).code != 0


def test_step3_fails_if_app2_is_also_broken(run):
    cluster = step3_done()
    cluster.env["app2"] = "503"
    assert verify(run, "step3", cluster).code != 0


def test_step3_fails_if_counts_do_not_belong_to_one_request(run):
    """Tres líneas de backend1 repartidas entre tres peticiones distintas no son tres intentos."""
    cluster = step3_done(curls=0)
    for attempt_pod in B:
        request_id = cluster.curl([attempt_pod], [[A[0]]], 503, 200)
        cluster.line("app2", A[1], "/", 200, "1", request_id)
        cluster.line("app2", A[2], "/", 200, "1", request_id)
    assert verify(run, "step3", cluster).code != 0


def test_step3_fails_when_kubectl_fails(run):
    cluster = step3_done()
    cluster.broken = True
    assert verify(run, "step3", cluster).code != 0


def test_step4_fails_in_the_state_step3_left(run):
    result = verify(run, "step4", step3_done())
    assert result.code != 0 and "STATUS_CODE_APP-" in result.out


def test_step4_fails_after_set_env_but_before_curl(run):
    cluster = step3_done()
    cluster.env["backend1"], cluster.env["app2"] = None, "503"
    for app in ("backend1", "app2"):
        cluster.restart(app)
    assert verify(run, "step4", cluster).code != 0


def test_step4_passes_after_the_step_and_is_idempotent(run):
    cluster = step4_done()
    first, second = verify(run, "step4", cluster), verify(run, "step4", cluster)
    assert first.code == 0, first.out
    assert (second.code, second.out) == (first.code, first.out)


def test_step4_passes_with_several_curls_and_repeated_pods(run):
    cluster = step4_done(curls=3)
    step4_request(cluster, backend_pods=[B[2], B[2], B[1]])
    assert verify(run, "step4", cluster).code == 0
    cluster = step4_done(curls=0)
    step4_request(cluster, backend_pods=[B[2], B[2], B[1]])
    assert verify(run, "step4", cluster).code == 0


def test_step4_fails_if_backend1_still_forces_503(run):
    cluster = step4_done()
    cluster.env["backend1"] = "503"
    assert verify(run, "step4", cluster).code != 0


def test_step4_fails_with_only_the_step6_counts(run):
    """Con el VirtualService del paso 5 (attempts: 0 hacia backend1): 1/1/3, no 1/3/9."""
    cluster = step4_done(curls=0)
    cluster.curl([B[0]], [[A[0], A[1], A[2]]], None, 503)
    assert verify(run, "step4", cluster).code != 0


def first_hop_off_request(cluster: Cluster) -> str:
    """Paso 5 (VirtualService backend1, attempts: 0): 1 intento a backend1, 3 a app2."""
    return cluster.curl([B[1]], [[A[2], A[0], A[1]]], None, 503)


def last_hop_off_request(cluster: Cluster, backend_pods=None) -> str:
    """Paso 6 (VirtualService app2, attempts: 0): 3 intentos a backend1, 1 a app2 cada uno."""
    return cluster.curl(backend_pods or B, [[A[0]], [A[2]], [A[0]]], None, 503)


def step6_done(curls: int = 1) -> Cluster:
    """Como lo deja el texto: las dos opciones probadas, la VirtualService app2 aplicada."""
    cluster = step4_done()
    cluster.virtual_services = ["backend1"]
    for _ in range(curls):
        first_hop_off_request(cluster)
    cluster.virtual_services = ["app2"]
    for _ in range(curls):
        last_hop_off_request(cluster)
    return cluster


def test_step5_fails_in_the_state_step4_left_and_passes_after_the_first_option(run):
    cluster = step4_done()
    result = verify(run, "step5", cluster)
    assert result.code != 0 and "falta el VirtualService backend1" in result.out
    cluster.virtual_services = ["backend1"]
    assert verify(run, "step5", cluster).code != 0  # aplicado, pero sin curl todavía
    first_hop_off_request(cluster)
    first, second = verify(run, "step5", cluster), verify(run, "step5", cluster)
    assert first.code == 0, first.out
    assert (second.code, second.out) == (first.code, first.out)


def test_step6_fails_in_the_state_step4_left(run):
    result = verify(run, "step6", step4_done())
    assert result.code != 0 and "1 vez a backend1 y 3 veces a app2" in result.out


def test_step6_passes_after_the_step_and_is_idempotent(run):
    cluster = step6_done()
    first, second = verify(run, "step6", cluster), verify(run, "step6", cluster)
    assert first.code == 0, first.out
    assert (second.code, second.out) == (first.code, first.out)
    assert ["get", "virtualservices"] in first.calls


def test_step6_passes_with_several_curls_and_repeated_pods(run):
    cluster = step6_done(curls=3)
    last_hop_off_request(cluster, backend_pods=[B[2], B[2], B[0]])
    assert verify(run, "step6", cluster).code == 0
    cluster = step6_done(curls=0)
    first_hop_off_request(cluster)
    last_hop_off_request(cluster, backend_pods=[B[0], B[0], B[1]])
    assert verify(run, "step6", cluster).code == 0


def test_step6_fails_after_only_the_first_option(run):
    cluster = step4_done()
    cluster.virtual_services = ["backend1"]
    first_hop_off_request(cluster)
    result = verify(run, "step6", cluster)
    assert result.code != 0 and "backend1 del paso 5 sigue aplicado" in result.out


def test_step6_fails_after_swapping_the_virtualservices_but_before_curl(run):
    cluster = step4_done()
    cluster.virtual_services = ["backend1"]
    first_hop_off_request(cluster)
    cluster.virtual_services = ["app2"]
    result = verify(run, "step6", cluster)
    assert result.code != 0 and "3 veces a backend1 y 3 veces a app2" in result.out


def test_step6_fails_without_the_first_option(run):
    """Solo la segunda opción (1/3/3): falta la petición 1/1/3."""
    cluster = step4_done()
    cluster.virtual_services = ["app2"]
    last_hop_off_request(cluster)
    assert verify(run, "step6", cluster).code != 0


def test_step6_fails_if_the_cluster_does_not_end_as_the_text_leaves_it(run):
    both = step6_done()
    both.virtual_services = ["app2", "backend1"]
    assert verify(run, "step6", both).code != 0
    gone = step6_done()
    gone.virtual_services = []
    result = verify(run, "step6", gone)
    assert result.code != 0 and "falta el VirtualService app2" in result.out
    healed = step6_done()
    healed.env["app2"] = None
    assert verify(run, "step6", healed).code != 0
    broken = step6_done()
    broken.env["backend1"] = "503"
    assert verify(run, "step6", broken).code != 0


def test_step6_fails_with_step3_statuses(run):
    """1/3/3 del paso 3 (backend1 503, app2 200) no es la del paso 6: los estados cuentan."""
    cluster = step4_done()
    cluster.virtual_services = ["backend1"]
    first_hop_off_request(cluster)
    cluster.virtual_services = ["app2"]
    step3_request(cluster)
    assert verify(run, "step6", cluster).code != 0


def test_step6_fails_when_kubectl_fails(run):
    cluster = step6_done()
    cluster.broken = True
    assert verify(run, "step6", cluster).code != 0


# --------------------------------------------------------------------------- traza


def traza(run, cluster: Cluster | None, *args: str, path: str | None = None) -> Run:
    return run(cluster, str(TRAZA), *args, path=path)


def tree_children(out: str) -> dict[str, list[str]]:
    """Del árbol de traza: pod de cada intento de backend1 → pods de app2 que cuelgan de él."""
    tree: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines():
        backend = re.match(r"^   [├└]─ intento (\d): (backend1-\S+) respondió (\d+)$", line)
        app = re.match(r"^   [│ ]  [├└]─ intento (\d): (app2-\S+) respondió (\d+)$", line)
        if backend:
            current = f"{backend[1]}:{backend[2]}"
            tree[current] = []
        elif app:
            assert current
            tree[current].append(f"{app[1]}:{app[2]}")
    return tree


def test_traza_is_an_executable_stdlib_script():
    assert os.access(TRAZA, os.X_OK)
    source = TRAZA.read_text(encoding="utf-8")
    assert source.startswith("#!/usr/bin/env python3\n")
    imports = set(re.findall(r"^(?:from|import) (\w+)", source, re.M))
    assert imports <= set(sys.stdlib_module_names) | {"__future__"}, imports


def test_traza_step3_tree(run):
    cluster = step3_done()
    request_id = next(iter(cluster.logs["bff"].values()))[-1][1].split("request_id=")[1]
    result = traza(run, cluster, request_id)
    assert result.code == 0, result.err
    assert result.out.startswith(f"Petición {request_id}\n\ncurl\n└─ bff-6c8f9d7b4d-q7w2m respondió 200 a curl (/toapp)\n")
    assert tree_children(result.out) == {
        f"1:{B[0]}": [f"1:{A[0]}"], f"2:{B[1]}": [f"1:{A[2]}"], f"3:{B[2]}": [f"1:{A[0]}"],
    }
    assert "Total: bff 1 · backend1 3 · app2 3" in result.out
    assert "Nota" not in result.out
    assert ["logs", "-l", "app=app2", "--tail=-1", "--timestamps"] in result.calls


# El árbol de step4_request(cluster, backend_pods=[B[1], B[1], B[0]]): cada intento de backend1 con sus
# tres llamadas a app2 (las rondas de step4_request).
STEP4_TREE = {
    f"1:{B[1]}": [f"1:{A[0]}", f"2:{A[1]}", f"3:{A[2]}"],
    f"2:{B[1]}": [f"1:{A[1]}", f"2:{A[0]}", f"3:{A[2]}"],
    f"3:{B[0]}": [f"1:{A[2]}", f"2:{A[1]}", f"3:{A[0]}"],
}


def test_traza_step4_tree_nests_each_app2_attempt_under_its_backend1_attempt(run):
    cluster = step4_done(curls=2)
    request_id = step4_request(cluster, backend_pods=[B[1], B[1], B[0]])
    step4_request(cluster)  # una petición posterior no se mezcla
    result = traza(run, cluster, request_id)
    assert result.code == 0, result.err
    assert tree_children(result.out) == STEP4_TREE
    assert "Total: bff 1 · backend1 3 · app2 9" in result.out


def swap_stamps(cluster: Cluster, request_id: str, first: tuple[str, str, str], second: tuple[str, str, str]) -> None:
    """Intercambia las marcas de tiempo de dos líneas de la petición, cada una dada por (app, pod, intento)."""
    where = []
    for app, pod, attempt in (first, second):
        lines = cluster.logs[app][pod]
        where.append((lines, next(i for i, (_, text) in enumerate(lines)
                                  if request_id in text and f"attempt={attempt} " in text)))
    (la, ia), (lb, ib) = where
    (sa, ta), (sb, tb) = la[ia], lb[ib]
    la[ia], lb[ib] = (sb, ta), (sa, tb)


def test_traza_nests_by_attempt_number_when_an_app2_line_is_stamped_before_its_backend1_line(run):
    """El runtime anota cada línea al leerla de la tubería de su contenedor: puede leer la línea de
    app2 del segundo intento de backend1 antes que la del primer intento de backend1, que se escribió
    antes (visto en el laboratorio con la máquina cargada, y posible en un nodo). El árbol no cambia."""
    cluster = step4_done(curls=0)
    request_id = step4_request(cluster, backend_pods=[B[1], B[1], B[0]])
    # la línea del intento 1 de backend1 y la del intento 1 de app2 de la segunda ronda (A[1])
    swap_stamps(cluster, request_id, ("backend1", B[1], "1"), ("app2", A[1], "1"))
    result = traza(run, cluster, request_id)
    assert result.code == 0, result.err
    assert tree_children(result.out) == STEP4_TREE


def test_traza_keeps_each_round_when_app2_attempt_2_is_stamped_before_attempt_1(run):
    """Visto en CI (2 núcleos cargados): el runtime leyó tarde la tubería del pod de app2 que atendió
    el intento 1 de la segunda ronda, y la línea del intento 2 de esa ronda, de otro pod, quedó
    anotada antes. Cada ronda sigue siendo 1, 2, 3 bajo su intento de backend1."""
    cluster = step4_done(curls=0)
    request_id = step4_request(cluster, backend_pods=[B[1], B[1], B[0]])
    # la segunda ronda: A[1] (intento 1), A[0] (intento 2), A[2] (intento 3); son las primeras
    # líneas del intento 1 de A[1] y del intento 2 de A[0]
    swap_stamps(cluster, request_id, ("app2", A[1], "1"), ("app2", A[0], "2"))
    result = traza(run, cluster, request_id)
    assert result.code == 0, result.err
    assert tree_children(result.out) == STEP4_TREE


def test_traza_keeps_each_round_when_the_last_app2_attempt_is_stamped_after_the_next_round_began(run):
    """Una marca aún más tarde: el intento 3 de la primera ronda anotado después del intento 1 de la
    segunda (otro pod). Va con la ronda cuyo intento 2 lo precede."""
    cluster = step4_done(curls=0)
    request_id = step4_request(cluster, backend_pods=[B[1], B[1], B[0]])
    swap_stamps(cluster, request_id, ("app2", A[2], "3"), ("app2", A[1], "1"))
    swap_stamps(cluster, request_id, ("backend1", B[1], "1"), ("app2", A[2], "3"))
    result = traza(run, cluster, request_id)
    assert result.code == 0, result.err
    assert tree_children(result.out) == STEP4_TREE


def test_traza_leaves_empty_the_backend1_attempt_that_never_reached_app2(run):
    """Un intento de backend1 que responde sin llamar a app2 (se cae antes): su rama queda vacía y las
    llamadas de los demás siguen con el suyo, aunque la marca de una llegue un poco tarde."""
    cluster = step4_done(curls=0)
    request_id = cluster.curl(B, [[A[0], A[1]], [], [A[2], A[0], A[1]]], None, 503)
    swap_stamps(cluster, request_id, ("app2", A[1], "2"), ("backend1", B[0], "1"))
    result = traza(run, cluster, request_id)
    assert result.code == 0, result.err
    assert tree_children(result.out) == {
        f"1:{B[0]}": [f"1:{A[0]}", f"2:{A[1]}"], f"2:{B[1]}": [], f"3:{B[2]}": [f"1:{A[2]}", f"2:{A[0]}", f"3:{A[1]}"],
    }
    assert "Total: bff 1 · backend1 3 · app2 5" in result.out


def test_traza_reads_again_when_a_pod_vanishes_and_keeps_the_timestamps(run):
    """Tras un rollout, un pod que termina de apagarse entre la lista de `kubectl logs -l` y la lectura
    de su registro da NotFound: traza lee otra vez (y no cae al árbol aproximado sin marcas)."""
    cluster = step3_done()
    cluster.vanishing = 2
    request_id = next(iter(cluster.logs["bff"].values()))[-1][1].split("request_id=")[1]
    result = traza(run, cluster, request_id)
    assert result.code == 0, result.err
    assert "Total: bff 1 · backend1 3 · app2 3" in result.out and "aproximado" not in result.out
    assert result.calls.count(["logs", "-l", "app=bff", "--tail=-1", "--timestamps"]) == 3


def test_traza_without_timestamps_still_counts_exactly_and_says_it_is_approximate(run):
    cluster = step4_done()
    cluster.timestamps = False
    request_id = next(iter(cluster.logs["bff"].values()))[-1][1].split("request_id=")[1]
    result = traza(run, cluster, request_id)
    assert result.code == 0, result.err
    tree = tree_children(result.out)
    assert [key.split(":")[0] for key in tree] == ["1", "2", "3"]
    for children in tree.values():  # cada ronda: intentos 1, 2, 3 hacia app2
        assert [child.split(":")[0] for child in children] == ["1", "2", "3"]
    assert sorted(c for children in tree.values() for c in children) == sorted(
        f"{n}:{pod}" for n, pod in [(1, A[0]), (2, A[1]), (3, A[2]), (1, A[1]), (2, A[0]), (3, A[2]),
                                    (1, A[2]), (2, A[1]), (3, A[0])])
    assert "Total: bff 1 · backend1 3 · app2 9" in result.out
    assert "aproximado" in result.out
    assert ["logs", "-l", "app=bff", "--tail=-1"] in result.calls


def test_traza_without_argument_uses_the_latest_bff_request(run):
    cluster = step3_done(curls=3)
    latest = step3_request(cluster, request_id="ffffffff-0000-4000-8000-000000000001")
    cluster.line("bff", "bff-6c8f9d7b4d-q7w2m", "/healthz-no", 200, "-", "-")  # sin id: no cuenta
    result = traza(run, cluster)
    assert result.code == 0, result.err
    assert result.out.startswith(f"Petición {latest}\n")


def test_traza_accepts_a_quoted_id_pasted_from_the_json(run):
    cluster = step3_done()
    request_id = step3_request(cluster)
    result = traza(run, cluster, f'"{request_id}",')
    assert result.code == 0 and f"Petición {request_id}" in result.out


def test_traza_unknown_id_is_a_clear_spanish_error(run):
    result = traza(run, step3_done(), "no-existe")
    assert result.code == 1 and result.out == ""
    assert "no hay ninguna línea con request_id=no-existe" in result.err and "¿Copiaste" in result.err


def test_traza_empty_bff_log_without_argument(run):
    cluster = step3_done(curls=0)
    result = traza(run, cluster)
    assert result.code == 1 and "curl -s localhost:30000/toapp" in result.err


def test_traza_without_kubectl(run, tmp_path):
    empty = tmp_path / "vacío"
    empty.mkdir()
    result = run(None, sys.executable, str(TRAZA), "abc", path=str(empty))
    assert result.code == 2 and "no encuentro el comando kubectl" in result.err


def test_traza_reports_kubectl_failures(run):
    cluster = step3_done()
    cluster.broken = True
    result = traza(run, cluster, "abc")
    assert result.code == 2 and "falló" in result.err and "refused" in result.err


def test_traza_usage(run):
    assert traza(run, step3_done(), "--help").out.startswith("uso: traza")
    bad = traza(run, step3_done(), "a", "b")
    assert bad.code == 2 and bad.err.startswith("uso: traza")


def test_step4_fails_with_step3_counts_in_the_logs(run):
    """El estado del paso 2 pero una petición con las cuentas del paso 1 (3 y 3) no basta."""
    cluster = step4_done(curls=0)
    step3_request(cluster)
    assert verify(run, "step4", cluster).code != 0


def test_traza_recuento_one_line_per_request_with_counts_and_statuses(run):
    cluster = step4_done(curls=0)
    first = step3_request(cluster)  # con las cuentas del paso 1, aunque el estado sea el del paso 2
    second = step4_request(cluster, backend_pods=[B[2], B[2], B[1]])
    result = traza(run, cluster, "--recuento")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"request_id={first} bff=1 backend1=3 app2=3 estados_bff=200 estados_backend1=503,503,503 "
        "estados_app2=200,200,200",
        f"request_id={second} bff=1 backend1=3 app2=9 estados_bff=200 estados_backend1=503,503,503 "
        "estados_app2=" + ",".join(["503"] * 9),
    ]
    one = traza(run, cluster, "--recuento", f'"{second}",')
    assert one.code == 0 and one.out == result.out.splitlines()[1] + "\n"


def test_traza_recuento_unknown_id_and_empty_logs(run):
    cluster = step3_done(curls=0)
    assert traza(run, cluster, "--recuento").out == ""
    unknown = traza(run, cluster, "--recuento", "no-existe")
    assert unknown.code == 0
    assert unknown.out == "request_id=no-existe bff=0 backend1=0 app2=0 estados_bff= estados_backend1= estados_app2=\n"
    bad = traza(run, cluster, "--recuento", "a", "b")
    assert bad.code == 2 and bad.err.startswith("uso: traza")


def test_verify_fails_clearly_without_traza(run, tmp_path):
    """Sin traza en el PATH (setup.sh no la instaló) el paso no pasa, y lo dice."""
    cluster = step3_done()
    path = f"{run.bin_dir}{os.pathsep}{os.environ['PATH']}"
    result = run(cluster, "bash", str(ROOT / "step3" / "verify.sh"), path=path)
    assert result.code == 1 and "traza --recuento" in result.out


def test_step1_promises_hold_on_traza_recuento_of_a_batch(run):
    """Las marcas del paso 1 (lab/course/promises.py) sobre lo que `traza --recuento` dice de un lote:
    las peticiones que cayeron primero en backend1-v2 (503) y luego en otro pod (200) cumplen «alguna
    bff=1 backend1=2 app2=2», y todas acaban con 200 («final backend1=200»), aunque el registro de v2
    salga antes o después que el del pod bueno."""
    cluster = setup_state()
    cluster.restart("bff")
    v2 = "backend1-v2-5c7d9b8f6d-k4w9q"
    for n in range(12):
        rid = f"{n:08x}-4c9a-4f06-b3d8-6a1f0c7e9b24"
        attempts = [(v2, 503), (B[n % 3], 200)] if n % 4 == 0 else [(B[n % 3], 200)]
        for attempt, (pod, status) in enumerate(attempts, start=1):
            cluster.line("app2", A[(n + attempt) % 3], "/", 200, "1", rid)
            cluster.line("backend1", pod, "/", status, str(attempt), rid)
        cluster.line("bff", "bff-6c8f9d7b4d-q7w2m", "/toapp", 200, "-", rid)
    result = traza(run, cluster, "--recuento")
    assert result.code == 0, result.err
    requests = {rid: r for rid, r in parse_requests(result.out).items() if r.counts.get("bff")}
    assert len(requests) == 12
    text = (ROOT / "step1" / "text.md").read_text(encoding="utf-8")
    marks = [Promise(ROOT, 1, {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m[2])}, m[1])
             for m in re.finditer(r"<!-- promesa: (alguna|final) (.*?) -->", text)]
    assert [m.kind for m in marks] == ["final", "alguna"]
    assert all(broken(m, requests) is None for m in marks)
    # Y fallan cuando deben: sin ninguna petición reintentada, o con una que acabó en 503.
    plain = {rid: r for rid, r in requests.items() if r.counts["backend1"] == 1}
    assert broken(marks[1], plain) is not None
    failed = parse_requests("request_id=x bff=1 backend1=3 app2=3 estados_backend1=503,503,503\n")
    assert broken(marks[0], {**requests, **failed}) == ("x", {"backend1": 503})
