"""La sesión de quien aprende, escrita una vez para `lab play`, `lab play --cluster` y la vista previa.

- Un destino (`Target`): el laboratorio (`LabTarget`: `lab up --detach` al empezar, `lab down` al
  acabar, siempre) o un clúster de verdad (`ClusterTarget`: el del kubeconfig actual, con los
  `kubectl`, `istioctl` y `traza` del PATH; no arranca ni para nada).
- Una carpeta de inicio temporal (HOME, como /root en Killercoda) con `~/curso` → el curso.
- Una terminal (`CourseShell`), un ejecutor de verify.sh y un ejecutor de herramientas para observar
  (`tool`: `traza --recuento`, `kubectl …`) fuera de la terminal, sin ensuciar lo que se ve.
- Un solo juego de límites (`TIMEOUTS`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lab.course.model import Block, Page
from lab.course.terminal import TIMEOUTS, BlockResult, CourseShell, Output, Timeouts
from lab.ctl.shell import course_environment

LAB_DOWN_TIMEOUT = 180.0  # s que puede tardar `lab down`
TOOL_TIMEOUT = 60.0  # s de una orden de observación (traza, kubectl)


class PlayFailure(Exception):
    """Un fallo del curso en un fichero y una línea: «fichero:línea: mensaje»."""

    def __init__(self, file: Path, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.message = file, line, message


@dataclass(frozen=True)
class VerifyResult:
    exit_code: int
    output: str


# ============================================================================ destinos


class Target(Protocol):
    """Dónde corre el curso: lo que hay que arrancar y parar, y el entorno de las órdenes."""

    noun: str  # cómo lo nombran los mensajes: «el laboratorio», «el clúster»
    is_cluster: bool  # un clúster de verdad: se comprueba antes y se deja como estaba

    def up(self, out: Output) -> int: ...

    def down(self, out: Output) -> int: ...

    def cancel(self) -> None: ...

    def environment(self) -> dict[str, str]: ...


class LabTarget:
    """Un laboratorio nuevo: `lab up --detach` y `lab down` (`command` = `python -m lab` o un doble de pruebas)."""

    noun = "el laboratorio"
    is_cluster = False

    def __init__(self, root: Path, command: list[str] | None = None) -> None:
        self.root = Path(root).resolve()
        self.command = command or [sys.executable, "-m", "lab"]
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._cancelled = False

    def argv(self, *words: str) -> list[str]:
        return [*self.command, *words, "--course", str(self.root)]

    def shown(self, *words: str) -> str:
        """La orden como la leería una persona («lab up --detach»)."""
        return " ".join(["lab", *words])

    def running(self) -> str | None:
        """Lo que dice `lab status` si ya hay un laboratorio de este curso en marcha; None si no."""
        done = subprocess.run(self.argv("status"), cwd=self.root, capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT, check=False)
        return None if done.returncode == 3 else done.stdout.strip()

    def up(self, out: Output) -> int:
        """`lab up --detach`, con su salida en `out`; su código de salida (0: listo)."""
        return self._stream(self.argv("up", "--detach"), out)

    def down(self, out: Output) -> int:
        return self._stream(self.argv("down"), out, timeout=LAB_DOWN_TIMEOUT)

    def cancel(self) -> None:
        """Para un `lab up` que siga en marcha (desde otro hilo); `down` limpia después."""
        with self._lock:
            self._cancelled = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def environment(self) -> dict[str, str]:
        return course_environment(self.root)

    def _stream(self, argv: list[str], out: Output, timeout: float | None = None) -> int:
        with self._lock:
            if self._cancelled and argv[len(self.command)] == "up":
                return 1
            proc = self._proc = subprocess.Popen(
                argv, cwd=self.root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True,  # un Ctrl-C de la terminal no lo corta a medias: lo para quien lo lanzó
            )
        assert proc.stdout is not None
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        try:
            for raw in iter(proc.stdout.readline, b""):
                out(raw.decode(errors="replace"))
            return proc.wait()
        except BaseException:
            proc.terminate()
            proc.wait(timeout=30)
            raise
        finally:
            if timer:
                timer.cancel()
            proc.stdout.close()
            with self._lock:
                self._proc = None


class ClusterTarget:
    """El clúster del kubeconfig actual, con los `kubectl`, `istioctl` y `traza` que haya en el PATH."""

    noun = "el clúster"
    is_cluster = True

    def up(self, out: Output) -> int:
        return 0

    def down(self, out: Output) -> int:
        return 0

    def cancel(self) -> None:
        pass

    def environment(self) -> dict[str, str]:
        """El entorno actual; la terminal tendrá otra HOME, así que el kubeconfig se nombra explícito
        (kubectl e istioctl lo buscan en $KUBECONFIG o en ~/.kube/config)."""
        env = dict(os.environ)
        if not env.get("KUBECONFIG"):
            env["KUBECONFIG"] = str(Path.home() / ".kube" / "config")
        return env


# ============================================================================ la sesión


class Session:
    """La terminal de quien aprende y lo que corre a su lado, sobre una carpeta de inicio temporal.

    with Session(root, target.environment()) as session:
        session.run(block); session.verify(page); session.tool(["traza", "--recuento"])
    """

    def __init__(self, root: Path, env: dict[str, str], timeouts: Timeouts = TIMEOUTS) -> None:
        self.root = Path(root).resolve()
        self.timeouts = timeouts
        self._base_env = dict(env)
        self._home: tempfile.TemporaryDirectory[str] | None = None
        self._shell: CourseShell | None = None

    @property
    def home(self) -> Path:
        """La carpeta de inicio: vacía salvo `curso` → el curso (se crea la primera vez)."""
        if self._home is None:
            self._home = tempfile.TemporaryDirectory(prefix="lab-home-")
            (Path(self._home.name) / "curso").symlink_to(self.root)
        return Path(self._home.name)

    @property
    def env(self) -> dict[str, str]:
        return {**self._base_env, "HOME": str(self.home)}

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, block: Block | str, *, interrupt_after: float | None = None,
            on_output: Output | None = None) -> BlockResult:
        """Teclea un bloque en la terminal (una nueva si la anterior se cerró, p. ej. con `exit`)."""
        if self._shell is None or not self._shell.alive:
            if self._shell is not None:
                self._shell.close()
            self._shell = CourseShell(env=self.env, cwd=self.home).start()
        return self._shell.run(block, timeout=self.timeouts.block, interrupt_after=interrupt_after,
                               on_output=on_output)

    def verify(self, page: Page) -> VerifyResult:
        """El verify.sh de la página, como en Killercoda: pasa si sale con 0 (desde la carpeta de inicio)."""
        assert page.verify is not None
        try:
            done = subprocess.run(
                ["bash", str(page.verify)], cwd=self.home, env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=self.timeouts.verify,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return VerifyResult(124, f"(verify.sh no terminó en {self.timeouts.verify:.0f} s)")
        return VerifyResult(done.returncode, done.stdout)

    def tool(self, argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Una herramienta de quien aprende (traza, kubectl) con el entorno de la terminal, fuera de ella."""
        try:
            return subprocess.run(argv, cwd=self.home, env=self.env, input=stdin, capture_output=True, text=True,
                                  timeout=TOOL_TIMEOUT, check=False)
        except FileNotFoundError:
            return subprocess.CompletedProcess(argv, 127, "", f"{argv[0]}: no está en el PATH")
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 124, "", f"«{' '.join(argv)}» no terminó en {TOOL_TIMEOUT:.0f} s")

    def close(self) -> None:
        """Cierra la terminal y borra la carpeta de inicio."""
        shell, self._shell = self._shell, None
        if shell is not None:
            shell.close()
        if self._home is not None:
            self._home.cleanup()
            self._home = None
