"""setup.sh ante cada fallo que el sandbox de diciembre de 2026 puede darle (issue 10), con las
falsificaciones de tests/setup_fakes/: una prueba por fallo.

- el hub de Istio sale del IstioOperator, y de ahí las dos imágenes que se descargan de antemano:
  por dockerd (sus espejos) y, si falla, directamente con containerd; el registro dice qué camino;
- la comprobación previa nombra a la vez las órdenes que faltan, con marcador de fallo (cada orden de
  su lista, una a una: tests/test_guards_setup.py);
- docker build: reintentos ante un corte de red y el constructor clásico si no hay buildx;
- una imagen que no quedó en containerd tras importarla se dice al momento, por su nombre;
- Cilium: se decide con los valores vivos de cilium-config y solo se reinicia si hubo que cambiar;
- un pod sin sitio en el nodo (CPU) se dice en seguida, con el motivo del planificador;
- los plazos se miden con el reloj (el falso de fake.sh), no contando vueltas;
- la salida cerrada no pierde el marcador; el plazo total nombra la etapa y lo para todo;
- una segunda ejecución dice en seguida que espera; otra versión de Kubernetes solo avisa.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import subprocess
import time
from pathlib import Path

import pytest
from setup_fakes.harness import (
    BASH,
    ISTIO_VERSION,
    KUBERNETES_VERSION,
    REPO,
    SETUP,
    Sandbox,
    assert_success,
    checkout,
    failure,
    manifest_images,
    operator_hub,
    path_without,
    required_commands,
    sandbox_fixture,  # noqa: F401 - registra el fixture «sandbox»
)


def pulled(sb: Sandbox) -> list[str]:
    """Las imágenes de Istio que se pidieron a dockerd (docker pull)."""
    return [c.args.split()[-1] for c in sb.find("docker", "pull ")]


def in_containerd(sb: Sandbox) -> list[str]:
    path = Path(sb.env["FAKE_STATE"]) / "ctr.images"
    return path.read_text().split() if path.exists() else []


# ---------------------------------------------------------------- el hub de Istio


def test_istio_images_come_from_the_operator_hub(sandbox: Sandbox, tmp_path: Path) -> None:
    """Se cambia spec.hub en el IstioOperator y nada más: las descargas siguen al archivo."""
    course = checkout(tmp_path)
    operator = course / "apps" / "istio" / "istio-operator.yaml"
    hub = operator_hub()
    text = operator.read_text()
    assert f"  hub: {hub}\n" in text
    operator.write_text(text.replace(f"  hub: {hub}\n", "  hub: registry.example.com/espejo/istio\n"))
    assert operator_hub(course) == "registry.example.com/espejo/istio"

    assert_success(sandbox, sandbox.run(CURSO_ROOT=str(course), BUNDLE=str(tmp_path / "no-hay.tar.gz")))
    # Los nombres que pedirán los pods (istiod: pilot; istio-init e istio-proxy: proxyv2).
    assert pulled(sandbox) == [f"registry.example.com/espejo/istio/{image}:{ISTIO_VERSION}"
                               for image in ("pilot", "proxyv2")]
    assert not [c for c in sandbox.calls() if hub + "/" in c.args]
    assert f"-f {operator} " in sandbox.one("istioctl", "install").args


def test_images_already_in_containerd_are_not_pulled_again(sandbox: Sandbox) -> None:
    hub = operator_hub()
    present = Path(sandbox.env["FAKE_STATE"]) / "ctr.images"
    present.write_text(f"{hub}/pilot:{ISTIO_VERSION}\n")
    assert_success(sandbox, sandbox.run())
    assert pulled(sandbox) == [f"{hub}/proxyv2:{ISTIO_VERSION}"]
    assert f"✔ {hub}/pilot:{ISTIO_VERSION}: ya estaba en containerd" in sandbox.log


# ---------------------------------------------------------------- imágenes de Istio: dockerd o containerd


def istio_refs() -> list[str]:
    return [f"{operator_hub()}/{name}:{ISTIO_VERSION}" for name in ("pilot", "proxyv2")]


def test_istio_images_come_through_dockerd_under_the_pods_names(sandbox: Sandbox) -> None:
    """docker pull (los espejos de dockerd) y docker save | ctr import: en containerd quedan con el
    nombre exacto que pedirán istiod y los sidecars; containerd no descarga nada por su cuenta."""
    assert_success(sandbox, sandbox.run())
    assert pulled(sandbox) == istio_refs()
    saves = [c.args.split()[1:] for c in sandbox.find("docker", "save ")]
    assert [[ref] for ref in istio_refs()] == [s for s in saves if s[0] in istio_refs()]
    assert [i for i in in_containerd(sandbox) if i in istio_refs()] == istio_refs()
    assert not sandbox.find("crictl")
    for ref in istio_refs():
        assert re.search(rf"✔ {re.escape(ref)}: vía docker .*\(\d+ s\)$", sandbox.log, re.M), sandbox.log
    assert "Imágenes de Istio: pilot:" in (sandbox.state / "progreso").read_text()


def test_when_dockers_pull_fails_containerd_pulls_directly_and_the_log_says_so(sandbox: Sandbox) -> None:
    assert_success(sandbox, sandbox.run(FAKE_DOCKER_PULL_FAILS="1"))
    assert len(sandbox.find("docker", "pull ")) == 4  # dos intentos por imagen
    assert [c.args.split()[-1] for c in sandbox.find("crictl", " pull ")] == istio_refs()
    assert [i for i in in_containerd(sandbox) if i in istio_refs()] == istio_refs()
    for ref in istio_refs():
        assert re.search(rf"✔ {re.escape(ref)}: vía containerd directa \(crictl pull; docker pull falló\)",
                         sandbox.log), sandbox.log
    assert "toomanyrequests" in sandbox.log  # el error de docker, en el registro


def test_when_both_paths_fail_the_kubelet_is_left_to_pull(sandbox: Sandbox) -> None:
    result = sandbox.run(FAKE_DOCKER_PULL_FAILS="1", FAKE_CRICTL_PULL_FAILS="1")
    assert_success(sandbox, result)  # el fake no tiene registro, pero el kubelet del sandbox sí
    for ref in istio_refs():
        assert f"⚠ {ref}: no se pudo descargar ni por docker ni por containerd; la descargará el kubelet" in sandbox.log


@pytest.mark.parametrize("store", ["containerd", "overlay2"])
def test_the_import_names_the_platform_whatever_dockers_image_store(sandbox: Sandbox, store: str) -> None:
    """Con el almacén de containerd de Docker, `ctr import` sin --platform falla con una imagen
    descargada (containerd PR #12908): con --platform vale para los dos almacenes."""
    assert_success(sandbox, sandbox.run(FAKE_DOCKER_STORE=store))
    assert not sandbox.find("crictl")
    imports = sandbox.find("ctr", "images import")
    assert len(imports) == 3 and all("--platform linux/amd64 -" in c.args and c.rc == 0 for c in imports)


def test_an_operator_without_hub_fails_before_any_image_work(sandbox: Sandbox, tmp_path: Path) -> None:
    course = checkout(tmp_path)
    operator = course / "apps" / "istio" / "istio-operator.yaml"
    operator.write_text(operator.read_text().replace(f"  hub: {operator_hub()}\n", ""))
    result = sandbox.run(CURSO_ROOT=str(course), BUNDLE=str(tmp_path / "no-hay.tar.gz"))
    assert result.returncode != 0
    assert failure(sandbox)["etapa"] == "archivos" and "spec.hub" in failure(sandbox)["mensaje"]
    assert not sandbox.find("docker") and not sandbox.find("crictl") and not sandbox.find("kubectl")


# ---------------------------------------------------------------- comprobación previa

def test_the_preflight_list_covers_what_the_issues_named() -> None:
    # python3: cada verify.sh lo necesita (a través de tools/traza), aunque setup.sh no lo ejecute.
    assert {"docker", "ctr", "crictl", "kubectl", "curl", "flock", "tar", "gzip", "sha256sum", "awk", "ps",
            "python3", "date"} <= set(required_commands())
    assert (REPO / "tools" / "traza").read_text().startswith("#!/usr/bin/env python3")
    assert "kind" in required_commands("kind:curso") and "crictl" not in required_commands("kind:curso")
    assert "python3" not in required_commands(mode="imagenes")


def test_every_missing_command_is_named_at_once(sandbox: Sandbox) -> None:
    result = sandbox.run(PATH=path_without(sandbox, "docker", "curl", "kubectl"))
    assert result.returncode != 0
    message = failure(sandbox)["mensaje"]
    assert all(f" {c}" in message for c in ("docker", "curl", "kubectl")), message


def test_an_unknown_image_target_fails_in_the_preflight(sandbox: Sandbox) -> None:
    result = sandbox.run(IMAGE_TARGET="registro-propio")
    assert result.returncode != 0
    assert failure(sandbox)["etapa"] == "comprobaciones" and "registro-propio" in failure(sandbox)["mensaje"]
    assert not sandbox.calls()


# ---------------------------------------------------------------- docker build


def test_a_transient_build_failure_is_retried(sandbox: Sandbox) -> None:
    assert_success(sandbox, sandbox.run(FAKE_BUILD_FAILURES="2"))
    builds = sandbox.find("docker", "build ")
    first = sorted(manifest_images())[0]
    attempts = [b for b in builds if f" -t {first} " in b.args]
    assert [b.rc for b in attempts] == [1, 1, 0]
    assert len(builds) == len(manifest_images()) + 2
    sleeps = sandbox.find("sleep")
    assert any(attempts[0].end < s.start < attempts[1].start for s in sleeps)  # una pausa entre intentos
    assert "i/o timeout" in sandbox.log  # el error de docker queda en el registro


def test_a_build_that_keeps_failing_gives_up_after_bounded_attempts(sandbox: Sandbox) -> None:
    result = sandbox.run(FAKE_BUILD_FAILURES="99", BUILD_ATTEMPTS="2")
    assert result.returncode != 0
    assert len(sandbox.find("docker", "build ")) == 2
    marker = failure(sandbox)
    assert marker["etapa"] == "imagenes" and "tras 2 intentos" in marker["mensaje"]
    assert not sandbox.find("kubectl", "apply")


def test_the_fake_docker_rejects_buildkit_without_buildx(sandbox: Sandbox, tmp_path: Path) -> None:
    """Lo que pasaba antes: DOCKER_BUILDKIT=1 en el entorno y sin buildx, docker build falla."""
    fake_docker = tmp_path / "fakebin" / "docker"
    env = {**sandbox.env, "DOCKER_BUILDKIT": "1", "FAKE_NO_BUILDX": "1"}
    build = subprocess.run([str(fake_docker), "build", "-t", "x:1", "."], env=env, capture_output=True,
                           text=True, check=False)
    assert build.returncode == 1 and "buildx component is missing" in build.stderr


@pytest.mark.parametrize(("buildx", "expected"), [("1", "1"), ("0", "0")])
def test_builds_work_with_or_without_buildx(sandbox: Sandbox, buildx: str, expected: str) -> None:
    result = sandbox.run(DOCKER_BUILDKIT="1", FAKE_NO_BUILDX="0" if buildx == "1" else "1")
    assert_success(sandbox, result)
    used = (Path(sandbox.env["FAKE_STATE"]) / "build.buildkit").read_text().split()
    assert used == [expected] * len(manifest_images())
    assert ("constructor clásico" in result.stdout) == (buildx == "0")


# ---------------------------------------------------------------- importación en containerd


def test_an_image_missing_after_the_import_is_named_at_once(sandbox: Sandbox) -> None:
    """ctr importa el archivo pero una imagen no queda con su nombre (p. ej. solo por resumen)."""
    dropped = sorted(manifest_images())[1]
    result = sandbox.run(FAKE_CTR_DROP=dropped)
    assert result.returncode != 0
    # At once by the fake clock (sleep, date and kubectl --timeout advance it): not after the pods'
    # rollout budget (ROLLOUT_TIMEOUT, 240 s) as an ErrImageNeverPull would be.
    clock = Path(sandbox.env["FAKE_STATE"]) / "clock"  # absent until something advances it
    assert (int(clock.read_text()) if clock.exists() else 0) < 60
    marker = failure(sandbox)
    assert marker["etapa"] == "imagenes"
    assert f"containerd no tiene docker.io/library/{dropped} " in marker["mensaje"]
    others = [i for i in manifest_images() if i != dropped]
    assert not [i for i in others if i in marker["mensaje"]]
    assert not sandbox.find("kubectl", "apply") and not sandbox.find("kubectl", "rollout status deployment.apps/")


# ---------------------------------------------------------------- Cilium


@pytest.mark.parametrize(
    ("kpr", "sock", "hostns", "patched"),
    [
        ("true", "", "", True),  # sustituye a kube-proxy: balanceo por sockets, también en los pods
        ("strict", "", "", True),  # el nombre antiguo de lo mismo
        ("true", "false", "", True),  # kube-proxy-replacement=true lo activa igualmente
        ("false", "true", "", True),  # balanceo por sockets sin sustituir a kube-proxy
        ("false", "", "", False),  # sin balanceo por sockets: nada que ajustar
        ("", "", "", False),
        ("true", "", "true", False),  # ya limitado al nodo: ya estaba ajustado
    ],
)
def test_cilium_is_decided_from_its_live_values(sandbox: Sandbox, kpr: str, sock: str, hostns: str,
                                               patched: bool) -> None:
    result = sandbox.run(FAKE_CILIUM="1", FAKE_CILIUM_KPR=kpr, FAKE_CILIUM_SOCK_LB=sock, FAKE_CILIUM_HOSTNS=hostns)
    assert_success(sandbox, result)
    assert bool(sandbox.find("kubectl", "patch configmap cilium-config")) == patched
    assert bool(sandbox.find("kubectl", "rollout restart daemonset/cilium")) == patched
    if not patched:
        assert not sandbox.find("kubectl", "daemonset/cilium")


def test_a_second_run_reads_the_patched_value_and_does_not_restart(sandbox: Sandbox) -> None:
    assert_success(sandbox, sandbox.run(FAKE_CILIUM="1"))
    assert sandbox.one("kubectl", "rollout restart daemonset/cilium")
    for marker in sandbox.state.glob("*cilium*"):  # ningún marcador propio: manda cilium-config
        marker.unlink()
    assert_success(sandbox, sandbox.run(FAKE_CILIUM="1"))
    assert len(sandbox.find("kubectl", "rollout restart daemonset/cilium")) == 1
    assert "ya estaba: sin reinicio" in (sandbox.state / "progreso").read_text()


# ---------------------------------------------------------------- la salida original cerrada


def run_with_stdout(sb: Sandbox, how: str, **extra: str) -> int:
    env = {**sb.env, **extra}
    if how == "cerrada":
        return subprocess.run([BASH, "-c", 'exec >&-; exec "$0" "$1"', BASH, str(SETUP)], env=env,
                              stderr=subprocess.DEVNULL, timeout=120, check=False).returncode
    # Una tubería cuyo lector se fue: cada escritura daría SIGPIPE.
    proc = subprocess.Popen([BASH, str(SETUP)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.close()
    return proc.wait(timeout=120)


@pytest.mark.parametrize("how", ["cerrada", "sin lector"])
def test_a_closed_stdout_still_leaves_the_failure_marker(sandbox: Sandbox, how: str) -> None:
    assert run_with_stdout(sandbox, how, FAKE_SHA_MISMATCH="1") != 0
    marker = failure(sandbox)
    assert marker["etapa"] == "istioctl" and "no coincide" in marker["mensaje"]
    assert "✘ Falló la etapa" in (sandbox.state / "progreso").read_text()


@pytest.mark.parametrize("how", ["cerrada", "sin lector"])
def test_a_closed_stdout_does_not_stop_a_good_setup(sandbox: Sandbox, how: str) -> None:
    assert run_with_stdout(sandbox, how) == 0
    assert (sandbox.state / "listo").is_file() and not (sandbox.state / "fallo").exists()


# ---------------------------------------------------------------- plazo total


def live(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"


@pytest.mark.parametrize(
    ("hang", "stage", "title"),
    [
        ("rollout status deployment.apps/", "pods", "Esperando a que los pods"),
        ("docker build --build-arg", "imagenes", "Construyendo e importando las imágenes"),  # en paralelo
    ],
)
def test_the_deadline_names_the_stage_and_stops_everything(sandbox: Sandbox, hang: str, stage: str,
                                                           title: str) -> None:
    started = time.monotonic()
    # 8 s: de sobra para llegar a la etapa colgada aun con la máquina cargada.
    result = sandbox.run(FAKE_HANG=hang, SETUP_DEADLINE="8")
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert elapsed < 30, elapsed  # el falso se cuelga 60 s: el plazo lo cortó
    marker = failure(sandbox)
    assert marker["etapa"] == stage and marker["titulo"].startswith(title), marker
    assert "plazo total de la preparación (8 s)" in marker["mensaje"]
    assert not (sandbox.state / "listo").exists()
    hung = [line.split()[2] for line in (Path(sandbox.env["FAKE_STATE"]) / "calls.log").read_text().splitlines()
            if " START " in line and hang in line]
    assert hung
    for _ in range(50):  # terminados (TERM) al vencer el plazo: en un instante no queda ninguno
        if not [pid for pid in hung if live(int(pid))]:
            break
        time.sleep(0.1)
    assert not [pid for pid in hung if live(int(pid))]
    shown = sandbox.foreground()
    assert f"falló en la etapa «{title}" in shown.stdout and "plazo total" in shown.stdout


def processes_of(sb: Sandbox) -> list[int]:
    """Los procesos vivos con el entorno de este sandbox (su STATE_DIR)."""
    mark = f"STATE_DIR={sb.state}".encode() + b"\0"
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if mark in environ.read_bytes() and live(int(environ.parent.name)):
                found.append(int(environ.parent.name))
        except (PermissionError, ProcessLookupError, FileNotFoundError):
            continue
    return found


def test_a_setup_inside_the_deadline_leaves_no_watchdog_behind(sandbox: Sandbox) -> None:
    assert_success(sandbox, sandbox.run(SETUP_DEADLINE="30"))
    for _ in range(50):  # el vigilante recibe TERM al salir setup.sh: como mucho unos instantes
        if not processes_of(sandbox):
            break
        time.sleep(0.1)
    assert not processes_of(sandbox)


# ---------------------------------------------------------------- una segunda ejecución


def test_a_second_run_says_at_once_that_it_waits(sandbox: Sandbox) -> None:
    sandbox.state.mkdir(parents=True)
    (sandbox.state / "progreso").write_text("+3s ▸ la otra preparación\n")
    with (sandbox.state / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # la «otra» preparación
        proc = subprocess.Popen([BASH, str(SETUP)], env={**sandbox.env, "LOCK_TIMEOUT": "3"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([proc.stdout], [], [], 2)
        assert ready, "no dijo nada en 2 s"
        assert "Otra preparación está en marcha" in proc.stdout.readline()
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "esta no hace nada" in out
    # Nada de la otra preparación se tocó.
    assert (sandbox.state / "progreso").read_text() == "+3s ▸ la otra preparación\n"
    assert not (sandbox.state / "fallo").exists() and not sandbox.calls()


# ---------------------------------------------------------------- la versión de Kubernetes


def test_another_kubernetes_version_only_warns(sandbox: Sandbox) -> None:
    major, minor = KUBERNETES_VERSION.split(".")
    other = f"{major}.{int(minor) - 1}"
    result = sandbox.run(FAKE_K8S_VERSION=other)
    assert_success(sandbox, result)
    warning = [line for line in result.stdout.splitlines() if "⚠" in line]
    assert len(warning) == 1 and other in warning[0] and KUBERNETES_VERSION in warning[0], result.stdout


def test_the_expected_kubernetes_version_gives_no_warning(sandbox: Sandbox) -> None:
    result = sandbox.run()
    assert_success(sandbox, result)
    assert "⚠" not in result.stdout
    assert f"Ready (Kubernetes {KUBERNETES_VERSION})" in result.stdout


# ---------------------------------------------------------------- CPU: un pod sin sitio en el nodo


def test_a_pod_the_scheduler_cannot_place_is_reported_at_once_with_its_reason(sandbox: Sandbox) -> None:
    """«0/1 nodes are available: 1 Insufficient cpu»: setup.sh lo dice a los pocos segundos (dos
    miradas seguidas, ROLLOUT_POLL s cada una) en vez de agotar los 240 s de ROLLOUT_TIMEOUT."""
    result = sandbox.run(FAKE_UNSCHEDULABLE="app2", ROLLOUT_TIMEOUT="240", ROLLOUT_POLL="5")
    assert result.returncode != 0
    marker = failure(sandbox)
    assert marker["etapa"] == "pods"
    assert "0/1 nodes are available: 1 Insufficient cpu" in marker["mensaje"]
    named = set(re.findall(r"\bapp2-[0-9a-z]+-x\d{4}\b", marker["mensaje"]))
    assert named == {f"app2-6d5f8c7b9d-x{i:04d}" for i in (1, 2, 3)}, marker
    # Dos tramos de 5 s por el reloj falso, no 240 s: el plazo no se agotó.
    waits = sandbox.find("kubectl", "rollout status deployment.apps/app2")
    assert [w.args.split("--timeout=")[1] for w in waits] == ["5s", "5s"]
    assert "no estuvo listo en" not in marker["mensaje"]
    assert re.search(r"^app2-\S+ 0/2 Pending ", sandbox.log, re.M)  # el diagnóstico, en el registro
    shown = sandbox.foreground()
    assert "Insufficient cpu" in shown.stdout


def test_a_pod_that_was_unschedulable_once_is_not_a_failure(sandbox: Sandbox) -> None:
    """Una sola mirada sin sitio no basta (un pod que sale mientras otro entra); el despliegue que
    sí se completa no falla."""
    assert_success(sandbox, sandbox.run(FAKE_UNSCHEDULABLE="app2", FAKE_UNSCHEDULABLE_ONCE="1"))
    assert len(sandbox.find("kubectl", "status.phase=Pending")) == 1
    assert [w.rc for w in sandbox.find("kubectl", "rollout status deployment.apps/app2")] == [1, 0]


# ---------------------------------------------------------------- plazos por el reloj


def test_the_node_wait_is_measured_by_the_clock_not_by_counting_loops(sandbox: Sandbox) -> None:
    """Cada vuelta son los 5 s de `kubectl wait` agotados más 2 s de pausa: 7 s por el reloj falso.
    Con NODE_TIMEOUT=30 eso son 5 vueltas (0, 7, 14, 21, 28 s); contando 5 s por vuelta serían 6
    (y 42 s de verdad)."""
    result = sandbox.run(FAKE_NODE_NEVER_READY="1", NODE_TIMEOUT="30")
    assert result.returncode != 0
    marker = failure(sandbox)
    assert marker["etapa"] == "nodo" and "no está Ready tras 30 s" in marker["mensaje"]
    waits = sandbox.find("kubectl", "wait --for=condition=Ready node")
    assert len(waits) == 5 and all(w.rc == 1 for w in waits)
    elapsed = int((Path(sandbox.env["FAKE_STATE"]) / "clock").read_text())
    assert 30 <= elapsed < 30 + 7, elapsed  # se rindió en la primera vuelta pasado el plazo
