"""`kubectl set env`, `rollout restart|status` y `wait --for=condition=Ready`.

Mensajes de kubernetes/kubectl v0.36.3: `pkg/cmd/set/set_env.go` (`env updated`, y nada si el
parche queda vacío), `pkg/cmd/rollout/rollout_restart.go` (`restarted`),
`pkg/polymorphichelpers/rollout_status.go` (las líneas `Waiting for deployment ...`, una por cada
cambio del estado del Deployment que ve el watch de `pkg/cmd/rollout/rollout_status.go`) y
`pkg/cmd/wait/wait.go` (`condition met`, 30 s por defecto).
"""

from __future__ import annotations

import re
import sys
import time

from lab.cluster.client import LabClient
from lab.cluster.state import LabState
from lab.ctl.kubeargs import POD_TYPES, Args, Unsupported, deployment_ref, matches, seconds, unsupported_text
from lab.ctl.kubeobjects import deployment_status
from lab.errors import LabError

POLL = 0.1
WAIT_TIMEOUT = 30.0  # kubectl wait --timeout por defecto
STATUS_LIMIT = 600.0  # kubectl rollout status espera sin límite (--timeout=0); el laboratorio, 10 min
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def cmd_set(client: LabClient, args: Args, namespace: str) -> int:
    args.allow()
    if len(args.words) < 2 or args.words[1] != "env":
        raise Unsupported(unsupported_text(args.raw))
    name, index = deployment_ref(args, 2)
    changes: list[tuple[str, str | None]] = []
    for item in args.words[index:]:
        if item.endswith("-") and "=" not in item:
            changes.append((item[:-1], None))
        elif "=" in item and ENV_NAME.fullmatch(item.split("=", 1)[0]):
            key, value = item.split("=", 1)
            changes.append((key, value))
        else:
            raise LabError(f"error: invalid environment variable: {item}")
    if not changes:
        raise LabError("error: at least one environment variable must be provided")
    _existing(client.state(), name)
    if client.set_env(name, changes):
        print(f"deployment.apps/{name} env updated")
    return 0


def cmd_rollout(client: LabClient, args: Args, namespace: str) -> int:
    sub = args.words[1] if len(args.words) > 1 else ""
    name, index = deployment_ref(args, 2)
    if index != len(args.words):
        raise Unsupported(unsupported_text(args.raw))
    if sub == "restart":
        args.allow()
        _existing(client.state(), name)
        client.restart(name)
        print(f"deployment.apps/{name} restarted")
        return 0
    if sub == "status":
        args.allow("timeout")
        timeout = seconds(args.flags.get("timeout"), default=None)
        return rollout_status(client, name, timeout or STATUS_LIMIT)
    raise Unsupported(unsupported_text(args.raw))


def _existing(state: LabState, name: str) -> None:
    if state.deployment(name) is None:
        raise LabError(f'Error from server (NotFound): deployments.apps "{name}" not found')


def rollout_message(state: LabState, name: str) -> tuple[bool, str, tuple[int, ...]]:
    """(terminado, mensaje, estado): DeploymentStatusViewer.Status de rollout_status.go."""
    item = state.deployment(name)
    if item is None:
        raise LabError(f'Error from server (NotFound): deployments.apps "{name}" not found')
    status = deployment_status(state, item)
    replicas, updated, available = status["replicas"], status["updatedReplicas"], status["availableReplicas"]
    observed = (replicas, updated, status["readyReplicas"], available)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < item.replicas:
        return False, f"{prefix}{updated} out of {item.replicas} new replicas have been updated...", observed
    if replicas > updated:
        return False, f"{prefix}{replicas - updated} old replicas are pending termination...", observed
    if available < updated:
        return False, f"{prefix}{available} of {updated} updated replicas are available...", observed
    return True, f'deployment "{name}" successfully rolled out', observed


def rollout_status(client: LabClient, name: str, timeout: float) -> int:
    """Una línea por cada cambio de estado (como cada evento Modified del watch), hasta terminar."""
    deadline = time.monotonic() + timeout
    last: tuple[int, ...] | None = None
    while True:
        done, message, observed = rollout_message(client.state(), name)
        if observed != last or done:
            print(message, flush=True)
            last = observed
        if done:
            return 0
        if time.monotonic() > deadline:
            print("error: timed out waiting for the condition", file=sys.stderr)
            return 1
        time.sleep(POLL)


def cmd_wait(client: LabClient, args: Args, namespace: str) -> int:
    args.allow("for", "selector", "all", "timeout")
    condition = args.flags.get("for", "")
    if condition.lower() != "condition=ready" or len(args.words) != 2:
        raise Unsupported(unsupported_text(args.raw))
    kind, slash, name = args.words[1].partition("/")
    if kind not in POD_TYPES:
        raise Unsupported(unsupported_text(args.raw))
    timeout = seconds(args.flags.get("timeout"), default=WAIT_TIMEOUT) or 0.0
    state = client.state()
    if slash:
        pods = [p for p in state.pods if p.name == name]
        if not pods:
            raise LabError(f'Error from server (NotFound): pods "{name}" not found')
    elif args.flags.get("selector") or args.flags.get("all"):
        pods = sorted((p for p in state.pods if matches(p.labels, args.flags.get("selector"))), key=lambda p: p.name)
    else:
        raise LabError("error: resource(s) were provided, but no name was specified")
    if not pods:
        raise LabError("error: no matching resources found")
    waiting = [p.name for p in pods]
    deadline = time.monotonic() + timeout
    while waiting:
        current = client.state()
        for pod_name in list(waiting):
            pod = current.pod(pod_name)
            if pod is None:
                waiting.remove(pod_name)  # ya no existe (rollout): nada que esperar
            elif pod.ready:
                print(f"pod/{pod_name} condition met", flush=True)
                waiting.remove(pod_name)
        if waiting and time.monotonic() > deadline:
            print(f"error: timed out waiting for the condition on pods/{waiting[0]}", file=sys.stderr)
            return 1
        if waiting:
            time.sleep(POLL)
    return 0
