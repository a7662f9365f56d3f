"""El estado del laboratorio en disco (<curso>/.lab/, ignorado por git) y cómo hablar con el supervisor.

- .lab/state.json: instantánea que el supervisor reescribe (de forma atómica) a cada cambio: pods,
  contenedores con PID, Deployments, VirtualServices. `kubectl get/logs/wait` la leen sin más.
- Los cambios (set env, rollout restart, apply/delete, parar) van al supervisor por HTTP en
  127.0.0.1:<puerto de state.json>: él es el único dueño de los procesos.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from lab.cluster.procs import alive
from lab.errors import LabError, StatusError

STATE_DIR = ".lab"
NOT_RUNNING = "El laboratorio no está en marcha: arráncalo con «lab up --detach»."


def state_dir(course_root: Path) -> Path:
    return course_root / STATE_DIR


def state_file(course_root: Path) -> Path:
    return state_dir(course_root) / "state.json"


def read_state(course_root: Path) -> dict[str, Any] | None:
    """La última instantánea, o None si no hay laboratorio (o su supervisor ya no vive)."""
    try:
        state = json.loads(state_file(course_root).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not alive(state.get("pid", -1), state.get("pid_started")):
        return None
    return state


def read_stale_state(course_root: Path) -> dict[str, Any] | None:
    """La instantánea aunque el supervisor haya muerto (para limpiar lo que quedara)."""
    try:
        return json.loads(state_file(course_root).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def running_state(course_root: Path) -> dict[str, Any]:
    state = read_state(course_root)
    if state is None or state.get("phase") not in ("ready", "starting"):
        raise LabError(NOT_RUNNING)
    return state


def write_state(course_root: Path, state: dict[str, Any]) -> None:
    path = state_file(course_root)
    tmp = path.with_name(f".state.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def call(course_root: Path, op: str, payload: dict[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
    """Pide algo al supervisor; su error (LabError) llega con el mismo texto."""
    state = running_state(course_root)
    request = urllib.request.Request(
        f"http://127.0.0.1:{state['port']}/{op}",
        data=json.dumps(payload or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        answer = json.loads(exc.read() or b"{}")
    except (OSError, json.JSONDecodeError) as exc:
        raise LabError(f"El supervisor del laboratorio no responde ({exc}).") from exc
    if not answer.get("ok"):
        if "status" in answer:
            raise StatusError.from_status(answer["status"])
        raise LabError(answer.get("error", "error desconocido del supervisor"))
    return answer
