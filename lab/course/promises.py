"""Las promesas del texto y cómo se observan, igual en el laboratorio que en un clúster de verdad.

Una marca `<!-- promesa: bff=1 backend1=3 app2=9 -->` dice cuántas líneas de registro deja en cada
servicio cada petición que hacen los bloques anteriores de la página (desde la marca anterior).
Se comprueba como lo haría quien aprende: con `traza --recuento` (que lee `kubectl logs` y une las
líneas por request_id), nunca con los archivos del laboratorio. El recuento no depende del orden de
los pods en `kubectl logs -l` (traza une por request_id) y las líneas que llegan tarde se esperan con
un límite (`Observer.wait`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

from lab.course.model import Page
from lab.course.session import PlayFailure

PROMISE = re.compile(r"<!--\s*promesa:(?P<body>.*?)-->")
PROMISE_ITEM = re.compile(r"(?P<service>[a-z0-9][a-z0-9-]*)=(?P<count>\d+)")
TALLY_COMMAND = ("traza", "--recuento")

Counts = dict[str, int]


@dataclass(frozen=True)
class Promise:
    file: Path
    line: int
    counts: Counts

    def __str__(self) -> str:
        return counts_text(self.counts)


def counts_text(counts: Counts) -> str:
    return " ".join(f"{service}={n}" for service, n in counts.items())


def page_promises(page: Page, entry: str) -> list[Promise]:
    """Las marcas de una página, en orden; una mal escrita, o que no cuenta `entry`, es un PlayFailure."""
    found = []
    text = page.text.read_text(encoding="utf-8")
    for match in PROMISE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        items = match["body"].split()
        parsed = [PROMISE_ITEM.fullmatch(item) for item in items]
        if not items or not all(parsed):
            raise PlayFailure(page.text, line, f"marca de promesa mal escrita: «{match[0]}» "
                              f"(se espera <!-- promesa: {entry}=1 backend1=3 app2=3 -->)")
        counts = {m["service"]: int(m["count"]) for m in parsed if m}
        if entry not in counts:
            raise PlayFailure(page.text, line, f"la promesa «{match[0]}» no dice cuántas líneas deja en {entry}, "
                              "el servicio al que llama el curl (el del Service NodePort de apps/k8s)")
        found.append(Promise(page.text, line, counts))
    return found


def parse_tally(text: str) -> dict[str, Counts]:
    """La salida de `traza --recuento` → {request_id: {servicio: líneas}}, en el orden de traza."""
    tally: dict[str, Counts] = {}
    for line in text.splitlines():
        fields = dict(token.split("=", 1) for token in line.split() if "=" in token)
        rid = fields.pop("request_id", None)
        if rid is None:
            continue
        tally[rid] = {k: int(v) for k, v in fields.items() if not k.startswith("estados_") and v.isdigit()}
    return tally


class ObserveError(Exception):
    """Quien aprende no podría ver los registros: traza falló (se dice con su salida)."""


class Observer:
    """Las peticiones que llegaron a `entry`, vistas con `traza --recuento` en el entorno de la terminal."""

    def __init__(self, tool: Callable[[list[str]], CompletedProcess[str]], entry: str, settle: float) -> None:
        self.tool = tool
        self.entry = entry
        self.settle = settle

    def tally(self) -> dict[str, Counts]:
        """Solo las peticiones que llegaron a `entry` (las demás líneas no son de un curl del curso)."""
        done = self.tool(list(TALLY_COMMAND))
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip() or f"código {done.returncode}"
            raise ObserveError(f"«{' '.join(TALLY_COMMAND)}» falló: {said}")
        return {rid: c for rid, c in parse_tally(done.stdout).items() if c.get(self.entry, 0) > 0}

    def request_ids(self) -> set[str]:
        return set(self.tally())

    def wait(self, promise: Promise, seen: set[str]) -> tuple[dict[str, Counts], dict[str, Counts]]:
        """Espera (hasta `settle` s) a que cada petición nueva desde `seen` cumpla la promesa.

        Devuelve (peticiones nuevas, las que no la cumplen: vacío si se cumple)."""
        wanted = tuple(promise.counts)
        deadline = time.monotonic() + self.settle
        while True:
            new = {rid: {s: c.get(s, 0) for s in wanted} for rid, c in self.tally().items() if rid not in seen}
            wrong = {rid: c for rid, c in new.items() if c != promise.counts}
            if (new and not wrong) or time.monotonic() >= deadline:  # las líneas tardan milisegundos
                return new, wrong
            time.sleep(0.3)
