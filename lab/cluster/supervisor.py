"""El supervisor: el único dueño de los procesos del laboratorio.

Arranca los pods (app + sidecar) y el kube-proxy, vigila que sigan vivos, aplica los cambios que
piden `kubectl`/`istioctl` (por el canal de control.py), publica su estado en .lab/state.json y,
al parar (Ctrl-C, SIGTERM, `lab down`), termina todo lo que arrancó.

Los datos fluyen en un sentido: manifiestos → modelo → configuración de Envoy → procesos.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.cluster import envoyconfig as xds
from lab.cluster.appcmd import app_command, dockerfile_cmd, without_proxies
from lab.cluster.capture import OutputCollector
from lab.cluster.control import ControlServer
from lab.cluster.meshpolicy import VirtualService, load_mesh_config, parse_virtual_service
from lab.cluster.pods import ENVOY_FLAGS, Pod, Runtime, exited, http_ok, probe, start_app, start_sidecar, wait_ready
from lab.cluster.procs import Spawner, check_port_free, envoy_binary, start_time, stop_all
from lab.cluster.state import state_dir, write_state
from lab.cluster.topology import (
    FIRST_HOST,
    LAST_HOST,
    NODE_PORT_IP,
    Deployment,
    EnvVar,
    load_topology,
    pod_ip,
    pod_name,
    template_hash,
)
from lab.cluster.zygote import Zygote, preload_modules
from lab.errors import LabError

NODE_IP = "127.0.0.2"  # dirección del «nodo»: admin del kube-proxy
READY_TIMEOUT = 30.0
SIDECAR_PORTS = (xds.ADMIN_PORT, xds.OUTBOUND_PORT, xds.INBOUND_PORT)
ENDPOINT_PROPAGATION = 0.2  # s entre sacar un pod de los endpoints y pararlo (como un preStop)


@dataclass
class DeploymentSpec:
    """La parte viva de un Deployment: lo que `set env` y `rollout restart` cambian."""

    base: Deployment
    env: tuple[EnvVar, ...]
    restarted_at: str | None = None
    created: float = 0.0

    @property
    def rs_hash(self) -> str:
        return template_hash(self.base.name, self.env, self.restarted_at)


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
        self.virtual_services: dict[str, tuple[VirtualService, float]] = {}
        self.next_host = {d.name: FIRST_HOST for d in self.topology.deployments}
        self.versions = {"eds": 0, "rds": 0}
        self.rollouts: dict[str, threading.Thread] = {}
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
            self._publish()
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
        self.control = ControlServer(
            {
                "set-env": self._rpc_set_env,
                "restart": self._rpc_restart,
                "apply": self._rpc_apply,
                "delete": self._rpc_delete,
                "stop": self._rpc_stop,
                "sync-logs": self._rpc_sync_logs,
            }
        )
        self.control.start()
        self._publish()

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
                    self.pods.append(self._new_pod(deployment.name))
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
        self._publish()
        wait_ready(self.runtime, self.pods, READY_TIMEOUT, self.stopping)
        deadline = time.monotonic() + 10
        while not http_ok(NODE_IP, xds.ADMIN_PORT, "/ready"):
            if self.kube_proxy.poll() is not None or time.monotonic() > deadline:
                tail = (self.dir / "logs" / "kube-proxy.log").read_text(errors="replace")[-800:]
                raise LabError(f"El kube-proxy (Envoy de {self.topology.node_urls()}) no arrancó:\n{tail}")
            time.sleep(0.02)

    def wait(self) -> None:
        """Bloquea hasta que alguien pida parar (señal o `lab down`)."""
        while not self.stopping.wait(0.5):
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
                self._publish()
        for thread in list(self.rollouts.values()):
            thread.join(timeout=10)
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
    def _new_pod(self, deployment: str) -> Pod:
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
        vss = {name: vs for name, (vs, _) in self.virtual_services.items()}
        xds.write_json(
            xds.routes_path(self.dir / "xds", self.topology),
            xds.outbound_routes(self.topology, self.mesh, vss, self.versions["rds"]),
        )

    def _publish(self) -> None:
        """Reescribe .lab/state.json (con el lock tomado)."""
        assert self.runtime is not None or self.phase in ("starting", "failed")
        logs = self.dir / "logs"
        state = {
            "pid": os.getpid(),
            "pid_started": start_time(os.getpid()),
            "port": self.control.port if self.control else None,
            "phase": self.phase,
            "error": self.error,
            "started": self.started,
            "ready_seconds": self.ready_seconds,
            "course": str(self.root),
            "node_urls": self.topology.node_urls(),
            "mesh": self.mesh,
            "deployments": [
                {
                    "name": name,
                    "replicas": spec.base.replicas,
                    "rs_hash": spec.rs_hash,
                    "created": spec.created,
                    "labels": spec.base.label_dict(),
                    "container": spec.base.container,
                    "env": [[e.name, e.value, e.field_path] for e in spec.env],
                    "rolling": name in self.rollouts and self.rollouts[name].is_alive(),
                }
                for name, spec in self.specs.items()
            ],
            "pods": [pod.to_state(logs) for pod in self.pods],
            "virtual_services": [
                {"name": name, "hosts": list(vs.hosts), "created": created}
                for name, (vs, created) in sorted(self.virtual_services.items())
            ],
            "kube_proxy": {"pid": self.kube_proxy.pid, "started": start_time(self.kube_proxy.pid)}
            if self.kube_proxy
            else None,
            "launcher": {"pid": self.zygote.proc.pid, "started": start_time(self.zygote.proc.pid)}
            if self.zygote
            else None,
            "versions": dict(self.versions),
        }
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
                    self._publish()

    # ---------------------------------------------------------------- órdenes
    def _rpc_set_env(self, payload: dict[str, Any]) -> dict[str, Any]:
        name = payload["deployment"]
        with self.lock:
            spec = self._spec(name)
            env = list(spec.env)
            for key, value in payload["changes"]:
                env = [e for e in env if e.name != key] if value is None else _set_var(env, key, value)
            changed = tuple(env) != spec.env
            spec.env = tuple(env)
            if changed:
                self._start_rollout(name)
            self._publish()
        return {"changed": changed}

    def _rpc_restart(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            spec = self._spec(payload["deployment"])
            spec.restarted_at = datetime.now(UTC).isoformat(timespec="microseconds")
            self._start_rollout(spec.base.name)
            self._publish()
        return {}

    def _rpc_apply(self, payload: dict[str, Any]) -> dict[str, Any]:
        results = []
        with self.lock:
            parsed = [parse_virtual_service(doc, self.topology, payload["origin"]) for doc in payload["docs"]]
            for vs in parsed:
                old = self.virtual_services.get(vs.name)
                if old is None:
                    results.append(f"virtualservice.networking.istio.io/{vs.name} created")
                    self.virtual_services[vs.name] = (vs, time.time())
                elif _spec_of(old[0]) == _spec_of(vs):
                    results.append(f"virtualservice.networking.istio.io/{vs.name} unchanged")
                else:
                    results.append(f"virtualservice.networking.istio.io/{vs.name} configured")
                    self.virtual_services[vs.name] = (vs, old[1])
            self._write_routes()
            self._publish()
            version = self.versions["rds"]
        self._wait_routes(version)
        return {"lines": results}

    def _rpc_delete(self, payload: dict[str, Any]) -> dict[str, Any]:
        lines, missing = [], []
        with self.lock:
            for name in payload["names"]:
                if self.virtual_services.pop(name, None):
                    lines.append(f'virtualservice.networking.istio.io "{name}" deleted')
                else:
                    missing.append(name)
            self._write_routes()
            self._publish()
            version = self.versions["rds"]
        self._wait_routes(version)
        return {"lines": lines, "missing": missing}

    def _rpc_sync_logs(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Lo que los contenedores ya escribieron, en sus .log (ver capture.OutputCollector.sync)."""
        return {"synced": self.output.sync() if self.output else True}

    def _rpc_stop(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.stopping.set()
        return {}

    def _spec(self, name: str) -> DeploymentSpec:
        if name not in self.specs:
            raise LabError(f'Error from server (NotFound): deployments.apps "{name}" not found')
        return self.specs[name]

    def _wait_routes(self, version: int, timeout: float = 10.0) -> None:
        """Como esperar a que los sidecars confirmen la configuración de istiod (ACK)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            ips = [p.ip for p in self.pods if p.phase == "Running" and p.proxy_ready]
        for ip in ips:
            while _routes_version(ip) < version and time.monotonic() < deadline:
                time.sleep(0.02)

    # ---------------------------------------------------------------- rollouts
    def _start_rollout(self, name: str) -> None:
        thread = self.rollouts.get(name)
        if thread is not None and thread.is_alive():
            return  # el bucle en marcha ve la plantilla nueva en su próxima vuelta
        thread = threading.Thread(target=self._roll, args=(name,), name=f"rollout-{name}", daemon=True)
        self.rollouts[name] = thread
        thread.start()

    def _roll(self, name: str) -> None:
        """Actualización progresiva: maxSurge 1, maxUnavailable 0 (lo que da el 25 % de 1 a 3 réplicas)."""
        from lab.cluster.rollout import roll  # noqa: PLC0415

        try:
            roll(self, name)
        finally:
            with self.lock:
                if not self.stopping.is_set():
                    self._publish()

    def terminate(self, pod: Pod) -> None:
        """Saca el pod de los endpoints, deja que los sidecars se enteren y para sus procesos."""
        with self.lock:
            pod.serving = False
            pod.phase = "Terminating"
            self._write_eds()
            self._publish()
        time.sleep(ENDPOINT_PROPAGATION)
        stop_all(pod.processes())
        with self.lock:
            if pod in self.pods:
                self.pods.remove(pod)
            self._publish()


def _set_var(env: list[EnvVar], key: str, value: str) -> list[EnvVar]:
    if any(e.name == key for e in env):
        return [EnvVar(key, value=value) if e.name == key else e for e in env]
    return [*env, EnvVar(key, value=value)]


def _spec_of(vs: VirtualService) -> str:
    return json.dumps(vs.doc.get("spec"), sort_keys=True)


def _routes_version(ip: str) -> int:
    url = f"http://{ip}:{xds.ADMIN_PORT}/config_dump?resource=dynamic_route_configs"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=1) as response:
            dump = json.loads(response.read())
        return max(int(c.get("version_info", 0)) for c in dump.get("configs", [])) if dump.get("configs") else 0
    except (OSError, ValueError):
        return 1 << 30  # un sidecar que no contesta no bloquea la orden
