"""`lab kubectl`: el subconjunto de kubectl que usa el curso (lab/ctl/subset.py), con las formas de
salida de kubectl, contra el laboratorio (solo por su estado y su cliente: lab/cluster/client.py).

Un módulo por grupo de verbos: kubeget (get), kubelogs (logs), kuberollout (set env, rollout,
wait), kubeapply (apply, delete); kubeargs lee la línea de órdenes y kubeobjects da a los objetos
del laboratorio la forma de los de Kubernetes (para -o jsonpath).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from lab.cluster.client import LabClient
from lab.ctl.kubeapply import cmd_apply, cmd_delete
from lab.ctl.kubeargs import NAMESPACE, Args, Unsupported, parse, unsupported_text
from lab.ctl.kubeget import MESH_NAMESPACE, cmd_get
from lab.ctl.kubelogs import cmd_logs
from lab.ctl.kuberollout import cmd_rollout, cmd_set, cmd_wait
from lab.ctl.subset import VERBS

Verb = Callable[[LabClient, Args, str], int]


def _get(client: LabClient, args: Args, namespace: str) -> int:
    return cmd_get(client.state(), args, namespace)


HANDLERS: dict[str, Verb] = {
    "get": _get, "logs": cmd_logs, "set": cmd_set, "rollout": cmd_rollout,
    "wait": cmd_wait, "apply": cmd_apply, "delete": cmd_delete,
}
assert set(HANDLERS) == set(VERBS), "lab/ctl/subset.py y HANDLERS deben nombrar los mismos verbos"


def kubectl(course: Path, argv: list[str]) -> int:
    """Ejecuta `kubectl ARGV` contra el laboratorio del curso; el código de salida de kubectl."""
    return run(LabClient(course), argv)


def run(client: LabClient, argv: list[str]) -> int:
    """Lo mismo con un cliente dado (las pruebas rápidas pasan uno sobre un estado sintético)."""
    try:
        args = parse(argv)
        namespace = args.flags.pop("namespace", NAMESPACE)
        verb = args.words[0] if args.words else ""
        handler = HANDLERS.get(verb)
        if handler is None or namespace not in (NAMESPACE, MESH_NAMESPACE) or (namespace != NAMESPACE and verb != "get"):
            raise Unsupported(unsupported_text(argv))
        return handler(client, args, namespace)
    except Unsupported as exc:
        print(str(exc), file=sys.stderr)
        return 1
