"""What the API server asks the node: `kubectl logs` and `kubectl exec` (lab/cluster/api/node.py).

Logs: the captured output of each container (lab/cluster/capture.py: `<container>.log` and the arrival
time of each line in `.times`), with kubelet's options (`pkg/kubelet/kuberuntime/logs/logs.go`):
tailLines, timestamps (RFC 3339 with 9 decimals, UTC), sinceSeconds, follow until the client goes
away. A container that has not started answers kubelet's 400 «container "X" in pod "Y" is waiting to
start: …» (`pkg/kubelet/kubelet_pods.go` validateContainerLogStatus).

Exec: only `pilot-agent request GET|POST <path>` in `istio-proxy`, answered from that sidecar's Envoy
admin (as istio/istio `pilot/cmd/pilot-agent/request.go` does inside the container); anything else is
refused with a Status that says what the lab can do. No client input ever runs as a host command.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterator

from lab.cluster.api.errors import ApiError, bad_request, lab_cannot, not_found
from lab.cluster.api.node import ExecResult
from lab.cluster.capture import format_stamp
from lab.cluster.logs import read_entries
from lab.cluster.node.inject import INIT
from lab.cluster.node.kubelet import Kubelet
from lab.cluster.node.podstatus import Run
from lab.constants import ENVOY_ADMIN_PORT, SIDECAR_CONTAINER

FOLLOW_POLL = 0.1  # s between looks at a followed log
EXEC_TIMEOUT = 10.0
CANNOT_EXEC = (
    "El laboratorio no ejecuta órdenes en los contenedores: solo «pilot-agent request GET|POST <ruta>» "
    f"en el contenedor {SIDECAR_CONTAINER} (lee el admin de Envoy del sidecar, p. ej. "
    f"«kubectl exec deploy/bff -c {SIDECAR_CONTAINER} -- pilot-agent request GET stats»)."
)


class NodeHooks:
    def __init__(self, kubelet: Kubelet, sync_logs: Callable[[], object]) -> None:
        self.kubelet = kubelet
        self.sync_logs = sync_logs

    def _run(self, namespace: str, pod: str) -> Run:
        for run in self.kubelet.pod_runs():
            if (run.namespace, run.name) == (namespace, pod):
                return run
        raise not_found("pods", pod)

    def _containers(self, run: Run) -> list[str]:
        return [run.app] + ([INIT, SIDECAR_CONTAINER] if run.proxy_image else [])

    # ------------------------------------------------------------------ logs
    def read_log(self, namespace: str, pod: str, container: str, *, tail_lines: int | None, timestamps: bool,
                 since_seconds: int | None, follow: bool, stop: threading.Event) -> Iterator[bytes]:
        run = self._run(namespace, pod)
        if container not in self._containers(run):
            raise bad_request(f"container {container} is not valid for pod {pod}")
        if container == run.app and (run.pod is None or run.pod.app is None and not run.last_exit):
            reason = run.waiting[0] if run.waiting else "ContainerCreating"
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                reason = "trying and failing to pull image"
            raise bad_request(f'container "{container}" in pod "{pod}" is waiting to start: {reason}')
        if run.pod is None or container == INIT:
            return iter(())
        return self._lines(run, container, tail_lines, timestamps, since_seconds, follow, stop)

    def _lines(self, run: Run, container: str, tail: int | None, timestamps: bool, since: int | None,
               follow: bool, stop: threading.Event) -> Iterator[bytes]:
        assert run.pod is not None
        path = run.pod.log_path(self.kubelet.runtime.logs_dir, container)
        self.sync_logs()
        entries = read_entries(path, -1, timestamps=True)
        done = len(entries)
        if since is not None:
            limit = format_stamp(time.time_ns() - since * 1_000_000_000)
            entries = [e for e in entries if (e[0] or "") >= limit]
        if tail is not None and tail >= 0:
            entries = entries[len(entries) - tail:] if tail else []
        yield from (_line(stamp, text, timestamps) for stamp, text in entries)
        while follow and not stop.is_set() and not run.stopping:
            if stop.wait(FOLLOW_POLL):
                break
            entries = read_entries(path, -1, timestamps=True)
            for stamp, text in entries[done:]:
                yield _line(stamp, text, timestamps)
            done = max(done, len(entries))

    # ------------------------------------------------------------------ exec
    def exec(self, namespace: str, pod: str, container: str, command: list[str]) -> ExecResult:
        run = self._run(namespace, pod)
        if container not in self._containers(run):
            raise bad_request(f"container {container} is not valid for pod {pod}")
        ok = (container == SIDECAR_CONTAINER and len(command) in (3, 4) and command[0] == "pilot-agent"
              and command[1] == "request" and command[2].upper() in ("GET", "POST"))
        if not ok:
            raise lab_cannot(CANNOT_EXEC)
        if len(command) == 3:
            raise lab_cannot(CANNOT_EXEC)
        if run.pod is None or not run.pod.proxy_ready:
            raise bad_request(f'container "{container}" in pod "{pod}" is waiting to start: PodInitializing')
        return envoy_admin(run.pod.ip, command[2].upper(), command[3])


def envoy_admin(ip: str, method: str, path: str) -> ExecResult:
    """pilot-agent request: the admin's answer on stdout; a non-200 answer is an error (exit 1)."""
    conn = http.client.HTTPConnection(ip, ENVOY_ADMIN_PORT, timeout=EXEC_TIMEOUT)
    try:
        conn.request(method, "/" + path.lstrip("/"))
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        return ExecResult(b"", f"Error: {exc}\n".encode(), 1)
    finally:
        conn.close()
    if response.status != 200:
        return ExecResult(b"", f"Error: received unsuccessful status code {response.status}: {body.decode(errors='replace')}\n".encode(), 1)
    return ExecResult(body, b"", 0)


def _line(stamp: str | None, text: str, timestamps: bool) -> bytes:
    return ((f"{stamp} " if timestamps and stamp else "") + text + "\n").encode()


__all__ = ["ApiError", "NodeHooks"]
