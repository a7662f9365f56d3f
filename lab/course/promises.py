"""Las promesas del texto y cómo se observan, igual en el laboratorio que en un clúster de verdad.

Una marca `<!-- promesa: … -->` habla de las peticiones que hacen los bloques anteriores de la página
(desde la marca anterior), contadas por request_id. Tres clases:

- `<!-- promesa: bff=1 backend1=3 app2=9 -->`: **cada** petición nueva deja esas líneas de registro
  en cada servicio.
- `<!-- promesa: alguna bff=1 backend1=2 app2=2 -->`: **alguna** petición nueva deja exactamente esas.
- `<!-- promesa: final backend1=200 -->`: en cada petición nueva, el **último** intento que llegó a
  backend1 respondió 200; es lo que bff le contó al cliente (`backend1_status`).

Varias marcas seguidas, sin bloque entre ellas, miran las mismas peticiones. Se comprueba como lo
haría quien aprende: con `traza --recuento` (que lee `kubectl logs` y une las líneas por request_id),
nunca con los archivos del laboratorio. El recuento no depende del orden de los pods en
`kubectl logs -l` (traza une por request_id y ordena los estados por intento) y las líneas que llegan
tarde se esperan con un límite (`Observer.wait`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import CompletedProcess

from lab.course.model import Page
from lab.course.session import PlayFailure

PROMISE = re.compile(r"<!--\s*promesa:(?P<body>.*?)-->")
PROMISE_ITEM = re.compile(r"(?P<service>[a-z0-9][a-z0-9-]*)=(?P<count>\d+)")
KINDS = ("cada", "alguna", "final")  # "cada" no se escribe: es la marca sin palabra delante
TALLY_COMMAND = ("traza", "--recuento")

Counts = dict[str, int]


@dataclass(frozen=True)
class Promise:
    file: Path
    line: int
    counts: Counts  # líneas por servicio ("cada", "alguna") o estado del último intento ("final")
    kind: str = "cada"

    def __str__(self) -> str:
        return counts_text(self.counts) if self.kind == "cada" else f"{self.kind} {counts_text(self.counts)}"


def counts_text(counts: Counts) -> str:
    return " ".join(f"{service}={n}" for service, n in counts.items())


def page_promises(page: Page, entry: str) -> list[Promise]:
    """Las marcas de una página, en orden; una mal escrita, o que no cuenta `entry`, es un PlayFailure."""
    found = []
    text = page.text.read_text(encoding="utf-8")
    for match in PROMISE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        items = match["body"].split()
        kind = items.pop(0) if items and items[0] in KINDS[1:] else "cada"
        parsed = [PROMISE_ITEM.fullmatch(item) for item in items]
        if not items or not all(parsed):
            raise PlayFailure(page.text, line, f"marca de promesa mal escrita: «{match[0]}» "
                              f"(se espera <!-- promesa: {entry}=1 backend1=3 app2=3 -->, "
                              "<!-- promesa: alguna bff=1 backend1=2 app2=2 --> o <!-- promesa: final backend1=200 -->)")
        counts = {m["service"]: int(m["count"]) for m in parsed if m}
        if kind != "final" and entry not in counts:
            raise PlayFailure(page.text, line, f"la promesa «{match[0]}» no dice cuántas líneas deja en {entry}, "
                              "el servicio al que llama el curl (el del Service NodePort de apps/k8s)")
        found.append(Promise(page.text, line, counts, kind))
    return found


@dataclass(frozen=True)
class Request:
    """Una petición en `traza --recuento`: líneas por servicio y estado del último intento de cada uno."""

    counts: Counts
    finals: Counts = field(default_factory=dict)


def parse_requests(text: str) -> dict[str, Request]:
    """La salida de `traza --recuento` → {request_id: Request}, en el orden de traza."""
    requests: dict[str, Request] = {}
    for line in text.splitlines():
        fields = dict(token.split("=", 1) for token in line.split() if "=" in token)
        rid = fields.pop("request_id", None)
        if rid is None:
            continue
        counts = {k: int(v) for k, v in fields.items() if not k.startswith("estados_") and v.isdigit()}
        # traza ordena los estados por número de intento: el último es el que recibió quien llamó.
        finals = {k.removeprefix("estados_"): int(v.split(",")[-1]) for k, v in fields.items()
                  if k.startswith("estados_") and v.split(",")[-1].isdigit()}
        requests[rid] = Request(counts, finals)
    return requests


def broken(promise: Promise, new: dict[str, Request]) -> tuple[str, Counts] | None:
    """None si las peticiones nuevas cumplen la promesa; si no, (request_id, lo que dio) de una que no."""
    wanted = tuple(promise.counts)
    if promise.kind == "final":
        for rid, request in new.items():
            got = {s: request.finals.get(s, 0) for s in wanted}
            if got != promise.counts:
                return rid, got
        return None
    shown = {rid: {s: request.counts.get(s, 0) for s in wanted} for rid, request in new.items()}
    wrong = {rid: c for rid, c in shown.items() if c != promise.counts}
    if promise.kind == "alguna":
        return None if len(wrong) < len(shown) else next(iter(wrong.items()), None)
    return next(iter(wrong.items()), None)


class ObserveError(Exception):
    """Quien aprende no podría ver los registros: traza falló (se dice con su salida)."""


class Observer:
    """Las peticiones que llegaron a `entry`, vistas con `traza --recuento` en el entorno de la terminal."""

    def __init__(self, tool: Callable[[list[str]], CompletedProcess[str]], entry: str, settle: float) -> None:
        self.tool = tool
        self.entry = entry
        self.settle = settle

    def requests(self) -> dict[str, Request]:
        """Solo las peticiones que llegaron a `entry` (las demás líneas no son de un curl del curso)."""
        done = self.tool(list(TALLY_COMMAND))
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip() or f"código {done.returncode}"
            raise ObserveError(f"«{' '.join(TALLY_COMMAND)}» falló: {said}")
        return {rid: r for rid, r in parse_requests(done.stdout).items() if r.counts.get(self.entry, 0) > 0}

    def request_ids(self) -> set[str]:
        return set(self.requests())

    def wait(self, promises: list[Promise], seen: set[str]) -> tuple[list[str], list[tuple[Promise, str, Counts]]]:
        """Espera (hasta `settle` s) a que las peticiones nuevas desde `seen` cumplan todas las promesas.

        Devuelve (request_id nuevos, [(promesa incumplida, request_id, lo que dio)]: vacía si se cumplen)."""
        deadline = time.monotonic() + self.settle
        while True:
            new = {rid: r for rid, r in self.requests().items() if rid not in seen}
            failed = [(p, *b) for p in promises if (b := broken(p, new)) is not None]
            if (new and not failed) or time.monotonic() >= deadline:  # las líneas tardan milisegundos
                return list(new), failed
            time.sleep(0.3)
