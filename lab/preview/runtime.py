"""Lo que la vista previa tiene vivo: el terminal (una transcripción), la cola de trabajos que
ejecuta bloques y verify.sh uno tras otro sobre la sesión de quien aprende (lab/course/session.py,
la misma que `lab play`), y el laboratorio que arranca y apaga.

Nada de aquí recibe texto de un comando desde fuera: un trabajo es un Block de lab.course.model o el
verify.sh de una Page, y quien los encola (server.py) los saca del curso recién leído.
Los estados (del laboratorio y de los trabajos) son valores para la máquina, en inglés; lo que lee una
persona está en ui.py.
"""

from __future__ import annotations

import itertools
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.course.model import Block, Page
from lab.course.session import Session, Target

PROMPT = "controlplane:~$ "
MAX_ENTRIES = 4000

# Estados del laboratorio de la vista previa.
STARTING, READY, FAILED, NO_LAB, STOPPING, STOPPED = "starting", "ready", "error", "no-lab", "stopping", "stopped"
# Estados de un trabajo.
QUEUED, RUNNING, DONE = "queued", "running", "done"


# --------------------------------------------------------------------------- terminal


@dataclass
class Entry:
    n: int
    kind: str  # "cmd" | "out" | "end" | "sys" | "ok" | "fail"
    text: str
    job: int | None = None
    exit_code: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"n": self.n, "kind": self.kind, "text": self.text, "job": self.job, "exit": self.exit_code}


class Terminal:
    """Transcripción del terminal: lo que el panel de la derecha muestra, en orden."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._counter = itertools.count(1)

    def write(self, kind: str, text: str, job: int | None = None, exit_code: int | None = None) -> None:
        with self._lock:
            self._entries.append(Entry(next(self._counter), kind, text, job, exit_code))
            if len(self._entries) > MAX_ENTRIES:
                del self._entries[: len(self._entries) - MAX_ENTRIES]

    def since(self, n: int) -> list[Entry]:
        with self._lock:
            return [e for e in self._entries if e.n > n]

    def text(self) -> str:
        with self._lock:
            return "\n".join(e.text for e in self._entries)


def typed(code: str) -> str:
    """Cómo se ve un bloque tecleado en la terminal: cada línea tras el prompt (o «> » si continúa)."""
    shown, more = [], False
    for line in code.split("\n"):
        shown.append(("> " if more else PROMPT) + line)
        more = line.rstrip().endswith("\\")
    return "\n".join(shown)


# --------------------------------------------------------------------------- laboratorio


class Lab:
    """El laboratorio de la vista previa sobre un Target: `up` en un hilo al empezar, `down` al salir (siempre)."""

    def __init__(self, target: Target | None, terminal: Terminal) -> None:
        self.target = target
        self.terminal = terminal
        self.state = STARTING if target is not None else NO_LAB
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = False
        self.ready = threading.Event()

    def start(self) -> None:
        if self.target is None:
            self.terminal.write("sys", "Vista previa sin laboratorio: los botones Ejecutar y Comprobar están desactivados.")
            return
        self._thread = threading.Thread(target=self._up, name="lab-up", daemon=True)
        self._thread.start()

    def _up(self) -> None:
        assert self.target is not None
        self.terminal.write("sys", "Arrancando el laboratorio (lab up --detach)…")
        try:
            code = self.target.up(lambda text: self.terminal.write("sys", text.rstrip("\n")))
        except OSError as exc:
            self.terminal.write("fail", f"No se pudo arrancar el laboratorio: {exc}")
            self.state = FAILED
            return
        with self._lock:
            if self._stopping:
                return
            if code == 0:
                self.state = READY
                self.terminal.write("ok", "Laboratorio listo: pulsa ▶ Ejecutar en los bloques del texto.")
                self.ready.set()
            else:
                self.state = FAILED
                self.terminal.write("fail", f"El laboratorio no arrancó (lab up salió con {code}).")

    def stop(self) -> None:
        """Para un `up` que siga en marcha y ejecuta `down`. Idempotente."""
        with self._lock:
            if self.target is None or self._stopping:
                return
            self._stopping = True
        self.target.cancel()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.state = STOPPING
        print("Apagando el laboratorio (lab down)…", file=sys.stderr, flush=True)
        try:
            code = self.target.down(lambda text: print(text.rstrip("\n"), file=sys.stderr, flush=True))
        except OSError as exc:
            code = -1
            print(f"lab down falló: {exc}", file=sys.stderr, flush=True)
        if code != 0:
            print(f"lab down salió con {code}", file=sys.stderr, flush=True)
        self.state = STOPPED


# --------------------------------------------------------------------------- trabajos


@dataclass
class Job:
    id: int
    kind: str  # "run" | "check"
    target: str  # id de bloque o slug de página
    state: str = QUEUED
    exit_code: int | None = None
    started: float = field(default_factory=time.monotonic)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "target": self.target, "state": self.state, "exit": self.exit_code}


class Runner:
    """Una cola y un hilo: los bloques y las comprobaciones se ejecutan de uno en uno, en orden, en la
    sesión de quien aprende (Session: una terminal bash persistente en una carpeta de inicio vacía con
    ~/curso → el curso; verify.sh corre desde ahí). Un {{exec interrupt}} manda Ctrl-C al bloque que
    esté corriendo, como Killercoda.
    """

    def __init__(self, root: Path, terminal: Terminal, env_factory: Callable[[], dict[str, str]]) -> None:
        self.root = root
        self.terminal = terminal
        self.env_factory = env_factory
        self._queue: queue.Queue[tuple[Job, Any] | None] = queue.Queue()
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._current: Job | None = None
        self._thread = threading.Thread(target=self._work, name="preview-runner", daemon=True)
        self._thread.start()

    def submit(self, kind: str, target: str, payload: Block | Page) -> Job:
        with self._lock:
            job = Job(next(self._ids), kind, target)
            self._jobs[job.id] = job
            if len(self._jobs) > 200:
                for old in sorted(self._jobs)[:-200]:
                    del self._jobs[old]
            current = self._current
        if isinstance(payload, Block) and payload.action == "exec interrupt" and current and current.kind == "run":
            self.terminal.write("sys", "^C", current.id)
            threading.Thread(target=self._interrupt, args=(current,), name="preview-ctrl-c", daemon=True).start()
        self._queue.put((job, payload))
        return job

    def _interrupt(self, job: Job) -> None:
        """Ctrl-C al bloque `job` mientras siga siendo el que corre (el primero puede llegar antes de
        que el bloque haya empezado de verdad: se repite cada medio segundo, 20 veces como mucho)."""
        for _ in range(20):
            with self._lock:
                if self._current is not job:
                    return
                if self._session is not None:
                    self._session.interrupt()
            time.sleep(0.5)

    def jobs(self) -> list[dict[str, Any]]:
        with self._lock:
            return [j.as_json() for j in self._jobs.values()]

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = Session(self.root, self.env_factory())
        return self._session

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, payload = item
            with self._lock:
                self._current = job
            job.state = RUNNING
            try:
                code = self._run_block(job, payload) if job.kind == "run" else self._check(job, payload)
            except Exception as exc:  # noqa: BLE001 - se muestra en el terminal y se sigue
                self.terminal.write("fail", f"Error de la vista previa: {exc}", job.id)
                code = 1
            with self._lock:
                self._current = None
            job.exit_code = code
            job.state = DONE
            self.terminal.write("end", job.kind, job.id, code)

    def _run_block(self, job: Job, block: Block) -> int:
        self.terminal.write("cmd", typed(block.code), job.id)

        def stream(text: str) -> None:
            if text.strip("\n"):
                self.terminal.write("out", text.rstrip("\n"), job.id)

        result = self.session.run(block, on_output=stream)
        if result.timed_out:
            self.terminal.write("fail", "(el bloque tardó demasiado: se le mandó Ctrl-C)", job.id)
        return result.exit_code

    def _check(self, job: Job, page: Page) -> int:
        assert page.verify is not None
        rel = page.verify.relative_to(self.root).as_posix() if page.verify.is_relative_to(self.root) else str(page.verify)
        self.terminal.write("sys", f"Comprobando «{page.title}» ({rel})…", job.id)
        result = self.session.verify(page)
        if result.output.strip():
            self.terminal.write("out", result.output.rstrip("\n"), job.id)
        if result.exit_code == 0:
            self.terminal.write("ok", f"✔ Comprobación superada: «{page.title}».", job.id)
        else:
            self.terminal.write("fail", f"✘ Todavía no: verify.sh salió con {result.exit_code}.", job.id)
        return result.exit_code

    def close(self) -> None:
        """Ctrl-C a lo que corra, para el hilo, cierra la terminal y borra la carpeta de inicio."""
        session = self._session
        if session is not None and self._current is not None:
            session.interrupt()
        self._queue.put(None)
        self._thread.join(timeout=15)
        self._session = None
        if session is not None:
            try:
                session.close()
            except Exception as exc:  # noqa: BLE001 - al cerrar se informa y se sigue cerrando
                print(f"No se pudo cerrar la terminal: {exc!r}", file=sys.stderr)
