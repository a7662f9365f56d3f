"""Banco de medidas del laboratorio (`make bench`; no es una prueba). En una sola ejecución:

1. Tiempo de `lab up --detach` hasta «listo» (3 arranques; objetivo ≤ 2,5 s).
2. Memoria PSS total de las apps y de los sidecars (más el kube-proxy), de /proc/<pid>/smaps_rollup.
3. Latencia mediana de GET /toapp a través de la malla (entrada del sidecar de bff: 5 saltos de
   Envoy; y por el NodePort: 6) frente a las mismas tres apps sin malla (llamadas directas),
   medidas intercaladas en la misma ejecución. Objetivo: ≤ +0,6 ms por salto de Envoy.

Uso: flock /work/lab.lock .venv/bin/python bench/bench_lab.py [--course DIR] [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.appcmd import app_command, dockerfile_cmd, without_proxies  # noqa: E402
from lab.driver import LabDriver  # noqa: E402
from lab.pods import http_ok  # noqa: E402

BASELINE = {  # sin malla: una app por servicio, llamadas directas (127.0.1x.10)
    "bff": ("127.0.11.10", {"BACKEND1_URL": "http://127.0.12.10:8080"}),
    "backend1": ("127.0.12.10", {"APP2_URL": "http://127.0.13.10:8080"}),
    "app2": ("127.0.13.10", {}),
}
SIDECAR_HOPS = 5  # bff entrada, bff salida, backend1 entrada, backend1 salida, app2 entrada


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


def measure_memory(lab: LabDriver) -> dict[str, float]:
    state = lab.state()
    apps = sum(pss_kib(p["containers"][0]["pid"]) for p in state["pods"])
    sidecars = sum(pss_kib(p["containers"][1]["pid"]) for p in state["pods"])
    proxy = pss_kib(state["kube_proxy"]["pid"])
    return {"apps": apps / 1024, "sidecars": sidecars / 1024, "kube-proxy": proxy / 1024}


def start_baseline(course: Path) -> list[subprocess.Popen]:
    cmd = dockerfile_cmd(course)
    procs = []
    for name, (ip, extra) in BASELINE.items():
        env = without_proxies(dict(os.environ)) | {"PYTHONPATH": str(course / "apps"), "POD_NAME": f"{name}-sinmalla", **extra}
        procs.append(subprocess.Popen(app_command(cmd, ip), cwd=course / "apps" / name, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 60
    while not all(http_ok(ip, 8080, "/healthz") for ip, _ in BASELINE.values()):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            stop(procs)
            raise SystemExit("las apps sin malla no arrancaron")
        time.sleep(0.05)
    return procs


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
    baseline = []
    try:
        bff_ip = next(p["ip"] for p in lab.state()["pods"] if p["deployment"] == "bff")
        memory = measure_memory(lab)
        baseline = start_baseline(course)
        for host, port in ((bff_ip, 15006), ("127.0.0.1", 30000), (BASELINE["bff"][0], 8080)):
            latencies(host, port, 20)  # calentamiento (conexiones, JIT de nadie: cachés)
        rounds = {"mesh": [], "nodeport": [], "sin malla": []}
        for _ in range(args.rounds):
            rounds["mesh"].append(statistics.median(latencies(bff_ip, 15006, args.requests)))
            rounds["sin malla"].append(statistics.median(latencies(BASELINE["bff"][0], 8080, args.requests)))
            rounds["nodeport"].append(statistics.median(latencies("127.0.0.1", 30000, args.requests)))
    finally:
        stop(baseline)
        lab.down()
    med = {k: statistics.median(v) for k, v in rounds.items()}
    per_hop = (med["mesh"] - med["sin malla"]) / SIDECAR_HOPS
    print(f"Arranque (lab up --detach → listo): {', '.join(f'{t:.2f}' for t in ups)} s; "
          f"mediana {statistics.median(ups):.2f} s (objetivo ≤ 2,5 s)")
    print(f"Memoria PSS: apps {memory['apps']:.0f} MiB + sidecars {memory['sidecars']:.0f} MiB "
          f"= {memory['apps'] + memory['sidecars']:.0f} MiB (kube-proxy aparte: {memory['kube-proxy']:.0f} MiB)")
    print(f"Latencia mediana de /toapp ({args.rounds}×{args.requests}, intercaladas; medianas por ronda):")
    for key, label in (("sin malla", "sin malla (3 apps directas)"), ("mesh", f"malla ({SIDECAR_HOPS} saltos de Envoy)"),
                       ("nodeport", "malla por el NodePort (+ kube-proxy)")):
        print(f"  {label:<40} {med[key]:.2f} ms  [{', '.join(f'{x:.2f}' for x in rounds[key])}]")
    print(f"Coste por salto de Envoy: {per_hop:+.2f} ms (objetivo ≤ +0,6 ms)")
    print(f"Carga de la máquina al terminar: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
