"""El supervisor: el único dueño de los procesos del laboratorio y de su servidor de API.

Arranca el almacén de objetos y el servidor de API de Kubernetes (lab/cluster/api/), lo siembra con
los manifiestos del curso (lab/cluster/seed.py), escribe el kubeconfig y pone en marcha lo que en un
clúster hace el plano de control y el nodo: los controladores (lab/cluster/controllers/), el nodo
(lab/cluster/node/: cada pod, una app y su sidecar Envoy), la parte de istiod que programa los
sidecars (lab/cluster/meshsync.py) y un Envoy que hace de kube-proxy. Publica los hechos del ciclo de
vida en .lab/state.json y, al parar (Ctrl-C, SIGTERM, `lab down`), termina todo lo que arrancó.

Los datos fluyen en un sentido: manifiestos → API → controladores → nodo → configuración de Envoy → procesos.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.cluster import acks
from lab.cluster import envoyconfig as xds
from lab.cluster.api.admission import istio_validation
from lab.cluster.api.registry import Admission, Registry
from lab.cluster.api.server import ApiServer
from lab.cluster.api.store import Obj, Store
from lab.cluster.appcmd import app_command, dockerfile_cmd
from lab.cluster.capture import OutputCollector
from lab.cluster.control import ControlServer, Op
from lab.cluster.controllers.api import DEPLOYMENTS, NAMESPACES, PODS
from lab.cluster.controllers.manager import ControllerManager
from lab.cluster.launcher import LAUNCHER_LOG, Launcher
from lab.cluster.meshpolicy import load_mesh_config
from lab.cluster.meshsync import MeshSync
from lab.cluster.node.hooks import NodeHooks
from lab.cluster.node.inject import INJECT_LABEL, inject
from lab.cluster.node.kubelet import Kubelet
from lab.cluster.node.podstatus import NODE_IP
from lab.cluster.pods import ENVOY_FLAGS, Runtime, http_ok
from lab.cluster.procs import Spawner, check_port_free, envoy_binary, start_time, stop_all
from lab.cluster.seed import seed, write_kubeconfig
from lab.cluster.state import ContainerState, LabState, PodState, Process, state_dir, state_file, write_state
from lab.cluster.topology import FIRST_HOST, NAMESPACE, Service, load_topology, pod_ip
from lab.cluster.zygote import Zygote
from lab.constants import DEFAULT_NAMESPACE, ENVOY_ADMIN_PORT, NODE_PORT_IP, SIDECAR_CONTAINER, STATE_DIR, kubeconfig_path
from lab.errors import LabError

READY_TIMEOUT = 30.0
SIDECAR_PORTS = (ENVOY_ADMIN_PORT, xds.OUTBOUND_PORT, xds.INBOUND_PORT)
ISTIO_HUB = "docker.io/istio"


class Supervisor:
    def __init__(self, course_root: Path, launcher: Launcher, log: Callable[[str], None] = print) -> None:
        self.root = course_root.resolve()
        self.dir = state_dir(self.root)
        self.log = log
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.dirty = threading.Event()
        self.phase = "starting"
        self.error: str | None = None
        self.started = time.time()
        self.ready_seconds: float | None = None
        self.topology = load_topology(self.root)
        self.mesh = load_mesh_config(self.root)
        self.store = Store()
        self.registry = Registry(self.store, Admission(validating=[istio_validation]))
        self.kube_proxy: subprocess.Popen | None = None
        self.launcher = launcher  # lab/cluster/launcher.py: started before this module was imported
        self.zygote: Zygote | None = launcher.zygote
        self.spawner: Spawner = launcher.spawner
        self.control: ControlServer | None = None
        self.api_server: ApiServer | None = None
        self.runtime: Runtime | None = None
        self.output: OutputCollector | None = None
        self.kubelet: Kubelet | None = None
        self.controllers: ControllerManager | None = None
        self.mesh_sync: MeshSync | None = None

    def _inject(self, resource: str, new: Obj, old: Obj | None, dry_run: bool) -> None:
        """Istio's injection webhook: pods of a namespace labelled istio-injection=enabled."""
        if resource != PODS or old is not None:
            return
        namespace = self.store.find(NAMESPACES, "", new["metadata"].get("namespace", DEFAULT_NAMESPACE))
        if namespace and (namespace["metadata"].get("labels") or {}).get(INJECT_LABEL) == "enabled":
            inject(new, ISTIO_HUB)

    # ---------------------------------------------------------------- arranque y parada
    def start(self) -> None:
        """Arranca todo y espera a que esté listo; LabError (ya limpio) si algo falla."""
        t0 = time.monotonic()
        try:
            self._prepare()
            self._start_everything()
        except BaseException as exc:
            self.error = str(exc) if isinstance(exc, LabError) else f"{type(exc).__name__}: {exc}"
            self.phase = "failed"
            self.shutdown()
            raise
        self.ready_seconds = time.monotonic() - t0
        with self.lock:
            self.phase = "ready"
            self.publish()
        threading.Thread(target=self._monitor, name="monitor", daemon=True).start()

    def _prepare(self) -> None:
        envoy = envoy_binary()
        cmd = dockerfile_cmd(self.root)
        for deployment in self.topology.deployments:
            app = self.root / "apps" / deployment.container / "main.py"
            if not app.is_file():
                raise LabError(f"Falta {app}: el pod {deployment.name} no tiene aplicación.")
        self._check_ports()
        self.output = OutputCollector()
        self.runtime = Runtime(self.root, self.dir, envoy, cmd, self.topology, self.spawner, self._launch_app, self.output)
        self.control = ControlServer({Op.STOP: self._rpc_stop, Op.SYNC_LOGS: self._rpc_sync_logs})
        self.control.start()
        self.publish()

    def _check_ports(self) -> None:
        for port, _ in self.topology.node_ports():
            check_port_free(NODE_PORT_IP, port)
        check_port_free(NODE_IP, ENVOY_ADMIN_PORT)
        for deployment in self.topology.deployments:
            for i in range(deployment.replicas):
                for port in (deployment.container_port, *SIDECAR_PORTS):
                    check_port_free(pod_ip(deployment.service, FIRST_HOST + i), port)

    def _launch_app(self, argv: list[str], log: Path, env: dict[str, str], cwd: Path) -> Any:
        if self.zygote is None:  # LAB_APP_LAUNCH=exec
            assert self.spawner is not None
            return self.spawner.spawn(app_command(argv, argv[argv.index("--host") + 1]), log, env, cwd)
        try:
            self.zygote.ready.result(timeout=READY_TIMEOUT)  # FastAPI importado una vez
        except Exception as exc:  # noqa: BLE001
            tail = (self.dir / LAUNCHER_LOG).read_text(errors="replace")[-800:]
            raise LabError(f"El lanzador de apps (lab.cluster.zygote) no arrancó: {exc}\n{tail}") from exc
        return self.zygote.spawn(argv, log, env, cwd)

    def _start_everything(self) -> None:
        assert self.runtime and self.spawner and self.output
        self.mesh_sync = MeshSync(self.store, self.topology, self.mesh, self.dir / "xds", self._ready_sidecars, NODE_IP, self.log)
        self.registry.admission.mutating.append(self._inject)
        self.registry.admission.validating.append(self.mesh_sync.admit)
        self.mesh_sync.write_all()
        self.kubelet = Kubelet(self.registry, self.runtime, self.topology, self.mesh, self.log)
        self.controllers = ControllerManager(self.registry, self.log)
        self.store.observe(lambda event: self.dirty.set() if event.resource == PODS else None)
        bootstrap = self.dir / "xds" / "kube-proxy.json"
        xds.write_json(bootstrap, xds.kube_proxy_bootstrap(self.topology.node_ports(), self.dir / "xds", NODE_IP))
        self.kube_proxy = self.spawner.spawn(
            [self.runtime.envoy, "-c", str(bootstrap), *ENVOY_FLAGS],
            self.dir / "logs" / "kube-proxy.log", env={"PATH": "/usr/bin:/bin"}, cwd=self.dir,
        )
        self.kubelet.start()
        self.controllers.start()
        seed(self.registry, self.topology, self.mesh)
        self.publish()
        self._wait_available()
        # The HTTP front last: its warm-up (schemas, OpenAPI: ~0.4 s of CPU) would otherwise compete with
        # the apps' start on two cores; the twin needs only the registry until then.
        self.api_server = ApiServer(self.registry, node=NodeHooks(self.kubelet, self.output.sync))
        self.api_server.start()
        write_kubeconfig(self.dir, self.api_server.port)

    def _wait_available(self) -> None:
        """Listo cuando cada Deployment del curso tiene todas sus réplicas disponibles y el kube-proxy
        ya tiene los endpoints del NodePort (lo que el primer `curl` necesita)."""
        assert self.kubelet and self.kube_proxy and self.mesh_sync
        deadline = time.monotonic() + READY_TIMEOUT
        names = [d.name for d in self.topology.deployments]
        node_ports = [(port, d.service) for port, d in self.topology.node_ports()]
        while True:
            if self.kubelet.failures:
                raise LabError(self.kubelet.failures[0])
            if self.stopping.is_set():
                raise LabError("Parada pedida mientras arrancaban los pods.")
            if all(self._available(name) for name in names) and all(
                self._kube_proxy_has(port, service, self.mesh_sync.ready_ips(service.name)) for port, service in node_ports
            ):
                return
            if self.kube_proxy.poll() is not None:
                tail = (self.dir / "logs" / "kube-proxy.log").read_text(errors="replace")[-800:]
                raise LabError(f"El kube-proxy (Envoy de {self.topology.node_urls()}) no arrancó:\n{tail}")
            if time.monotonic() > deadline:
                raise LabError(f"Los Deployments {', '.join(names)} no estuvieron listos en {READY_TIMEOUT:.0f} s "
                               f"(mira {STATE_DIR}/logs/).")
            time.sleep(0.02)

    def _available(self, name: str) -> bool:
        d = self.store.find(DEPLOYMENTS, NAMESPACE, name)
        status = (d or {}).get("status") or {}
        want = (d or {}).get("spec", {}).get("replicas", 1)
        return bool(d) and status.get("availableReplicas") == want and status.get("updatedReplicas") == want

    @staticmethod
    def _kube_proxy_has(port: int, service: Service, ips: list[str]) -> bool:
        """The kube-proxy's cluster for this NodePort has every ready pod (what acks.py reads for EDS)."""
        if not ips or not http_ok(NODE_IP, ENVOY_ADMIN_PORT, "/ready"):  # its listener too, not just the cluster
            return False
        hosts = acks.cluster_hosts(NODE_IP, xds.node_port_cluster(port, service))
        return hosts is not None and {f"{ip}:{xds.INBOUND_PORT}" for ip in ips} <= hosts

    def _ready_sidecars(self) -> list[str]:
        if self.kubelet is None:
            return []
        return [r.pod.ip for r in self.kubelet.pod_runs() if r.pod and r.pod.proxy_ready and not r.stopping]

    def wait(self) -> None:
        """Bloquea hasta que alguien pida parar (señal o `lab down`)."""
        while not self.stopping.wait(0.5):  # con tiempo: las señales llegan al hilo principal
            pass

    def request_stop(self, *_: Any) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self.request_stop)

    def shutdown(self) -> None:
        """Para todos los procesos (SIGTERM, luego SIGKILL) y borra el estado publicado."""
        self.stopping.set()
        with self.lock:
            if self.phase != "failed":
                self.phase = "stopping"
            if self.control:
                self.publish()
        if self.api_server:
            self.api_server.close()
        if self.controllers:
            self.controllers.stop()
        procs = self.kubelet.stop() if self.kubelet else []
        if self.kube_proxy:
            procs.append(self.kube_proxy)
        stop_all(procs)
        if self.output:
            self.output.close()  # lo que quedaba en las FIFO, al .log
        self.launcher.stop()
        if self.control:
            self.control.close()
        state_file(self.root).unlink(missing_ok=True)

    # ---------------------------------------------------------------- estado publicado
    def publish(self) -> None:
        """Reescribe .lab/state.json: los hechos del ciclo de vida (lab/cluster/state.py)."""
        with self.lock:
            logs = self.dir / "logs"
            pods = []
            for run in self.kubelet.pod_runs() if self.kubelet else []:
                pod = run.pod
                if pod is None:
                    continue
                containers = [ContainerState(run.app, str(pod.log_path(logs, run.app)), Process.of(pod.app.pid) if pod.app else None)]
                if run.proxy_image:
                    containers.append(ContainerState(SIDECAR_CONTAINER, str(pod.log_path(logs, SIDECAR_CONTAINER)),
                                                     Process.of(pod.proxy.pid) if pod.proxy else None))
                pods.append(PodState(pod.name, pod.namespace, pod.deployment, pod.ip, tuple(containers), run.stopping))
            state = LabState(
                supervisor=Process(os.getpid(), start_time(os.getpid())),
                port=self.control.port if self.control else None,
                api_port=self.api_server.port if self.api_server else None,
                phase=self.phase,
                error=self.error,
                started=self.started,
                ready_seconds=self.ready_seconds,
                course=str(self.root),
                node_urls=self.topology.node_urls(),
                kubeconfig=str(kubeconfig_path(self.dir)) if self.api_server else None,
                pods=tuple(pods),
                kube_proxy=Process.of(self.kube_proxy.pid if self.kube_proxy else None),
                launcher=Process.of(self.zygote.proc.pid if self.zygote else None),
            )
            write_state(self.root, state)

    def _monitor(self) -> None:
        """Reescribe state.json cuando cambian los pods (PID nuevos que `lab down` debe poder parar)."""
        while not self.stopping.wait(0.2):
            if self.dirty.is_set():
                self.dirty.clear()
                self.publish()

    # ---------------------------------------------------------------- órdenes
    def _rpc_sync_logs(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Lo que los contenedores ya escribieron, en sus .log (ver capture.OutputCollector.sync)."""
        return {"synced": self.output.sync() if self.output else True}

    def _rpc_stop(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.stopping.set()  # wait() vuelve y lab/cluster/lifecycle.py llama a shutdown()
        return {}
