"""Banco de medidas del laboratorio (`make bench`; no es una prueba). En una sola ejecución:

1. Tiempo de `lab up --detach` hasta «listo» (3 arranques; objetivo UP_TARGET_S) y mediana de
   `kubectl get pods` con el kubectl real (objetivo KUBECTL_TARGET_MS).
2. Memoria PSS total de las apps y de los sidecars (más el kube-proxy), de /proc/<pid>/smaps_rollup.
3. Latencia mediana de GET /toapp a través de la malla (entrada del sidecar de bff: 5 saltos de
   Envoy; y por el NodePort: 6) frente a las mismas tres apps sin malla (llamadas directas),
   medidas intercaladas en la misma ejecución. Objetivo: HOP_TARGET_MS por salto de Envoy.

Uso: flock /work/lab.lock .venv/bin/python bench/bench_lab.py [--course DIR] [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

UP_TARGET_S = 1.5  # los objetivos del issue 18 (un banco, no una prueba)
KUBECTL_TARGET_MS = 150
HOP_TARGET_MS = 0.6


def es(number: float) -> str:
    """Un número con coma decimal, como el resto del texto."""
    return str(number).replace(".", ",")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.cluster.appcmd import app_command, dockerfile_cmd, without_proxies  # noqa: E402
from lab.cluster.envoyconfig import INBOUND_PORT  # noqa: E402
from lab.cluster.pods import http_ok, tcp_ok  # noqa: E402
from lab.cluster.topology import NAMESPACE, Deployment, Topology, load_topology  # noqa: E402
from lab.constants import NODE_PORT_IP  # noqa: E402
from lab.ctl.shell import course_environment, kubectl_binary  # noqa: E402
from lab.testing.driver import LabDriver  # noqa: E402

SIDECAR_HOPS = 5  # bff entrada, bff salida, backend1 entrada, backend1 salida, app2 entrada


@dataclass(frozen=True)
class Direct:
    """Una app sin malla: una por Deployment, en 127.0.<10 + índice>.10 y su containerPort."""

    deployment: Deployment
    ip: str
    env: dict[str, str]

    @property
    def port(self) -> int:
        return self.deployment.container_port

    def ready(self) -> bool:
        probe = self.deployment.readiness_probe()  # la readinessProbe del manifiesto
        return http_ok(self.ip, probe.port, probe.path) if probe.path else tcp_ok(self.ip, probe.port)


def baseline_apps(topology: Topology) -> list[Direct]:
    """Las apps sin malla con el entorno del manifiesto; las URL de otros Services (`http://backend1:8080`)
    apuntan directamente a la app de ese Service (`http://127.0.12.10:<containerPort>`)."""
    ips = {d.service.name: f"127.0.{10 + d.service.index}.10" for d in topology.deployments}
    by_service = {d.service.name: d for d in topology.deployments}

    def direct(match: re.Match) -> str:
        short = match.group(1).split(".")[0]
        if short not in by_service:
            return match.group(0)
        return f"://{ips[short]}:{by_service[short].container_port}"

    apps = []
    for d in topology.deployments:
        fields = {"metadata.name": f"{d.name}-sinmalla", "status.podIP": ips[d.service.name], "metadata.namespace": NAMESPACE}
        env = {v.name: re.sub(r"://([A-Za-z0-9.-]+)(:\d+)?", direct, v.value) if v.value is not None
               else fields.get(v.field_path or "", "") for v in d.env}
        apps.append(Direct(d, ips[d.service.name], env))
    return apps


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure_up(lab: LabDriver, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        t0 = time.monotonic()
        lab.up()
        times.append(time.monotonic() - t0)
        if i < runs - 1:
            lab.down()
    return times


def measure_kubectl(lab: LabDriver, runs: int = 10) -> list[float]:
    """`kubectl get pods` (el binario real, como en lab shell) contra la API del laboratorio, con el arranque de kubectl."""
    env = course_environment(lab.root)
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([str(kubectl_binary()), "get", "pods"], env=env, capture_output=True, check=True, timeout=30)
        times.append(time.monotonic() - t0)
    return times


def measure_memory(lab: LabDriver) -> dict[str, float]:
    state = lab.state()
    apps = sum(pss_kib(p.containers[0].process.pid) for p in state.pods if p.containers[0].process)
    sidecars = sum(pss_kib(p.containers[1].process.pid) for p in state.pods if p.containers[1].process)
    proxy = pss_kib(state.kube_proxy.pid) if state.kube_proxy else 0
    return {"apps": apps / 1024, "sidecars": sidecars / 1024, "kube-proxy": proxy / 1024}


def start_baseline(course: Path, apps: list[Direct]) -> list[subprocess.Popen]:
    cmd = dockerfile_cmd(course)
    procs = []
    for app in apps:
        env = without_proxies(dict(os.environ)) | {"PYTHONPATH": str(course / "apps"), **app.env}
        procs.append(subprocess.Popen(app_command(cmd, app.ip), cwd=course / "apps" / app.deployment.container,
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 60
    while not all(app.ready() for app in apps):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            stop(procs)
            raise SystemExit("las apps sin malla no arrancaron")
        time.sleep(0.05)
    return procs


def cpu_ms(pid: int) -> float:
    """Tiempo de CPU (usuario + sistema) de un proceso y sus hilos, en ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def latencies(host: str, port: int, n: int) -> list[float]:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    samples = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            conn.request("GET", "/toapp")
            response = conn.getresponse()
            response.read()
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status == 200, response.status
    finally:
        conn.close()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=ROOT)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ups", type=int, default=3)
    args = parser.parse_args()
    course = args.course.resolve()
    lab = LabDriver(course)
    if lab.run("status", check=False).returncode == 0:
        raise SystemExit("Ya hay un laboratorio en marcha en ese curso: «lab down» primero.")
    print(f"Carga de la máquina al empezar: {os.getloadavg()[0]:.2f} (núcleos: {os.cpu_count()})")
    ups = measure_up(lab, args.ups)
    topology = load_topology(course)
    apps = baseline_apps(topology)
    node_port, entry = topology.node_ports()[0]  # donde entra el curl del curso (bff)
    direct = next(app for app in apps if app.deployment.name == entry.name)
    baseline = []
    try:
        state = lab.state()
        entry_ip = next(p.ip for p in state.pods if p.deployment == entry.name)
        memory = measure_memory(lab)
        kubectl_times = measure_kubectl(lab)
        baseline = start_baseline(course, apps)
        targets = {"mesh": (entry_ip, INBOUND_PORT), "sin malla": (direct.ip, direct.port), "nodeport": (NODE_PORT_IP, node_port)}
        for host, port in targets.values():
            latencies(host, port, 20)  # calentamiento (conexiones, JIT de nadie: cachés)
        rounds: dict[str, list[float]] = {key: [] for key in targets}
        supervisor_cpu = cpu_ms(state.supervisor.pid)
        for _ in range(args.rounds):
            for key, (host, port) in targets.items():
                rounds[key].append(statistics.median(latencies(host, port, args.requests)))
        # lo que el supervisor (sobre todo el lector de las FIFO, lab/cluster/capture.py) gasta por petición por la malla
        supervisor_us = (cpu_ms(state.supervisor.pid) - supervisor_cpu) * 1000 / (2 * args.rounds * args.requests)
    finally:
        stop(baseline)
        lab.down()
    med = {k: statistics.median(v) for k, v in rounds.items()}
    per_hop = (med["mesh"] - med["sin malla"]) / SIDECAR_HOPS
    print(f"Arranque (lab up --detach → listo): {', '.join(f'{t:.2f}' for t in ups)} s; "
          f"mediana {statistics.median(ups):.2f} s (objetivo ≤ {es(UP_TARGET_S)} s)")
    print(f"kubectl get pods (kubectl real, con su arranque): mediana {statistics.median(kubectl_times) * 1000:.0f} ms "
          f"(objetivo ≤ {KUBECTL_TARGET_MS} ms)")
    print(f"Memoria PSS: apps {memory['apps']:.0f} MiB + sidecars {memory['sidecars']:.0f} MiB "
          f"= {memory['apps'] + memory['sidecars']:.0f} MiB (kube-proxy aparte: {memory['kube-proxy']:.0f} MiB)")
    print(f"Latencia mediana de /toapp ({args.rounds}×{args.requests}, intercaladas; medianas por ronda):")
    for key, label in (("sin malla", "sin malla (3 apps directas)"), ("mesh", f"malla ({SIDECAR_HOPS} saltos de Envoy)"),
                       ("nodeport", "malla por el NodePort (+ kube-proxy)")):
        print(f"  {label:<40} {med[key]:.2f} ms  [{', '.join(f'{x:.2f}' for x in rounds[key])}]")
    print(f"Coste por salto de Envoy: {per_hop:+.2f} ms (objetivo ≤ +{es(HOP_TARGET_MS)} ms)")
    print(f"CPU del supervisor por petición por la malla (registros de los contenedores): {supervisor_us:.0f} µs "
          "(sin malla, las apps escriben en /dev/null)")
    print(f"Carga de la máquina al terminar: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
