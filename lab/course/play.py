"""`lab play`: el curso como lo haría un alumno, contra un laboratorio nuevo.

    lab play [--course DIR] [--block-timeout S]

1. `lab up --detach` (un laboratorio nuevo en cada ejecución; siempre `lab down` al final, también
   con Ctrl-C o con un error).
2. Una sola terminal bash persistente (`CourseShell`) con el entorno de `lab.ctl.shell.course_environment`:
   su `kubectl` es el del laboratorio y `curl localhost:30000` llega a bff.
3. Intro, cada paso y el final, en orden: cada bloque {{exec}} / {{exec interrupt}} se teclea en esa
   terminal y se muestra como en una terminal («$ orden» y su salida). Los {{copy}} no se ejecutan.
   El verify.sh de cada paso debe FALLAR antes de sus bloques (si no, no comprueba nada) y PASAR
   después.
4. Las promesas: cada marca `<!-- promesa: bff=1 backend1=3 app2=9 -->` de una página se compara
   con el laboratorio de verdad. Al llegar a la marca (antes del primer bloque que va detrás, o al
   final de la página), cada petición nueva que llegó a bff desde la marca anterior (o desde el
   principio de la página) se cuenta por su request_id con lab.testing.counting: tantas líneas de registro
   en cada servicio como promete la marca, o falla en la línea de la marca. Una página cuyos
   bloques hacen peticiones a bff sin una marca detrás también falla: no se puede olvidar.
5. Sale con 1 en el primer fallo, con «fichero:línea: mensaje» y la orden que falló.

Un bloque falla si alguna de sus órdenes falla fuera de una condición (lo que dispararía `set -e`):
la trampa ERR de bash guarda la primera, con su línea. Si el bloque siguiente es
{{exec interrupt}}, el bloque actual puede no terminar (p. ej. `kubectl logs -f`): se le deja correr
unos segundos y se le manda Ctrl-C, como hace Killercoda al pulsar el siguiente.

`CourseShell` también lo usa la vista previa (lab/preview): `run(block) -> BlockResult`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lab.cluster.logs import read_lines
from lab.cluster.state import call, read_state
from lab.course.model import Block, Course, CourseError, Page, load_course
from lab.ctl.shell import course_environment
from lab.testing.counting import LINE, counts

DEFAULT_BLOCK_TIMEOUT = 180.0  # s: lo más que puede tardar un bloque (un rollout lento en el laboratorio)
INTERRUPT_AFTER = 8.0  # s que corre un bloque antes del Ctrl-C que manda el siguiente {{exec interrupt}}
VERIFY_TIMEOUT = 60.0
SETTLE = 5.0  # s que se espera a que las líneas de registro de una petición lleguen antes de contarlas
ENTRY = "bff"  # el servicio al que llama el curl del curso: cada petición nueva es un request_id suyo

Output = Callable[[str], None]


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
        self._interrupt_requested = False  # interrupt() (de otro hilo, p. ej. la vista previa) durante run()

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
        timeout: float = DEFAULT_BLOCK_TIMEOUT,
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


# ============================================================================ promesas


PROMISE = re.compile(r"<!--\s*promesa:(?P<body>.*?)-->")
PROMISE_ITEM = re.compile(r"(?P<service>[a-z0-9][a-z0-9-]*)=(?P<count>\d+)")


@dataclass(frozen=True)
class Promise:
    """Una marca `<!-- promesa: bff=1 backend1=3 app2=9 -->`: líneas de registro por servicio que deja
    cada petición que hacen los bloques anteriores de la página."""

    file: Path
    line: int
    counts: dict[str, int]

    def __str__(self) -> str:
        return _counts_text(self.counts)


def _counts_text(counts: dict[str, int]) -> str:
    return " ".join(f"{service}={n}" for service, n in counts.items())


def page_promises(page: Page) -> list[Promise]:
    """Las marcas de promesa de una página, en orden; una marca mal escrita es un PlayFailure."""
    found = []
    text = page.text.read_text(encoding="utf-8")
    for match in PROMISE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        items = match["body"].split()
        parsed = [PROMISE_ITEM.fullmatch(item) for item in items]
        if not items or not all(parsed):
            raise PlayFailure(page.text, line, f"marca de promesa mal escrita: «{match[0]}» "
                              "(se espera <!-- promesa: bff=1 backend1=3 app2=3 -->)")
        counts = {m["service"]: int(m["count"]) for m in parsed if m}
        if ENTRY not in counts:
            raise PlayFailure(page.text, line, f"la promesa «{match[0]}» no dice cuántas líneas deja en {ENTRY}")
        found.append(Promise(page.text, line, counts))
    return found


class Requests(Protocol):
    """Lo que el reproductor necesita del laboratorio para comprobar las promesas."""

    def request_ids(self) -> list[str]:
        """Los request_id de las peticiones que hay en el registro de bff (pods vivos), en orden."""
        ...

    def counts(self, request_id: str, services: tuple[str, ...]) -> dict[str, int]:
        """Cuántas líneas de registro dejó esa petición en cada servicio."""
        ...


class LabRequests:
    """Requests del laboratorio de verdad: los registros de las apps, con lab.testing.counting."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _state(self) -> dict:
        state = read_state(self.root)
        if state is None:
            raise ShellClosed("el laboratorio ya no está en marcha (lab status)")
        # La respuesta del curl puede llegar antes de que el supervisor copie la línea de la app
        # a su .log: se cuenta solo cuando lo ya escrito está copiado (lab/cluster/capture.py).
        call(self.root, "sync-logs")
        return state

    def request_ids(self) -> list[str]:
        ids: list[str] = []
        for pod in self._state()["pods"]:
            if pod["deployment"] != ENTRY:
                continue
            for line in read_lines(Path(pod["containers"][0]["log"]), -1):
                match = LINE.fullmatch(line.strip())
                if match and match[5] != "-":
                    ids.append(match[5])
        return list(dict.fromkeys(ids))

    def counts(self, request_id: str, services: tuple[str, ...]) -> dict[str, int]:
        return dict(zip(services, counts(self._state(), request_id, services), strict=True))


# ============================================================================ el reproductor


class PlayFailure(Exception):
    def __init__(self, file: Path, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.message = file, line, message


@dataclass
class Player:
    course: Course
    env: dict[str, str]
    out: Output
    cwd: Path
    block_timeout: float = DEFAULT_BLOCK_TIMEOUT
    interrupt_after: float = INTERRUPT_AFTER
    requests: Requests | None = None  # None: no se comprueban las promesas
    settle: float = SETTLE
    blocks_run: int = 0
    verifies_run: int = 0
    promises_kept: int = 0

    def rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.course.root.resolve()))
        except ValueError:
            return str(path)

    def verify(self, page: Page) -> tuple[int, str]:
        assert page.verify is not None
        proc = subprocess.run(
            ["bash", str(page.verify)],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=VERIFY_TIMEOUT,
            check=False,
        )
        self.verifies_run += 1
        return proc.returncode, (proc.stdout + proc.stderr)

    def play(self) -> None:
        with CourseShell(env=self.env, cwd=self.cwd) as shell:
            for page in self.course.pages:
                self.play_page(shell, page)

    def play_page(self, shell: CourseShell, page: Page) -> None:
        label = {"intro": "Introducción", "finish": "Final"}.get(page.slug, f"Paso {page.slug.removeprefix('step')}")
        heading = label if page.title == label else f"{label}: {page.title}"
        self.out(f"\n━━ {heading} ({self.rel(page.text)})\n")
        if page.verify is not None:
            rc, text = self.verify(page)
            if rc == 0:
                raise PlayFailure(
                    page.verify, 1,
                    f"{self.rel(page.verify)} pasa ANTES de ejecutar los bloques de {self.rel(page.text)}: "
                    f"no comprueba lo que enseña el paso.\n{_indent(text)}",
                )
            said = text.strip().splitlines()
            why = f": {said[0]}" if said else ""
            self.out(f"· {self.rel(page.verify)} antes del paso: falla, como debe (código {rc}){why}\n")
        promises = page_promises(page)
        seen = self._request_ids()  # las peticiones de antes de la página no son suyas
        caller: Block | None = None  # el primer bloque tras el que apareció una petición nueva sin promesa
        runs = [b for b in page.blocks if b.runs]
        for _i, block in enumerate(page.blocks):
            if not block.runs:
                continue
            while promises and promises[0].line < block.line:
                seen = self.keep(promises.pop(0), seen)
                caller = None
            nxt = runs[runs.index(block) + 1] if runs.index(block) + 1 < len(runs) else None
            interruptible = nxt is not None and nxt.action == "exec interrupt"
            self.out(_prompt(block.code))
            result = shell.run(
                block,
                timeout=self.block_timeout,
                interrupt_after=self.interrupt_after if interruptible else None,
                on_output=self.out,
            )
            self.blocks_run += 1
            if result.interrupted and not result.timed_out:
                self.out("^C\n")
            if result.timed_out:
                hint = "" if interruptible else " (si es una orden que no acaba, el bloque siguiente debe ser {{exec interrupt}})"
                raise PlayFailure(block.file, block.line, f"el bloque no terminó en {self.block_timeout:.0f} s{hint}: {_first(block.code)}")
            if result.exit_code != 0:
                raise PlayFailure(
                    block.file, result.line or block.line,
                    f"falló la orden «{result.command or _first(block.code)}» (código {result.exit_code})",
                )
            if caller is None and set(self._request_ids()) - seen:
                caller = block
        for promise in promises:
            seen = self.keep(promise, seen)
            caller = None
        if caller is not None:
            new = [rid for rid in self._request_ids() if rid not in seen]
            raise PlayFailure(
                caller.file, caller.line,
                f"este bloque hace peticiones a {ENTRY} (request_id {', '.join(new)}) y ninguna marca "
                f"<!-- promesa: {ENTRY}=… … --> detrás dice cuántas líneas deja cada una en cada servicio",
            )
        if page.verify is not None:
            rc, text = self.verify(page)
            if rc != 0:
                raise PlayFailure(
                    page.verify, 1,
                    f"{self.rel(page.verify)} falla DESPUÉS de los bloques de {self.rel(page.text)} (código {rc}).\n{_indent(text)}",
                )
            self.out(f"· {self.rel(page.verify)} después del paso: pasa ✔\n")


    def _request_ids(self) -> set[str]:
        return set(self.requests.request_ids()) if self.requests is not None else set()

    def keep(self, promise: Promise, seen: set[str]) -> set[str]:
        """Comprueba una promesa con las peticiones nuevas desde `seen`; devuelve el nuevo `seen`."""
        if self.requests is None:
            return seen
        services = tuple(promise.counts)
        deadline = time.monotonic() + self.settle
        while True:
            new = [rid for rid in self.requests.request_ids() if rid not in seen]
            got = {rid: self.requests.counts(rid, services) for rid in new}
            wrong = {rid: counts for rid, counts in got.items() if counts != promise.counts}
            if new and not wrong:
                break
            if time.monotonic() >= deadline:  # las líneas llegan al registro en milisegundos
                where = self.rel(promise.file)
                if not new:
                    raise PlayFailure(
                        promise.file, promise.line,
                        f"promete {promise} pero ninguna petición nueva llegó a {ENTRY} antes de la marca "
                        f"(¿falta el curl en {where}, o la marca está antes que él?)",
                    )
                rid, counts = next(iter(wrong.items()))
                raise PlayFailure(
                    promise.file, promise.line,
                    f"promete {promise} pero el laboratorio dio {_counts_text(counts)} (request_id {rid})",
                )
            time.sleep(0.2)
        self.promises_kept += 1
        ids = ", ".join(new)
        self.out(f"· promesa de {self.rel(promise.file)}:{promise.line} ({promise}): se cumple (request_id {ids}) ✔\n")
        return seen | set(new)


def _prompt(code: str) -> str:
    lines = code.split("\n")
    return "$ " + lines[0] + "\n" + "".join(f"> {ln}\n" for ln in lines[1:])


def _first(code: str) -> str:
    return code.strip().split("\n", 1)[0]


def _indent(text: str) -> str:
    return "\n".join("    " + ln for ln in text.rstrip().split("\n")) if text.strip() else "    (sin salida)"


# ============================================================================ laboratorio


def _lab_command(args: list[str], root: Path) -> list[str]:
    return [sys.executable, "-m", "lab", *args, "--course", str(root)]


def _course_environment(root: Path) -> dict[str, str]:
    return course_environment(root)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # no es el hilo principal
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def play_course(
    root: Path,
    *,
    out: Output | None = None,
    up: list[str] | None = None,
    down: list[str] | None = None,
    env: dict[str, str] | None = None,
    block_timeout: float = DEFAULT_BLOCK_TIMEOUT,
    interrupt_after: float = INTERRUPT_AFTER,
    requests: Requests | None = None,
    settle: float = SETTLE,
) -> int:
    """Levanta un laboratorio nuevo, juega el curso y lo baja siempre. 0 si todo fue bien.

    up/down/env/requests: para las pruebas (un laboratorio falso); por defecto `lab up --detach`,
    `lab down`, `lab.ctl.shell.course_environment(root)` y los registros del laboratorio (LabRequests).
    """
    root = Path(root).resolve()
    write = out or _stdout
    start = time.monotonic()
    try:
        course = load_course(root)
        for page in course.pages:
            page_promises(page)  # una marca mal escrita falla antes de levantar el laboratorio
    except CourseError as exc:
        write(f"lab play: {exc}\n")
        return 1
    except PlayFailure as failure:
        write(f"lab play: {_show(failure.file, root)}:{failure.line}: {failure.message}\n")
        return 1
    if up is None and down is None:
        # Un laboratorio nuevo en cada ejecución: si ya hay uno de este curso (el de `lab up` de otra
        # terminal), no se toca; se pide pararlo.
        running = subprocess.run(_lab_command(["status"], root), cwd=root, capture_output=True, text=True, check=False)
        if running.returncode != 3:
            write(f"lab play: ya hay un laboratorio de este curso en marcha ({running.stdout.strip()}). "
                  "`lab play` usa siempre uno nuevo: páralo antes con `lab down`.\n")
            return 1
    up = up if up is not None else _lab_command(["up", "--detach"], root)
    down = down if down is not None else _lab_command(["down"], root)
    player: Player | None = None
    status = 1
    with _sigterm_as_interrupt():
        try:
            write(f"━━ {course.title}\n$ {' '.join(_short(up))}\n")
            if _stream(up, root, write) != 0:
                write(f"lab play: el laboratorio no arrancó ({' '.join(_short(up))})\n")
                return 1
            environment = env if env is not None else _course_environment(root)
            with tempfile.TemporaryDirectory(prefix="lab-play-home-") as home:
                # La terminal empieza en una carpeta vacía, como /root en Killercoda; ~/curso es el curso.
                (Path(home) / "curso").symlink_to(root)
                environment = {**environment, "HOME": home}
                player = Player(course, environment, write, Path(home), block_timeout, interrupt_after,
                                requests if requests is not None else LabRequests(root), settle)
                player.play()
            status = 0
        except PlayFailure as failure:
            write(f"\nlab play: FALLO\n{_show(failure.file, root)}:{failure.line}: {failure.message}\n")
        except ShellClosed as exc:
            write(f"\nlab play: FALLO: {exc}\n")
        except KeyboardInterrupt:
            write("\nlab play: interrumpido\n")
            status = 130
        finally:
            write(f"$ {' '.join(_short(down))}\n")
            try:
                rc = _stream(down, root, write)
            except KeyboardInterrupt:
                rc = _stream(down, root, write)
            if rc != 0:
                write("lab play: `lab down` falló: revisa `lab status`\n")
                status = status or 1
    elapsed = time.monotonic() - start
    if status == 0 and player is not None:
        write(f"\nlab play: el curso funciona ({player.blocks_run} bloques, {player.verifies_run} verificaciones, "
              f"{player.promises_kept} promesas, {elapsed:.0f} s)\n")
    return status


def _short(cmd: list[str]) -> list[str]:
    if cmd[:3] == [sys.executable, "-m", "lab"]:
        return ["lab", *cmd[3:]]
    return cmd


def _show(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(root))
        except ValueError:
            return str(path)


def _stream(cmd: list[str], cwd: Path, write: Output) -> int:
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        for raw in iter(proc.stdout.readline, b""):
            write(raw.decode(errors="replace"))
        return proc.wait()
    except BaseException:
        proc.terminate()
        proc.wait(timeout=30)
        raise
    finally:
        proc.stdout.close()


def _stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab play", description="Juega el curso entero contra un laboratorio nuevo.")
    parser.add_argument(
        "--course", type=Path, default=Path(os.environ.get("LAB_COURSE", ".")), help="carpeta del curso (por defecto, la actual)"
    )
    parser.add_argument("--block-timeout", type=float, default=DEFAULT_BLOCK_TIMEOUT, help="segundos como mucho por bloque")
    args = parser.parse_args(argv)
    return play_course(args.course, block_timeout=args.block_timeout)


if __name__ == "__main__":
    sys.exit(main())
