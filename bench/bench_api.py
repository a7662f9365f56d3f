"""Banco de medidas del servidor de API (no es una prueba): mediana del tiempo de pared de
`kubectl get pods` (el kubectl real, con su arranque) contra un ApiServer sobre el almacén sembrado
de las pruebas (tests/api_seed.py). Objetivo: ≤ 150 ms. La primera orden llena la caché de
discovery de kubectl (en un HOME temporal) y no cuenta.

Uso: .venv/bin/python bench/bench_api.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from api_seed import KUBECTL, ApiLab  # noqa: E402

TARGET_MS = 150


def timed(lab: ApiLab, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([str(KUBECTL), *args], check=True, capture_output=True, env=lab.env, timeout=30)
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        lab = ApiLab(Path(folder))
        try:
            first = timed(lab, "get", "pods")
            times = [timed(lab, "get", "pods") for _ in range(args.runs)]
            version = [timed(lab, "version", "--client") for _ in range(5)]
        finally:
            lab.close()
    median = statistics.median(times)
    print(f"kubectl get pods: mediana {median:.0f} ms en {args.runs} ejecuciones (mín. {min(times):.0f}, máx. {max(times):.0f}); "
          f"la primera, con discovery: {first:.0f} ms; objetivo ≤ {TARGET_MS} ms "
          f"({'cumple' if median <= TARGET_MS else 'NO cumple'})")
    print(f"referencia: kubectl version --client (solo el arranque de kubectl): mediana {statistics.median(version):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
