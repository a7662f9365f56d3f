"""La terminal de quien aprende: un bash persistente en el que se teclean los bloques del curso.

    with CourseShell(env=env, cwd=home) as sh:
        result = sh.run(block, timeout=TIMEOUTS.block)   # Block de lab.course.model o texto

Lo que un bloque deja (cd, variables) lo ve el siguiente. Un bloque falla si alguna de sus órdenes
falla fuera de una condición (lo que dispararía `set -e`): la trampa ERR de bash guarda la primera,
con su línea. `interrupt()` es el Ctrl-C de Killercoda (al pulsar un {{exec interrupt}}).
"""

from __future__ import annotations

import base64
import contextlib
import os
import select
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab.course.model import Block

Output = Callable[[str], None]


@dataclass(frozen=True)
class Timeouts:
    """Los límites de la sesión de quien aprende, los mismos para `lab play`, `--cluster` y la vista previa."""

    block: float = 300.0  # s que puede tardar un bloque (un rollout lento en un clúster de verdad)
    verify: float = 120.0  # s de un verify.sh (traza llama varias veces a kubectl)
    interrupt_after: float = 8.0  # s que corre un bloque antes del Ctrl-C del siguiente {{exec interrupt}}
    settle: float = 10.0  # s que se espera a que las líneas de registro de una petición lleguen a kubectl logs


TIMEOUTS = Timeouts()


@dataclass(frozen=True)
class BlockResult:
    exit_code: int  # el de la primera orden que falló; 0 si ninguna
    output: str  # stdout y stderr mezclados, como en una terminal
    line: int | None = None  # línea (en el Markdown, si se pasó un Block) de la orden que falló
    command: str | None = None  # la orden que falló
    interrupted: bool = False  # se le mandó Ctrl-C (timeout o {{exec interrupt}} siguiente)
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class ShellClosed(RuntimeError):
    """La terminal bash terminó (p. ej. un `exit` en un bloque)."""


class CourseShell:
    """Una terminal bash persistente: lo que un bloque deja (cd, variables) lo ve el siguiente.

    with CourseShell(env=course_environment(root), cwd=root) as sh:
        result = sh.run(block)             # Block o texto
    """

    def __init__(self, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        self.cwd = Path(cwd) if cwd else Path.cwd()
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._count = 0
        self._marker = f"__LAB_DONE_{uuid.uuid4().hex}"
        self._buffer = b""
        self._interrupt_requested = False  # interrupt() (desde otro hilo) durante run()

    # ---------------------------------------------------------------- ciclo de vida

    def start(self) -> CourseShell:
        if self._proc is not None:
            return self
        self._tmp = tempfile.TemporaryDirectory(prefix="lab-play-")
        env = dict(self.env)
        env.setdefault("TERM", "dumb")
        self._proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            env=env,
            start_new_session=True,  # su propio grupo de procesos: Ctrl-C le llega a él y a sus hijos
        )
        # ERR: guarda la primera orden del bloque que falla (solo las del fichero del bloque, no la
        # de `source`). INT con trampa (y no ignorada): bash sobrevive al Ctrl-C, sus hijos no, y el
        # `return` abandona el resto del bloque, como Ctrl-C en una terminal abandona la línea.
        self._send(
            "__lab_fail_rc=0; __lab_block=\n"
            "trap '__lab_rc=$?; if [ \"$__lab_fail_rc\" = 0 ] && [ \"${BASH_SOURCE[0]:-}\" = \"$__lab_block\" ]; then "
            "__lab_fail_rc=$__lab_rc; __lab_fail_line=$LINENO; __lab_fail_cmd=$BASH_COMMAND; fi' ERR\n"
            "trap '__lab_int=1; return 130 2>/dev/null' INT\n"
        )
        self.run(":", timeout=30)  # espera a que bash haya puesto las trampas
        return self

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                if proc.stdin:
                    proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            if proc.stdout:
                proc.stdout.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> CourseShell:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ---------------------------------------------------------------- ejecutar

    def _send(self, text: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(text.encode())
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise ShellClosed("la terminal se cerró") from None

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT al grupo de procesos de la terminal (bash lo atrapa; las órdenes mueren).

        Se puede llamar desde otro hilo mientras run() espera: ese bloque acaba con interrupted=True
        y exit_code 0 (un Ctrl-C no es un fallo, como en Killercoda)."""
        self._interrupt_requested = True
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGINT)

    def run(
        self,
        block: Block | str,
        timeout: float = TIMEOUTS.block,
        interrupt_after: float | None = None,
        on_output: Output | None = None,
    ) -> BlockResult:
        """Teclea el bloque en la terminal y espera a que acabe.

        interrupt_after: a los N s, si no ha terminado, Ctrl-C (y no cuenta como fallo).
        timeout: a los N s, Ctrl-C y cuenta como fallo (timed_out).
        on_output: recibe la salida a trozos (líneas completas) según llega.
        """
        if self._proc is None:
            self.start()
        if not self.alive:
            raise ShellClosed("la terminal se cerró")
        code = block.code if isinstance(block, Block) else block
        base_line = block.line if isinstance(block, Block) else 1
        assert self._tmp is not None
        self._count += 1
        script = Path(self._tmp.name) / f"bloque-{self._count:03d}.sh"
        script.write_text(code + "\n", encoding="utf-8")
        quoted = str(script).replace("'", "'\\''")
        self._send(
            f"__lab_fail_rc=0; __lab_fail_line=0; __lab_fail_cmd=; __lab_block='{quoted}'\n"
            f"source '{quoted}' </dev/null\n"
            f"__lab_block=; printf '\\n%s %s %s %s\\n' {self._marker} \"$__lab_fail_rc\" \"$__lab_fail_line\" "
            f"\"$(printf %s \"$__lab_fail_cmd\" | base64 -w0)\"\n"
        )
        start = time.monotonic()
        self._interrupt_requested = False
        interrupted = timed_out = False
        chunks: list[bytes] = []
        printed = 0  # bytes de la salida ya entregados a on_output
        while True:
            done = self._find_marker()
            if done is not None:
                out, rc, line, cmd = done
                chunks.append(out)
                break
            elapsed = time.monotonic() - start
            if interrupt_after is not None and not interrupted and elapsed >= interrupt_after:
                interrupted = True
                self.interrupt()
            if elapsed >= timeout and not timed_out:
                timed_out = interrupted = True
                self.interrupt()
            if elapsed >= timeout + 10:
                self.close()
                raise ShellClosed(f"la terminal no respondió ni al Ctrl-C tras {timeout:.0f} s")
            if not self._read(0.2) and not self.alive:
                rest = self._buffer
                self._buffer = b""
                text = rest.decode(errors="replace")
                if on_output:
                    on_output(text[printed:])
                raise ShellClosed(f"la terminal se cerró (código {self._proc.returncode if self._proc else '?'})")
            if on_output and (b"\n" + self._marker.encode()) not in self._buffer:
                # Entrega las líneas completas que ya no pueden ser parte del marcador.
                # (si el búfer acaba en el principio del marcador, «\n__LAB_DONE…», eso no se entrega)
                cut = self._buffer.rfind(b"\n", 0, len(self._buffer) - self._marker_prefix_at_end())
                if cut >= printed:
                    on_output(self._buffer[printed:cut + 1].decode(errors="replace"))
                    printed = cut + 1
        output = b"".join(chunks).decode(errors="replace")
        if on_output and len(output.encode()) > printed:
            rest = output.encode()[printed:].decode(errors="replace")
            on_output(rest + ("\n" if rest and not rest.endswith("\n") else ""))
        interrupted = interrupted or self._interrupt_requested
        failed_cmd = base64.b64decode(cmd).decode(errors="replace") if cmd else None
        exit_code = 0 if interrupted and not timed_out else rc
        if timed_out and not exit_code:
            exit_code = 130
        return BlockResult(
            exit_code=exit_code,
            output=output,
            line=base_line + line - 1 if exit_code and line else None,
            command=failed_cmd if exit_code else None,
            interrupted=interrupted,
            timed_out=timed_out,
        )

    def _read(self, wait: float) -> bool:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return True
        data = os.read(fd, 65536)
        if not data:
            return False
        self._buffer += data
        return True

    def _marker_prefix_at_end(self) -> int:
        needle = b"\n" + self._marker.encode()
        for k in range(min(len(needle), len(self._buffer)), 0, -1):
            if self._buffer.endswith(needle[:k]):
                return k
        return 0

    def _find_marker(self) -> tuple[bytes, int, int, str] | None:
        needle = b"\n" + self._marker.encode() + b" "
        at = self._buffer.find(needle)
        if at < 0:
            return None
        end = self._buffer.find(b"\n", at + len(needle))
        if end < 0:
            return None
        fields = self._buffer[at + len(needle):end].decode().split(" ")
        out = self._buffer[:at]
        self._buffer = self._buffer[end + 1:]
        rc, line = int(fields[0]), int(fields[1])
        cmd = fields[2] if len(fields) > 2 else ""
        return out, rc, line, cmd
