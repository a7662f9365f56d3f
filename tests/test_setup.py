"""setup.sh de verdad, con kubectl, docker, ctr, crictl, istioctl, curl, kind, sleep y date falsos.

Las falsificaciones (tests/setup_fakes/fake.sh) van primero en PATH y anotan cada llamada con un
número de orden común (inicio y fin), así que el orden y el solapamiento se demuestran con lo que
grabaron, no con el reloj. Todas las rutas de setup.sh apuntan a un directorio temporal.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from setup_fakes.harness import (
    BASH,
    FOREGROUND,
    ISTIO_VERSION,
    REPO,
    SETUP,
    Call,
    Sandbox,
    assert_success,
    checkout,
    manifest_images,
    operator_hub,
    sandbox_fixture,  # noqa: F401 - registra el fixture «sandbox»
)


def test_happy_path_order_and_overlap(sandbox: Sandbox) -> None:
    result = sandbox.run(FAKE_RENDEZVOUS="1")
    assert_success(sandbox, result)
    calls = sandbox.calls()
    root = sandbox.env["CURSO_ROOT"]

    # Imágenes: los nombres y etiquetas salen de apps/k8s; un solo Dockerfile, contexto apps/.
    builds = sandbox.find("docker", "build ")
    images = manifest_images()
    assert sorted(re.search(r" -t (\S+)", b.args).group(1) for b in builds) == images
    for b in builds:
        ref = re.search(r" -t (\S+)", b.args).group(1)
        assert f"--build-arg SERVICE={ref.split(':')[0]} " in b.args
        assert b.args.endswith(f"-f {root}/apps/Dockerfile {root}/apps")
    # Todas las imágenes (las apps y las de Istio) por el mismo camino: docker save | ctr import,
    # con la plataforma del nodo (sin ella, ctr falla con el almacén de containerd de Docker).
    imports = sandbox.find("ctr", "images import")
    assert imports and all(c.args == "-n k8s.io images import --platform linux/amd64 -" for c in imports)
    in_containerd = (Path(sandbox.env["FAKE_STATE"]) / "ctr.images").read_text().split()
    assert [i for i in in_containerd if "/library/" in i] == [f"docker.io/library/{i}" for i in images]
    imported = max(imports, key=lambda c: c.end)

    install = sandbox.one("istioctl", "install")
    assert f"-f {root}/apps/istio/istio-operator.yaml -y" in install.args
    istiod_ready = sandbox.one("kubectl", "rollout status deployment/istiod")
    label = sandbox.one("kubectl", "label namespace default istio-injection=enabled")
    apply = sandbox.one("kubectl", "apply -f")
    assert apply.args.startswith(f"apply -f {root}/apps/k8s/")
    rollouts = sandbox.find("kubectl", "rollout status deployment.apps/")
    assert sorted(r.args.split("/")[1].split()[0] for r in rollouts) == sorted(
        i.split(":")[0] for i in images)
    assert all(re.search(r"--timeout=\d+s", r.args) for r in rollouts)

    # Istio listo (y la etiqueta puesta) antes de aplicar las apps.
    assert install.end < istiod_ready.start < istiod_ready.end < apply.start
    assert label.end < apply.start
    # Las imágenes, importadas antes de esperar a los despliegues.
    assert imported.end < min(r.start for r in rollouts)
    # Las construcciones se solapan con la instalación de Istio y con la descarga de sus imágenes:
    # pilot primero (istiod espera por ella) y proxyv2, del hub del IstioOperator.
    assert any(b.overlaps(install) for b in builds), (builds, install)
    pulls = sandbox.find("docker", "pull ")
    hub = operator_hub()
    istio = [f"{hub}/pilot:{ISTIO_VERSION}", f"{hub}/proxyv2:{ISTIO_VERSION}"]
    assert [p.args.split()[-1] for p in pulls] == istio
    assert not sandbox.find("crictl")  # la vía directa es solo la alternativa
    assert [i for i in in_containerd if "/library/" not in i] == istio
    assert any(b.overlaps(pulls[0]) for b in builds), (builds, pulls)
    assert pulls[-1].end < apply.start

    # Descarga fijada y comprobada, sin Cilium no hay parche.
    urls = [c.args.split()[-1] for c in sandbox.find("curl")]
    base = f"https://github.com/istio/istio/releases/download/{ISTIO_VERSION}/istioctl-{ISTIO_VERSION}-linux-amd64.tar.gz"
    assert urls == [base, base + ".sha256"]
    assert sandbox.find("kubectl", "get configmap cilium-config -o name")
    assert not sandbox.find("kubectl", "patch")
    assert not sandbox.find("kubectl", "daemonset/cilium")

    # Herramientas para quien aprende.
    bin_dir = sandbox.path("BIN_DIR")
    assert os.access(bin_dir / "traza", os.X_OK)
    assert (bin_dir / "traza").read_bytes() == (REPO / "tools" / "traza").read_bytes()
    assert (bin_dir / "istioctl").resolve() == sandbox.path("ISTIO_HOME") / ISTIO_VERSION / "istioctl"

    # Registro con marcas de tiempo, progreso por etapas en el orden del issue.
    lines = sandbox.log.splitlines()
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \+\d+s \[[\w-]+\] ", line) for line in lines
                         if line[:2] == "20"), lines[:5]
    progress = (sandbox.state / "progreso").read_text()
    main_line = ["herramientas", "archivos", "nodo de Kubernetes", "Cilium", "istioctl", "Instalando Istio",
                 "Desplegando", "pods", "Entorno listo"]
    assert all(w in progress for w in main_line), progress
    positions = [progress.index(word) for word in main_line]
    assert positions == sorted(positions), progress
    assert "✔ Entorno listo en" in result.stdout
    assert calls[-1].start > apply.end


def test_cilium_is_patched_before_istio_only_when_present(sandbox: Sandbox) -> None:
    """Cilium sustituye a kube-proxy (balanceo por sockets) y no limita ese balanceo al nodo."""
    assert_success(sandbox, sandbox.run(FAKE_CILIUM="1", FAKE_CILIUM_KPR="true"))
    patch = sandbox.one("kubectl", "patch configmap cilium-config")
    assert patch.args.endswith(""" -p {"data":{"bpf-lb-sock-hostns-only":"true"}}"""), patch.args
    assert "cni-exclusive" not in patch.args  # solo importa con el plugin CNI de Istio
    restart = sandbox.one("kubectl", "rollout restart daemonset/cilium")
    status = sandbox.one("kubectl", "rollout status daemonset/cilium")
    install = sandbox.one("istioctl", "install")
    assert patch.end < restart.start < restart.end < status.start < status.end < install.start


def test_transient_download_failure_is_retried(sandbox: Sandbox) -> None:
    assert_success(sandbox, sandbox.run(FAKE_CURL_FAILURES="2"))
    curls = sandbox.find("curl")
    assert [c.rc for c in curls] == [7, 7, 0, 0]
    assert curls[0].args == curls[1].args == curls[2].args
    # Entre intentos hay una pausa (sleep falso: no tarda).
    sleeps = sandbox.find("sleep")
    assert any(curls[0].end < s.start < curls[1].start for s in sleeps)
    assert "intento 1 de 5 fallido" in sandbox.log
    assert sandbox.one("istioctl", "install")


def test_download_gives_up_after_bounded_attempts(sandbox: Sandbox) -> None:
    result = sandbox.run(FAKE_CURL_FAILURES="99", DOWNLOAD_ATTEMPTS="3")
    assert result.returncode != 0
    curls = sandbox.find("curl")
    assert len(curls) == 6  # 3 intentos en cada uno de los dos sitios oficiales
    assert len({c.args.split()[-1].split("/")[2] for c in curls}) == 2
    failure = (sandbox.state / "fallo").read_text()
    assert "etapa=istioctl" in failure and "tras 3 intentos en cada uno" in failure
    assert not list(sandbox.state.glob("descarga.*"))  # la carpeta temporal no queda tras el fallo


def test_istioctl_comes_from_the_second_official_location_when_github_fails(sandbox: Sandbox) -> None:
    result = sandbox.run(FAKE_CURL_DOWN="github.com", DOWNLOAD_ATTEMPTS="2")
    assert_success(sandbox, result)
    urls = [(c.args.split()[-1], c.rc) for c in sandbox.find("curl")]
    archive = f"{ISTIO_VERSION}/istioctl-{ISTIO_VERSION}-linux-amd64.tar.gz"
    github = f"https://github.com/istio/istio/releases/download/{archive}"
    blob = f"https://blob.istio.io/istio-release/releases/{archive}"
    assert urls == [(github, 7), (github, 7), (blob, 0), (blob + ".sha256", 0)]
    progress = (sandbox.state / "progreso").read_text()
    assert "no se pudo descargar de https://github.com" in progress
    assert "sha256 verificada (de https://blob.istio.io/istio-release)" in progress
    assert sandbox.one("istioctl", "install").rc == 0


def test_the_second_location_is_checked_against_its_checksum_too(sandbox: Sandbox) -> None:
    result = sandbox.run(FAKE_CURL_DOWN="github.com", DOWNLOAD_ATTEMPTS="1", FAKE_SHA_MISMATCH="1")
    assert result.returncode != 0
    assert "blob.istio.io" in sandbox.find("curl")[-1].args
    failure = (sandbox.state / "fallo").read_text()
    assert "etapa=istioctl\n" in failure and "no coincide" in failure
    assert not sandbox.find("istioctl") and not (sandbox.path("BIN_DIR") / "istioctl").exists()


def test_checksum_mismatch_stops_with_failure_marker(sandbox: Sandbox) -> None:
    result = sandbox.run(FAKE_SHA_MISMATCH="1")
    assert result.returncode != 0
    assert not (sandbox.state / "listo").exists()
    failure = (sandbox.state / "fallo").read_text()
    assert "etapa=istioctl\n" in failure
    assert "SHA-256" in failure and "no coincide" in failure and "no se instala istioctl" in failure
    assert "✘ Falló la etapa «Descargando istioctl" in result.stdout
    assert not sandbox.find("istioctl")
    assert not (sandbox.path("BIN_DIR") / "istioctl").exists()
    assert not list(sandbox.path("ISTIO_HOME").glob("**/istioctl"))
    assert not sandbox.find("kubectl", "apply")
    assert not list(sandbox.state.glob("descarga.*"))

    shown = sandbox.foreground()
    assert shown.returncode == 0
    assert "falló en la etapa «Descargando istioctl" in shown.stdout
    assert "no coincide" in shown.stdout
    assert f"Registro completo: {sandbox.env['LOG_FILE']}" in shown.stdout
    assert sandbox.log.splitlines()[-1] in shown.stdout  # las últimas líneas del registro
    assert f"bash {sandbox.env['CURSO_ROOT']}/setup.sh" in shown.stdout


def test_rollout_that_never_becomes_ready_is_reported(sandbox: Sandbox) -> None:
    result = sandbox.run(FAKE_ROLLOUT_NEVER="backend1", ROLLOUT_TIMEOUT="7", ROLLOUT_POLL="5")
    assert result.returncode != 0
    failure = (sandbox.state / "fallo").read_text()
    assert "etapa=pods\n" in failure
    assert "deployment.apps/backend1 no estuvo listo en 7 s" in failure
    # Tramos de ROLLOUT_POLL s hasta agotar el plazo por el reloj (falso: cada tramo agotado suma
    # su --timeout): 5 s y los 2 que quedan.
    status = sandbox.find("kubectl", "rollout status deployment.apps/backend1")
    assert [re.search(r"--timeout=(\d+)s", s.args).group(1) for s in status] == ["5", "2"]
    assert all(s.rc == 1 for s in status)
    assert "timed out waiting for the condition" in sandbox.log
    assert sandbox.find("kubectl", "get pods -o wide")  # diagnóstico en el registro
    assert not (sandbox.state / "listo").exists()


def sidecar_check(sb: Sandbox) -> Call:
    return sb.one("kubectl", "get pods --field-selector=status.phase=Running")


@pytest.mark.parametrize("layout", ["native", "classic"])
def test_sidecar_is_found_in_init_containers_or_containers(sandbox: Sandbox, layout: str) -> None:
    """Istio >= 1.27 en Kubernetes >= 1.33 (Killercoda) pone istio-proxy en initContainers."""
    result = sandbox.run(FAKE_SIDECAR_LAYOUT=layout)
    assert_success(sandbox, result)
    check = sidecar_check(sandbox)
    assert ".spec.initContainers[*].name" in check.args and ".spec.containers[*].name" in check.args
    assert "pods listos, todos con sidecar" in sandbox.log
    assert "sin sidecar" not in sandbox.log


def test_pods_without_sidecar_are_named_in_the_failure(sandbox: Sandbox) -> None:
    result = sandbox.run(FAKE_NO_SIDECAR="backend1")
    assert result.returncode != 0
    assert not (sandbox.state / "listo").exists()
    failure = (sandbox.state / "fallo").read_text()
    assert "etapa=pods\n" in failure
    assert "pods sin sidecar istio-proxy" in failure and "¿falta la inyección?" in failure
    named = set(re.findall(r"\b(?:bff|backend1|app2)-[0-9a-z]+-x\d{4}\b", failure))
    assert named == {f"backend1-6d5f8c7b9d-x{i:04d}" for i in (1, 2, 3)}, failure
    assert sidecar_check(sandbox).rc == 0


def test_missing_bundle_is_waited_for_a_bounded_time(sandbox: Sandbox) -> None:
    sandbox.path("BUNDLE").unlink()
    result = sandbox.run(BUNDLE_TIMEOUT="4")
    assert result.returncode != 0
    assert len(sandbox.find("sleep", "1")) == 4
    failure = (sandbox.state / "fallo").read_text()
    assert "etapa=archivos" in failure and "no llegó" in failure
    assert not sandbox.find("kubectl") and not sandbox.find("docker")


def test_second_run_repeats_no_install(sandbox: Sandbox) -> None:
    assert_success(sandbox, sandbox.run(FAKE_CILIUM="1"))
    first = len(sandbox.calls())
    before = sorted(p.name for p in sandbox.path("BIN_DIR").iterdir())
    second = sandbox.run(FAKE_CILIUM="1")
    assert_success(sandbox, second)
    again = sandbox.calls()[first:]
    assert again, "la segunda ejecución no hizo nada"
    tools = [(c.tool, c.args) for c in again]
    for tool, fragment in [("curl", ""), ("istioctl", ""), ("docker", "build "), ("ctr", "import"),
                           ("docker", "pull"), ("crictl", "pull"), ("kubectl", "patch"), ("kubectl", "restart")]:
        assert not [t for t in tools if t[0] == tool and fragment in t[1]], (tool, fragment, tools)
    assert sorted(p.name for p in sandbox.path("BIN_DIR").iterdir()) == before
    assert "ya estaba" in (sandbox.state / "progreso").read_text()
    # Mismo estado final: apps aplicadas y desplegadas otra vez (idempotente), sin fallos.
    assert [c for c in again if c.tool == "kubectl" and c.args.startswith("apply")]


def test_changed_apps_are_rebuilt_and_restarted_on_rerun(sandbox: Sandbox) -> None:
    assert_success(sandbox, sandbox.run())
    first = len(sandbox.calls())
    main = sandbox.path("CURSO_ROOT") / "apps" / "bff" / "main.py"
    main.write_text(main.read_text() + "\n# cambio\n")
    assert_success(sandbox, sandbox.run(BUNDLE="/nonexistent/curso.tar.gz"))
    again = sandbox.calls()[first:]
    assert len([c for c in again if c.tool == "docker" and c.args.startswith("build ")]) == 3
    assert [c for c in again if c.tool == "kubectl" and "rollout restart deployment.apps/" in c.args]
    assert not [c for c in again if c.tool in ("curl", "istioctl")]


def test_image_loading_function_alone(sandbox: Sandbox, tmp_path: Path) -> None:
    course = tmp_path / "checkout"
    shutil.copytree(REPO / "apps", course / "apps")
    result = sandbox.run("imagenes", CURSO_ROOT=str(course))
    assert result.returncode == 0, result.stderr
    assert len(sandbox.find("docker", "build ")) == 3
    assert sandbox.one("ctr", "images import")
    assert not sandbox.find("kubectl") and not sandbox.find("istioctl")
    assert not sandbox.state.exists()  # no toca el estado de Killercoda

    # En kind, el mismo camino que en el sandbox, dentro del contenedor del nodo (no `kind load`).
    (Path(sandbox.env["FAKE_STATE"]) / "ctr.images").unlink()
    result = sandbox.run("imagenes", CURSO_ROOT=str(course), IMAGE_TARGET="kind:curso")
    assert result.returncode == 0, result.stderr
    assert {c.args for c in sandbox.find("kind")} == {"get nodes --name curso"}
    inside = sandbox.find("docker", "exec ")
    assert "exec -i curso-control-plane ctr -n k8s.io images import --platform linux/amd64 -" in [
        c.args for c in inside]
    assert "exec -i curso-control-plane ctr -n k8s.io images ls -q" in [c.args for c in inside]
    assert sorted((Path(sandbox.env["FAKE_STATE"]) / "ctr.images").read_text().split()) == [
        f"docker.io/library/{i}" for i in manifest_images()]


def test_whole_setup_on_kind_from_a_checkout(sandbox: Sandbox, tmp_path: Path) -> None:
    course = tmp_path / "checkout"
    shutil.copytree(REPO / "apps", course / "apps")
    shutil.copytree(REPO / "tools", course / "tools")
    result = sandbox.run(CURSO_ROOT=str(course), BUNDLE=str(tmp_path / "no-existe.tar.gz"),
                         IMAGE_TARGET="kind:curso")
    assert_success(sandbox, result)
    # Las apps y las imágenes de Istio, importadas en el nodo kind como en el sandbox.
    imports = [c for c in sandbox.find("docker", "exec -i curso-control-plane ctr -n k8s.io images import")]
    assert len(imports) == 3 and all(c.rc == 0 for c in imports)  # las apps, pilot y proxyv2
    assert [c.args.split()[-1] for c in sandbox.find("docker", "pull ")] == [
        f"{operator_hub()}/{name}:{ISTIO_VERSION}" for name in ("pilot", "proxyv2")]
    assert not sandbox.find("crictl") and not sandbox.find("kind", "load")
    assert sandbox.one("istioctl", "install").end < sandbox.one("kubectl", "apply").start


def test_a_tag_bump_in_the_manifests_is_built_imported_and_rolled_out(sandbox: Sandbox, tmp_path: Path) -> None:
    course = checkout(tmp_path)
    old = manifest_images(course)
    for path in (course / "apps" / "k8s").glob("*.yaml"):
        path.write_text(re.sub(r"(image:\s*[\w./-]+):[\w.-]+", r"\1:2.3.4-rc1", path.read_text()))
    new = manifest_images(course)
    assert new != old and all(i.endswith(":2.3.4-rc1") for i in new), new

    assert_success(sandbox, sandbox.run(CURSO_ROOT=str(course), BUNDLE=str(tmp_path / "no-existe.tar.gz")))
    built = sorted(re.search(r" -t (\S+)", b.args).group(1) for b in sandbox.find("docker", "build "))
    assert built == new
    assert sorted(i for i in (Path(sandbox.env["FAKE_STATE"]) / "ctr.images").read_text().split()
                  if "/library/" in i) == sorted(f"docker.io/library/{i}" for i in new)
    rollouts = sandbox.find("kubectl", "rollout status deployment.apps/")
    assert len(rollouts) == len(new) and all(r.rc == 0 for r in rollouts)
    assert not [c for c in sandbox.calls() if any(i in c.args for i in old)]


IMPORT_LINE = 'docker save "$@" | on_node "$node" ctr -n k8s.io images import --platform "$platform" -'
IMPORT_CHECK = 'missing=$(missing_images "${refs[@]}") ||'


def setup_dropping_first_image(tmp_path: Path, check: bool) -> Path:
    """Un setup.sh roto que se deja la primera imagen al importarlas (y, si check=False, sin la
    comprobación de después de importar)."""
    text = SETUP.read_text()
    assert IMPORT_LINE in text and IMPORT_CHECK in text
    text = text.replace(IMPORT_LINE, IMPORT_LINE.replace('"$@"', '"${@:2}"'))
    if not check:
        text = text.replace(IMPORT_CHECK, "missing= ||")
    broken = tmp_path / "setup-roto.sh"
    broken.write_text(text)
    return broken


def test_an_image_left_out_of_the_import_is_reported_by_name_at_once(sandbox: Sandbox, tmp_path: Path) -> None:
    missing = sorted(manifest_images())[0]  # image_refs las ordena: la primera es la que falta
    result = sandbox.run(script=setup_dropping_first_image(tmp_path, check=True))
    assert result.returncode != 0
    failure = (sandbox.state / "fallo").read_text()
    assert "etapa=imagenes\n" in failure and f"containerd no tiene docker.io/library/{missing} " in failure
    assert not sandbox.find("kubectl", "apply") and not sandbox.find("kubectl", "rollout status deployment.apps/")


def test_without_the_check_the_cluster_fails_like_kubernetes(sandbox: Sandbox, tmp_path: Path) -> None:
    """Sin la comprobación, el clúster falso no tiene la imagen y los pods de ese despliegue quedan
    en ErrImageNeverPull (imagePullPolicy: Never), como en Kubernetes: lo que la comprobación evita."""
    missing = sorted(manifest_images())[0]
    deployment = missing.split(":")[0]

    result = sandbox.run(script=setup_dropping_first_image(tmp_path, check=False), ROLLOUT_TIMEOUT="7")
    assert result.returncode != 0
    app_save = next(c for c in sandbox.find("docker", "save ") if "bff:" in c.args)
    assert missing not in app_save.args.split()[1:]
    failed = [r for r in sandbox.find("kubectl", "rollout status deployment.apps/") if r.rc != 0]
    assert {r.args.split("/")[1].split()[0] for r in failed} == {deployment}
    failure = (sandbox.state / "fallo").read_text()
    assert "etapa=pods\n" in failure and f"deployment.apps/{deployment} no estuvo listo en 7 s" in failure
    # El diagnóstico del registro dice por qué, como `kubectl get pods` y los eventos de un clúster.
    assert re.search(rf"^{deployment}-\S+ 0/2 ErrImageNeverPull ", sandbox.log, re.M), sandbox.log
    assert f'Container image "{missing}" is not present with pull policy of Never' in sandbox.log
    assert not (sandbox.state / "listo").exists()


def test_the_last_progress_line_is_written_before_the_listo_marker(sandbox: Sandbox) -> None:
    """La carrera que dejaba a foreground.sh sin «Entorno listo»: si el marcador llegaba antes que
    la última línea de progreso, el primer plano terminaba sin leerla. Un `mv` espía mira el
    progreso en el instante en que se crea el marcador."""
    spy = sandbox.tmp / "espia"
    spy.mkdir()
    seen = sandbox.tmp / "progreso-al-crear-listo"
    (spy / "mv").write_text(f"""#!/bin/sh
case "$*" in */listo) cp "$STATE_DIR/progreso" {seen} ;; esac
exec /bin/mv "$@"
""")
    (spy / "mv").chmod(0o755)
    assert_success(sandbox, sandbox.run(PATH=f"{spy}:{sandbox.env['PATH']}"))
    assert "✔ Entorno listo en" in seen.read_text().splitlines()[-1]


def test_foreground_follows_setup_and_ends_with_listo(sandbox: Sandbox) -> None:
    env = {**sandbox.env, "PATH": "/usr/bin:/bin", "FOREGROUND_TIMEOUT": "60"}
    fg = subprocess.Popen([BASH, str(FOREGROUND)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        assert_success(sandbox, sandbox.run())
        out, err = fg.communicate(timeout=60)
    finally:
        if fg.poll() is None:
            fg.kill()
    assert fg.returncode == 0, err
    assert "Preparando el entorno" in out
    for title in ("Esperando los archivos del curso", "Instalando Istio", "Entorno listo"):
        assert title in out, out
    assert re.search(r"\[\s*\d+ s\] ▸ Desplegando", out)
    tail = out.rstrip("\n").splitlines()
    assert any(line.startswith("✔ Listo") for line in tail)
    assert tail[-1].strip() == "kubectl get pods"


def test_foreground_timeout_tells_the_learner_what_to_do(sandbox: Sandbox) -> None:
    # Los archivos ya desempaquetados, y setup.sh sin terminar nunca.
    shutil.copytree(REPO / "tools", sandbox.path("CURSO_ROOT") / "tools")
    result = sandbox.foreground(FOREGROUND_TIMEOUT="1")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sigue sin terminar" in out and "sigue en marcha en segundo plano" in out
    assert f"{sandbox.env['STATE_DIR']}/listo" in out and "kubectl get pods" in out and "2/2" in out
    assert f"Registro completo: {sandbox.env['LOG_FILE']}" in out
    assert f"bash {sandbox.env['CURSO_ROOT']}/setup.sh" in out
    assert "paso 1" in out


def test_foreground_waits_a_bounded_time_for_the_files_and_says_so(sandbox: Sandbox) -> None:
    """Killercoda lanza el primer plano a la vez que setup.sh, antes de que exista la vista de espera
    (viene en curso.tar.gz): la espera tiene límite y, si los archivos no llegan, lo dice."""
    started = time.monotonic()
    result = sandbox.foreground(FOREGROUND_FILES_TIMEOUT="2")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    out = result.stdout
    assert out.startswith("Preparando el entorno del curso: esperando a sus archivos…\n")
    assert "⚠ Los archivos del curso no han llegado en " in out and "sigue en segundo plano" in out
    assert f"Registro completo: {sandbox.env['LOG_FILE']}" in out


def test_foreground_survives_being_typed_into_a_shell(sandbox: Sandbox) -> None:
    """Como en Killercoda: las líneas se teclean en un bash interactivo que empieza antes que
    setup.sh (sin los archivos aún), y la terminal sigue viva al terminar, con «Listo» y la última
    línea de progreso."""
    typed = FOREGROUND.read_text() + "echo LA_TERMINAL_SIGUE_VIVA\n"
    env = {**sandbox.env, "PATH": "/usr/bin:/bin", "HISTFILE": "/dev/null"}
    shell = subprocess.Popen(["bash", "--norc", "--noprofile", "-i"], stdin=subprocess.PIPE, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        shell.stdin.write(typed)  # tecleado ya: el primer plano espera a los archivos
        shell.stdin.flush()
        assert_success(sandbox, sandbox.run())
        out, err = shell.communicate(timeout=60)
    finally:
        if shell.poll() is None:
            shell.kill()
    assert "✔ Listo" in out, out + err
    assert "✔ Entorno listo en" in out
    assert out.index("✔ Entorno listo en") < out.index("✔ Listo") < out.index("LA_TERMINAL_SIGUE_VIVA")
    assert "event not found" not in err


def test_foreground_has_no_typing_hazards() -> None:
    text = FOREGROUND.read_text()
    # Killercoda lo teclea en la terminal de quien aprende: pocas líneas, que ejecutan la vista de
    # espera del paquete (la lógica vive en tools/sandbox-wait, con su propio shellcheck).
    commands = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(commands) <= 3, commands
    assert "tools/sandbox-wait" in text and (REPO / "tools" / "sandbox-wait").is_file()
    assert text.endswith("\n") and not text.endswith("\n\n"), "líneas en blanco al final"
    assert "\t" not in text, "un tabulador escrito en la terminal dispara el autocompletado"
    assert "!" not in text.split("\n", 1)[1], "«!» activa la expansión del historial al teclearlo"


def test_index_json_intro_and_asset() -> None:
    import json
    index = json.loads((REPO / "index.json").read_text())
    intro = index["details"]["intro"]
    assert intro["background"] == "setup.sh" and intro["foreground"] == "foreground.sh"
    assert {"file": "curso.tar.gz", "target": "/root"} in index["details"]["assets"]["host01"]
    assert index["backend"]["imageid"] == "kubernetes-kubeadm-1node-4GB"
    assert (REPO / intro["background"]).is_file() and (REPO / intro["foreground"]).is_file()
