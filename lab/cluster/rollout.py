"""Rollout progresivo de un Deployment, como el controlador de Kubernetes (maxSurge 1, maxUnavailable 0).

Cada vuelta: si sobran pods viejos rotos, se quitan ya; si faltan pods de la plantilla actual, se
crea uno (nombre e IP nuevos), se espera a que esté listo y entonces entra en los endpoints y
sale uno viejo. Los sidecars de quienes llaman no se reinician: reciben los endpoints por EDS
(archivo). Si la plantilla cambia a mitad, la vuelta siguiente ya usa la nueva.
Si el pod nuevo muere al arrancar (p. ej. STATUS_CODE_APP=abc), queda en CrashLoopBackOff, el
rollout se atasca y los pods viejos siguen sirviendo (como en Kubernetes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.cluster.pods import Pod, start_pod, wait_ready
from lab.cluster.procs import stop_all
from lab.errors import LabError

if TYPE_CHECKING:
    from lab.cluster.supervisor import Supervisor

POD_READY_TIMEOUT = 60.0


def roll(sup: Supervisor, name: str) -> None:
    assert sup.runtime is not None
    while not sup.stopping.is_set():
        with sup.lock:
            spec = sup.specs[name]
            mine = [p for p in sup.pods if p.deployment == name and p.phase != "Terminating"]
            current = [p for p in mine if p.rs_hash == spec.rs_hash]
            old = [p for p in mine if p.rs_hash != spec.rs_hash]
            broken_old = [p for p in old if not p.ready]
            crashed = [p for p in current if p.phase == "CrashLoopBackOff"]
            new: Pod | None = None
            if not broken_old and not crashed and len(current) < spec.base.replicas:
                try:
                    new = sup._new_pod(name)
                except LabError as exc:  # sin IP libre: el rollout se atasca, como sin recursos
                    sup.error = str(exc)
                    sup._publish()
                    return
                sup.pods.append(new)
                sup._publish()
        if broken_old:
            sup.terminate(broken_old[0])
            continue
        if crashed:
            return  # atascado hasta el próximo cambio de plantilla
        if new is None:
            if old:  # sobran pods viejos (ya hay réplicas nuevas suficientes)
                sup.terminate(old[0])
                continue
            return  # terminado
        try:
            start_pod(sup.runtime, new, sup.mesh)
            wait_ready(sup.runtime, [new], POD_READY_TIMEOUT, sup.stopping)
        except LabError:
            with sup.lock:
                if sup.stopping.is_set():
                    return
                new.phase = "CrashLoopBackOff"
                if new.app is not None and new.app.poll() is None:
                    stop_all([new.app])
                sup._publish()
            continue
        except OSError as exc:
            with sup.lock:
                new.phase = "Error"
                sup.error = f"No pude arrancar {new.name}: {exc}"
                sup._publish()
            return
        with sup.lock:
            new.serving = True
            sup._write_eds()
            sup._publish()
        if old:
            sup.terminate(old[0])
