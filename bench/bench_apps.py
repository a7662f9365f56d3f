"""Medida (no es una prueba): memoria de cada app y latencia de bff → backend1 → app2 sin malla.

    .venv/bin/python bench/bench_apps.py [--requests 200]

Arranca las tres apps como procesos uvicorn reales en 127.0.0.1 (el mismo arnés que
tests/test_apps.py), hace N peticiones secuenciales a bff /toapp con una conexión persistente y
muestra la mediana de la latencia y la memoria residente (RSS, y USS) de cada proceso.
Objetivo: RSS ≤ 60 MiB por proceso.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_apps_harness import SERVICES, start_chain  # noqa: E402

GOAL_MIB = 60
MiB = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-apps-") as tmp:
        apps = start_chain(Path(tmp))
        try:
            latencies = []
            with httpx.Client(base_url=apps["bff"].url, trust_env=False, timeout=30) as client:
                for _ in range(args.requests):
                    start = time.perf_counter()
                    response = client.get("/toapp")
                    latencies.append(time.perf_counter() - start)
                    if response.status_code != 200 or response.json()["backend1_status"] != 200:
                        print(f"respuesta inesperada: {response.status_code} {response.text}", file=sys.stderr)
                        return 1
            print(f"{args.requests} peticiones a bff /toapp (bff → backend1 → app2, sin malla)")
            print(f"  latencia: mediana {statistics.median(latencies) * 1000:.2f} ms, "
                  f"mediana de las 50 primeras {statistics.median(latencies[:50]) * 1000:.2f} ms, "
                  f"p90 {statistics.quantiles(latencies, n=10)[-1] * 1000:.2f} ms")
            worst = 0.0
            for name in SERVICES:
                memory = psutil.Process(apps[name].process.pid).memory_full_info()
                worst = max(worst, memory.rss / MiB)
                print(f"  {name:<9} RSS {memory.rss / MiB:5.1f} MiB   USS {memory.uss / MiB:5.1f} MiB")
            verdict = "cumple" if worst <= GOAL_MIB else "NO cumple"
            print(f"  objetivo RSS ≤ {GOAL_MIB} MiB por proceso: {verdict} (máximo {worst:.1f} MiB)")
        finally:
            for app in apps.values():
                app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
