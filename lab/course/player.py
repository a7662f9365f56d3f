"""El reproductor: intro, pasos y final en orden, como quien aprende, contra cualquier destino.

Cada bloque {{exec}} / {{exec interrupt}} se teclea en la terminal de la sesión y se muestra como en
una terminal («$ orden» y su salida); los {{copy}} no se ejecutan. El verify.sh de cada paso debe
FALLAR antes de sus bloques (si no, no comprueba nada) y PASAR después. Si el bloque siguiente es
{{exec interrupt}}, el actual puede no terminar (`kubectl logs -f`): corre unos segundos y recibe
Ctrl-C, como cuando Killercoda pulsa el siguiente.

Salidas esperadas (lab/course/expected.py): el bloque ```text que sigue a un {{exec}} se compara con
lo que imprimió de verdad (salvo `<!-- salida: libre — motivo -->` o si se le mandó Ctrl-C); si no
concuerda, falla en la línea de esa salida esperada, con el diff.

Promesas (lab/course/promises.py): al llegar a una marca (antes del primer bloque que va detrás, o al
final de la página), las peticiones nuevas que llegaron al servicio de entrada desde la marca anterior
deben cumplir lo prometido (cada una, alguna, o su último intento); las marcas seguidas miran las
mismas peticiones. Un bloque tras el que aparecen peticiones sin ninguna marca detrás falla.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab.course.expected import ExpectedOutput, compare, expected_outputs
from lab.course.model import Block, Course, Page
from lab.course.promises import ObserveError, Observer, Promise, counts_text, page_promises
from lab.course.session import Output, PlayFailure, Session


@dataclass
class Player:
    course: Course
    session: Session
    out: Output
    observer: Observer | None  # None: no se comprueban las promesas
    noun: str = "el laboratorio"  # cómo se nombra el destino en los mensajes
    blocks_run: int = 0
    verifies_run: int = 0
    promises_kept: int = 0
    outputs_matched: int = 0

    @property
    def entry(self) -> str:
        return self.observer.entry if self.observer else ""

    def rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.course.root.resolve()))
        except ValueError:
            return str(path)

    def play(self) -> None:
        for page in self.course.pages:
            self.play_page(page)

    def play_page(self, page: Page) -> None:
        label = {"intro": "Introducción", "finish": "Final"}.get(page.slug, f"Paso {page.slug.removeprefix('step')}")
        heading = label if page.title == label else f"{label}: {page.title}"
        self.out(f"\n━━ {heading} ({self.rel(page.text)})\n")
        if page.verify is not None:
            self._verify_fails_before(page)
        promises = page_promises(page, self.entry) if self.observer else []
        seen = self._request_ids(page, 1)  # las peticiones de antes de la página no son suyas
        caller: Block | None = None  # el primer bloque tras el que apareció una petición sin promesa
        runs = [b for b in page.blocks if b.runs]
        outputs = {e.block.line: e for e in expected_outputs(page.text)}
        for i, block in enumerate(runs):
            due = [p for p in promises if p.line < block.line]
            if due:
                promises = promises[len(due):]
                seen = self.keep(due, seen)
                caller = None
            nxt = runs[i + 1] if i + 1 < len(runs) else None
            self.run_block(block, nxt is not None and nxt.interrupts, outputs.get(block.line))
            # Tras la última marca de la página, cada bloque se mira: una petición nueva ahí no la
            # promete nadie. Antes de una marca, esa marca las cuenta todas.
            if self.observer and not promises and caller is None and self._request_ids(page, block.line) - seen:
                caller = block
        if promises:
            seen = self.keep(promises, seen)
            caller = None
        if caller is not None:
            new = sorted(self._request_ids(page, caller.line) - seen)
            raise PlayFailure(
                caller.file, caller.line,
                f"este bloque hace peticiones a {self.entry} (request_id {', '.join(new)}) y ninguna marca "
                f"<!-- promesa: {self.entry}=… … --> detrás dice cuántas líneas deja cada una en cada servicio",
            )
        if page.verify is not None:
            self._verify_passes_after(page)

    def run_block(self, block: Block, interruptible: bool, expected: ExpectedOutput | None = None) -> None:
        self.out(_prompt(block.code))
        result = self.session.run(
            block,
            interrupt_after=self.session.timeouts.interrupt_after if interruptible else None,
            on_output=self.out,
        )
        self.blocks_run += 1
        if result.interrupted and not result.timed_out:
            self.out("^C\n")
        if result.timed_out:
            hint = "" if interruptible else " (si es una orden que no acaba, el bloque siguiente debe ser {{exec interrupt}})"
            raise PlayFailure(block.file, block.line,
                              f"el bloque no terminó en {self.session.timeouts.block:.0f} s{hint}: {_first(block.code)}")
        if result.exit_code != 0:
            raise PlayFailure(block.file, result.line or block.line,
                              f"falló la orden «{result.command or _first(block.code)}» (código {result.exit_code})")
        if expected is not None and expected.free is None and not result.interrupted:
            mismatch = compare(block.code, expected.text, result.output)
            if mismatch is not None:
                raise PlayFailure(expected.file, expected.line,
                                  f"la salida de «{_first(block.code)}» no es la esperada: {mismatch}")
            self.outputs_matched += 1

    def _verify_fails_before(self, page: Page) -> None:
        assert page.verify is not None
        result = self.session.verify(page)
        self.verifies_run += 1
        if result.exit_code == 0:
            raise PlayFailure(page.verify, 1,
                              f"{self.rel(page.verify)} pasa ANTES de ejecutar los bloques de {self.rel(page.text)}: "
                              f"no comprueba lo que enseña el paso.\n{_indent(result.output)}")
        said = result.output.strip().splitlines()
        why = f": {said[0]}" if said else ""
        self.out(f"· {self.rel(page.verify)} antes del paso: falla, como debe (código {result.exit_code}){why}\n")

    def _verify_passes_after(self, page: Page) -> None:
        assert page.verify is not None
        result = self.session.verify(page)
        self.verifies_run += 1
        if result.exit_code != 0:
            raise PlayFailure(page.verify, 1,
                              f"{self.rel(page.verify)} falla DESPUÉS de los bloques de {self.rel(page.text)} "
                              f"(código {result.exit_code}).\n{_indent(result.output)}")
        self.out(f"· {self.rel(page.verify)} después del paso: pasa ✔\n")

    def _request_ids(self, page: Page, line: int) -> set[str]:
        if self.observer is None:
            return set()
        try:
            return self.observer.request_ids()
        except ObserveError as exc:
            raise PlayFailure(page.text, line, str(exc)) from None

    def keep(self, promises: list[Promise], seen: set[str]) -> set[str]:
        """Comprueba unas marcas seguidas con las peticiones nuevas desde `seen`; devuelve el nuevo `seen`."""
        assert self.observer is not None
        first = promises[0]
        try:
            new, failed = self.observer.wait(promises, seen)
        except ObserveError as exc:
            raise PlayFailure(first.file, first.line, str(exc)) from None
        if not new:
            raise PlayFailure(first.file, first.line,
                              f"promete {first} pero ninguna petición nueva llegó a {self.entry} antes de la marca "
                              f"(¿falta el curl en {self.rel(first.file)}, o la marca está antes que él?)")
        if failed:
            promise, rid, counts = failed[0]
            if promise.kind == "alguna":
                raise PlayFailure(promise.file, promise.line,
                                  f"promete {promise} pero ninguna de las peticiones nuevas ({len(new)}) lo dio "
                                  f"(la primera, {rid}: {counts_text(counts)})")
            raise PlayFailure(promise.file, promise.line,
                              f"promete {promise} pero {self.noun} dio {counts_text(counts)} (request_id {rid})")
        for promise in promises:
            self.promises_kept += 1
            which = f"request_id {', '.join(new)}" if len(new) <= 3 else f"{len(new)} peticiones"
            self.out(f"· promesa de {self.rel(promise.file)}:{promise.line} ({promise}): se cumple ({which}) ✔\n")
        return seen | set(new)


def _prompt(code: str) -> str:
    lines = code.split("\n")
    return "$ " + lines[0] + "\n" + "".join(f"> {ln}\n" for ln in lines[1:])


def _first(code: str) -> str:
    return code.strip().split("\n", 1)[0]


def _indent(text: str) -> str:
    return "\n".join("    " + ln for ln in text.rstrip().split("\n")) if text.strip() else "    (sin salida)"
