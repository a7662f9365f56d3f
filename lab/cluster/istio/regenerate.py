"""Regenera lab/cluster/istio/retries.json a partir de las fuentes de Istio (a mano, nunca en CI).

    .venv/bin/python -m lab.cluster.istio.regenerate /ruta/a/istio [--ref REF]

`/ruta/a/istio` es un clon de istio/istio (vale uno «bare»). Sin `--ref`, lee la etiqueta igual
al `ISTIO_VERSION=` de setup.sh; si esa etiqueta no existe, se para y pide `--ref` (por ejemplo
la rama `release-1.31` cuando aún no hay etiqueta): el archivo guarda la versión, la ref, el
commit y si la ref es la etiqueta de la versión.

Qué toma (datos, nunca código; el laboratorio tiene su propia implementación en Python):
- los casos de `TestRetry` (pilot/pkg/networking/core/route/retry/retry_test.go) con lo que
  sus aserciones esperan de la RetryPolicy de Envoy;
- los casos de `TestValidateHTTPRetry` (pkg/config/validation/validation_test.go) con su veredicto;
- las constantes de retry.go, filters.go y route.go (política por defecto, previous_hosts,
  previous_priorities, reintento de entrada), los tokens de `supportedRetryOnPolicies` y los
  mensajes de `validateHTTPRetry`, `ValidateDuration` y del webhook, el nombre del webhook;
- el esquema de `retries` y `timeout` del CRD VirtualService (reglas CEL incluidas);
- los valores que `istioctl install` pone en el ConfigMap `istio` (plantilla y values.yaml).
Además escribe los casos de reglas que ningún test de Istio cubre (RULES, más abajo), con el
sitio del código de Istio que las aplica. Si las fuentes cambian de forma, falla con un mensaje.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lab.cluster.istio import DATA
from lab.cluster.istio.cases import retry_test_cases, validation_test_cases
from lab.cluster.istio.golit import GoDataError
from lab.cluster.istio.rules import MESH_RULES, rules
from lab.cluster.istio.sources import Source, crd_facts, istio_version, mesh_defaults, retry_facts, validation_facts


def build(src: Source, version: str) -> dict[str, Any]:
    facts = retry_facts(src)
    facts["validation"] = validation_facts(src)
    facts["crd"] = crd_facts(src)
    facts["mesh_configmap"] = mesh_defaults(src)
    cases = retry_test_cases(src, facts) + validation_test_cases(src) + rules(facts) + MESH_RULES
    return {
        "istio": {
            "version": version,
            "ref": src.ref,
            "commit": src.commit,
            "ref_is_version_tag": src.ref == version and src.has_tag(version),
        },
        "sources": dict(sorted(src.blobs.items())),
        "facts": facts,
        "cases": cases,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="clon de istio/istio (vale uno bare)")
    parser.add_argument("--ref", help="ref de git; por defecto, la etiqueta ISTIO_VERSION de setup.sh")
    parser.add_argument("--output", type=Path, default=DATA)
    args = parser.parse_args(argv)
    version = istio_version()
    if args.ref is None and not Source.tag_exists(args.checkout, version):
        raise SystemExit(f"El clon no tiene la etiqueta {version}; pasa --ref (p. ej. release-{version.rsplit('.', 1)[0]}).")
    src = Source(args.checkout, args.ref or version)
    try:
        data = build(src, version)
    except GoDataError as exc:
        raise SystemExit(f"Las fuentes de Istio en {src.ref} cambiaron de forma: {exc}") from None
    args.output.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    note = "" if data["istio"]["ref_is_version_tag"] else f" (¡ojo! {src.ref} no es la etiqueta {version})"
    print(f"{args.output}: {len(data['cases'])} casos de Istio {version}, {src.ref} @ {src.commit[:12]}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
