"""Lo que la vista previa tiene vivo: el terminal (una transcripción), la cola de trabajos que
ejecuta bloques y verify.sh uno tras otro, y el laboratorio que arranca y apaga.

Nada de aquí recibe texto de un comando desde fuera: un trabajo es un Block de lab.course.model o el
verify.sh de una Page, y quien los encola (server.py) los saca del curso recién leído.
"""

from __future__ import annotations

import itertools
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lab.course.model import Block, Page
from lab.course.play import CourseShell
from lab.ctl.shell import course_environment

PROMPT = "controlplane:~$ "
MAX_ENTRIES = 4000
BLOCK_TIMEOUT = 300
VERIFY_TIMEOUT = 120
LAB_DOWN_TIMEOUT = 180


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


# --------------------------------------------------------------------------- shell


@dataclass(frozen=True)
class Result:
    exit_code: int
    output: str


class Shell(Protocol):
    # → algo con .exit_code y .output (BlockResult de lab.course.play); on_output recibe la salida a trozos
    def run(self, block: Block, on_output: Callable[[str], None] | None = None) -> Any: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


def default_environment(root: Path) -> dict[str, str]:
    """El entorno de lab.ctl.shell.course_environment (kubectl/istioctl del laboratorio en el PATH)."""
    return course_environment(root)


def default_shell(env: dict[str, str], cwd: Path) -> Shell:
    """CourseShell de lab.course.play (un bash persistente, como la terminal de Killercoda)."""
    return CourseShell(env=env, cwd=cwd).start()  # type: ignore[return-value]


def run_verify(page: Page, cwd: Path, env: dict[str, str]) -> Result:
    """El verify.sh de una página, como en Killercoda: pasa si sale con 0 (desde la carpeta de inicio)."""
    assert page.verify is not None
    try:
        done = subprocess.run(
            ["bash", str(page.verify)], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=VERIFY_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return Result(124, f"(verify.sh no terminó en {VERIFY_TIMEOUT} s)")
    return Result(done.returncode, done.stdout)


# --------------------------------------------------------------------------- laboratorio


class Lab:
    """El laboratorio de la vista previa: `lab up --detach` al empezar, `lab down` al salir (siempre)."""

    def __init__(self, root: Path, terminal: Terminal, command: list[str] | None = None, enabled: bool = True) -> None:
        self.root = root
        self.terminal = terminal
        self.command = command or [sys.executable, "-m", "lab"]
        self.enabled = enabled
        self.state = "arrancando" if enabled else "sin-lab"
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = False
        self.ready = threading.Event()

    def start(self) -> None:
        if not self.enabled:
            self.terminal.write("sys", "Vista previa sin laboratorio: los botones Ejecutar y Comprobar están desactivados.")
            return
        self._thread = threading.Thread(target=self._up, name="lab-up", daemon=True)
        self._thread.start()

    def _up(self) -> None:
        argv = [*self.command, "up", "--detach", "--course", str(self.root)]
        self.terminal.write("sys", "Arrancando el laboratorio (lab up --detach)…")
        try:
            with self._lock:
                if self._stopping:
                    return
                self._proc = subprocess.Popen(
                    argv, cwd=self.root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True, start_new_session=True,
                )
            assert self._proc.stdout is not None
            for line in self._proc.stdout:
                self.terminal.write("sys", line.rstrip("\n"))
            code = self._proc.wait()
        except OSError as exc:
            self.terminal.write("fail", f"No se pudo arrancar el laboratorio: {exc}")
            self.state = "error"
            return
        if self._stopping:
            return
        if code == 0:
            self.state = "listo"
            self.terminal.write("ok", "Laboratorio listo: pulsa ▶ Ejecutar en los bloques del texto.")
            self.ready.set()
        else:
            self.state = "error"
            self.terminal.write("fail", f"El laboratorio no arrancó (lab up salió con {code}).")

    def stop(self) -> None:
        """Para `lab up` si sigue en marcha y ejecuta `lab down`. Idempotente."""
        if not self.enabled or self._stopping:
            return
        with self._lock:
            self._stopping = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.state = "parando"
        argv = [*self.command, "down", "--course", str(self.root)]
        print("Apagando el laboratorio (lab down)…", file=sys.stderr, flush=True)
        try:
            done = subprocess.run(
                argv, cwd=self.root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, timeout=LAB_DOWN_TIMEOUT,
            )
            if done.stdout.strip():
                print(done.stdout.rstrip(), file=sys.stderr, flush=True)
            if done.returncode != 0:
                print(f"lab down salió con {done.returncode}", file=sys.stderr, flush=True)
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"lab down falló: {exc}", file=sys.stderr, flush=True)
        self.state = "parado"


# --------------------------------------------------------------------------- trabajos


@dataclass
class Job:
    id: int
    kind: str  # "run" | "check"
    target: str  # id de bloque o slug de página
    state: str = "en-cola"  # "en-cola" | "ejecutando" | "hecho"
    exit_code: int | None = None
    started: float = field(default_factory=time.monotonic)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "target": self.target, "state": self.state, "exit": self.exit_code}


class Runner:
    """Una cola y un hilo: los bloques y las comprobaciones se ejecutan de uno en uno, en orden.

    Como `lab play`: una terminal bash persistente (CourseShell) que empieza en una carpeta de inicio
    vacía (HOME, como /root en Killercoda) con ~/curso → el curso; verify.sh corre desde ahí.
    Un {{exec interrupt}} manda Ctrl-C al bloque que esté corriendo, como Killercoda.
    """

    def __init__(
        self,
        root: Path,
        terminal: Terminal,
        env_factory: Callable[[Path], dict[str, str]] = default_environment,
        shell_factory: Callable[[dict[str, str], Path], Shell] = default_shell,
        verifier: Callable[[Page, Path, dict[str, str]], Result] = run_verify,
    ) -> None:
        self.root = root
        self.terminal = terminal
        self.env_factory = env_factory
        self.shell_factory = shell_factory
        self.verifier = verifier
        self._queue: queue.Queue[tuple[Job, Any] | None] = queue.Queue()
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._shell: Shell | None = None
        self._env: dict[str, str] | None = None
        self._home: tempfile.TemporaryDirectory[str] | None = None
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
                if self._shell is not None:
                    self._shell.interrupt()
            time.sleep(0.5)

    def jobs(self) -> list[dict[str, Any]]:
        with self._lock:
            return [j.as_json() for j in self._jobs.values()]

    @property
    def home(self) -> Path:
        """La carpeta de inicio de la terminal (se crea la primera vez)."""
        if self._home is None:
            self._home = tempfile.TemporaryDirectory(prefix="lab-preview-home-")
            (Path(self._home.name) / "curso").symlink_to(self.root)
        return Path(self._home.name)

    def _environment(self) -> dict[str, str]:
        if self._env is None:
            self._env = {**self.env_factory(self.root), "HOME": str(self.home)}
        return self._env

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, payload = item
            with self._lock:
                self._current = job
            job.state = "ejecutando"
            try:
                code = self._run_block(job, payload) if job.kind == "run" else self._check(job, payload)
            except Exception as exc:  # noqa: BLE001 - se muestra en el terminal y se sigue
                self.terminal.write("fail", f"Error de la vista previa: {exc}", job.id)
                if self._shell is not None and not getattr(self._shell, "alive", True):
                    self._shell = None  # p. ej. un `exit` en un bloque: la próxima vez, terminal nueva
                code = 1
            with self._lock:
                self._current = None
            job.exit_code = code
            job.state = "hecho"
            self.terminal.write("end", job.kind, job.id, code)

    def _run_block(self, job: Job, block: Block) -> int:
        self.terminal.write("cmd", typed(block.code), job.id)
        if self._shell is None:
            self._shell = self.shell_factory(self._environment(), self.home)

        def stream(text: str) -> None:
            if text.strip("\n"):
                self.terminal.write("out", text.rstrip("\n"), job.id)

        result = self._shell.run(block, on_output=stream)
        if getattr(result, "timed_out", False):
            self.terminal.write("fail", "(el bloque tardó demasiado: se le mandó Ctrl-C)", job.id)
        return int(getattr(result, "exit_code", 1))

    def _check(self, job: Job, page: Page) -> int:
        assert page.verify is not None
        rel = page.verify.relative_to(self.root).as_posix() if page.verify.is_relative_to(self.root) else str(page.verify)
        self.terminal.write("sys", f"Comprobando «{page.title}» ({rel})…", job.id)
        result = self.verifier(page, self.home, self._environment())
        if result.output.strip():
            self.terminal.write("out", result.output.rstrip("\n"), job.id)
        if result.exit_code == 0:
            self.terminal.write("ok", f"✔ Comprobación superada: «{page.title}».", job.id)
        else:
            self.terminal.write("fail", f"✘ Todavía no: verify.sh salió con {result.exit_code}.", job.id)
        return result.exit_code

    def close(self) -> None:
        """Ctrl-C a lo que corra, para el hilo, cierra la terminal y borra la carpeta de inicio."""
        shell = self._shell
        if shell is not None and self._current is not None:
            shell.interrupt()
        self._queue.put(None)
        self._thread.join(timeout=15)
        self._shell = None
        if shell is not None:
            try:
                shell.close()
            except Exception as exc:  # noqa: BLE001
                print(f"No se pudo cerrar la terminal: {exc!r}", file=sys.stderr)
        if self._home is not None:
            self._home.cleanup()
            self._home = None
