"""bash en un pseudoterminal (PTY), en su propia sesión: la terminal de la vista previa.

    shell = PtyShell(env, cwd).start()   # bash -i, con la PTY como terminal de control
    shell.write(b"ls\\r"); data = shell.read(); shell.resize(40, 120); shell.close()

La PTY es la de stdlib (os.openpty). Para que bash tenga terminal de control (Ctrl-C, control de
trabajos) se arranca con `setsid --ctty` de util-linux: nueva sesión y TIOCSCTTY sobre su stdin, sin
fork en Python (subprocess lo arranca sin preexec_fn, que no es seguro con hilos).
Al cerrar se acaba con la sesión entera, no solo con bash: con control de trabajos cada orden tiene su
propio grupo de procesos, así que se buscan en /proc todos los procesos de la sesión (mismo sid) y
reciben SIGHUP y SIGTERM, y SIGKILL los que sigan vivos tras CLOSE_GRACE segundos. Quien se vaya de la
sesión a propósito (`setsid orden`, un demonio) ya no es de esta terminal.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

CLOSE_GRACE = 3.0  # s entre SIGHUP/SIGTERM y SIGKILL


def session_pids(sid: int) -> list[int]:
    """Los procesos vivos de la sesión `sid` (campo 6 de /proc/<pid>/stat)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # tras «(nombre)»: estado, ppid, pgrp, sesión…
        if len(fields) > 3 and fields[0] != "Z" and int(fields[3]) == sid:
            found.append(int(entry.name))
    return found


class PtyShell:
    """Un bash interactivo en una PTY. `read`/`write` no bloquean (el lector es el bucle de asyncio)."""

    def __init__(self, env: dict[str, str], cwd: Path, argv: list[str] | None = None,
                 rows: int = 24, cols: int = 80) -> None:
        self.env = env
        self.cwd = cwd
        self.argv = argv or ["bash", "-i"]
        self.size = self._clamp(rows, cols)
        self.fd: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # también el sid y el pgid de bash (setsid no hace fork: no es líder de grupo)

    def start(self) -> PtyShell:
        master, slave = os.openpty()
        try:
            self._winsize(slave, *self.size)
            self.proc = subprocess.Popen(
                ["setsid", "--ctty", *self.argv], stdin=slave, stdout=slave, stderr=slave,
                cwd=self.cwd, env=self.env, close_fds=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self.fd = master
        return self

    @staticmethod
    def _winsize(fd: int, rows: int, cols: int) -> None:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    @staticmethod
    def _clamp(rows: int, cols: int) -> tuple[int, int]:
        """Un tamaño que una terminal puede tener, venga de la página al abrir o al redimensionar."""
        return max(2, min(rows, 500)), max(10, min(cols, 1000))

    def resize(self, rows: int, cols: int) -> None:
        """TIOCSWINSZ en la PTY: el núcleo manda SIGWINCH al grupo en primer plano."""
        self.size = self._clamp(rows, cols)
        if self.fd is not None:
            self._winsize(self.fd, *self.size)

    def read(self) -> bytes | None:
        """Lo que haya en la PTY (b"" si nada aún); None cuando bash y los suyos la han cerrado."""
        if self.fd is None:
            return None
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:  # Linux: sin nadie al otro lado de la PTY
                return None
            raise
        return data or None

    def write(self, data: bytes) -> int:
        """Escribe lo que quepa en la entrada de la PTY; devuelve cuántos bytes (0 si está llena)."""
        if self.fd is None:
            return 0
        try:
            return os.write(self.fd, data)
        except BlockingIOError:
            return 0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        """Acaba con la sesión de bash (SIGHUP y SIGTERM; SIGKILL a lo que quede) y cierra la PTY. Idempotente."""
        proc, fd = self.proc, self.fd
        self.fd = None
        if proc is not None:
            sid = proc.pid
            for sig in (signal.SIGHUP, signal.SIGCONT, signal.SIGTERM):
                for pid in session_pids(sid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, sig)
            deadline = time.monotonic() + CLOSE_GRACE
            while session_pids(sid) and time.monotonic() < deadline:
                proc.poll()  # recoge a bash si ya terminó (si no, sigue en la lista como zombi)
                time.sleep(0.05)
            for pid in session_pids(sid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if fd is not None:
            os.close(fd)
