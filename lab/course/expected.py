"""Las «Salida esperada» del curso, comparadas con lo que imprimen de verdad los bloques {{exec}}.

Sigue el espíritu de los verificadores de istio.io (`tests/util/verify.sh` de istio/istio.io:
`_verify_elided`, donde «...» en una línea vale por cualquier número de líneas, y `_verify_like`,
que ignora tiempos, IP y nombres generados):

- Una salida esperada es el bloque ```text que sigue a un bloque {{exec}} (`expected_outputs`).
- `<!-- salida: libre — motivo -->` entre el bloque y su salida la excluye de la comparación; el
  motivo es obligatorio (`OPT_OUT`).
- En la salida esperada, una línea que empieza por `…` vale por cualquier número de líneas (también
  ninguna; lo que siga al `…` es un comentario para quien lee) y un `…` dentro de una línea, por
  cualquier texto.
- Antes de comparar se normalizan las dos salidas: los espacios seguidos cuentan como uno, y los
  hash de los nombres de pod, los request id, las IP (con su puerto), las edades, las horas, los
  tamaños y duraciones del registro de acceso de Envoy y las versiones de los agentes
  (`curl/8.5.0`) dan igual.
- Con `kubectl logs -l`, el orden de las líneas no cuenta: kubectl recorre los pods en un orden
  arbitrario (`sequentialConsumeRequest` de kubernetes/kubectl `pkg/cmd/logs/logs.go`, v0.36.3,
  itera un map de Go) y, con los nombres normalizados, las líneas de cada pod no se distinguen.
- Con `kubectl get pods`, las filas `Terminating` de la salida real no cuentan: un pod viejo puede
  seguir apagándose cuando el rollout ya terminó, y el texto lo avisa.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from lab.course.model import Block, CourseError, markdown_blocks

OPT_OUT = re.compile(r"<!--\s*salida:\s*libre\s*(?:[—–-]\s*(?P<why>.*?))?\s*-->")
ELLIPSIS = "…"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # el de los nombres generados (SafeEncodeString)
_NORMALISE = (
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<hora>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<id>"),
    (re.compile(rf"\b([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)-[{_ALPHABET}]{{6,10}}-[{_ALPHABET}]{{5}}\b"), r"\1-<pod>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    # %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% del formato TEXT
    (re.compile(r'(?<=" )\d+ \d+ \d+ (?:\d+|-)(?= ")'), "<n> <n> <ms> <ms>"),
    (re.compile(r"\b([A-Za-z][\w.-]*)/\d+(?:\.\d+)+\b"), r"\1/<versión>"),
    (re.compile(r"(?<!\S)\d+[smhd](?:\d+[smh])?(?!\S)"), "<edad>"),
)


@dataclass(frozen=True)
class ExpectedOutput:
    """El bloque ```text que sigue a un {{exec}}: lo que debería imprimir `block.code`."""

    block: Block
    file: Path
    line: int  # la primera línea del texto esperado (la valla de apertura + 1)
    text: str
    free: str | None  # el motivo de <!-- salida: libre — motivo -->, o None si se compara

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Mismatch:
    command: str
    expected: str
    actual: str
    reason: str
    diff: str  # unified diff de las dos salidas normalizadas

    def __str__(self) -> str:
        return f"{self.reason}\n{self.diff}"


def expected_outputs(path: Path) -> tuple[ExpectedOutput, ...]:
    """Las salidas esperadas de un Markdown, en orden; CourseError si un «salida: libre» no dice por qué."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for block in markdown_blocks(path):
        if not block.runs or block.span is None:
            continue
        fence_at, free = _next_fence(path, lines, block.span[1])
        if fence_at is None:
            continue
        opening = _FENCE.match(lines[fence_at])
        assert opening is not None
        if opening["info"].strip() != "text":
            continue
        body, end = [], fence_at + 1
        while end < len(lines) and not _closes(lines[end], opening["fence"]):
            body.append(lines[end][len(opening["indent"]):] if lines[end].startswith(opening["indent"]) else lines[end])
            end += 1
        found.append(ExpectedOutput(block, path, fence_at + 2, "\n".join(body), free))
    return tuple(found)


def _next_fence(path: Path, lines: list[str], close_line: int) -> tuple[int | None, str | None]:
    """Índice (0-based) de la siguiente valla tras la línea `close_line` (1-based) y el motivo de opt-out."""
    free = None
    for index in range(close_line, len(lines)):
        marker = OPT_OUT.search(lines[index])
        if marker:
            free = (marker["why"] or "").strip()
            if not free:
                raise CourseError(path, index + 1, "«salida: libre» sin motivo: escribe <!-- salida: libre — por qué -->")
        if _FENCE.match(lines[index]):
            return index, free
    return None, free


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(fence) and set(stripped) == {fence[0]}


def normalise(text: str) -> list[str]:
    """Las líneas de una salida con lo variable sustituido (ver el docstring del módulo)."""
    out = []
    for line in text.strip("\n").splitlines():
        line = " ".join(line.split())
        for pattern, replacement in _NORMALISE:
            line = pattern.sub(replacement, line)
        out.append(line)
    return out


def compare(command: str, expected: str, actual: str) -> Mismatch | None:
    """None si `actual` (lo que imprimió `command`) concuerda con la salida esperada; si no, un Mismatch."""
    want, got = normalise(expected), normalise(actual)
    if _runs_kubectl(command, "get", ("pod", "pods", "po")):
        got = [line for line in got if " Terminating " not in f" {line} "]
    if _runs_logs_with_selector(command):
        ok = _match_unordered(want, got)
        reason = "la salida no concuerda con la esperada (con kubectl logs -l, en cualquier orden)"
    else:
        ok = _match_ordered(want, got)
        reason = "la salida no concuerda con la esperada"
    if ok:
        return None
    diff = "\n".join(difflib.unified_diff(want, got, "esperada (normalizada)", "real (normalizada)", lineterm=""))
    return Mismatch(command, expected, actual, reason, diff)


def _is_elision(line: str) -> bool:
    return line.startswith(ELLIPSIS)


def _line_pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part.strip()) for part in line.split(ELLIPSIS)).replace(r"\ ", " ") + r"\Z")


def _line_matches(want: str, got: str) -> bool:
    return want == got or (ELLIPSIS in want and _line_pattern(want).match(got) is not None)


def _match_ordered(want: list[str], got: list[str]) -> bool:
    """Línea a línea; una línea «…» consume cualquier número de líneas (programación dinámica)."""
    reachable = {0}  # posiciones de `got` alcanzables tras las líneas de `want` ya vistas
    for line in want:
        if _is_elision(line):
            reachable = set(range(min(reachable), len(got) + 1)) if reachable else set()
        else:
            reachable = {j + 1 for j in reachable if j < len(got) and _line_matches(line, got[j])}
        if not reachable:
            return False
    return len(got) in reachable


def _match_unordered(want: list[str], got: list[str]) -> bool:
    """Cada línea esperada casa con una línea real distinta; sobran líneas reales solo si hay un «…»."""
    lines = [w for w in want if not _is_elision(w)]
    if len(lines) > len(got) or (len(lines) < len(got) and len(lines) == len(want)):
        return False
    return _assign(lines, got, [False] * len(got), budget=[10_000])


def _assign(lines: list[str], got: list[str], used: list[bool], budget: list[int]) -> bool:
    if not lines:
        return True
    budget[0] -= 1
    if budget[0] < 0:
        return False
    head, rest = lines[0], lines[1:]
    for j, candidate in enumerate(got):
        if not used[j] and _line_matches(head, candidate):
            used[j] = True
            if _assign(rest, got, used, budget):
                return True
            used[j] = False
    return False


def _commands(command: str) -> list[list[str]]:
    """Las órdenes simples de un bloque de shell (separadas por saltos, ;, |, &&, $( )), en palabras."""
    words: list[list[str]] = []
    for piece in re.split(r"\n|;|\|\|?|&&|\$\(|`", command):
        try:
            split = shlex.split(piece, comments=True)
        except ValueError:
            split = piece.split()
        while split and "=" in split[0] and not split[0].startswith("-"):
            split = split[1:]  # ID=$(...): asignaciones delante de la orden
        if split:
            words.append(split)
    return words


def _runs_kubectl(command: str, verb: str, kinds: tuple[str, ...] = ()) -> bool:
    for words in _commands(command):
        if words[0] != "kubectl":
            continue
        rest = [w for w in words[1:] if not w.startswith("-")]
        if rest[:1] == [verb] and (not kinds or (len(rest) > 1 and rest[1] in kinds)):
            return True
    return False


def _runs_logs_with_selector(command: str) -> bool:
    for words in _commands(command):
        if words[0] == "kubectl" and "logs" in words and any(
            w in ("-l", "--selector") or w.startswith(("-l", "--selector=")) for w in words
        ):
            return True
    return False
