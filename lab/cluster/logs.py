"""`kubectl logs`: leer la salida de un contenedor de un pod del laboratorio.

`<contenedor>.log` es la salida tal cual; `<contenedor>.times` (ver lab/cluster/capture.py) tiene la hora
de llegada de cada línea, en el mismo orden, para `--timestamps`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lab.cluster.capture import RECORD, STAMP_WIDTH, format_stamp, times_path
from lab.cluster.state import ContainerState

APP_LINE = re.compile(r"pod=(?P<pod>\S+) path=(?P<path>\S+) status=(?P<status>\d+) attempt=(?P<attempt>\S+) request_id=(?P<request_id>\S+)")


@dataclass(frozen=True)
class AppLine:
    """`pod=... path=... status=503 attempt=2 request_id=...` (attempt y request_id pueden ser «-»)."""

    pod: str
    path: str
    status: int
    attempt: str
    request_id: str


def parse_app_line(line: str) -> AppLine | None:
    match = APP_LINE.fullmatch(line.strip())
    if match is None:
        return None
    return AppLine(match["pod"], match["path"], int(match["status"]), match["attempt"], match["request_id"])


def app_lines(container: ContainerState) -> list[AppLine]:
    """Las líneas de petición del registro de un contenedor de app, en orden."""
    return [parsed for line in read_lines(Path(container.log), -1) if (parsed := parse_app_line(line))]


def read_entries(path: Path, tail: int, timestamps: bool = False) -> list[tuple[str | None, str]]:
    """Las últimas `tail` líneas (todas si tail < 0) como (marca o None, línea sin el salto final).

    Las líneas se separan solo por «\\n», como las corta el runtime. La marca es la de kubelet
    (`2026-11-28T01:02:03.123456789Z`); una línea aún sin marca (la última, si llega a medias)
    lleva la hora de modificación del archivo.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # el salto final (o un archivo vacío)
    start = 0 if tail < 0 else max(0, len(lines) - tail)
    chosen = [line.decode("utf-8", errors="replace") for line in lines[start:]]
    if not timestamps:
        return [(None, line) for line in chosen]
    stamps = _stamps(path, start, len(chosen))
    if len(stamps) < len(chosen):
        try:
            fallback = format_stamp(path.stat().st_mtime_ns)
        except FileNotFoundError:
            fallback = format_stamp(0)
        stamps += [fallback] * (len(chosen) - len(stamps))
    return list(zip(stamps, chosen, strict=False))


def _stamps(path: Path, start: int, count: int) -> list[str]:
    try:
        with times_path(path).open("rb") as handle:
            handle.seek(start * RECORD)
            raw = handle.read(count * RECORD)
    except FileNotFoundError:
        return []
    return [raw[i:i + STAMP_WIDTH].decode("ascii") for i in range(0, len(raw) - STAMP_WIDTH + 1, RECORD)]


def read_lines(path: Path, tail: int) -> list[str]:
    """Las últimas `tail` líneas (todas si tail < 0), sin el salto final."""
    return [line for _, line in read_entries(path, tail)]
