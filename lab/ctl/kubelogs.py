"""`kubectl logs`, como kubernetes/kubectl v0.36.3 `pkg/cmd/logs/logs.go` y
`pkg/polymorphichelpers/logsforobject.go`:

- `-l SEL`: las líneas de cada pod salen juntas, pero **los pods en un orden arbitrario**, distinto
  en cada llamada (`sequentialConsumeRequest` recorre un map de Go); sin `--tail`, 10 por pod
  (`selectorTail`).
- `deploy/X`: un solo pod (`GetFirstPod`, ordenados como `podutils.ByLogging`: los listos, y entre
  ellos el que lleva más tiempo listo); con varios, «Found N pods, using pod/P» en stderr.
- Sin `-c`, el contenedor de la app (Istio anota `kubectl.kubernetes.io/default-container`).
- `--prefix` antepone `[pod/P/C] `; `--timestamps`, la marca de kubelet (tras el prefijo).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from lab.cluster.client import LabClient
from lab.cluster.logs import read_entries
from lab.cluster.state import LabState, PodState
from lab.ctl.kubeargs import DEPLOY_TYPES, NAMESPACE, POD_TYPES, Args, Unsupported, matches, usage_error
from lab.errors import LabError

SELECTOR_TAIL = 10


def cmd_logs(client: LabClient, args: Args, namespace: str) -> int:
    args.allow("selector", "container", "prefix", "tail", "timestamps")
    targets, selector = args.words[1:], args.flags.get("selector")
    tail = _tail(args.flags.get("tail"), selector)
    container = args.flags.get("container")
    if len(targets) == 2 and container is not None:
        raise LabError("error: only one of -c or an inline [CONTAINER] arg is allowed")
    if selector and targets:
        raise usage_error("only a selector (-l) or a POD name is allowed", "logs")
    if not selector and not 1 <= len(targets) <= 2:
        raise Unsupported(f"error: «kubectl {' '.join(args.raw)}» no soportado por el laboratorio (not supported by the lab)")
    if len(targets) == 2:
        container = targets[1]
    client.sync_logs()  # lo ya escrito por los contenedores, en sus .log (lab/cluster/capture.py)
    state = client.state()
    if selector:
        pods = [p for p in state.pods if matches(p.labels, selector)]
        if not pods:
            print(f"No resources found in {NAMESPACE} namespace.", file=sys.stderr)
            return 0
        random.shuffle(pods)  # el orden de un map de Go: cualquiera, y otro en la llamada siguiente
    else:
        pods = [_target(state, targets[0])]
    streams = [(pod, _container(pod, container)) for pod in pods]  # todos válidos antes de escribir nada
    for pod, name in streams:
        prefix = f"[pod/{pod.name}/{name}] " if args.flags.get("prefix") else ""
        log = pod.container(name)
        assert log is not None
        for stamp, line in read_entries(Path(log.log), tail, timestamps=bool(args.flags.get("timestamps"))):
            sys.stdout.write(f"{prefix}{stamp} {line}\n" if stamp else f"{prefix}{line}\n")
    sys.stdout.flush()
    return 0


def _tail(flag: str | None, selector: str | None) -> int:
    if flag is None:
        return SELECTOR_TAIL if selector else -1
    try:
        tail = int(flag)
    except ValueError:
        raise LabError(f'error: invalid argument "{flag}" for "--tail" flag: strconv.ParseInt: parsing "{flag}": invalid syntax') from None
    if tail < -1:
        raise LabError("error: --tail must be greater than or equal to -1")
    return tail


def _container(pod: PodState, name: str | None) -> str:
    chosen = name or pod.app.name
    if pod.container(chosen) is None:
        names = ", ".join(c.name for c in pod.containers)
        raise LabError(f"error: container {chosen} is not valid for pod {pod.name} out of: {names}")
    return chosen


def _target(state: LabState, target: str) -> PodState:
    kind, slash, name = target.partition("/")
    if slash and kind in DEPLOY_TYPES:
        if state.deployment(name) is None:
            raise LabError(f'error: error from server (NotFound): deployments.apps "{name}" not found in namespace "{NAMESPACE}"')
        pods = sorted((p for p in state.pods if p.deployment == name), key=lambda p: (not p.ready, p.created))
        if not pods:
            raise LabError("error: timed out waiting for the condition")  # GetFirstPod espera un pod 20 s
        if len(pods) > 1:
            print(f"Found {len(pods)} pods, using pod/{pods[0].name}", file=sys.stderr)
        return pods[0]
    if slash and kind not in POD_TYPES:
        raise Unsupported(f"error: «logs {target}» no soportado por el laboratorio (not supported by the lab)")
    pod = state.pod(name if slash else target)
    if pod is None:
        raise LabError(f'error: error from server (NotFound): pods "{name if slash else target}" not found in namespace "{NAMESPACE}"')
    return pod
