"""`lab up`, `lab up --detach`, `lab down` y `lab status`.

- `lab up`: el supervisor corre en este proceso hasta Ctrl-C (o SIGTERM, o `lab down`).
- `lab up --detach`: lanza el supervisor como proceso aparte (su propia sesión, salida en
  .lab/supervisor.log) y vuelve cuando todo está listo; si algo falla, muestra el error y sale con 1.
- `lab down`: pide parar al supervisor (SIGTERM) y espera; si el supervisor ya no existe, para por
  PID lo que quedara anotado en .lab/state.json. Nunca mata por nombre.
"""

from __future__ import annotations

import faulthandler
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lab.cluster.procs import alive, kill_recorded, signal_group
from lab.cluster.state import LabState, load_stale_state, load_state, state_dir, state_file
from lab.errors import LabError

DETACH_TIMEOUT = 60.0


def up(course_root: Path, detach: bool) -> int:
    _refuse_if_running(course_root)
    _clean_leftovers(course_root)
    state_dir(course_root).mkdir(exist_ok=True)
    if detach:
        return _up_detached(course_root)
    return supervise(course_root, detached=False)


def _refuse_if_running(course_root: Path) -> None:
    state = load_state(course_root)
    if state is not None:
        raise LabError(
            f"El laboratorio ya está en marcha (supervisor PID {state.supervisor.pid}). "
            "Usa «lab down» para pararlo antes de arrancarlo otra vez."
        )


def supervise(course_root: Path, detached: bool = True) -> int:
    """El cuerpo del supervisor: en primer plano (`lab up`) o separado (`lab up --detach` lo lanza así)."""
    # Only here, in the supervisor's process: `lab up --detach`, `down` and `status` start no supervisor,
    # and these imports (API server, controllers, schemas: ~0.3 s of CPU) would only delay them.
    from lab.cluster import launcher  # noqa: PLC0415

    early = launcher.start(course_root.resolve(), state_dir(course_root))  # FastAPI's import, while this one imports
    try:
        from lab.cluster.supervisor import Supervisor  # noqa: PLC0415

        supervisor = Supervisor(course_root, early, log=functools.partial(print, flush=True))
    except BaseException:
        early.stop()
        raise

    supervisor.install_signal_handlers()
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <PID>`: each thread's stack, in supervisor.log
    try:
        supervisor.start()
    except LabError as exc:
        if not detached:
            raise
        print(f"ERROR: {exc}", flush=True)  # _up_detached lo lee de supervisor.log
        return 1
    state = load_stale_state(course_root)
    assert state is not None
    print(ready_message(supervisor.ready_seconds or 0.0, state), flush=True)
    if not detached:
        print("Ctrl-C para pararlo.", flush=True)
    try:
        supervisor.wait()
    finally:
        supervisor.shutdown()
    print("Laboratorio detenido: no queda ningún proceso suyo.", flush=True)
    return 0


def _up_detached(course_root: Path) -> int:
    log_path = state_dir(course_root) / "supervisor.log"
    t0 = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lab", "--course", str(course_root), "_supervise"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + DETACH_TIMEOUT
    while True:
        code = proc.poll()
        state = load_stale_state(course_root)
        if code is None and state and state.phase == "ready" and state.supervisor.pid == proc.pid:
            print(ready_message(time.monotonic() - t0, state), flush=True)
            return 0
        if code is not None:
            text = log_path.read_text(encoding="utf-8", errors="replace").strip()
            error = text.split("ERROR: ", 1)[1] if "ERROR: " in text else text or f"código {code}"
            raise LabError(f"El laboratorio no pudo arrancar: {error}")
        if time.monotonic() > deadline:
            signal_group(proc.pid, signal.SIGTERM)
            raise LabError(f"El laboratorio no estuvo listo en {DETACH_TIMEOUT:.0f} s (mira {log_path}).")
        time.sleep(0.02)


def ready_message(seconds: float, state: LabState) -> str:
    """node_urls: Topology.node_urls() («bff: http://127.0.0.1:30000»), de los NodePort de los manifiestos."""
    return (
        f"Laboratorio listo en {seconds:.1f} s: {len(state.pods)} pods, cada uno con su sidecar Envoy. {state.node_urls}\n"
        f"API de Kubernetes en http://127.0.0.1:{state.api_port}; kubeconfig: {state.kubeconfig} "
        "(«lab kubectl …» o «lab shell» lo usan)."
    )


def down(course_root: Path, quiet: bool = False) -> int:
    state = load_state(course_root)
    if state is None:
        leftovers = _clean_leftovers(course_root)
        if not quiet:
            print("El laboratorio no estaba en marcha." + (f" Parados {leftovers} procesos huérfanos." if leftovers else ""))
        return 0
    pid, started = state.supervisor.pid, state.supervisor.started
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while alive(pid, started) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid, started):
        os.kill(pid, signal.SIGKILL)
    _clean_leftovers(course_root, state)
    if not quiet:
        print("Laboratorio detenido: no queda ningún proceso suyo.")
    return 0


def _clean_leftovers(course_root: Path, state: LabState | None = None) -> int:
    """Para, por PID y hora de inicio, lo que un supervisor muerto hubiera dejado."""
    state = state or load_stale_state(course_root)
    if not state:
        return 0
    if not alive(state.supervisor.pid, state.supervisor.started):
        state_file(course_root).unlink(missing_ok=True)
    return kill_recorded([(p.pid, p.started) for p in state.processes()])


def status(course_root: Path) -> int:
    state = load_state(course_root)
    if state is None:
        print("El laboratorio no está en marcha.")
        return 3
    age = time.time() - state.started
    print(
        f"Laboratorio {_phase(state.phase)} (supervisor PID {state.supervisor.pid}, desde hace {age:.0f} s); "
        f"{state.node_urls}"
    )
    if state.error:
        print(f"Último error: {state.error}")
    print(f"API de Kubernetes: http://127.0.0.1:{state.api_port} (kubeconfig {state.kubeconfig}; «lab kubectl get pods»)")
    width = max([len(p.name) for p in state.pods] + [3])
    print(f"{'POD':<{width}}   {'IP':<12}  PID app / sidecar")
    for pod in state.pods:
        pids = " / ".join(str(c.process.pid if c.process else None) for c in pod.containers)
        print(f"{pod.name:<{width}}   {pod.ip:<12}  {pids}")
    return 0 if state.phase == "ready" else 1


def _phase(phase: str) -> str:
    return {"ready": "en marcha", "starting": "arrancando", "stopping": "parándose"}.get(phase, phase)
