"""Cell formats of kube-apiserver's server-side printing.

- `human_duration`: k8s.io/apimachinery `pkg/util/duration/duration.go` HumanDuration (AGE, «(Xs ago)»).
- `pod_row`: k8s.io/kubernetes `pkg/printers/internalversion/printers.go` printPod — READY counts,
  the STATUS reason (init containers, waiting/terminated reasons, Completed→Running/NotReady,
  Terminating, Unknown), RESTARTS with the last restart's age, and the wide cells.
- `port_string`, `selector_string`, `discovery_ports`, `discovery_endpoints`: makePortString,
  labels.FormatLabels/LabelSelectorAsSelector, formatDiscoveryPorts/Endpoints of the same file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lab.cluster.api.store import RFC3339

Obj = dict[str, Any]
TERMINAL = ("Succeeded", "Failed")
NODE_UNREACHABLE = "NodeLost"  # pkg/util/node NodeUnreachablePodReason


def human_duration(seconds: float) -> str:
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        return f"{minutes}m" if whole % 60 == 0 else f"{minutes}m{whole % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def since(text: str | None, now: datetime | None = None) -> str:
    """translateTimestampSince: `<unknown>` for a zero time."""
    when = parse_time(text)
    if when is None:
        return "<unknown>"
    return human_duration(((now or datetime.now(UTC)) - when).total_seconds())


def _restartable(container: Obj | None) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"


def _terminated_reason(state: Obj, prefix: str = "") -> str:
    if state.get("reason"):
        return prefix + state["reason"]
    if state.get("signal"):
        return f"{prefix}Signal:{state['signal']}"
    return f"{prefix}ExitCode:{state.get('exitCode', 0)}"


def _later(current: datetime | None, state: Obj) -> datetime | None:
    finished = parse_time((state.get("lastState") or {}).get("terminated", {}).get("finishedAt"))
    if finished is not None and (current is None or finished > current):
        return finished
    return current


def pod_row(pod: Obj, now: datetime | None = None) -> list[Any]:
    spec, status, meta = pod.get("spec") or {}, pod.get("status") or {}, pod.get("metadata") or {}
    init_list = spec.get("initContainers") or []
    init_specs = {c.get("name"): c for c in init_list}
    total = len(spec.get("containers") or []) + sum(1 for c in init_list if _restartable(c))
    ready = restarts = sidecar_restarts = 0
    last: datetime | None = None
    sidecar_last: datetime | None = None
    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    conditions = status.get("conditions") or []
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in conditions):
        reason = "SchedulingGated"
    initializing = False
    inits = status.get("initContainerStatuses") or []
    for index, container in enumerate(inits):
        restarts += container.get("restartCount", 0)
        last = _later(last, container)
        restartable = _restartable(init_specs.get(container.get("name")))
        if restartable:
            sidecar_restarts += container.get("restartCount", 0)
            sidecar_last = _later(sidecar_last, container)
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and terminated.get("exitCode", 0) == 0:
            continue
        if restartable and container.get("started"):
            ready += 1 if container.get("ready") else 0
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_list)}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True" for c in conditions)
    if not initializing or initialized:
        restarts, last = sidecar_restarts, sidecar_last
        running = False
        for container in reversed(status.get("containerStatuses") or []):
            restarts += container.get("restartCount", 0)
            last = _later(last, container)
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif container.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            ready_condition = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
            reason = "Running" if ready_condition else "NotReady"
    if meta.get("deletionTimestamp") and status.get("reason") == NODE_UNREACHABLE:
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in TERMINAL:
        reason = "Terminating"
    shown = str(restarts)
    if restarts and last is not None:
        shown = f"{restarts} ({since(last.strftime(RFC3339), now)} ago)"
    ips = status.get("podIPs") or []
    ip = ips[0].get("ip") if ips else ""
    gates = spec.get("readinessGates") or []
    gate_cell = "<none>"
    if gates:
        by_type = {c.get("type"): c.get("status") for c in conditions}
        gate_cell = f"{sum(1 for g in gates if by_type.get(g.get('conditionType')) == 'True')}/{len(gates)}"
    return [meta.get("name"), f"{ready}/{total}", reason, shown, since(meta.get("creationTimestamp"), now),
            ip or "<none>", spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", gate_cell]


def format_labels(labels: dict[str, str] | None) -> str:
    """labels.FormatLabels: sorted k=v joined by commas, `<none>` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def selector_string(selector: Obj | None) -> str:
    """metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key."""
    if not selector:
        return "<none>"
    parts = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), sorted(expr.get("values") or [])
        text = {"In": f"{key} in ({','.join(values)})", "NotIn": f"{key} notin ({','.join(values)})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(op, key)
        parts.append((key, text))
    return ",".join(text for _, text in sorted(parts)) or "<none>"


def port_string(ports: list[Obj]) -> str:
    out = []
    for port in ports:
        protocol = port.get("protocol", "TCP")
        if port.get("nodePort"):
            out.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            out.append(f"{port.get('port')}/{protocol}")
    return ",".join(out)


def _with_more(items: list[str], count: int, limit: int = 3) -> str:
    text = ",".join(items[:limit])
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or "<unset>"


def discovery_ports(ports: list[Obj]) -> str:
    shown = [str(p["port"]) if p.get("port") is not None else (p.get("name") or "*") for p in ports]
    return _with_more(shown, len(shown))


def discovery_endpoints(endpoints: list[Obj]) -> str:
    addresses = [a for e in endpoints for a in e.get("addresses") or []]
    return _with_more(addresses, len(addresses))
