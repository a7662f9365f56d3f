"""pods/log and pods/exec: the streams the apiserver proxies to the kubelet (here, NodeHooks).

- log: k8s.io/kubernetes `pkg/registry/core/pod/rest/log.go` + strategy.go LogLocation/validateContainer
  (the container must be named when the pod has several; its messages), streamed as chunked text.
- exec: the WebSocket protocol of client-go v0.36 `tools/remotecommand/websocket.go` (subprotocols
  `v5.channel.k8s.io`/`v4.channel.k8s.io`, binary frames whose first byte is the channel: 1 stdout,
  2 stderr, 3 the final metav1.Status — `NonZeroExitCode` with an `ExitCode` cause, as
  apimachinery `pkg/util/remotecommand` and kubelet's cri streaming write it). The WebSocket itself
  (handshake, RFC 6455 frames) is the `websockets` package's protocol (websocket.py).
- attach and port-forward: a clear Status in Spanish (the lab's containers are not attachable).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from lab.cluster.api import errors, websocket
from lab.cluster.api.errors import ApiError

if TYPE_CHECKING:
    from lab.cluster.api.rest import Request, Target
    from lab.cluster.api.server import ApiServer, _Handler

Obj = dict[str, Any]
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDOUT, STDERR, ERROR = 1, 2, 3
CANNOT = {
    "attach": "El laboratorio no implementa kubectl attach: sus contenedores no tienen terminal. "
              "Usa kubectl logs (con -f para seguirlos).",
    "portforward": "El laboratorio no implementa kubectl port-forward: los servicios ya escuchan en 127.0.0.1 "
                   "(mira la salida de «lab up»).",
}


def serve(api: ApiServer, req: Request, t: Target, out: _Handler) -> None:
    if t.sub in CANNOT:
        raise errors.lab_cannot(CANNOT[t.sub])
    if req.method not in ("GET", "POST") or (t.sub == "log" and req.method != "GET"):
        raise errors.method_not_supported(f"{t.resource.key}/{t.sub}", req.method.lower())
    pod = api.registry.get(t.resource, t.namespace, t.name)
    container = _container(pod, req.query.get("container", ""))
    if api.node is None:
        raise errors.lab_cannot("Este servidor de API no tiene nodo: no hay contenedores que leer ni donde ejecutar.")
    if t.sub == "log":
        if req.flag("previous"):
            _no_previous(pod, container)
        _log(api, req, t, container, out)
    else:
        _exec(api, req, t, container, out)


def _names(pod: Obj) -> list[str]:
    spec = pod.get("spec") or {}
    return [c.get("name", "") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]


def _container(pod: Obj, wanted: str) -> str:
    name = pod["metadata"]["name"]
    containers = (pod.get("spec") or {}).get("containers") or []
    if not wanted:
        if len(containers) == 1:
            return containers[0].get("name", "")
        if not containers:
            raise errors.bad_request(f"pod {name} does not have a container")
        raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: [{' '.join(_names(pod))}]")
    if wanted not in _names(pod):
        raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


def _no_previous(pod: Obj, container: str) -> None:
    """`logs -p`: kubelet's answer when the container never restarted; the lab keeps no older log."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    restarts = next((s.get("restartCount", 0) for s in statuses if s.get("name") == container), 0)
    if not restarts:
        raise errors.bad_request(f'previous terminated container "{container}" in pod "{pod["metadata"]["name"]}" not found')
    raise errors.lab_cannot(f"El laboratorio no guarda el registro de las ejecuciones anteriores de «{container}»: "
                            "kubectl logs sin -p muestra el de la ejecución actual.")


def _int(req: Request, name: str) -> int | None:
    value = req.query.get(name, "")
    try:
        return int(value) if value != "" else None
    except ValueError:
        raise errors.bad_request(f'{name}: Invalid value: "{value}": must be an integer') from None


def _log(api: ApiServer, req: Request, t: Target, container: str, out: _Handler) -> None:
    stop = threading.Event()
    tail = _int(req, "tailLines")
    lines = api.node.read_log(t.namespace, t.name, container, tail_lines=tail if tail is None or tail >= 0 else None,
                              timestamps=req.flag("timestamps"), since_seconds=_int(req, "sinceSeconds"),
                              follow=req.flag("follow"), stop=stop)
    watcher = threading.Thread(target=_watch_client, args=(api, out, stop), daemon=True)
    watcher.start()
    started = False
    try:
        for line in lines:
            if not started:
                out.start_stream("text/plain")
                started = True
            out.chunk(line)
            if stop.is_set():
                break
        if not started:
            out.start_stream("text/plain")
        out.end_stream()
    except ApiError:
        if started:
            raise OSError("log stream failed after it started") from None
        raise
    except OSError:
        out.close_connection = True
    finally:
        stop.set()
        close = getattr(lines, "close", None)
        if close is not None:
            close()


def _watch_client(api: ApiServer, out: _Handler, stop: threading.Event) -> None:
    while not stop.wait(0.3):
        if api.stop.is_set() or out.client_gone():
            stop.set()


def _exec(api: ApiServer, req: Request, t: Target, container: str, out: _Handler) -> None:
    if req.header("Upgrade").lower() != "websocket":
        raise errors.bad_request("El laboratorio solo acepta kubectl exec por WebSocket (v5.channel.k8s.io): "
                                 "usa el kubectl del laboratorio, versión 1.30 o posterior.")
    offered = [p.strip() for p in req.header("Sec-WebSocket-Protocol").split(",")]
    protocol = next((p for p in PROTOCOLS if p in offered), None)
    if protocol is None:
        raise errors.bad_request(f"El laboratorio solo habla {' o '.join(PROTOCOLS)} para exec (el cliente ofrece: {', '.join(offered)}).")
    command = req.query_lists.get("command") or []
    conn = websocket.accept(out, protocol)
    try:
        try:
            result = api.node.exec(t.namespace, t.name, container, command)
        except ApiError as refused:
            conn.send(bytes([ERROR]) + _status_json({"metadata": {}, "status": "Failure", "message": refused.status["message"],
                                                     "reason": refused.status.get("reason", "BadRequest"),
                                                     "code": refused.code}))
        else:
            if result.stdout:
                conn.send(bytes([STDOUT]) + result.stdout)
            if result.stderr:
                conn.send(bytes([STDERR]) + result.stderr)
            conn.send(bytes([ERROR]) + _status_json(_exit_status(command, result.exit_code)))
        conn.close()
    except OSError:
        pass
    finally:
        out.close_connection = True


def _exit_status(command: list[str], code: int) -> Obj:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command [{' '.join(command)}], exit code {code}",
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def _status_json(status: Obj) -> bytes:
    return json.dumps(status, separators=(",", ":")).encode()
