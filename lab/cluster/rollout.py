"""Rollout progresivo de un Deployment, como el controlador de Kubernetes (maxSurge 1, maxUnavailable 0).

Cada vuelta: si sobran pods viejos rotos, se quitan ya; si faltan pods de la plantilla actual, se
crea uno (nombre e IP nuevos), se espera a que esté listo y entonces entra en los endpoints y
sale uno viejo. Los sidecars de quienes llaman no se reinician: reciben los endpoints por EDS
(archivo). Si la plantilla cambia a mitad, la vuelta siguiente ya usa la nueva.
Si el pod nuevo muere al arrancar (p. ej. STATUS_CODE_APP=abc), queda en CrashLoopBackOff, el
rollout se atasca y los pods viejos siguen sirviendo (como en Kubernetes).

El rollout no conoce al supervisor: le basta lo que declara `Host` (el supervisor lo cumple).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from lab.cluster.pods import Pod, Runtime, start_pod, wait_ready
from lab.cluster.procs import stop_all
from lab.cluster.topology import Deployment, EnvVar, template_hash
from lab.errors import LabError

POD_READY_TIMEOUT = 60.0


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


class Host(Protocol):
    """Lo que un rollout necesita de quien es dueño de los pods."""

    lock: threading.RLock
    stopping: threading.Event
    runtime: Runtime | None
    mesh: dict[str, Any]
    specs: dict[str, DeploymentSpec]
    pods: list[Pod]
    error: str | None

    def new_pod(self, deployment: str) -> Pod: ...
    def publish(self) -> None: ...
    def serve(self, pod: Pod) -> None: ...
    def terminate(self, pod: Pod) -> None: ...


class Rollouts:
    """Un hilo de rollout por Deployment como mucho."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.threads: dict[str, threading.Thread] = {}

    def start(self, name: str) -> None:
        thread = self.threads.get(name)
        if thread is not None and thread.is_alive():
            return  # el bucle en marcha ve la plantilla nueva en su próxima vuelta
        thread = threading.Thread(target=self._run, args=(name,), name=f"rollout-{name}", daemon=True)
        self.threads[name] = thread
        thread.start()

    def rolling(self, name: str) -> bool:
        thread = self.threads.get(name)
        return thread is not None and thread.is_alive()

    def join(self, timeout: float) -> None:
        for thread in list(self.threads.values()):
            thread.join(timeout=timeout)

    def _run(self, name: str) -> None:
        try:
            roll(self.host, name)
        finally:
            with self.host.lock:
                if not self.host.stopping.is_set():
                    self.host.publish()


def roll(host: Host, name: str) -> None:
    assert host.runtime is not None
    while not host.stopping.is_set():
        with host.lock:
            spec = host.specs[name]
            mine = [p for p in host.pods if p.deployment == name and p.phase != "Terminating"]
            current = [p for p in mine if p.rs_hash == spec.rs_hash]
            old = [p for p in mine if p.rs_hash != spec.rs_hash]
            broken_old = [p for p in old if not p.ready]
            crashed = [p for p in current if p.phase == "CrashLoopBackOff"]
            new: Pod | None = None
            if not broken_old and not crashed and len(current) < spec.base.replicas:
                try:
                    new = host.new_pod(name)
                except LabError as exc:  # sin IP libre: el rollout se atasca, como sin recursos
                    host.error = str(exc)
                    host.publish()
                    return
                host.pods.append(new)
                host.publish()
        if broken_old:
            host.terminate(broken_old[0])
            continue
        if crashed:
            return  # atascado hasta el próximo cambio de plantilla
        if new is None:
            if old:  # sobran pods viejos (ya hay réplicas nuevas suficientes)
                host.terminate(old[0])
                continue
            return  # terminado
        try:
            start_pod(host.runtime, new, host.mesh)
            wait_ready(host.runtime, [new], POD_READY_TIMEOUT, host.stopping)
        except LabError:
            with host.lock:
                if host.stopping.is_set():
                    return
                new.phase = "CrashLoopBackOff"
                if new.app is not None and new.app.poll() is None:
                    stop_all([new.app])
                host.publish()
            continue
        except OSError as exc:
            with host.lock:
                new.phase = "Error"
                host.error = f"No pude arrancar {new.name}: {exc}"
                host.publish()
            return
        host.serve(new)
        if old:
            host.terminate(old[0])
