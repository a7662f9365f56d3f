"""El resumen de `make mutants`: mutantes muertos / total por módulo, y los que sobreviven.

Lee los mutants/**/*.py.meta que deja `mutmut run` (mutmut 3: `exit_code_by_key`, el código de
salida de pytest con cada mutante; 1 = alguna prueba falló, el mutante muere). Un mutante sin
pruebas que lo cubran (33) o que las pasa (0) sobrevive; los que sobreviven y son equivalentes
están, con su motivo, en tests/mutants.md. De meshpolicy.py cuenta solo la conversión
(`convert_policy`, `duration`): el resto del módulo es lectura de YAML y su montaje en Envoy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONLY = {"lab.cluster.meshpolicy": ("x_convert_policy__", "x_duration__")}


def killed_by(code: int) -> bool:
    """1: alguna prueba falló; 3: error interno de pytest (el mutante rompe la importación);
    negativo: mutmut lo paró por tiempo (un bucle infinito también es un fallo visible)."""
    return code in (1, 3) or code < 0


def score(mutants: Path) -> tuple[list[str], list[str]]:
    lines, survivors = [], []
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = ".".join(meta.relative_to(mutants).with_suffix("").with_suffix("").parts)
        # None: no ejecutado (un `mutmut run "lab.x*"` solo ejecuta los de ese módulo); no cuenta.
        codes = {k: v for k, v in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].items() if v is not None}
        if not codes:
            continue
        wanted = ONLY.get(module)
        chosen = {k: v for k, v in codes.items() if not wanted or k.removeprefix(module + ".").startswith(wanted)}
        killed = [k for k, v in chosen.items() if killed_by(v)]
        survivors += sorted((k for k, v in chosen.items() if not killed_by(v)), key=_natural)
        part = f" ({', '.join(w.strip('x_') for w in wanted)})" if wanted else ""
        lines.append(f"{module}{part}: {len(killed)}/{len(chosen)} muertos ({100 * len(killed) / max(len(chosen), 1):.0f} %)")
    return lines, survivors


def _natural(key: str) -> tuple[str, int]:
    name, _, number = key.rpartition("_")
    return name, int(number) if number.isdigit() else 0


def main() -> int:
    mutants = ROOT / "mutants"
    if not mutants.is_dir():
        print("No hay mutants/: ejecuta antes `mutmut run` (make mutants lo hace).", file=sys.stderr)
        return 1
    lines, survivors = score(mutants)
    print("\n".join(lines))
    print(f"Sobreviven {len(survivors)} (los equivalentes, con su motivo, en tests/mutants.md; "
          "míralos con .venv/bin/mutmut show NOMBRE):")
    print("\n".join(f"  {s}" for s in survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
