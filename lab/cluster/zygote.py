"""Lanzador de apps por fork: importa una vez lo pesado (FastAPI, uvicorn, httpx) y da a luz cada app.

Por qué: importar FastAPI cuesta ~0,7 s de CPU; siete apps a la vez en 2 núcleos son ~2,6 s solo
de importaciones. El cigoto importa las dependencias de apps/requirements.in una sola vez; cada
pod es un fork que pone su entorno, su carpeta y su salida, y ejecuta exactamente la línea del CMD
del Dockerfile (`uvicorn main:app --host <IP del pod> ...`) con `uvicorn.main.main`. El código del
servicio (main.py, common/) se importa *después* del fork, ya con el entorno del pod.
Los hijos son líderes de su grupo (setsid) y mueren si muere el cigoto (PR_SET_PDEATHSIG), que
a su vez muere con el supervisor. `LAB_APP_LAUNCH=exec` vuelve al exec clásico por app.

Protocolo (una línea JSON por mensaje): stdin ← {"id", "argv", "cwd", "env", "log"};
stdout → {"id", "pid"} | {"id", "error"} | {"exit": pid, "code": n}.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import threading
import traceback
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from lab.cluster.procs import die_with_parent

# ------------------------------------------------------------------------------ lado del supervisor


class ForkedProcess:
    """Lo que el supervisor usa de un Popen (pid, poll, wait, returncode) para un hijo del cigoto."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._done = threading.Event()

    def _exited(self, code: int) -> None:
        self.returncode = code
        self._done.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
        assert self.returncode is not None
        return self.returncode


class Zygote:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self._lock = threading.Lock()
        self._next = 0
        self._pending: dict[int, Future] = {}
        self._children: dict[int, ForkedProcess] = {}
        self._early_exits: dict[int, int] = {}
        self.ready = Future()
        threading.Thread(target=self._read, name="zygote-reader", daemon=True).start()

    def spawn(self, argv: list[str], log: Path, env: dict[str, str], cwd: Path) -> ForkedProcess:
        future: Future = Future()
        with self._lock:
            self._next += 1
            self._pending[self._next] = future
            message = {"id": self._next, "argv": argv, "cwd": str(cwd), "env": env, "log": str(log)}
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        return future.result(timeout=30)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            message = json.loads(line)
            with self._lock:
                if message.get("ready"):
                    self.ready.set_result(True)
                elif "exit" in message:
                    child = self._children.get(message["exit"])
                    if child:
                        child._exited(message["code"])
                    else:
                        self._early_exits[message["exit"]] = message["code"]
                elif "pid" in message:
                    child = ForkedProcess(message["pid"])
                    self._children[child.pid] = child
                    if child.pid in self._early_exits:
                        child._exited(self._early_exits.pop(child.pid))
                    self._pending.pop(message["id"]).set_result(child)
                else:
                    self._pending.pop(message["id"]).set_exception(OSError(message.get("error")))
        with self._lock:  # el cigoto terminó: sus hijos también (PDEATHSIG)
            if not self.ready.done():
                self.ready.set_exception(OSError("el lanzador de apps terminó al arrancar"))
            for child in self._children.values():
                if child.returncode is None:
                    child._exited(-9)
            for future in self._pending.values():
                future.set_exception(OSError("el lanzador de apps ya no está"))


# Lo que uvicorn y httpx importan al arrancar un servidor o crear un cliente (sin código del curso).
WARM_MODULES = (
    "uvicorn.main", "uvicorn.config", "uvicorn.lifespan.on", "uvicorn.loops.auto", "uvicorn.loops.asyncio",
    "uvicorn.protocols.http.auto", "uvicorn.protocols.http.h11_impl", "uvicorn.protocols.websockets.auto",
    "httpcore", "anyio._backends._asyncio", "fastapi.telemetry._runtime", "pydantic.v1",
)
# What those libraries import only if it is installed, which a development venv may have and the image
# does not (apps/requirements.txt): httpcore imports trio (~0.1 s of CPU) and sniffio, httpx its command
# line (rich, pygments: ~0.05 s), uvicorn websockets or wsproto, uvloop and httptools. Absent for the
# launcher and the apps, as in the image (and off the longest path of `lab up`).
IMAGE_LACKS = ("trio", "sniffio", "rich", "pygments", "websockets", "wsproto", "uvloop", "httptools")
ABSENT = "!"  # argv prefix: a module to make unimportable


def preload_modules(course_root: Path) -> list[str]:
    """Los paquetes de apps/requirements.in (los mismos que usan las apps) y lo que arrastran al arrancar;
    antes, con ABSENT delante, los de IMAGE_LACKS que apps/requirements.txt no instala."""
    names = _requirements(course_root / "apps" / "requirements.in")
    pinned = set(_requirements(course_root / "apps" / "requirements.txt"))
    return [*(ABSENT + m for m in IMAGE_LACKS if m not in pinned), *names, *WARM_MODULES]


def _requirements(path: Path) -> list[str]:
    """Los nombres de los paquetes de un archivo de requisitos, como módulos (`typing-extensions` → `typing_extensions`)."""
    names = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9_.-]*)", line.split("#", 1)[0])
            if match:
                names.append(match.group(1).lower().replace("-", "_"))
    return names


# ------------------------------------------------------------------------------ lado del cigoto


def _child(request: dict[str, Any]) -> None:
    """En el hijo: convertirse en el contenedor de la app y ejecutar uvicorn. Nunca vuelve."""
    code = 1
    try:
        os.setsid()
        die_with_parent()
        with contextlib.suppress(OSError, AttributeError):  # que `ps`/`top` lo muestren como uvicorn
            ctypes.CDLL(None).prctl(15, b"uvicorn", 0, 0, 0)  # PR_SET_NAME (comm, 15 caracteres)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [request["cwd"], *extra, *[p for p in sys.path if p and p not in extra]]
        random.seed()
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        argv = request["argv"]
        sys.argv = argv
        if Path(argv[0]).name != "uvicorn":
            os.execvpe(argv[0], argv, request["env"])
        # Aquí y no arriba: el supervisor también importa este módulo (ForkedProcess) y no carga uvicorn.
        from uvicorn.main import main as uvicorn_command  # noqa: PLC0415

        uvicorn_command.main(args=argv[1:], prog_name="uvicorn", standalone_mode=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - el hijo nunca vuelve al bucle del cigoto: informa y sale
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


TLS_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE")  # what httpx's default context depends on


def _share_default_tls_context() -> None:
    """httpx builds a TLS context for each transport of each client (a CA bundle parsed: ~45 ms of
    CPU), and each app makes at start a client with two (the direct one and its proxy's), though none
    speaks TLS: ~0.1 s of the ~0.11 s an app takes to start. The launcher builds httpx's default context
    once, with its environment (the apps inherit the same TLS_ENV), and every client of an app whose
    TLS_ENV is still the same shares it, as httpx advises for many clients (`verify=<one SSLContext>`).
    Nothing an app does or answers changes."""
    try:
        import httpx._config as config  # noqa: PLC0415 - only in the launcher process, after the preload
        import httpx._transports.default as transports  # noqa: PLC0415
    except ImportError:
        return
    build = config.create_ssl_context
    if getattr(transports, "create_ssl_context", None) is not build:
        return  # another httpx: nothing shared

    def tls_env() -> tuple[str | None, ...]:
        return tuple(os.environ.get(name) for name in TLS_ENV)

    launcher_env, shared = tls_env(), build(verify=True, cert=None, trust_env=True)

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is True and cert is None and trust_env and tls_env() == launcher_env:
            return shared
        return build(verify=verify, cert=cert, trust_env=trust_env)

    config.create_ssl_context = transports.create_ssl_context = create_ssl_context


def serve(modules: list[str]) -> int:
    gc.disable()  # importing builds objects that live as long as the launcher: no collection would free any
    for name in modules:
        if name.startswith(ABSENT):
            sys.modules.setdefault(name.removeprefix(ABSENT), None)  # `import trio` → ImportError, as in the image
            continue
        with contextlib.suppress(ImportError):  # solo es una precarga: la app importará lo que necesite
            importlib.import_module(name)
    _share_default_tls_context()
    # What was imported goes to the permanent generation and collections start again: an app's
    # collections then never walk (and so never copy, after the fork) the launcher's objects.
    gc.freeze()
    gc.enable()
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    stdin = sys.stdin.fileno()
    buffer = b""
    while True:
        readable, _, _ = select.select([stdin], [], [], 0.05)
        if readable:
            chunk = os.read(stdin, 65536)
            if not chunk:
                return 0  # el supervisor cerró el canal
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                try:
                    pid = os.fork()
                except OSError as exc:
                    out.write(json.dumps({"id": request["id"], "error": str(exc)}) + "\n")
                    out.flush()
                    continue
                if pid == 0:
                    _child(request)
                out.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
                out.flush()
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            out.write(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}) + "\n")
            out.flush()


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
