"""El supervisor: el único dueño de los procesos del laboratorio.

Arranca los pods (app + sidecar) y el kube-proxy, vigila que sigan vivos, aplica los cambios que
piden `kubectl`/`istioctl` (por el canal de control.py), publica su estado en .lab/state.json y,
al parar (Ctrl-C, SIGTERM, `lab down`), termina todo lo que arrancó.

Los datos fluyen en un sentido: manifiestos → modelo → configuración de Envoy → procesos.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.cluster import envoyconfig as xds
from lab.cluster.acks import wait_routes
from lab.cluster.appcmd import app_command, dockerfile_cmd, without_proxies
from lab.cluster.capture import OutputCollector
from lab.cluster.control import Applied, ControlServer, Deleted, Op
from lab.cluster.discovery import VIRTUAL_SERVICE
from lab.cluster.meshpolicy import load_mesh_config, mesh_configmap, parse_virtual_service
from lab.cluster.pods import ENVOY_FLAGS, Pod, Runtime, exited, http_ok, probe, start_app, start_sidecar, wait_ready
from lab.cluster.procs import Spawner, check_port_free, envoy_binary, start_time, stop_all
from lab.cluster.rollout import DeploymentSpec, Rollouts
from lab.cluster.state import DeploymentState, LabState, Process, VirtualServiceState, state_dir, write_state
from lab.cluster.store import VirtualServices, changed_env
from lab.cluster.topology import FIRST_HOST, LAST_HOST, NAMESPACE, NODE_PORT_IP, load_topology, pod_ip, pod_name
from lab.cluster.zygote import Zygote, preload_modules
from lab.errors import LabError

NODE_IP = "127.0.0.2"  # dirección del «nodo»: admin del kube-proxy
READY_TIMEOUT = 30.0
SIDECAR_PORTS = (xds.ADMIN_PORT, xds.OUTBOUND_PORT, xds.INBOUND_PORT)
ENDPOINT_PROPAGATION = 0.2  # s entre sacar un pod de los endpoints y pararlo (como un preStop)


class Supervisor:
    def __init__(self, course_root: Path, log: Callable[[str], None] = print) -> None:
        self.root = course_root.resolve()
        self.dir = state_dir(self.root)
        self.log = log
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.phase = "starting"
        self.error: str | None = None
        self.started = time.time()
        self.ready_seconds: float | None = None
        self.topology = load_topology(self.root)
        self.mesh = load_mesh_config(self.root)
        now = time.time()
        self.specs = {d.name: DeploymentSpec(d, d.env, created=now) for d in self.topology.deployments}
        self.pods: list[Pod] = []
        self.virtual_services = VirtualServices()
        self.next_host = {d.name: FIRST_HOST for d in self.topology.deployments}
        self.versions = {"eds": 0, "rds": 0}
        self.rollouts = Rollouts(self)
        self.kube_proxy: subprocess.Popen | None = None
        self.zygote: Zygote | None = None
        self.spawner: Spawner | None = None
        self.control: ControlServer | None = None
        self.runtime: Runtime | None = None
        self.output: OutputCollector | None = None

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
            app_dir = self.root / "apps" / deployment.container / "main.py"
            if not app_dir.is_file():
                raise LabError(f"Falta {app_dir}: el pod {deployment.name} no tiene aplicación.")
        self._check_ports()
        for sub in ("xds", "logs"):
            shutil.rmtree(self.dir / sub, ignore_errors=True)
            (self.dir / sub).mkdir(parents=True)
        self.spawner = Spawner()
        self.output = OutputCollector()
        self.runtime = Runtime(
            self.root, self.dir, envoy, cmd, self.topology, self.spawner, self._launch_app, self.output
        )
        self.control = ControlServer({
            Op.SET_ENV: self._rpc_set_env, Op.RESTART: self._rpc_restart, Op.APPLY: self._rpc_apply,
            Op.DELETE: self._rpc_delete, Op.STOP: self._rpc_stop, Op.SYNC_LOGS: self._rpc_sync_logs,
        })
        self.control.start()
        self.publish()

    def _check_ports(self) -> None:
        for port, _ in self.topology.node_ports():
            check_port_free(NODE_PORT_IP, port)
        check_port_free(NODE_IP, xds.ADMIN_PORT)
        for deployment in self.topology.deployments:
            for i in range(deployment.replicas):
                for port in (deployment.container_port, *SIDECAR_PORTS):
                    check_port_free(pod_ip(deployment.service, FIRST_HOST + i), port)

    def _launch_app(self, argv: list[str], log: Path, env: dict[str, str], cwd: Path) -> Any:
        if self.zygote is None:  # LAB_APP_LAUNCH=exec
            assert self.spawner is not None
            return self.spawner.spawn(app_command(argv, argv[argv.index("--host") + 1]), log, env, cwd)
        return self.zygote.spawn(argv, log, env, cwd)

    def _start_zygote(self) -> None:
        assert self.spawner is not None
        if os.environ.get("LAB_APP_LAUNCH") == "exec":
            return
        proc = self.spawner.spawn(
            [sys.executable, "-m", "lab.cluster.zygote", *preload_modules(self.root)],
            self.dir / "logs" / "launcher.log",
            env=without_proxies(dict(os.environ)) | {"LAB_COURSE": str(self.root)},
            cwd=self.dir,
            pipes=True,
        )
        self.zygote = Zygote(proc)

    def _start_everything(self) -> None:
        assert self.runtime and self.spawner
        self._start_zygote()  # importa FastAPI mientras arrancan los Envoys
        with self.lock:
            for deployment in self.topology.deployments:
                for _ in range(deployment.replicas):
                    self.pods.append(self.new_pod(deployment.name))
            for pod in self.pods:  # endpoints iniciales: los pods que van a arrancar
                pod.serving = True
            self._write_eds()
            self._write_routes()
        bootstrap = self.dir / "xds" / "kube-proxy.json"
        xds.write_json(bootstrap, xds.kube_proxy_bootstrap(self.topology.node_ports(), self.dir / "xds", NODE_IP))
        self.kube_proxy = self.spawner.spawn(
            [self.runtime.envoy, "-c", str(bootstrap), *ENVOY_FLAGS],
            self.dir / "logs" / "kube-proxy.log",
            env={"PATH": "/usr/bin:/bin"},
            cwd=self.dir,
        )
        for pod in self.pods:
            start_sidecar(self.runtime, pod, self.mesh)
        if self.zygote is not None:
            try:
                self.zygote.ready.result(timeout=READY_TIMEOUT)
            except Exception as exc:  # noqa: BLE001
                tail = (self.dir / "logs" / "launcher.log").read_text(errors="replace")[-800:]
                raise LabError(f"El lanzador de apps (lab.cluster.zygote) no arrancó: {exc}\n{tail}") from exc
        for pod in self.pods:
            start_app(self.runtime, pod)
        self.publish()
        wait_ready(self.runtime, self.pods, READY_TIMEOUT, self.stopping)
        deadline = time.monotonic() + 10
        while not http_ok(NODE_IP, xds.ADMIN_PORT, "/ready"):
            if self.kube_proxy.poll() is not None or time.monotonic() > deadline:
                tail = (self.dir / "logs" / "kube-proxy.log").read_text(errors="replace")[-800:]
                raise LabError(f"El kube-proxy (Envoy de {self.topology.node_urls()}) no arrancó:\n{tail}")
            time.sleep(0.02)

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
        self.rollouts.join(timeout=10)
        with self.lock:
            procs = [p for pod in self.pods for p in pod.processes()]
            if self.kube_proxy:
                procs.append(self.kube_proxy)
            for pod in self.pods:
                pod.phase = "Terminating"
        stop_all(procs)
        if self.zygote is not None:
            stop_all([self.zygote.proc])
        if self.output:
            self.output.close()  # lo que quedaba en las FIFO, al .log
        if self.spawner:
            self.spawner.close()
        if self.control:
            self.control.close()
        (self.dir / "state.json").unlink(missing_ok=True)

    # ---------------------------------------------------------------- modelo → archivos
    def new_pod(self, deployment: str) -> Pod:
        spec = self.specs[deployment]
        base = spec.base
        used = {p.ip for p in self.pods}
        # IPs nuevas tras cada rollout, como en Kubernetes (FIRST_HOST..LAST_HOST, y vuelta).
        for _ in range(LAST_HOST - FIRST_HOST + 1):
            host = self.next_host[deployment]
            self.next_host[deployment] = host + 1 if host < LAST_HOST else FIRST_HOST
            if pod_ip(base.service, host) not in used:
                break
        else:
            raise LabError(
                f"No queda ninguna IP libre para un pod nuevo de {deployment} "
                f"({pod_ip(base.service, FIRST_HOST)}–{pod_ip(base.service, LAST_HOST)} en uso)."
            )
        return Pod(
            name=pod_name(base.name, spec.rs_hash),
            deployment=base.name,
            container=base.container,
            ip=pod_ip(base.service, host),
            rs_hash=spec.rs_hash,
            env=spec.env,
            labels={**base.label_dict(), "pod-template-hash": spec.rs_hash},
            readiness=base.readiness_probe(),
        )

    def _write_eds(self) -> None:
        self.versions["eds"] += 1
        for deployment in self.topology.deployments:
            ips = [p.ip for p in self.pods if p.deployment == deployment.name and p.serving]
            xds.write_json(
                xds.eds_path(self.dir / "xds", deployment.service),
                xds.endpoints(deployment.service, ips, self.versions["eds"]),
            )

    def _write_routes(self) -> None:
        self.versions["rds"] += 1
        vss = self.virtual_services.current()
        xds.write_json(
            xds.routes_path(self.dir / "xds", self.topology),
            xds.outbound_routes(self.topology, self.mesh, vss, self.versions["rds"]),
        )

    def publish(self) -> None:
        """Reescribe .lab/state.json (con el lock tomado): el contrato de lab/cluster/state.py."""
        assert self.runtime is not None or self.phase in ("starting", "failed")
        logs = self.dir / "logs"
        state = LabState(
            supervisor=Process(os.getpid(), start_time(os.getpid())),
            port=self.control.port if self.control else None,
            phase=self.phase,
            error=self.error,
            started=self.started,
            ready_seconds=self.ready_seconds,
            course=str(self.root),
            node_urls=self.topology.node_urls(),
            istio_configmap={"mesh": mesh_configmap(self.mesh)},
            deployments=tuple(
                DeploymentState(
                    name=name,
                    replicas=spec.base.replicas,
                    rs_hash=spec.rs_hash,
                    created=spec.created,
                    labels=spec.base.label_dict(),
                    container=spec.base.container,
                    env=spec.env,
                    rolling=self.rollouts.rolling(name),
                )
                for name, spec in self.specs.items()
            ),
            pods=tuple(pod.to_state(logs) for pod in self.pods),
            virtual_services=tuple(
                VirtualServiceState(name, vs.hosts, created)
                for name, (vs, created) in sorted(self.virtual_services.items.items())
            ),
            kube_proxy=Process.of(self.kube_proxy.pid if self.kube_proxy else None),
            launcher=Process.of(self.zygote.proc.pid if self.zygote else None),
            versions=dict(self.versions),
        )
        write_state(self.root, state)

    # ---------------------------------------------------------------- vigilancia
    def _monitor(self) -> None:
        """Un contenedor que muere queda en Error (sin kubelet que lo reinicie: ver README)."""
        while not self.stopping.wait(0.2):
            with self.lock:
                changed = False
                for pod in self.pods:
                    if pod.phase == "Running" and exited(pod):
                        pod.phase = "Error"
                        changed = True
                    elif pod.phase == "Running" and not (pod.app_ready and pod.proxy_ready):
                        before = (pod.app_ready, pod.proxy_ready)
                        probe(pod)
                        changed |= before != (pod.app_ready, pod.proxy_ready)
                if changed:
                    self.publish()

    # ---------------------------------------------------------------- órdenes
    def _rpc_set_env(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            spec = self._spec(payload["deployment"])
            env = changed_env(spec.env, [(k, v) for k, v in payload["changes"]])
            changed = env != spec.env
            spec.env = env
            if changed:
                self.rollouts.start(spec.base.name)
            self.publish()
        return {"changed": changed}

    def _rpc_restart(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            spec = self._spec(payload["deployment"])
            spec.restarted_at = datetime.now(UTC).isoformat(timespec="microseconds")
            self.rollouts.start(spec.base.name)
            self.publish()
        return {}

    def _rpc_apply(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Como el servidor de API con el webhook de Istio: valida (meshpolicy.parse_virtual_service,
        el único sitio donde se valida un apply) y guarda; vuelve cuando los sidecars cargaron la ruta."""
        with self.lock:
            parsed = [parse_virtual_service(doc, self.topology, payload["origin"]) for doc in payload["docs"]]
            applied = [Applied(VIRTUAL_SERVICE.qualified_kind, vs.name, self.virtual_services.apply(vs)) for vs in parsed]
            ack = self._routes_changed()
        wait_routes(*ack)
        return {"applied": [asdict(a) for a in applied]}

    def _rpc_delete(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            gone = {name: self.virtual_services.delete(name) for name in payload["names"]}
            ack = self._routes_changed()
        wait_routes(*ack)
        deleted, missing = (tuple(n for n, ok in gone.items() if ok is want) for want in (True, False))
        return asdict(Deleted(VIRTUAL_SERVICE.qualified_kind, deleted, missing, NAMESPACE))

    def _routes_changed(self) -> tuple[list[str], int]:
        """Rutas nuevas a los sidecars; (IP de los sidecars, versión) para esperar a que las carguen."""
        self._write_routes()
        self.publish()
        return [p.ip for p in self.pods if p.phase == "Running" and p.proxy_ready], self.versions["rds"]

    def _rpc_sync_logs(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Lo que los contenedores ya escribieron, en sus .log (ver capture.OutputCollector.sync)."""
        return {"synced": self.output.sync() if self.output else True}

    def _rpc_stop(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.stopping.set()  # wait() vuelve y lab/cluster/lifecycle.py llama a shutdown()
        return {}

    def _spec(self, name: str) -> DeploymentSpec:
        if name not in self.specs:
            raise LabError(f'Error from server (NotFound): deployments.apps "{name}" not found')
        return self.specs[name]

    # ---------------------------------------------------------------- rollouts (lab/cluster/rollout.py)
    def serve(self, pod: Pod) -> None:
        """El pod listo entra en los endpoints de su Service."""
        with self.lock:
            pod.serving = True
            self._write_eds()
            self.publish()

    def terminate(self, pod: Pod) -> None:
        """Saca el pod de los endpoints, deja que los sidecars se enteren y para sus procesos."""
        with self.lock:
            pod.serving = False
            pod.phase = "Terminating"
            self._write_eds()
            self.publish()
        time.sleep(ENDPOINT_PROPAGATION)
        stop_all(pod.processes())
        with self.lock:
            if pod in self.pods:
                self.pods.remove(pod)
            self.publish()
