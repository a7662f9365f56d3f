"""Cada verify.sh que lista index.json, por los dos lados y sin saber su número de paso: falla antes
del paso, pasa después y FALLA con cualquier otro recuento después del paso (una línea de más o de
menos en cada servicio, sin reintentos, ninguna petición), y si kubectl o traza fallan.

Lo que cada script lee se saca del propio script (los Deployment de `status_code_app X`, las líneas
de `traza --recuento` que busca con grep, si mira `kubectl get virtualservices`) y se sirve con
imitaciones en el PATH: un kubectl y un traza de bash. Los recuentos que busca deben ser los de
una promesa de su página (`<!-- promesa: … -->`): el número sale del texto, no del script.
El estado «después del paso» (STATUS_CODE_APP de cada Deployment y las VirtualService) se busca
entre las combinaciones posibles: el primero con el que el script pasa. La prueba con el traza y
el kubectl de verdad del laboratorio es la de `lab play` (tests/test_play_lab.py).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from lab.course.model import load_course
from lab.course.promises import page_promises

ROOT = Path(__file__).resolve().parent.parent
ENTRY = "bff"  # el Service NodePort de apps/k8s al que llama el curl del curso

FAKE_KUBECTL = r"""#!/usr/bin/env bash
[ -z "${FAKE_KUBECTL_BROKEN:-}" ] || { echo "The connection to the server localhost:8080 was refused" >&2; exit 1; }
if [ "$#" = 5 ] && [ "$1 $2 $4" = "get deployment -o" ] && [[ $5 == *STATUS_CODE_APP* ]]; then
  var="FAKE_ENV_${3//-/_}"
  [ -n "${!var+x}" ] || { echo "Error from server (NotFound): deployments.apps \"$3\" not found" >&2; exit 1; }
  printf '%s' "${!var}"
  exit 0
fi
if [ "$*" = "get virtualservices" ]; then
  [ -n "$FAKE_VS" ] || { echo "No resources found in default namespace." >&2; exit 0; }
  echo "NAME       GATEWAYS   HOSTS          AGE"
  for name in $FAKE_VS; do printf '%-10s %-10s %-14s 5s\n' "$name" "" "[\"$name\"]"; done
  exit 0
fi
echo "error: la imitación de kubectl no sabe responder a: kubectl $*" >&2
exit 1
"""

FAKE_TRAZA = r"""#!/usr/bin/env bash
[ "$*" = "--recuento" ] || { echo "error: la imitación de traza solo sabe --recuento" >&2; exit 2; }
[ -z "${FAKE_TRAZA_FAIL:-}" ] || { echo "error: no hay pods con la etiqueta app=bff" >&2; exit 1; }
cat "$FAKE_TRAZA_OUT"
"""


@dataclass(frozen=True)
class Script:
    page: str  # el Markdown del paso, relativo a la raíz
    path: Path
    deployments: tuple[str, ...]  # los de `status_code_app X`
    tallies: tuple[str, ...]  # las líneas de `traza --recuento` que busca (sin request_id)
    reads_virtual_services: bool


def scripts() -> list[Script]:
    found = []
    for page in load_course(ROOT).pages:
        if page.verify is None:
            continue
        text = page.verify.read_text(encoding="utf-8")
        if "traza --recuento" not in text:
            continue  # los que miran Deployments y contadores de Envoy (pasos 1-2): tests/test_course_tools.py
        deployments = tuple(dict.fromkeys(re.findall(r"status_code_app ([a-z0-9-]+)\)", text)))
        tallies = tuple(re.findall(r"""grep -q '( request_id=[^']*|[^'^]*bff=[^']*)\$' <<<"\$recuento\"""", text))
        assert tallies, f"{page.verify}: no encuentro el «grep -q '… bff=… $' <<<\"$recuento\"» (¿cambió la forma?)"
        found.append(Script(str(page.text.relative_to(ROOT)), page.verify, deployments,
                            tuple(t.strip() for t in tallies), "kubectl get virtualservices" in text))
    assert len(found) >= 3, "index.json lista menos de tres verify.sh que cuentan con traza --recuento"
    return found


SCRIPTS = scripts()


@dataclass(frozen=True)
class State:
    env: dict[str, str] = field(default_factory=dict)  # STATUS_CODE_APP de cada Deployment ("" = sin ella)
    virtual_services: tuple[str, ...] = ()
    tally: tuple[str, ...] = ()  # líneas de `traza --recuento`, sin request_id
    kubectl_broken: bool = False
    traza_fails: bool = False


@pytest.fixture(scope="module")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("imitaciones")
    for name, text in (("kubectl", FAKE_KUBECTL), ("traza", FAKE_TRAZA)):
        (folder / name).write_text(text, encoding="utf-8")
        (folder / name).chmod(0o755)
    return folder


def passes(fakes: Path, script: Script, state: State) -> bool:
    out = fakes / "recuento.txt"
    out.write_text("".join(f"request_id={n:08x}-8b1d-4c7a-9e52-1d0b7f4a6c21 {line}\n"
                           for n, line in enumerate(state.tally, 1)), encoding="utf-8")
    env = {"PATH": f"{fakes}{os.pathsep}/usr/bin{os.pathsep}/bin", "LANG": "C.UTF-8", "FAKE_TRAZA_OUT": str(out),
           "FAKE_VS": " ".join(state.virtual_services)}
    env |= {f"FAKE_ENV_{name.replace('-', '_')}": value for name, value in state.env.items()}
    env |= {"FAKE_KUBECTL_BROKEN": "1"} if state.kubectl_broken else {}
    env |= {"FAKE_TRAZA_FAIL": "1"} if state.traza_fails else {}
    done = subprocess.run(["bash", str(script.path)], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 or done.stdout.startswith("Todavía no: "), done.stdout + done.stderr
    return done.returncode == 0


def counts(line: str) -> dict[str, int]:
    return {k: int(v) for k, v in (t.split("=", 1) for t in line.split()) if not k.startswith("estados_") and v.isdigit()}


def promised(script: Script) -> list[dict[str, int]]:
    """Lo que prometen su página y las anteriores: un verify.sh puede comprobar también el estado que
    dejó un paso previo (el del paso 6 mira las dos opciones de los pasos 5 y 6)."""
    pages = load_course(ROOT).pages
    upto = next(i for i, p in enumerate(pages) if p.verify == script.path)
    return [p.counts for page in pages[: upto + 1] for p in page_promises(page, ENTRY)]


def concrete(script: Script) -> tuple[str, ...]:
    """Las líneas que busca el script, con los recuentos que no sean un número (un comodín) tomados
    de la promesa de su página que concuerda con el resto: la petición que el texto promete."""
    lines = []
    for line in script.tallies:
        literal = counts(line)
        promise = next((p for p in promised(script) if all(p.get(s, n) == n for s, n in literal.items())), {})
        lines.append(" ".join(f"{k}={promise[k]}" if k in promise and k not in literal else token
                              for token in line.split() for k in [token.split("=", 1)[0]]))
    return tuple(lines)


@functools.cache
def after_the_step(fakes: Path, script: Script) -> State:
    """El primer estado de Deployment y VirtualService con el que el script pasa, con sus recuentos."""
    names = sorted(set(script.deployments) | {ENTRY, *(s for line in concrete(script) for s in counts(line))})
    vs_choices = [tuple(c) for n in range(len(names) + 1) for c in itertools.combinations(names, n)] \
        if script.reads_virtual_services else [()]
    for values in itertools.product(("", "503"), repeat=len(names)):
        for chosen in vs_choices:
            state = State(dict(zip(names, values, strict=True)), chosen, concrete(script))
            if passes(fakes, script, state):
                return state
    raise AssertionError(f"{script.path}: ningún estado con sus recuentos lo hace pasar")


def before_the_step(fakes: Path, index: int) -> State:
    """El estado en que lo deja el paso anterior (o el de setup.sh: ni STATUS_CODE_APP ni reintentos)."""
    if index:
        return after_the_step(fakes, SCRIPTS[index - 1])
    names = sorted({ENTRY, *(s for line in concrete(SCRIPTS[0]) for s in counts(line))})
    return State(dict.fromkeys(names, ""), (), (" ".join(f"{s}=1" for s in names),))


def with_count(line: str, service: str, n: int, statuses_too: bool) -> str:
    """La línea con `n` líneas en `service` (y, si statuses_too, también n estados)."""
    out = []
    for token in line.split():
        key, _, value = token.partition("=")
        if key == service:
            token = f"{key}={n}"
        elif statuses_too and key == f"estados_{service}":
            token = f"{key}={','.join([value.split(',')[0]] * n)}"
        out.append(token)
    return " ".join(out)


IDS = [s.path.parent.name for s in SCRIPTS]


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_it_looks_for_literal_tally_lines(script: Script) -> None:
    """Un comodín (`[0-9]*`, `.*`) en el grep aceptaría cualquier recuento: la línea debe ser literal."""
    for line in script.tallies:
        assert re.fullmatch(r"[\w=, -]+", line), f"{script.path}: el grep de «{line}» no es literal"


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_the_counts_it_looks_for_are_promised_by_its_page(script: Script) -> None:
    for line in script.tallies:
        assert any(all(counts(line).get(s) == n for s, n in p.items()) for p in promised(script)), (
            f"{script.path} busca «{line}» y ni {script.page} ni una página anterior prometen esos recuentos ({promised(script)})"
        )


@pytest.mark.parametrize("index", range(len(SCRIPTS)), ids=IDS)
def test_fails_before_the_step_and_passes_after(fakes: Path, index: int) -> None:
    script = SCRIPTS[index]
    assert not passes(fakes, script, State())  # nada: ni Deployment, ni registros
    assert not passes(fakes, script, before_the_step(fakes, index))
    after = after_the_step(fakes, script)
    assert passes(fakes, script, after) and passes(fakes, script, after)  # idempotente


@pytest.mark.parametrize("index", range(len(SCRIPTS)), ids=IDS)
def test_fails_with_any_other_count_after_the_step(fakes: Path, index: int) -> None:
    script = SCRIPTS[index]
    after = after_the_step(fakes, script)
    wrong = []
    lines = concrete(script)
    for position, line in enumerate(lines):
        others = [*lines[:position], *lines[position + 1:]]
        candidates = [" ".join(f"{s}=1" for s in counts(line))]  # un clúster sin reintentos
        for service, n in counts(line).items():
            for m in (n - 1, n + 1):
                candidates.append(with_count(line, service, m, statuses_too=False))
                if m > 0:
                    candidates.append(with_count(line, service, m, statuses_too=True))
        for candidate in candidates:
            if passes(fakes, script, replace(after, tally=(*others, candidate))):
                wrong.append(candidate)
        if passes(fakes, script, replace(after, tally=tuple(others))):
            wrong.append(f"sin la petición «{line}»")
    assert not wrong, f"{script.path} pasa con recuentos que el texto no promete: {json.dumps(wrong, ensure_ascii=False)}"


@pytest.mark.parametrize("index", range(len(SCRIPTS)), ids=IDS)
def test_fails_when_kubectl_or_traza_fail(fakes: Path, index: int) -> None:
    after = after_the_step(fakes, SCRIPTS[index])
    assert not passes(fakes, SCRIPTS[index], replace(after, kubectl_broken=True))
    assert not passes(fakes, SCRIPTS[index], replace(after, traza_fails=True))
