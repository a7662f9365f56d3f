"""`lab play` y CourseShell contra un laboratorio FALSO (un kubectl, un curl y un traza de mentira en el
PATH): rápidas, sin Envoy. Las mismas roturas contra el laboratorio de verdad, con `lab play --cluster`,
están en test_play_cluster.py; el curso entero con `lab play`, en test_play_lab.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.course.cluster import CourseApps, Snapshot, env_changes, read_apps, readiness_problems, restore
from lab.course.model import Block
from lab.course.play import play_course
from lab.course.promises import Promise, broken, parse_requests
from lab.course.session import LabTarget
from lab.course.terminal import BlockResult, CourseShell, ShellClosed, Timeouts

REPO = Path(__file__).resolve().parents[1]

FAKE_KUBECTL = r"""#!/bin/bash
# kubectl falso: guarda el entorno de cada deployment en $FAKE_LAB/<deploy>.env
case "$1 $2" in
  "set env")
    target=${3#deployment/}; target=${target#deploy/}
    case $target in
      bff|backend1|app2) ;;
      *) echo "Error from server (NotFound): deployments.apps \"$target\" not found" >&2; exit 1 ;;
    esac
    echo "$4" >"$FAKE_LAB/$target.env"
    echo "deployment.apps/$target env updated" ;;
  "get pods")
    echo "NAME                        READY   STATUS    RESTARTS   AGE"
    echo "bff-5d8f7c9b6d-x2k4p        2/2     Running   0          10s" ;;
  *) echo "error: no soportado por el laboratorio falso: $*" >&2; exit 1 ;;
esac
"""

FAKE_CURL = r"""#!/bin/bash
# curl falso: solo responde en localhost:30000/toapp; apunta cada petición en $FAKE_LAB/requests y
# deja en $FAKE_LAB/log una línea «servicio request_id» por cada línea de registro que dejaría:
# bff 1, backend1 3, app2 $FAKE_APP2 (3 si no se dice).
for arg in "$@"; do
  case $arg in
    localhost:30000/toapp|http://localhost:30000/toapp)
      echo "req" >>"$FAKE_LAB/requests"
      id=req-$(wc -l <"$FAKE_LAB/requests")
      for _ in $(seq "${FAKE_APP2:-3}"); do echo "app2 $id"; done >>"$FAKE_LAB/log"
      printf 'backend1 %s\n' "$id" "$id" "$id" >>"$FAKE_LAB/log"
      echo "bff $id" >>"$FAKE_LAB/log"
      printf '{"request_id": "abc", "backend1_status": 503}'
      exit 0 ;;
  esac
done
exit 7
"""

FAKE_TRAZA = r"""#!/bin/bash
# traza --recuento falso: una línea por request_id de $FAKE_LAB/log con sus líneas en cada servicio.
[ "$1" = --recuento ] || { echo "solo --recuento" >&2; exit 2; }
[ -f "$FAKE_LAB/log" ] || exit 0
awk '{ if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } count[$2 " " $1]++ }
     END { for (i = 1; i <= n; i++) { id = order[i]
       printf "request_id=%s bff=%d backend1=%d app2=%d estados_bff=200\n", id,
         count[id " bff"], count[id " backend1"], count[id " app2"] } }' "$FAKE_LAB/log"
"""

FAKE_LAB_CLI = """import sys, pathlib
# `python -m lab` falso: apunta up/down en lab.log; status dice «no está en marcha» (3).
word, state = sys.argv[1], pathlib.Path(sys.argv[0]).parent / "estado"
if word == "status":
    sys.exit(3)
with open(state / "lab.log", "a") as log:
    log.write(word + "\\n")
print("lab", word)
rc = state / f"{word}-rc"
sys.exit(int(rc.read_text()) if rc.exists() else 0)
"""

# apps/k8s mínimo: el Service NodePort dice a qué servicio llama el curl (bff).
APPS = """apiVersion: apps/v1
kind: Deployment
metadata: {name: bff}
spec:
  replicas: 1
---
apiVersion: v1
kind: Service
metadata: {name: bff}
spec:
  type: NodePort
  selector: {app: bff}
"""


INDEX = {
    "title": "Curso falso",
    "description": "Para probar lab play",
    "details": {
        "intro": {"text": "intro.md"},
        "steps": [{"title": "Romper backend1", "text": "step1/text.md", "verify": "step1/verify.sh"}],
        "finish": {"text": "finish.md"},
    },
    "backend": {"imageid": "kubernetes-kubeadm-1node"},
}

STEP1 = """# Paso 1

Rompe backend1:

```plain
kubectl set env deployment/backend1 STATUS_CODE_APP=503
```{{exec}}

Y llama a bff:

```plain
curl -s localhost:30000/toapp; echo
```{{exec}}

<!-- promesa: bff=1 backend1=3 app2=3 -->

Esto solo se copia, no se ejecuta:

```yaml
apiVersion: v1
```{{copy}}
"""

VERIFY1 = """#!/bin/bash
grep -qx STATUS_CODE_APP=503 "$FAKE_LAB/backend1.env" 2>/dev/null || { echo "backend1 sin 503"; exit 1; }
[ -s "$FAKE_LAB/requests" ] || { echo "sin peticiones"; exit 1; }
"""


class FakeLab:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "curso"
        self.state = tmp_path / "estado"
        self.bin = tmp_path / "bin"
        for d in (self.root / "step1", self.state, self.bin):
            d.mkdir(parents=True)
        (self.root / "index.json").write_text(json.dumps(INDEX, ensure_ascii=False, indent=2), encoding="utf-8")
        (self.root / "intro.md").write_text("# Intro\n\nMira los pods: `kubectl get pods`{{exec}}\n", encoding="utf-8")
        (self.root / "step1" / "text.md").write_text(STEP1, encoding="utf-8")
        (self.root / "step1" / "verify.sh").write_text(VERIFY1, encoding="utf-8")
        (self.root / "finish.md").write_text("# Fin\n\nNada más.\n", encoding="utf-8")
        (self.root / "apps" / "k8s").mkdir(parents=True)
        (self.root / "apps" / "k8s" / "bff.yaml").write_text(APPS, encoding="utf-8")
        (tmp_path / "fake_lab.py").write_text(FAKE_LAB_CLI, encoding="utf-8")
        for name, text in (("kubectl", FAKE_KUBECTL), ("curl", FAKE_CURL), ("traza", FAKE_TRAZA)):
            (self.bin / name).write_text(text, encoding="utf-8")
            (self.bin / name).chmod(0o755)
        self.output: list[str] = []
        self.app2 = 3  # líneas que deja cada curl en app2

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", "FAKE_LAB": str(self.state),
                "FAKE_APP2": str(self.app2)}

    def target(self) -> LabTarget:
        """Un LabTarget cuyo `python -m lab` es fake_lab.py y cuyo entorno es el del PATH falso."""
        lab = self

        class FakeTarget(LabTarget):
            def environment(self) -> dict[str, str]:
                return lab.env

        return FakeTarget(self.root, [sys.executable, str(self.state.parent / "fake_lab.py")])

    def play(self, up_rc: int = 0, block_timeout: float = 20) -> int:
        (self.state / "up-rc").write_text(str(up_rc))
        return play_course(self.root, target=self.target(), out=self.output.append,
                           timeouts=Timeouts(block=block_timeout, interrupt_after=1, settle=0.3))

    @property
    def text(self) -> str:
        return "".join(self.output)

    @property
    def lab_calls(self) -> list[str]:
        log = self.state / "lab.log"
        return log.read_text().split() if log.exists() else []

    def edit(self, rel: str, old: str, new: str) -> int:
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text
        line = text[: text.index(old)].count("\n") + 1
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return line


@pytest.fixture
def lab(tmp_path: Path) -> FakeLab:
    return FakeLab(tmp_path)


# --------------------------------------------------------------------------- el reproductor


def test_the_fake_course_plays_like_a_terminal(lab: FakeLab) -> None:
    assert lab.play() == 0, lab.text
    out = lab.text
    assert lab.lab_calls == ["up", "down"]
    assert "$ kubectl get pods\nNAME " in out
    assert "$ kubectl set env deployment/backend1 STATUS_CODE_APP=503\ndeployment.apps/backend1 env updated\n" in out
    assert '$ curl -s localhost:30000/toapp; echo\n{"request_id": "abc", "backend1_status": 503}\n' in out
    assert "apiVersion" not in out  # {{copy}} no se ejecuta
    assert out.index("step1/verify.sh antes del paso: falla, como debe") < out.index("$ kubectl set env")
    assert out.index("$ curl") < out.index("step1/verify.sh después del paso: pasa")
    assert "el curso funciona en el laboratorio (3 bloques, 2 verificaciones" in out


def test_typo_in_deployment_name_fails_at_its_line(lab: FakeLab) -> None:
    line = lab.edit("step1/text.md", "deployment/backend1", "deployment/backendl")
    assert lab.play() == 1
    assert (
        f"step1/text.md:{line}: falló la orden «kubectl set env deployment/backendl STATUS_CODE_APP=503» (código 1)"
        in lab.text
    )
    assert 'deployments.apps "backendl" not found' in lab.text  # la salida se ve, como en la terminal
    assert "$ curl" not in lab.text  # se para en el primer fallo
    assert lab.lab_calls == ["up", "down"]


def test_wrong_port_in_curl_fails_at_its_line(lab: FakeLab) -> None:
    line = lab.edit("step1/text.md", "localhost:30000", "localhost:30001")
    assert lab.play() == 1
    assert f"step1/text.md:{line}: falló la orden «curl -s localhost:30001/toapp» (código 7)" in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_verify_that_passes_without_the_step_fails(lab: FakeLab) -> None:
    (lab.root / "step1" / "verify.sh").write_text("#!/bin/bash\nkubectl get pods >/dev/null\n", encoding="utf-8")
    assert lab.play() == 1
    assert "step1/verify.sh:1: step1/verify.sh pasa ANTES de ejecutar los bloques de step1/text.md" in lab.text
    assert "$ kubectl set env" not in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_verify_that_still_fails_after_the_step_fails(lab: FakeLab) -> None:
    lab.edit("step1/text.md", "curl -s localhost:30000/toapp; echo", "echo sin curl")
    lab.edit("step1/text.md", "<!-- promesa: bff=1 backend1=3 app2=3 -->\n", "")  # sin curl no promete nada
    assert lab.play() == 1
    assert "step1/verify.sh:1: step1/verify.sh falla DESPUÉS de los bloques de step1/text.md (código 1)" in lab.text
    assert "    sin peticiones" in lab.text  # lo que dijo el verify


def test_lab_that_does_not_start_is_still_taken_down(lab: FakeLab) -> None:
    assert lab.play(up_rc=3) == 1
    assert "el laboratorio no arrancó" in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_sigterm_while_playing_takes_the_lab_down(lab: FakeLab) -> None:
    # kill -TERM al proceso de pytest (el padre de la terminal) en mitad del paso 1.
    lab.edit("step1/text.md", "curl -s localhost:30000/toapp; echo", "kill -TERM $PPID; sleep 5")
    assert lab.play() == 130
    assert "lab play: interrumpido" in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_long_running_block_before_exec_interrupt_is_interrupted(lab: FakeLab) -> None:
    lab.edit(
        "step1/text.md", "curl -s localhost:30000/toapp; echo",
        "curl -s localhost:30000/toapp; echo\n```{{exec}}\n\n```plain\nsleep 60; echo nunca\n```{{exec}}\n\n```plain\necho sigo",
    )
    lab.edit("step1/text.md", "echo sigo\n```{{exec}}", "echo sigo\n```{{exec interrupt}}")
    assert lab.play() == 0, lab.text
    assert "$ sleep 60; echo nunca\n^C\n$ echo sigo\nsigo\n" in lab.text


def test_block_that_never_ends_without_interrupt_fails(lab: FakeLab) -> None:
    line = lab.edit("finish.md", "Nada más.", "```plain\nsleep 600\n```{{exec}}") + 1
    assert lab.play(block_timeout=1) == 1
    hint = "si es una orden que no acaba, el bloque siguiente debe ser {{exec interrupt}}"
    assert f"finish.md:{line}: el bloque no terminó en 1 s ({hint}): sleep 600" in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_broken_markdown_fails_before_starting_a_lab(lab: FakeLab) -> None:
    lab.edit("step1/text.md", "```{{exec}}", "```{{execute}}")
    assert lab.play() == 1
    assert "step1/text.md:7: {{execute}} es sintaxis de Katacoda" in lab.text
    assert lab.lab_calls == []


# --------------------------------------------------------------------------- promesas


def marker_line(lab: FakeLab, rel: str = "step1/text.md") -> int:
    text = (lab.root / rel).read_text(encoding="utf-8")
    return text[: text.index("<!-- promesa")].count("\n") + 1


def test_kept_promise_is_reported(lab: FakeLab) -> None:
    assert lab.play() == 0, lab.text
    line = marker_line(lab)
    assert f"· promesa de step1/text.md:{line} (bff=1 backend1=3 app2=3): se cumple (request_id req-1) ✔\n" in lab.text
    assert lab.text.index("$ curl") < lab.text.index("· promesa") < lab.text.index("step1/verify.sh después")
    assert "1 promesas" in lab.text


def test_broken_promise_fails_at_the_marker_line(lab: FakeLab) -> None:
    lab.app2 = 8  # el «laboratorio» deja 8 líneas en app2 por petición
    assert lab.play() == 1
    line = marker_line(lab)
    assert (f"step1/text.md:{line}: promete bff=1 backend1=3 app2=3 pero el laboratorio dio "
            "bff=1 backend1=3 app2=8 (request_id req-1)") in lab.text, lab.text
    assert "verify.sh después" not in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_every_new_request_since_the_last_marker_must_keep_the_promise(lab: FakeLab) -> None:
    lab.edit("step1/text.md", "curl -s localhost:30000/toapp; echo\n", "curl -s localhost:30000/toapp; echo\n"
             "FAKE_APP2=9 curl -s localhost:30000/toapp; echo\n")
    assert lab.play() == 1
    assert f"step1/text.md:{marker_line(lab)}: promete bff=1 backend1=3 app2=3 pero el laboratorio dio " \
           "bff=1 backend1=3 app2=9 (request_id req-2)" in lab.text


def test_requests_of_earlier_pages_do_not_count(lab: FakeLab) -> None:
    lab.edit("finish.md", "Nada más.", "```plain\nFAKE_APP2=9 curl -s localhost:30000/toapp\n```{{exec}}\n\n"
             "<!-- promesa: bff=1 backend1=3 app2=9 -->")
    assert lab.play() == 0, lab.text
    assert f"· promesa de finish.md:{marker_line(lab, 'finish.md')} (bff=1 backend1=3 app2=9): se cumple " \
           "(request_id req-2) ✔" in lab.text
    assert "2 promesas" in lab.text


def test_page_with_curl_but_no_promise_fails_at_the_curl_block(lab: FakeLab) -> None:
    lab.edit("step1/text.md", "<!-- promesa: bff=1 backend1=3 app2=3 -->\n", "")
    text = (lab.root / "step1" / "text.md").read_text(encoding="utf-8")
    line = text[: text.index("curl -s")].count("\n") + 1
    assert lab.play() == 1
    assert (f"step1/text.md:{line}: este bloque hace peticiones a bff (request_id req-1) y ninguna marca "
            "<!-- promesa: bff=… … --> detrás") in lab.text, lab.text
    assert lab.lab_calls == ["up", "down"]


def test_promise_without_a_request_fails(lab: FakeLab) -> None:
    lab.edit("step1/text.md", "curl -s localhost:30000/toapp; echo", "echo sin curl")
    assert lab.play() == 1
    assert (f"step1/text.md:{marker_line(lab)}: promete bff=1 backend1=3 app2=3 pero ninguna petición nueva "
            "llegó a bff antes de la marca") in lab.text


def test_malformed_promise_fails_before_starting_a_lab(lab: FakeLab) -> None:
    lab.edit("step1/text.md", "app2=3 -->", "app2=tres -->")
    assert lab.play() == 1
    assert f"step1/text.md:{marker_line(lab)}: marca de promesa mal escrita" in lab.text
    assert lab.lab_calls == []


# --------------------------------------------------------------------------- CourseShell


def test_shell_keeps_state_between_blocks(tmp_path: Path) -> None:
    with CourseShell(cwd=tmp_path) as sh:
        assert sh.run("X=42; mkdir sub; cd sub") == BlockResult(0, "")
        result = sh.run("echo $X $(basename $PWD)")
        assert result == BlockResult(0, "42 sub\n")


def test_shell_reports_first_failing_command_with_markdown_line(tmp_path: Path) -> None:
    code = "echo uno\nif false; then :; fi\nfalse && echo no\nls /no/existe\necho dos\nexit_code_ignored=1"
    block = Block(tmp_path / "t.md", 10, code, "exec")
    with CourseShell(cwd=tmp_path) as sh:
        result = sh.run(block)
    assert (result.exit_code, result.line, result.command) == (2, 13, "ls /no/existe")
    assert result.output.startswith("uno\n") and "dos\n" in result.output  # como en una terminal, sigue


def test_shell_output_without_newline_and_stderr(tmp_path: Path) -> None:
    seen: list[str] = []
    with CourseShell(cwd=tmp_path) as sh:
        result = sh.run("echo a; echo b >&2; printf c", on_output=seen.append)
    assert result == BlockResult(0, "a\nb\nc")
    assert "".join(seen) == "a\nb\nc\n"


def test_shell_stdin_is_not_the_terminal(tmp_path: Path) -> None:
    with CourseShell(cwd=tmp_path) as sh:
        assert sh.run("cat; echo fin", timeout=5) == BlockResult(0, "fin\n")
        assert sh.run("cat <<'EOF'\nhola\nEOF") == BlockResult(0, "hola\n")


def test_shell_interrupt_and_timeout(tmp_path: Path) -> None:
    with CourseShell(cwd=tmp_path) as sh:
        r = sh.run("sleep 30\necho nunca", interrupt_after=0.5)
        assert (r.exit_code, r.interrupted, r.timed_out, r.output) == (0, True, False, "")
        r = sh.run("sleep 30", timeout=0.5)
        assert (r.ok, r.interrupted, r.timed_out) == (False, True, True)
        assert sh.run("echo viva") == BlockResult(0, "viva\n")


def test_shell_exit_closes_the_terminal(tmp_path: Path) -> None:
    with CourseShell(cwd=tmp_path) as sh:
        with pytest.raises(ShellClosed):
            sh.run("exit 3")
        with pytest.raises(ShellClosed):
            sh.run("echo ya no")


def test_shell_interrupt_from_another_thread_and_while_idle(tmp_path: Path) -> None:
    import threading

    with CourseShell(cwd=tmp_path) as sh:
        sh.interrupt()  # sin nada corriendo: la terminal sigue viva
        assert sh.run("echo viva") == BlockResult(0, "viva\n")
        timer = threading.Timer(0.5, sh.interrupt)
        timer.start()
        r = sh.run("echo antes; sleep 30; echo nunca", timeout=20)
        timer.join()
        assert (r.exit_code, r.interrupted, r.timed_out, r.output) == (0, True, False, "antes\n")
        assert sh.run("echo otra") == BlockResult(0, "otra\n")


# --------------------------------------------------------------------------- el clúster (sin laboratorio)


class FakeKubectl:
    """Una `tool` de Session que responde a kubectl con lo que diga `answers` (argv → (código, salida))."""

    def __init__(self, answers: dict[tuple[str, ...], tuple[int, str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        self.calls.append(tuple(argv))
        rc, text = self.answers.get(tuple(argv[1:]), (1, "error: no sé responder a eso"))
        return subprocess.CompletedProcess(argv, rc, text if rc == 0 else "", "" if rc == 0 else text)


MESH = "accessLogFile: /dev/stdout\ndefaultHttpRetryPolicy:\n  attempts: 2\n  retryOn: 5xx,503\n"
PODS_JSON = ("get", "pods", "-o", "json")


def pod_list(*pods: tuple[str, list[str]], native: tuple[str, ...] = (), terminating: tuple[str, ...] = ()) -> tuple[int, str]:
    """The answer of `kubectl get pods -o json`: (name, container names); `native` pods carry
    istio-proxy as an initContainer, `terminating` ones have a deletionTimestamp."""
    items = []
    for name, containers in pods:
        spec: dict = {"containers": [{"name": c} for c in containers]}
        if name in native:
            spec["initContainers"] = [{"name": "istio-proxy"}]
        meta: dict = {"name": name, **({"deletionTimestamp": "2026-12-04T17:00:00Z"} if name in terminating else {})}
        items.append({"metadata": meta, "spec": spec})
    return 0, json.dumps({"kind": "PodList", "items": items})


def ready_cluster() -> dict[tuple[str, ...], tuple[int, str]]:
    return {
        ("get", "deployment", "bff", "-o", "jsonpath={.spec.replicas} {.status.availableReplicas}"): (0, "1 1"),
        ("get", "deployment", "app2", "-o", "jsonpath={.spec.replicas} {.status.availableReplicas}"): (0, "3 3"),
        ("get", "deployments", "-o", "jsonpath={.items[*].metadata.name}"): (0, "app2 bff"),
        PODS_JSON: pod_list(("bff-1", ["bff", "istio-proxy"]), ("app2-1", ["app2", "istio-proxy"]),
                            ("app2-2", ["app2", "istio-proxy"])),
        ("-n", "istio-system", "get", "configmap", "istio", "-o", "jsonpath={.data.mesh}"): (0, MESH),
        ("get", "virtualservices"): (0, ""),
    }


APPS_READY = CourseApps(("bff", "app2"), "bff", {"attempts": 2, "retryOn": "5xx,503"})


def test_a_ready_cluster_has_no_problems() -> None:
    assert readiness_problems(FakeKubectl(ready_cluster()), APPS_READY) == []


def test_readiness_names_what_is_missing() -> None:
    answers = ready_cluster()
    answers[("get", "deployment", "app2", "-o", "jsonpath={.spec.replicas} {.status.availableReplicas}")] = (0, "3 ")
    del answers[("get", "deployment", "bff", "-o", "jsonpath={.spec.replicas} {.status.availableReplicas}")]
    answers[PODS_JSON] = pod_list(("bff-1", ["bff", "istio-proxy"]), ("app2-1", ["app2", "istio-proxy"]), ("app2-2", ["app2"]))
    answers[("-n", "istio-system", "get", "configmap", "istio", "-o", "jsonpath={.data.mesh}")] = (0, "accessLogFile: x\n")
    answers[("get", "virtualservices")] = (0, 'NAME       GATEWAYS   HOSTS          AGE\nbackend1              ["backend1"]   3s\n')
    answers[("get", "deployments", "-o", "jsonpath={.items[*].metadata.name}")] = (0, "app2 backend1-v2 bff")
    problems = readiness_problems(FakeKubectl(answers), APPS_READY)
    assert problems[0].startswith("el Deployment bff no está: error: no sé responder")
    assert problems[1] == ("el Deployment app2 tiene 0 de 3 réplicas disponibles "
                           "(espera a «kubectl rollout status deployment/app2»)")
    assert problems[2] == ("hay Deployments que no son de apps/k8s (backend1-v2): el curso empieza sin ellos "
                           "(bórralos con «kubectl delete deployment backend1-v2»)")
    assert problems[3].startswith("1 de 3 pods no llevan istio-proxy (app2-2): ¿tiene el namespace default")
    assert problems[4].startswith("la malla no tiene la política de reintentos del curso: defaultHttpRetryPolicy es None")
    assert problems[5].startswith("hay VirtualServices (backend1): el curso empieza sin ninguno")
    assert len(problems) == 6


def test_a_native_sidecar_in_init_containers_counts() -> None:
    """Istio >= 1.27 on Kubernetes >= 1.33 injects istio-proxy as a native sidecar (an initContainer)."""
    answers = ready_cluster()
    answers[PODS_JSON] = pod_list(("bff-1", ["bff"]), ("app2-1", ["app2"]), native=("bff-1", "app2-1"))
    assert readiness_problems(FakeKubectl(answers), APPS_READY) == []


def test_a_terminating_pod_without_sidecar_does_not_count_and_the_pods_are_listed_once() -> None:
    """Right after a rollout (or after lab play restores a cluster) the pods of the old ReplicaSet are
    still terminating: seen in CI, pods that went between two reads were reported as pods without
    istio-proxy. One list, and what is terminating does not count."""
    answers = ready_cluster()
    answers[PODS_JSON] = pod_list(("bff-1", ["bff", "istio-proxy"]), ("backend1-v2-x", ["backend1"]),
                                  terminating=("backend1-v2-x",))
    fake = FakeKubectl(answers)
    assert readiness_problems(fake, APPS_READY) == []
    assert [call for call in fake.calls if "pods" in call or "pod" in call] == [("kubectl", *PODS_JSON)]
    answers[PODS_JSON] = pod_list(("bff-1", ["bff", "istio-proxy"]), ("x", ["x"]), terminating=("bff-1", "x"))
    assert readiness_problems(FakeKubectl(answers), APPS_READY) == ["no hay ningún pod en el namespace default"]


def test_restore_deletes_the_deployments_the_text_created() -> None:
    answers = {
        ("get", "deployments", "-o", "jsonpath={.items[*].metadata.name}"): (0, "app2 backend1-v2 bff"),
        ("delete", "deployment", "backend1-v2"): (0, 'deployment.apps "backend1-v2" deleted from default namespace\n'),
        ("get", "deployment", "bff", "-o", "jsonpath={.spec.template.spec.containers[0].env}"): (0, ""),
        ("get", "deployment", "app2", "-o", "jsonpath={.spec.template.spec.containers[0].env}"): (0, ""),
        ("get", "virtualservices"): (0, ""),
    }
    said: list[str] = []
    kubectl = FakeKubectl(answers)
    assert restore(kubectl, APPS_READY, Snapshot({"bff": [], "app2": []}), said.append)
    assert said == ["· kubectl delete deployment backend1-v2: hecho\n"]
    assert ("kubectl", "delete", "deployment", "app2") not in kubectl.calls


def test_env_changes_put_back_what_the_course_changed() -> None:
    pod_name = {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    before = [pod_name, {"name": "APP2_URL", "value": "http://app2:8080"}]
    after = [pod_name, {"name": "APP2_URL", "value": "http://otro:8080"}, {"name": "STATUS_CODE_APP", "value": "503"}]
    assert env_changes(before, after) == ["APP2_URL=http://app2:8080", "STATUS_CODE_APP-"]
    assert env_changes(before, before) == []
    assert env_changes(after, before) == ["APP2_URL=http://otro:8080", "STATUS_CODE_APP=503"]


def test_parse_requests_reads_traza_recuento() -> None:
    text = ("request_id=a bff=1 backend1=3 app2=9 estados_bff=200 estados_backend1=503,503,503 estados_app2=\n"
            "request_id=b bff=0 backend1=1 app2=3 estados_bff= estados_backend1=503 estados_app2=503,503,503\n")
    counts = {rid: request.counts for rid, request in parse_requests(text).items()}
    assert counts == {"a": {"bff": 1, "backend1": 3, "app2": 9}, "b": {"bff": 0, "backend1": 1, "app2": 3}}


def test_promise_kinds_every_some_and_final() -> None:
    text = ("request_id=a bff=1 backend1=1 app2=1 estados_bff=200 estados_backend1=200 estados_app2=200\n"
            "request_id=b bff=1 backend1=2 app2=2 estados_bff=200 estados_backend1=503,200 estados_app2=200,200\n")
    new = parse_requests(text)
    assert new["b"].finals == {"bff": 200, "backend1": 200, "app2": 200}
    where = Path("step1/text.md")
    some = Promise(where, 1, {"bff": 1, "backend1": 2, "app2": 2}, "alguna")
    assert str(some) == "alguna bff=1 backend1=2 app2=2"
    assert broken(some, new) is None
    assert broken(some, {"a": new["a"]}) == ("a", {"bff": 1, "backend1": 1, "app2": 1})
    every = Promise(where, 1, {"bff": 1, "backend1": 2, "app2": 2})
    assert broken(every, new) == ("a", {"bff": 1, "backend1": 1, "app2": 1})
    final = Promise(where, 1, {"backend1": 200}, "final")
    assert str(final) == "final backend1=200" and broken(final, new) is None
    failed = parse_requests("request_id=c bff=1 backend1=3 app2=3 estados_backend1=503,503,503\n")
    assert broken(final, {**new, **failed}) == ("c", {"backend1": 503})


def test_markers_in_a_row_look_at_the_same_requests(lab: FakeLab) -> None:
    lab.edit("step1/text.md", "<!-- promesa: bff=1 backend1=3 app2=3 -->",
             "<!-- promesa: bff=1 backend1=3 app2=3 -->\n<!-- promesa: alguna bff=1 backend1=3 app2=3 -->")
    assert lab.play() == 0, lab.text
    assert "(alguna bff=1 backend1=3 app2=3): se cumple (request_id req-1) ✔" in lab.text
    assert "2 promesas" in lab.text


def test_some_request_promise_that_no_request_keeps(lab: FakeLab) -> None:
    line = lab.edit("step1/text.md", "<!-- promesa: bff=1 backend1=3 app2=3 -->",
                    "<!-- promesa: alguna bff=1 backend1=2 app2=2 -->")
    assert lab.play() == 1
    assert (f"step1/text.md:{line}: promete alguna bff=1 backend1=2 app2=2 pero ninguna de las peticiones "
            "nuevas (1) lo dio (la primera, req-1: bff=1 backend1=3 app2=3)") in lab.text, lab.text


def test_the_entry_service_is_the_one_behind_the_nodeport() -> None:
    apps = read_apps(REPO)
    assert apps.entry == "bff" and set(apps.deployments) == {"bff", "backend1", "app2"}
    assert apps.retry_policy is not None and apps.retry_policy["attempts"] == 2


# --------------------------------------------------------------------------- salidas esperadas


SET_ENV_BLOCK = "kubectl set env deployment/backend1 STATUS_CODE_APP=503\n```{{exec}}\n"


def test_an_expected_output_that_matches_passes(lab: FakeLab) -> None:
    lab.edit("step1/text.md", SET_ENV_BLOCK, SET_ENV_BLOCK + "\nSalida esperada:\n\n```text\ndeployment.apps/backend1 env updated\n```\n")
    assert lab.play() == 0, lab.text
    assert "1 salidas esperadas" in lab.text


def test_an_expected_output_that_does_not_match_fails_at_its_line_with_the_diff(lab: FakeLab) -> None:
    line = lab.edit("step1/text.md", SET_ENV_BLOCK, SET_ENV_BLOCK + "\n```text\ndeployment.apps/backend1 configured\n```\n") + 4
    assert lab.play() == 1
    assert (f"step1/text.md:{line}: la salida de «kubectl set env deployment/backend1 STATUS_CODE_APP=503» "
            "no es la esperada") in lab.text, lab.text
    assert "-deployment.apps/backend1 configured\n+deployment.apps/backend1 env updated" in lab.text
    assert "$ curl" not in lab.text  # se para ahí


def test_a_free_output_is_not_compared(lab: FakeLab) -> None:
    lab.edit("step1/text.md", SET_ENV_BLOCK,
             SET_ENV_BLOCK + "\n<!-- salida: libre — cambia en cada clúster -->\n```text\nlo que sea\n```\n")
    assert lab.play() == 0, lab.text
    assert "0 salidas esperadas" in lab.text
