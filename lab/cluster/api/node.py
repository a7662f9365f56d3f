"""What the API server asks the node (the twin's kubelet): container logs and exec.

The server handles HTTP and WebSocket (pods/log with follow, pods/exec's channel protocol); the hooks
only produce bytes. As on a cluster, the apiserver proxies these subresources to the kubelet
(k8s.io/kubernetes pkg/registry/core/pod/rest/log.go and subresources.go); here the kubelet is a
Python object. Nothing a client sends ever runs as a host command.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ExecResult:
    stdout: bytes
    stderr: bytes
    exit_code: int


class NodeHooks(Protocol):
    def read_log(self, namespace: str, pod: str, container: str, *, tail_lines: int | None, timestamps: bool,
                 since_seconds: int | None, follow: bool, stop: threading.Event) -> Iterator[bytes]:
        """The container's log lines (bytes ending in \\n); with `follow`, keeps yielding until `stop`
        is set or the container ends. ApiError if there is no such container."""
        ...

    def exec(self, namespace: str, pod: str, container: str, command: list[str]) -> ExecResult:
        """Runs `command` in the container as the lab allows it; ApiError (Spanish message) to refuse."""
        ...
