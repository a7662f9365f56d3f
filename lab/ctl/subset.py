"""El subconjunto de kubectl que emula el laboratorio, declarado una sola vez.

De aquí salen el reparto de órdenes de lab/ctl/kubectl.py (un verbo sin forma aquí no existe), el
mensaje «no soportado por el laboratorio», la sección «El subconjunto de kubectl» de lab/README.md
(`readme_section`; una prueba falla si el README no la reproduce) y lo que el texto del curso puede
usar (`Form.course`, una expresión regular sobre los argumentos; tests/test_course_text.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

README_HEADING = "## El subconjunto de kubectl"


@dataclass(frozen=True)
class Form:
    verb: str
    usage: str  # la sinopsis (README y mensaje de «no soportado»)
    prints: str  # lo que escribe, en español (README)
    course: str  # regex de los argumentos que el curso puede usar (un subconjunto de `usage`)

    def allows(self, args: str) -> bool:
        return re.fullmatch(self.course, args) is not None


SUBSET: tuple[Form, ...] = (
    Form(
        "get",
        "get pods|pod|po [NOMBRE...] [-l SEL] [-o jsonpath=PLANTILLA]",
        "NAME READY STATUS RESTARTS AGE, por nombre (READY 2/2: la app y su sidecar)",
        r"get (pods|pod|po)( -l app=\S+)?",
    ),
    Form(
        "get",
        "get deploy|deployment|deployments [NOMBRE...] [-l SEL] [-o jsonpath=PLANTILLA]",
        "NAME READY UP-TO-DATE AVAILABLE AGE",
        r"get (deploy|deployment|deployments)( \S+)?( -l app=\S+)?",
    ),
    Form("get", "get virtualservices|vs", "NAME GATEWAYS HOSTS AGE", r"get (virtualservices|vs)"),
    Form(
        "get",
        "-n istio-system get configmap|cm istio -o jsonpath=PLANTILLA",
        "el ConfigMap de la malla (`{.data.mesh}`: el meshConfig efectivo)",
        r"-n istio-system get configmap istio -o jsonpath=\{\.data\.mesh\}",
    ),
    Form(
        "set",
        "set env deployment/X|deploy/X|deployment X K=V K2-",
        "`deployment.apps/X env updated` (nada si no cambia nada) y un rollout en segundo plano",
        r"set env (deployment|deploy)/\S+ [A-Z_]+(=\S+|-)",
    ),
    Form("rollout", "rollout restart deployment/X", "`deployment.apps/X restarted`", r"rollout restart deployment/\S+"),
    Form(
        "rollout",
        "rollout status deployment/X [--timeout=D]",
        "una línea `Waiting for deployment …` por cada cambio de estado y `deployment \"X\" successfully rolled out`",
        r"rollout status deployment/\S+( --timeout=\S+)?",
    ),
    Form(
        "wait",
        "wait --for=condition=Ready pod -l SEL|pods --all|pod/NOMBRE [--timeout=D]",
        "`pod/NOMBRE condition met` por pod (por defecto, 30 s como mucho)",
        r"wait --for=condition=Ready pods? (-l app=\S+|--all)( --timeout=\S+)?",
    ),
    Form(
        "logs",
        "logs POD [CONTENEDOR]|deploy/X|-l SEL [-c C] [--prefix] [--tail=N] [--timestamps]",
        "las líneas de cada pod juntas y **los pods en un orden cualquiera** (como kubectl); con `-l`, "
        "10 líneas por pod si no se pide `--tail`; `--prefix` antepone `[pod/P/C] `; `--timestamps`, "
        "la marca de kubelet (UTC, 9 decimales)",
        r"logs (-l app=\S+( --prefix)?( --tail=-?\d+)?( -c istio-proxy)?|deploy/\S+ -c istio-proxy( --tail=\d+)?)",
    ),
    Form(
        "apply",
        "apply -f FICHERO|-",
        "`virtualservice.networking.istio.io/X created|configured|unchanged`",
        r"apply -f -",
    ),
    Form(
        "delete",
        "delete -f FICHERO|-",
        '`virtualservice.networking.istio.io "X" deleted from default namespace`',
        r"delete -f -",
    ),
)
VERBS: tuple[str, ...] = tuple(dict.fromkeys(f.verb for f in SUBSET))


def summary() -> str:
    """Las sinopsis en una línea, para el mensaje de «no soportado»."""
    return "; ".join(f.usage for f in SUBSET)


def course_allows(args: list[str]) -> bool:
    """¿Puede el texto del curso usar `kubectl ARGS`?"""
    joined = " ".join(args)
    return any(f.allows(joined) for f in SUBSET)


def readme_section() -> str:
    """La sección del README, desde su título hasta antes del siguiente (regenerada de SUBSET)."""
    lines = [
        README_HEADING,
        "",
        "Sale de `lab/ctl/subset.py` (una prueba compara esta sección con lo que genera). Namespace",
        "`default`, y `-n istio-system` solo para el ConfigMap `istio`:",
        "",
        *(f"- `{f.usage}` — {f.prints}" for f in SUBSET),
        "",
        "Un `apply`/`delete` entiende VirtualService `networking.istio.io/v1` (una ruta http sin `match`",
        "hacia su propio Service, con `retries` y `timeout`). Un YAML roto, una lista o un escalar, un",
        "objeto sin `kind` o sin `metadata.name`, o un tipo que el clúster no conoce dan el error de",
        "kubectl (código 1); un tipo conocido que no sea VirtualService, «no soportado».",
        "",
        "Todo lo demás: código 1 y «no soportado por el laboratorio (not supported by the lab)».",
        "",
        "",
    ]
    return "\n".join(lines)
