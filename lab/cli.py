"""La orden `lab` (y `python -m lab`): reparte el trabajo entre los módulos del laboratorio.

    lab [--course DIR] up [--detach] | down | status | shell | kubectl ... | istioctl ... | play | check

--course (por defecto LAB_COURSE o la carpeta actual) puede ir antes o después de la orden,
salvo en kubectl/istioctl, donde todo lo que sigue a la orden es de kubectl/istioctl.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from lab.constants import COURSE_ENV
from lab.errors import LabError

USAGE = """uso: lab [--course DIR] ORDEN [...]

órdenes:
  up [--detach]   arranca el laboratorio (en primer plano hasta Ctrl-C, o en segundo plano)
  down            lo para y no deja ningún proceso
  status          pods, IP, PID y estado
  kubectl ...     el kubectl real con el kubeconfig del laboratorio (.lab/kubeconfig)
  istioctl ...    istioctl proxy-config route
  shell           una shell con ese kubectl, istioctl y tools/ en el PATH
  play            ejecuta el curso como lo haría quien aprende
  check           comprobaciones estáticas del curso
  preview         vista previa del curso en el navegador
"""
PASSTHROUGH = ("kubectl", "istioctl")


def _split(argv: list[str]) -> tuple[Path, str | None, list[str]]:
    course = os.environ.get(COURSE_ENV) or "."
    args = list(argv)
    command: str | None = None
    rest: list[str] = []
    while args:
        arg = args.pop(0)
        if arg == "--course" and args and command not in PASSTHROUGH:
            course = args.pop(0)
        elif arg.startswith("--course=") and command not in PASSTHROUGH:
            course = arg.split("=", 1)[1]
        elif command is None and not arg.startswith("-"):
            command = arg
        elif command is None and arg in ("-h", "--help"):
            command = "help"
        else:
            rest.append(arg)
    return Path(course).resolve(), command, rest


def main(argv: list[str] | None = None) -> int:
    course, command, rest = _split(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(course, command, rest)
    except LabError as exc:
        print(str(exc) if str(exc).startswith(("error", "Error")) else f"lab: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# Each command's module is imported only when that command runs, on purpose: `lab kubectl` is typed
# by the learner many times and must not pay for FastAPI, uvicorn or the checker's imports.
# command → (module, function, passes --course to an argparse main)
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "kubectl": ("lab.ctl.shell", "run_kubectl", False),
    "istioctl": ("lab.ctl.istioctl", "istioctl", False),
    "shell": ("lab.ctl.shell", "run_shell", False),
    "play": ("lab.course.play", "main", True),
    "check": ("lab.course.check", "main", True),
    "preview": ("lab.preview", "main", True),
}


def _dispatch(course: Path, command: str | None, rest: list[str]) -> int:
    if command in (None, "help"):
        print(USAGE, end="")
        return 0 if command == "help" else 2
    if command in ("up", "_supervise", "down", "status"):
        return _lifecycle(course, command, rest)
    if command in COMMANDS:
        module, function, argparse_main = COMMANDS[command]
        run = getattr(importlib.import_module(module), function)
        return run(["--course", str(course), *rest]) if argparse_main else run(course, rest)
    print(USAGE, end="", file=sys.stderr)
    raise LabError(f"orden desconocida: {command}")


def _lifecycle(course: Path, command: str, rest: list[str]) -> int:
    lifecycle = importlib.import_module("lab.cluster.lifecycle")
    if command == "up":
        unknown = [a for a in rest if a != "--detach"]
        if unknown:
            raise LabError(f"opción desconocida para «lab up»: {' '.join(unknown)}")
        return lifecycle.up(course, detach="--detach" in rest)
    if command == "_supervise":
        return lifecycle.supervise(course)
    if rest:
        raise LabError(f"«lab {command}» no admite argumentos: {' '.join(rest)}")
    return lifecycle.down(course) if command == "down" else lifecycle.status(course)
