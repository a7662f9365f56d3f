"""El kubectl del laboratorio (lab/ctl/) sobre un estado sintético (lab/testing/synthetic.py): las
formas de salida de kubectl sin arrancar nada. Cada prueba cita el fichero de kubernetes/kubectl
(etiqueta v0.36.3 = Kubernetes 1.36, la versión de KUBERNETES_VERSION en setup.sh) que sigue; las
salidas esperadas están escritas a mano a partir de esa fuente, no copiadas del laboratorio.
"""

from __future__ import annotations

import io
import itertools
import re
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from lab.cluster.control import Applied
from lab.ctl import kubectl, kubeget
from lab.ctl.subset import SUBSET, readme_section
from lab.ctl.version import KUBECTL_SOURCE_TAG, kubernetes_version
from lab.errors import LabError
from lab.testing.synthetic import SyntheticLab

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_800_000_000.0
ID = "3f6c2a9e-8b1d-4c7a-9e52-1d0b7f4a6c21"


def line(pod: str, attempt: int | str, status: int = 503) -> str:
    return f"pod={pod} path=/ status={status} attempt={attempt} request_id={ID}"


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SyntheticLab:
    monkeypatch.setattr(kubeget, "time", SimpleNamespace(time=lambda: NOW))  # la hora de las edades
    lab = SyntheticLab(tmp_path, NOW)
    lab.deployment("app2", 3, "5b6d4f8c9d")
    lab.deployment("backend1", 3, "7d9f8c6b5d", STATUS_CODE_APP="503")
    lab.deployment("bff", 1, "6c8f9d7b4d")
    for suffix, age in (("k2j7h", 25), ("p9x4s", 21), ("w5n8q", 17)):
        lab.pod("app2", "5b6d4f8c9d", suffix, age=age)
    for n, (suffix, age) in enumerate((("4xk2p", 31), ("m8zt6", 27), ("r2v9n", 23)), start=1):
        name = f"backend1-7d9f8c6b5d-{suffix}"
        lab.pod("backend1", "7d9f8c6b5d", suffix, age=age, lines=[line(name, n), line(name, "-", 200)])
    lab.pod("bff", "6c8f9d7b4d", "q7w2m", age=150, lines=[f"bff line {i}" for i in range(12)])
    return lab


def run(client, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Como `lab kubectl ARGV`: código, stdout y stderr (un LabError sale por stderr con código 1)."""
    try:
        code = kubectl.run(client, list(argv))
    except LabError as exc:
        print(str(exc), file=sys.stderr)
        code = 1
    out, err = capsys.readouterr()
    return code, out, err


def test_get_pods_is_kubectls_table(lab: SyntheticLab, capsys: pytest.CaptureFixture[str]) -> None:
    """Columnas de printPod (kubernetes `pkg/printers/internalversion/printers.go`) alineadas por el
    tabwriter de kubectl (cli-runtime `pkg/printers/tabwriter.go`: minwidth 6, padding 3, la última
    columna sin relleno); AGE de apimachinery `duration.HumanDuration` (150 s → 2m30s)."""
    lab.pod("bff", "5f9d8c7b6d", "zz9xk", age=3, phase="Terminating", ready=False)
    code, out, _ = run(lab.client(), capsys, "get", "pods", "-l", "app=bff")
    assert code == 0
    assert out == (
        "NAME                   READY   STATUS        RESTARTS   AGE\n"
        "bff-5f9d8c7b6d-zz9xk   0/2     Terminating   0          3s\n"
        "bff-6c8f9d7b4d-q7w2m   2/2     Running       0          2m30s\n"
    )
    code, out, err = run(lab.client(), capsys, "get", "pods", "-l", "app=nadie")
    assert (code, out, err) == (0, "", "No resources found in default namespace.\n")


def test_get_deploy_counts_only_live_pods(lab: SyntheticLab, capsys: pytest.CaptureFixture[str]) -> None:
    """printDeployment: READY = readyReplicas/spec.replicas, UP-TO-DATE = updatedReplicas; los pods
    que se apagan no cuentan (el controlador no los suma en status.replicas)."""
    lab.pod("app2", "5f9d8c7b6d", "zz9xk", age=2, ready=False)  # un pod nuevo que aún no está listo
    lab.pod("app2", "5b6d4f8c9d", "old22", phase="Terminating", ready=False)
    lab.deployments[0] = replace(lab.deployments[0], rs_hash="5f9d8c7b6d")
    code, out, _ = run(lab.client(), capsys, "get", "deploy")
    assert code == 0
    assert out.splitlines() == [
        "NAME       READY   UP-TO-DATE   AVAILABLE   AGE",
        "app2       3/3     1            3           10m",
        "backend1   3/3     3            3           10m",
        "bff        1/1     1            1           10m",
    ]


def test_jsonpath_on_a_deployment_and_the_mesh_configmap(lab: SyntheticLab, capsys: pytest.CaptureFixture[str]) -> None:
    """client-go `util/jsonpath`: un nombre da el objeto, sin salto de línea final (lo que leen los verify.sh)."""
    template = '{.spec.template.spec.containers[0].env[?(@.name=="STATUS_CODE_APP")].value}'
    assert run(lab.client(), capsys, "get", "deployment", "backend1", "-o", f"jsonpath={template}")[1] == "503"
    assert run(lab.client(), capsys, "get", "deployment", "app2", "-o", f"jsonpath={template}")[1] == ""
    mesh = run(lab.client(), capsys, "-n", "istio-system", "get", "configmap", "istio", "-o", "jsonpath={.data.mesh}")
    assert mesh == (0, "accessLogFile: /dev/stdout", "")
    code, _, err = run(lab.client(), capsys, "get", "deployment", "nadie", "-o", f"jsonpath={template}")
    assert code == 1 and 'deployments.apps "nadie" not found' in err


def test_logs_with_a_selector_keeps_each_pod_together_in_an_arbitrary_pod_order(
    lab: SyntheticLab, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pkg/cmd/logs/logs.go`: sequentialConsumeRequest recorre un map de Go (construido en
    `pkg/polymorphichelpers/logsforobject.go`), así que el orden de los pods cambia de una llamada a
    otra; las líneas de cada pod salen juntas y en su orden. `--prefix`: «[pod/P/C] »."""
    orders = set()
    for _ in range(30):
        code, out, _ = run(lab.client(), capsys, "logs", "-l", "app=backend1", "--prefix", "--tail=-1")
        assert code == 0
        pods = [re.match(r"\[pod/(\S+)/backend1\] pod=\1 ", row)[1] for row in out.splitlines()]
        grouped = [name for name, _ in itertools.groupby(pods)]
        assert sorted(grouped) == sorted(set(pods)) and len(grouped) == 3  # cada pod, una vez y junto
        orders.add(tuple(grouped))
    assert len(orders) > 1


def test_logs_tail_defaults_and_limits(lab: SyntheticLab, capsys: pytest.CaptureFixture[str]) -> None:
    """logs.go: con -l y sin --tail, 10 líneas por pod (selectorTail); --tail=-1 todas; --tail < -1 es
    un error; -l con un nombre, el error de uso de kubectl."""
    assert len(run(lab.client(), capsys, "logs", "-l", "app=bff")[1].splitlines()) == 10
    assert run(lab.client(), capsys, "logs", "-l", "app=bff", "--tail=-1")[1].splitlines()[0] == "bff line 0"
    assert run(lab.client(), capsys, "logs", "bff-6c8f9d7b4d-q7w2m")[1].count("\n") == 12  # sin -l: todo
    code, _, err = run(lab.client(), capsys, "logs", "-l", "app=bff", "--tail=-2")
    assert code == 1 and err == "error: --tail must be greater than or equal to -1\n"
    code, _, err = run(lab.client(), capsys, "logs", "-l", "app=bff", "bff-6c8f9d7b4d-q7w2m")
    assert code == 1 and err.startswith("error: only a selector (-l) or a POD name is allowed\nSee 'kubectl logs -h'")


def test_logs_of_a_deployment_picks_one_pod_and_says_so(lab: SyntheticLab, capsys: pytest.CaptureFixture[str]) -> None:
    """logsforobject.go: GetFirstPod con podutils.ByLogging (listo antes que no listo, y el que lleva
    más tiempo listo) y «Found N pods, using pod/P» en stderr."""
    code, out, err = run(lab.client(), capsys, "logs", "deploy/backend1", "--tail=1")
    assert code == 0 and out == "pod=backend1-7d9f8c6b5d-4xk2p path=/ status=200 attempt=- request_id=" + ID + "\n"
    assert err == "Found 3 pods, using pod/backend1-7d9f8c6b5d-4xk2p\n"


def test_logs_of_an_unknown_container(lab: SyntheticLab, capsys: pytest.CaptureFixture[str]) -> None:
    """logsforobject.go: «container C is not valid for pod P out of: A, B» (podcmd.AllContainerNames)."""
    code, _, err = run(lab.client(), capsys, "logs", "bff-6c8f9d7b4d-q7w2m", "-c", "nope")
    assert code == 1
    assert err == "error: container nope is not valid for pod bff-6c8f9d7b4d-q7w2m out of: bff, istio-proxy\n"


def test_timestamps_go_after_the_prefix(lab: SyntheticLab, capsys: pytest.CaptureFixture[str]) -> None:
    """logs.go: el prefijo lo pone kubectl delante de lo que manda kubelet, que ya trae la marca."""
    out = run(lab.client(), capsys, "logs", "bff-6c8f9d7b4d-q7w2m", "--prefix", "--timestamps", "--tail=1")[1]
    assert re.fullmatch(r"\[pod/bff-6c8f9d7b4d-q7w2m/bff\] \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z bff line 11\n", out)


def test_set_env_prints_only_when_the_template_changes(lab: SyntheticLab, capsys: pytest.CaptureFixture[str]) -> None:
    """`pkg/cmd/set/set_env.go`: «deployment.apps/X env updated»; un parche vacío no imprime nada."""
    client = lab.client()
    assert run(client, capsys, "set", "env", "deployment/backend1", "STATUS_CODE_APP-") == (
        0, "deployment.apps/backend1 env updated\n", "")
    assert client.calls == [("set_env", ("backend1", [("STATUS_CODE_APP", None)]))]
    client.changed = False
    assert run(client, capsys, "set", "env", "deploy/backend1", "STATUS_CODE_APP-") == (0, "", "")
    assert run(client, capsys, "rollout", "restart", "deployment/bff") == (0, "deployment.apps/bff restarted\n", "")


def test_rollout_status_prints_a_line_per_status_change(lab: SyntheticLab, capsys: pytest.CaptureFixture[str]) -> None:
    """`pkg/polymorphichelpers/rollout_status.go` escribe el mensaje en cada evento Modified del watch
    (`pkg/cmd/rollout/rollout_status.go`), aunque el texto se repita."""
    base = lab.state()
    app2 = [p for p in base.pods if p.deployment == "app2"]
    new = lab.pod("app2", "5f9d8c7b6d", "n3wpd", age=1, ready=False)
    rolled = replace(base, deployments=tuple(replace(d, rs_hash="5f9d8c7b6d") if d.name == "app2" else d for d in base.deployments))
    others = [p for p in base.pods if p.deployment != "app2"]
    more = [replace(new, name=f"app2-5f9d8c7b6d-{suffix}") for suffix in ("bbbbb", "ccccc")]
    states = [
        replace(rolled, pods=(*others, *app2, new)),  # 1 nuevo, sin listo
        replace(rolled, pods=(*others, *app2, replace(new, ready=True))),  # listo: el mismo mensaje otra vez
        replace(rolled, pods=(*others, *app2[1:], replace(new, ready=True), *more)),  # 3 nuevos, 2 viejos
        replace(rolled, pods=(*others, replace(new, ready=True), *(replace(p, ready=True) for p in more))),
    ]
    code, out, _ = run(lab.client(iter(states)), capsys, "rollout", "status", "deployment/app2")
    waiting = 'Waiting for deployment "app2" rollout to finish: '
    assert code == 0
    assert out.splitlines() == [
        f"{waiting}1 out of 3 new replicas have been updated...",
        f"{waiting}1 out of 3 new replicas have been updated...",
        f"{waiting}2 old replicas are pending termination...",
        'deployment "app2" successfully rolled out',
    ]


def test_apply_and_delete_messages(lab: SyntheticLab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`pkg/cmd/apply/apply.go` (created/configured/unchanged con el printer de nombres) y
    `pkg/cmd/delete/delete.go` PrintObj: «kind.group "X" deleted from NS namespace» desde kubectl 1.34
    (kubernetes#126619); el que no existe, NotFound en stderr y código 1."""
    doc = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: app2}\nspec: {hosts: [app2]}\n"
    client = lab.client()
    client.applied = [Applied("virtualservice.networking.istio.io", "app2", "configured")]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(doc.encode())))
    assert run(client, capsys, "apply", "-f", "-") == (0, "virtualservice.networking.istio.io/app2 configured\n", "")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(doc.encode())))
    assert run(client, capsys, "delete", "-f", "-") == (
        0, 'virtualservice.networking.istio.io "app2" deleted from default namespace\n', "")
    client.missing = ("app2",)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(doc.encode())))
    code, out, err = run(client, capsys, "delete", "-f", "-")
    assert (code, out) == (1, "")
    assert err == 'Error from server (NotFound): error when deleting "STDIN": virtualservices.networking.istio.io "app2" not found\n'


def test_wait_for_ready(lab: SyntheticLab, capsys: pytest.CaptureFixture[str]) -> None:
    """`pkg/cmd/wait/wait.go`: «pod/P condition met» por cada pod (printer de nombres)."""
    code, out, _ = run(lab.client(), capsys, "wait", "--for=condition=Ready", "pod", "-l", "app=app2", "--timeout=1s")
    assert code == 0 and out.splitlines() == [f"pod/app2-5b6d4f8c9d-{s} condition met" for s in ("k2j7h", "p9x4s", "w5n8q")]


@pytest.mark.parametrize("argv", [["exec", "bff"], ["get", "nodes"], ["get", "pods", "-o", "wide"], ["-n", "kube-system", "get", "pods"]])
def test_anything_else_is_not_supported_and_says_what_is(lab: SyntheticLab, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(lab.client(), capsys, *argv)
    assert code == 1 and "no soportado por el laboratorio (not supported by the lab)" in err
    assert all(form.usage in err for form in SUBSET)


def test_every_declared_verb_is_dispatched() -> None:
    assert set(kubectl.HANDLERS) == {form.verb for form in SUBSET}


def test_lab_readme_shows_the_declared_subset() -> None:
    """La sección «El subconjunto de kubectl» de lab/README.md es la que genera lab/ctl/subset.py."""
    text = (ROOT / "lab" / "README.md").read_text(encoding="utf-8")
    start = text.index(readme_section().splitlines()[0])
    end = text.find("\n## ", start + 1)
    assert text[start:end + 1] == readme_section(), "regenera la sección con lab.ctl.subset.readme_section()"


def test_the_cited_kubectl_is_the_sandboxs_kubernetes() -> None:
    """Las fuentes citadas (kubernetes/kubectl v0.X.Y = Kubernetes 1.X.Y) son las de KUBERNETES_VERSION de setup.sh."""
    minor = kubernetes_version(ROOT).split(".")[1]
    assert KUBECTL_SOURCE_TAG.startswith(f"v0.{minor}."), f"se cita {KUBECTL_SOURCE_TAG}; setup.sh fija 1.{minor}"
    for module in ("kubelogs.py", "kuberollout.py", "kubeapply.py"):  # los docstrings citan la misma etiqueta
        assert KUBECTL_SOURCE_TAG in (ROOT / "lab" / "ctl" / module).read_text(encoding="utf-8"), module
