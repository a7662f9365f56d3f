"""`lab kubectl`: el subconjunto de kubectl que usa el curso, con las formas de salida de kubectl.

Lo que entiende (todo en el namespace default; lo demás sale con «no soportado por el laboratorio»):
  get pods|pod [NOMBRE...] [-l SEL]          get deploy|deployments        get virtualservices|vs
  (get pods y get deploy admiten -o jsonpath='...': campos, [n], [*] y [?(@.x=="v")])
  -n istio-system get configmap istio -o jsonpath='{.data.mesh}'
  set env deployment/X K=V K2-  (también deploy/X, deployment X): lanza un rollout y vuelve
  rollout restart deployment/X              rollout status deployment/X [--timeout=D]
  wait --for=condition=Ready pod -l SEL|pods --all|pod/NOMBRE [--timeout=D]
  logs POD|deploy/X|-l SEL [-c C] [--prefix] [--tail=N] [--timestamps]   (con -l, --tail es 10 por pod)
  apply -f FICHERO|-      delete -f FICHERO|-      (VirtualService de networking.istio.io)
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab.cluster.logs import container_log, read_entries
from lab.cluster.meshpolicy import VS_API_VERSIONS, mesh_configmap
from lab.cluster.state import call, running_state
from lab.ctl.jsonpath import render
from lab.ctl.kubeformat import age, table
from lab.errors import LabError, StatusError

NAMESPACE = "default"
MESH_JSONPATH = "{.data.mesh}"
SUPPORTED = (
    "get pods|deploy|vs (-o jsonpath), -n istio-system get configmap istio -o jsonpath='{.data.mesh}', logs, "
    "set env, rollout restart|status, wait --for=condition=Ready, apply -f, delete -f"
)
VALUE_FLAGS = {
    "-n": "namespace", "--namespace": "namespace", "-l": "selector", "--selector": "selector",
    "-c": "container", "--container": "container", "-o": "output", "--output": "output",
    "--tail": "tail", "--timeout": "timeout", "--for": "for", "-f": "filename", "--filename": "filename",
}
BOOL_FLAGS = {"--prefix": "prefix", "--all": "all", "--timestamps": "timestamps"}
POD_TYPES = ("pods", "pod", "po")
DEPLOY_TYPES = ("deployments", "deployment", "deploy")
VS_TYPES = ("virtualservices", "virtualservice", "vs", "virtualservices.networking.istio.io")
POLL = 0.1


class Unsupported(LabError):
    pass


@dataclass
class Args:
    words: list[str]
    flags: dict[str, str] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)


def parse(argv: list[str]) -> Args:
    args = Args(words=[], raw=argv)
    items = list(argv)
    while items:
        item = items.pop(0)
        if item in ("-", "--") or not item.startswith("-"):
            args.words.append(item)
            continue
        name, eq, value = item.partition("=")
        if name in VALUE_FLAGS:
            if not eq:
                if not items:
                    raise LabError(f"error: flag needs an argument: {name}")
                value = items.pop(0)
            args.flags[VALUE_FLAGS[name]] = value
        elif name in BOOL_FLAGS and not eq:
            args.flags[BOOL_FLAGS[name]] = "true"
        elif len(item) > 2 and item[:2] in VALUE_FLAGS and not item.startswith("--"):
            args.flags[VALUE_FLAGS[item[:2]]] = item[2:].lstrip("=")  # -lapp=bff, -cistio-proxy
        else:
            raise Unsupported(unsupported_text(argv))
    return args


def unsupported_text(argv: list[str]) -> str:
    return (
        f"error: «kubectl {' '.join(argv)}» no soportado por el laboratorio (not supported by the lab). "
        f"El laboratorio entiende: {SUPPORTED}."
    )


def kubectl(course: Path, argv: list[str]) -> int:
    try:
        args = parse(argv)
        namespace = args.flags.pop("namespace", NAMESPACE)
        verb = args.words[0] if args.words else ""
        handler = {
            "get": cmd_get, "logs": cmd_logs, "set": cmd_set, "rollout": cmd_rollout,
            "wait": cmd_wait, "apply": cmd_apply, "delete": cmd_delete,
        }.get(verb)
        if handler is None or (namespace != NAMESPACE and verb != "get"):
            raise Unsupported(unsupported_text(argv))
        return handler(course, args, namespace)
    except Unsupported as exc:
        print(str(exc), file=sys.stderr)
        return 1


def _allow(args: Args, *names: str) -> None:
    extra = set(args.flags) - set(names)
    if extra:
        raise Unsupported(unsupported_text(args.raw))


# ------------------------------------------------------------------------------ selección
def _matches(labels: dict[str, str], selector: str | None) -> bool:
    if not selector:
        return True
    for term in selector.split(","):
        match = re.fullmatch(r"\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*", term)
        if not match:
            raise Unsupported(f"error: selector «{selector}» no soportado por el laboratorio (not supported by the lab)")
        key, op, value = match.groups()
        if (labels.get(key) == value) != (op != "!="):
            return False
    return True


def _pods(state: dict[str, Any], selector: str | None = None) -> list[dict[str, Any]]:
    return sorted((p for p in state["pods"] if _matches(p["labels"], selector)), key=lambda p: p["name"])


def _deployment_ref(args: Args, start: int) -> tuple[str, int]:
    """deployment/X, deploy/X o «deployment X» a partir de words[start]; (nombre, siguiente índice)."""
    words = args.words
    if start >= len(words):
        raise LabError("error: you must specify a deployment (deployment/NAME)")
    kind, slash, name = words[start].partition("/")
    if slash and kind in DEPLOY_TYPES and name:
        return name, start + 1
    if not slash and kind in DEPLOY_TYPES and start + 1 < len(words):
        return words[start + 1], start + 2
    raise Unsupported(unsupported_text(args.raw))


def _deployment(state: dict[str, Any], name: str) -> dict[str, Any]:
    for item in state["deployments"]:
        if item["name"] == name:
            return item
    raise LabError(f'Error from server (NotFound): deployments.apps "{name}" not found')


def _ready_count(pod: dict[str, Any]) -> str:
    return f"{sum(c['ready'] for c in pod['containers'])}/{len(pod['containers'])}"


# ------------------------------------------------------------------------------ get
def cmd_get(course: Path, args: Args, namespace: str) -> int:
    words = args.words[1:]
    if not words:
        raise Unsupported(unsupported_text(args.raw))
    kind, names = words[0].lower(), words[1:]
    if namespace == "istio-system":
        if kind in ("configmap", "configmaps", "cm") and names == ["istio"] and args.flags.get("output") in (
            f"jsonpath={MESH_JSONPATH}", f"jsonpath='{MESH_JSONPATH}'"
        ):
            _allow(args, "output")
            sys.stdout.write(mesh_configmap(running_state(course)["mesh"]))
            return 0
        raise Unsupported(unsupported_text(args.raw))
    if namespace != NAMESPACE:
        print(f"No resources found in {namespace} namespace.", file=sys.stderr)
        return 0
    if kind in POD_TYPES:
        return _get_pods(course, args, names)
    if kind in DEPLOY_TYPES:
        _allow(args, "selector", "output")
        return _get_deployments(course, args, names)
    if kind in VS_TYPES and not names:
        _allow(args)
        return _get_vs(course)
    raise Unsupported(unsupported_text(args.raw))


def _jsonpath(args: Args) -> str | None:
    output = args.flags.get("output")
    if output is None:
        return None
    if not output.startswith("jsonpath="):
        raise Unsupported(unsupported_text(args.raw))
    template = output.split("=", 1)[1]
    return template[1:-1] if len(template) > 1 and template[0] == template[-1] == "'" else template


def _get_pods(course: Path, args: Args, names: list[str]) -> int:
    _allow(args, "selector", "output")
    jsonpath = _jsonpath(args)
    state = running_state(course)
    pods = _pods(state, args.flags.get("selector"))
    now = time.time()
    if jsonpath is not None:
        chosen = [p for p in pods if not names or p["name"] in names]
        if names and len(chosen) != len(names):
            missing = next(n for n in names if n not in {p["name"] for p in chosen})
            raise LabError(f'Error from server (NotFound): pods "{missing}" not found')
        data = _pod_object(chosen[0]) if len(names) == 1 else _list([_pod_object(p) for p in chosen])
        sys.stdout.write(render(jsonpath, data))
        return 0
    if names:
        by_name = {p["name"]: p for p in pods}
        missing = [n for n in names if n not in by_name]
        pods = [by_name[n] for n in names if n in by_name]
        for name in missing:
            print(f'Error from server (NotFound): pods "{name}" not found', file=sys.stderr)
        if missing and not pods:
            return 1
    if not pods:
        print(f"No resources found in {NAMESPACE} namespace.", file=sys.stderr)
        return 0
    rows = [[p["name"], _ready_count(p), p["phase"], str(p["restarts"]), age(p["created"], now)] for p in pods]
    print(table(["NAME", "READY", "STATUS", "RESTARTS", "AGE"], rows))
    return 0


def _get_deployments(course: Path, args: Args, names: list[str]) -> int:
    jsonpath = _jsonpath(args)
    state = running_state(course)
    now = time.time()
    if jsonpath is not None:
        chosen = [_deployment_object(state, _deployment(state, n)) for n in names] or [
            _deployment_object(state, d) for d in sorted(state["deployments"], key=lambda d: d["name"])
        ]
        sys.stdout.write(render(jsonpath, chosen[0] if len(names) == 1 else _list(chosen)))
        return 0
    rows = []
    for item in sorted(state["deployments"], key=lambda d: d["name"]):
        if (names and item["name"] not in names) or not _matches(item["labels"], args.flags.get("selector")):
            continue
        live = [p for p in state["pods"] if p["deployment"] == item["name"] and p["phase"] != "Terminating"]
        ready = sum(p["ready"] for p in live)
        updated = sum(p["rs_hash"] == item["rs_hash"] for p in live)
        rows.append([item["name"], f"{ready}/{item['replicas']}", str(updated), str(ready), age(item["created"], now)])
    missing = [n for n in names if n not in {r[0] for r in rows}]
    for name in missing:
        print(f'Error from server (NotFound): deployments.apps "{name}" not found', file=sys.stderr)
    if rows:
        print(table(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], rows))
    elif not names:
        print(f"No resources found in {NAMESPACE} namespace.", file=sys.stderr)
    return 1 if missing else 0


def _list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def _pod_object(pod: dict[str, Any]) -> dict[str, Any]:
    """Lo que el laboratorio sabe de un pod, con la forma del objeto de Kubernetes."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod["name"], "namespace": NAMESPACE, "labels": pod["labels"]},
        "spec": {"containers": [{"name": c["name"]} for c in pod["containers"]]},
        "status": {
            "phase": "Failed" if pod["phase"] == "Error" else "Running",
            "podIP": pod["ip"],
            "conditions": [{"type": "Ready", "status": "True" if pod["ready"] else "False"}],
            "containerStatuses": [
                {"name": c["name"], "ready": c["ready"], "restartCount": pod["restarts"]} for c in pod["containers"]
            ],
        },
    }


def _deployment_object(state: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    live = [p for p in state["pods"] if p["deployment"] == item["name"] and p["phase"] != "Terminating"]
    env = [
        {"name": n, "value": v} if f is None else {"name": n, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": f}}}
        for n, v, f in item["env"]
    ]
    ready = sum(p["ready"] for p in live)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": item["name"], "namespace": NAMESPACE, "labels": item["labels"]},
        "spec": {
            "replicas": item["replicas"],
            "selector": {"matchLabels": item["labels"]},
            "template": {
                "metadata": {"labels": item["labels"]},
                "spec": {"containers": [{"name": item["container"], "env": env}]},
            },
        },
        "status": {
            "replicas": len(live),
            "updatedReplicas": sum(p["rs_hash"] == item["rs_hash"] for p in live),
            "readyReplicas": ready,
            "availableReplicas": ready,
        },
    }


def _get_vs(course: Path) -> int:
    state = running_state(course)
    if not state["virtual_services"]:
        print(f"No resources found in {NAMESPACE} namespace.", file=sys.stderr)
        return 0
    now = time.time()
    rows = [
        [vs["name"], "", "[" + ",".join(f'"{h}"' for h in vs["hosts"]) + "]", age(vs["created"], now)]
        for vs in state["virtual_services"]
    ]
    print(table(["NAME", "GATEWAYS", "HOSTS", "AGE"], rows))
    return 0


# ------------------------------------------------------------------------------ logs
def cmd_logs(course: Path, args: Args, namespace: str) -> int:
    _allow(args, "selector", "container", "prefix", "tail", "timestamps")
    state = running_state(course)
    call(course, "sync-logs")  # lo ya escrito por los contenedores, en sus .log (lab/cluster/capture.py)
    targets = args.words[1:]
    selector = args.flags.get("selector")
    tail_flag = args.flags.get("tail")
    try:
        tail = int(tail_flag) if tail_flag is not None else (10 if selector else -1)
    except ValueError:
        raise LabError(f'error: invalid argument "{tail_flag}" for "--tail" flag') from None
    if selector:
        if targets:
            raise LabError("error: only one of -l or a resource name may be specified")
        pods = _pods(state, selector)
        if not pods:
            print(f"No resources found in {NAMESPACE} namespace.", file=sys.stderr)
            return 0
    elif len(targets) == 1:
        pods = [_log_target(state, targets[0])]
    elif len(targets) == 2 and "container" not in args.flags:  # kubectl logs POD CONTENEDOR
        pods = [_log_target(state, targets[0])]
        args.flags["container"] = targets[1]
    else:
        raise Unsupported(unsupported_text(args.raw))
    for pod in pods:
        container = args.flags.get("container") or pod["containers"][0]["name"]
        try:
            path = container_log(pod, container)
        except KeyError:
            names = " ".join(c["name"] for c in pod["containers"])
            raise LabError(
                f"error: container {container} is not valid for pod {pod['name']}; choose one of: [{names}]"
            ) from None
        prefix = f"[pod/{pod['name']}/{container}] " if args.flags.get("prefix") else ""
        # Como kubectl: el prefijo del pod, luego la marca de kubelet (hora de llegada) y la línea.
        for stamp, line in read_entries(path, tail, timestamps=bool(args.flags.get("timestamps"))):
            sys.stdout.write(f"{prefix}{stamp} {line}\n" if stamp else f"{prefix}{line}\n")
    sys.stdout.flush()
    return 0


def _log_target(state: dict[str, Any], target: str) -> dict[str, Any]:
    kind, slash, name = target.partition("/")
    if slash and kind in DEPLOY_TYPES:
        pods = [p for p in _pods(state) if p["deployment"] == name and p["phase"] != "Terminating"]
        if not pods:
            raise LabError(f'error: deployments.apps "{name}" not found')
        pods.sort(key=lambda p: (not p["ready"], p["created"]))
        if len(pods) > 1:
            print(f"Found {len(pods)} pods, using pod/{pods[0]['name']}", file=sys.stderr)
        return pods[0]
    if slash and kind not in POD_TYPES:
        raise Unsupported(f"error: «logs {target}» no soportado por el laboratorio (not supported by the lab)")
    name = name if slash else target
    for pod in state["pods"]:
        if pod["name"] == name:
            return pod
    raise LabError(f'Error from server (NotFound): pods "{name}" not found')


# ------------------------------------------------------------------------------ set env / rollout
def cmd_set(course: Path, args: Args, namespace: str) -> int:
    _allow(args)
    if len(args.words) < 2 or args.words[1] != "env":
        raise Unsupported(unsupported_text(args.raw))
    name, index = _deployment_ref(args, 2)
    changes: list[tuple[str, str | None]] = []
    for item in args.words[index:]:
        if item.endswith("-") and "=" not in item:
            changes.append((item[:-1], None))
        elif "=" in item and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", item.split("=", 1)[0]):
            key, value = item.split("=", 1)
            changes.append((key, value))
        else:
            raise LabError(f"error: invalid environment variable: {item}")
    if not changes:
        raise LabError("error: at least one environment variable must be provided")
    call(course, "set-env", {"deployment": name, "changes": changes})
    print(f"deployment.apps/{name} env updated")
    return 0


def cmd_rollout(course: Path, args: Args, namespace: str) -> int:
    sub = args.words[1] if len(args.words) > 1 else ""
    name, index = _deployment_ref(args, 2)
    if index != len(args.words):
        raise Unsupported(unsupported_text(args.raw))
    if sub == "restart":
        _allow(args)
        call(course, "restart", {"deployment": name})
        print(f"deployment.apps/{name} restarted")
        return 0
    if sub == "status":
        _allow(args, "timeout")
        return _rollout_status(course, name, _seconds(args.flags.get("timeout"), default=300))
    raise Unsupported(unsupported_text(args.raw))


def rollout_message(state: dict[str, Any], name: str) -> tuple[bool, str]:
    item = _deployment(state, name)
    live = [p for p in state["pods"] if p["deployment"] == name and p["phase"] != "Terminating"]
    updated = [p for p in live if p["rs_hash"] == item["rs_hash"]]
    available = sum(p["ready"] for p in updated)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if len(updated) < item["replicas"]:
        return False, f"{prefix}{len(updated)} out of {item['replicas']} new replicas have been updated..."
    if len(live) > len(updated):
        return False, f"{prefix}{len(live) - len(updated)} old replicas are pending termination..."
    if available < len(updated):
        return False, f"{prefix}{available} of {len(updated)} updated replicas are available..."
    return True, f'deployment "{name}" successfully rolled out'


def _rollout_status(course: Path, name: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        done, message = rollout_message(running_state(course), name)
        if message != last:
            print(message, flush=True)
            last = message
        if done:
            return 0
        if time.monotonic() > deadline:
            print("error: timed out waiting for the condition", file=sys.stderr)
            return 1
        time.sleep(POLL)


def _seconds(value: str | None, default: float) -> float:
    if value is None:
        return default
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", value)
    if value == "0" or not match or not value:
        if value == "0":
            return 0.0
        raise LabError(f'error: invalid argument "{value}" for "--timeout" flag: time: missing unit in duration')
    h, m, s = match.groups()
    return int(h or 0) * 3600 + int(m or 0) * 60 + float(s or 0)


# ------------------------------------------------------------------------------ wait
def cmd_wait(course: Path, args: Args, namespace: str) -> int:
    _allow(args, "for", "selector", "all", "timeout")
    condition = args.flags.get("for", "")
    if condition.lower() != "condition=ready" or len(args.words) != 2:
        raise Unsupported(unsupported_text(args.raw))
    target = args.words[1]
    kind, slash, name = target.partition("/")
    if kind not in POD_TYPES:
        raise Unsupported(unsupported_text(args.raw))
    timeout = _seconds(args.flags.get("timeout"), default=30)
    state = running_state(course)
    if slash:
        pods = [p for p in state["pods"] if p["name"] == name]
        if not pods:
            raise LabError(f'Error from server (NotFound): pods "{name}" not found')
    elif args.flags.get("selector") or args.flags.get("all"):
        pods = _pods(state, args.flags.get("selector"))
    else:
        raise LabError("error: resource(s) were provided, but no name was specified")
    if not pods:
        raise LabError("error: no matching resources found")
    waiting = [p["name"] for p in pods]
    deadline = time.monotonic() + timeout
    while waiting:
        current = {p["name"]: p for p in running_state(course)["pods"]}
        for pod_name in list(waiting):
            pod = current.get(pod_name)
            if pod is None:
                waiting.remove(pod_name)  # ya no existe (rollout): nada que esperar
            elif pod["ready"]:
                print(f"pod/{pod_name} condition met", flush=True)
                waiting.remove(pod_name)
        if waiting and time.monotonic() > deadline:
            print(f"error: timed out waiting for the condition on pods/{waiting[0]}", file=sys.stderr)
            return 1
        if waiting:
            time.sleep(POLL)
    return 0


# ------------------------------------------------------------------------------ apply / delete
# Tipos que kubectl conoce en un clúster con Istio pero que el laboratorio no emula.
KNOWN_KINDS = {
    "v1": {"Pod", "Service", "ConfigMap", "Secret", "Namespace", "ServiceAccount", "Endpoints"},
    "apps/v1": {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"},
    "networking.istio.io/*": {"DestinationRule", "Gateway", "ServiceEntry", "Sidecar", "WorkloadEntry"},
    "security.istio.io/*": {"PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication"},
}
GO_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "bool"}


def _read_docs(args: Args) -> tuple[str, list[dict[str, Any]]]:
    """Los objetos de `-f FICHERO|-`, validados como lo haría kubectl antes de ir al servidor."""
    origin = args.flags.get("filename")
    if not origin or len(args.words) != 1:
        raise Unsupported(unsupported_text(args.raw))
    shown = "STDIN" if origin == "-" else origin
    try:
        text = sys.stdin.buffer.read() if origin == "-" else Path(origin).read_bytes()
    except OSError:
        raise LabError(f'error: the path "{origin}" does not exist') from None
    try:
        text = text.decode("utf-8")
    except UnicodeDecodeError:
        raise LabError(f"error: error parsing {shown}: error converting YAML to JSON: yaml: invalid leading UTF-8 octet") from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None) or str(exc)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise LabError(f"error: error parsing {shown}: error converting YAML to JSON: yaml: {where}{problem}") from None
    if not docs:
        raise LabError("error: no objects passed to apply")
    for doc in docs:
        _check_object(doc, shown)
    return origin, docs


def _check_object(doc: Any, shown: str) -> None:
    if not isinstance(doc, dict):
        raise LabError(
            f'error: unable to decode "{shown}": json: cannot unmarshal {GO_TYPES.get(type(doc), "value")} '
            "into Go value of type map[string]interface {}"
        )
    kind, version = doc.get("kind"), doc.get("apiVersion")
    if not kind or not isinstance(kind, str):
        raise LabError(f"error: unable to decode \"{shown}\": Object 'Kind' is missing in '{_flow(doc)}'")
    if not version or not isinstance(version, str):
        raise LabError(f"error: unable to decode \"{shown}\": Object 'apiVersion' is missing in '{_flow(doc)}'")
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not name or not isinstance(name, str):
        raise LabError(f'error: error validating "{shown}": resource name may not be empty (metadata.name)')
    if kind == "VirtualService" and version in VS_API_VERSIONS:
        return
    group = version.split("/")[0] + "/*" if "/" in version else version
    if kind in KNOWN_KINDS.get(version, set()) | KNOWN_KINDS.get(group, set()):
        raise Unsupported(
            f"error: {kind} ({version}) de {shown}: no soportado por el laboratorio "
            "(not supported by the lab); solo VirtualService de networking.istio.io."
        )
    raise LabError(
        f'error: resource mapping not found for name: "{name}" namespace: "" from "{shown}": '
        f'no matches for kind "{kind}" in version "{version}"\nensure CRDs are installed first'
    )


def _flow(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, default_flow_style=True, width=10**6).strip()


def cmd_apply(course: Path, args: Args, namespace: str) -> int:
    _allow(args, "filename")
    origin, docs = _read_docs(args)
    try:
        answer = call(course, "apply", {"docs": docs, "origin": origin})
    except StatusError as exc:  # lo que el servidor de API rechaza (CRD, webhook de Istio)
        message = server_error(exc.status, "creating", "STDIN" if origin == "-" else origin)
        sys.stderr.write(message if message.endswith("\n") else message + "\n")
        return 1
    print("\n".join(answer["lines"]))
    return 0


def server_error(status: dict[str, Any], verb: str, source: str) -> str:
    """Un metav1.Status de error como lo escribe kubectl (kubernetes/kubectl v0.34 pkg/cmd/util/helpers.go).

    Invalid con detalles → «The <Kind> "<name>" is invalid: <campo>: <mensaje>» (checkErr, una línea
    por causa si hay varias); lo demás pasa por AddSourceToErr («error when creating "<fichero>": …»)
    y StandardErrorMessage: «Error from server (<reason>): …», o «Error from server: …» sin reason
    (así llega la negativa de un webhook de admisión).
    """
    details = status.get("details") or {}
    if status.get("reason") == "Invalid" and (details.get("kind") or details.get("name")):
        head = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid: '
        causes = [f"{c['field']}: {c['message']}" for c in details.get("causes") or []]
        if len(causes) == 1:
            return head + causes[0] + "\n"
        return head + "\n" + "".join(f"* {c}\n" for c in causes)
    message = f'error when {verb} "{source}": {status["message"]}'
    reason = status.get("reason")
    return f"Error from server ({reason}): {message}" if reason else f"Error from server: {message}"


def cmd_delete(course: Path, args: Args, namespace: str) -> int:
    _allow(args, "filename")
    origin, docs = _read_docs(args)
    names = [d["metadata"]["name"] for d in docs]
    answer = call(course, "delete", {"names": names})
    if answer["lines"]:
        print("\n".join(answer["lines"]))
    for name in answer["missing"]:
        print(
            f'Error from server (NotFound): error when deleting "{origin}": '
            f'virtualservices.networking.istio.io "{name}" not found',
            file=sys.stderr,
        )
    return 1 if answer["missing"] else 0
