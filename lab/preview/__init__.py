"""`lab preview`: el curso en el navegador, como lo pinta Killercoda, con una terminal de verdad
(xterm.js por WebSocket a un bash en una PTY, con el entorno de `lab play`) y un laboratorio detrás.

    lab preview [--course DIR] [--port 8000] [--no-lab]

Escucha solo en 127.0.0.1, imprime la URL con el token de esta ejecución, arranca el laboratorio
(`lab up --detach`) y al salir (siempre: Ctrl-C, SIGTERM o SIGHUP) acaba con la terminal y apaga el
laboratorio (`lab down`). Guardar un Markdown actualiza la página abierta (el navegador consulta
/api/state cada medio segundo).
"""

from __future__ import annotations

import argparse
import errno
import secrets
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from lab.course.model import INDEX
from lab.course.session import LabTarget
from lab.preview import runtime, vendor
from lab.preview.server import Preview, create_app
from lab.preview.terminal import Terminal

__all__ = ["main", "build", "close", "WS_PROTOCOL"]

WS_PROTOCOL = "websockets-sansio"  # la implementación de WebSocket de uvicorn (paquete websockets, fijado en pyproject.toml)


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):  # type: ignore[no-untyped-def]
    raise _Stop(signum)


def build(root: Path, *, port: int = 0, token: str | None = None, lab_enabled: bool = True,
          lab_command: list[str] | None = None,
          env_factory: Callable[[Path], dict[str, str]] | None = None) -> tuple[Preview, FastAPI]:
    """La Preview y su app FastAPI (sin arrancar nada).

    lab_command: otro programa en lugar de `python -m lab` para up/down; env_factory: el entorno de la
    terminal (por defecto, el de `lab play`: LabTarget.environment, con su PATH y su KUBECONFIG). Las
    dos, para las pruebas sin laboratorio."""
    log = runtime.Log()
    target = LabTarget(root, lab_command) if lab_enabled else None
    env = (lambda: env_factory(root)) if env_factory else (lambda: LabTarget(root).environment())
    learner = runtime.Learner(root, env)
    preview = Preview(root=root, token=token or secrets.token_urlsafe(32), learner=learner,
                      lab=runtime.Lab(target, log), log=log, terminal=Terminal(learner.shell_setup), port=port)
    return preview, create_app(preview)


def close(preview: Preview) -> None:
    """Acaba con la terminal (la sesión entera de bash), borra la carpeta de inicio y apaga el laboratorio."""
    try:
        preview.terminal.close()
        preview.learner.close()
    finally:
        preview.lab.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lab preview",
        description="Vista previa local del curso en el navegador, con el laboratorio detrás.",
    )
    parser.add_argument("--course", default=".", help="carpeta del curso (la que tiene index.json); por defecto, la actual")
    parser.add_argument("--port", type=int, default=8000, help="puerto en 127.0.0.1 (0 = uno libre); por defecto 8000")
    parser.add_argument("--no-lab", dest="no_lab", action="store_true",
                        help="no arranca el laboratorio: la terminal funciona, pero Ejecutar y Comprobar están desactivados")
    # Solo para las pruebas: otro programa en lugar de `python -m lab` para up/down.
    parser.add_argument("--lab-command", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    root = Path(args.course).resolve()
    if not (root / INDEX).is_file():
        print(f"lab preview: {root} no tiene {INDEX} (¿--course?)", file=sys.stderr)
        return 2
    if problem := vendor.missing():
        print(f"lab preview: {problem}", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", args.port))
    except OSError as exc:
        sock.close()
        why = "el puerto está ocupado" if exc.errno == errno.EADDRINUSE else str(exc)
        print(f"lab preview: no se puede escuchar en 127.0.0.1:{args.port}: {why} (prueba --port 0)", file=sys.stderr)
        return 1
    sock.listen(128)  # ya escucha cuando se imprime la URL (uvicorn atiende en cuanto arranca)
    port = sock.getsockname()[1]

    preview, app = build(root, port=port, lab_enabled=not args.no_lab, lab_command=args.lab_command)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", ws=WS_PROTOCOL))
    # uvicorn captura SIGINT/SIGTERM, para y vuelve a lanzar la señal: con estos manejadores esa
    # señal llega aquí como excepción y el `finally` apaga el laboratorio.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    print(f"Vista previa de «{root.name}»: http://127.0.0.1:{port}/?t={preview.token}", flush=True)
    print("Ctrl-C para salir (apaga el laboratorio).", flush=True)
    code = 0
    try:
        preview.lab.start()
        server.run(sockets=[sock])
    except (KeyboardInterrupt, _Stop):
        code = 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        close(preview)
        sock.close()
        print("Vista previa cerrada.", flush=True)
    return code
