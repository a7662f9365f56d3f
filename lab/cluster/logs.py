"""`kubectl logs`: leer la salida de un contenedor de un pod del laboratorio.

`<contenedor>.log` es la salida tal cual; `<contenedor>.times` (ver lab/cluster/capture.py) tiene la hora
de llegada de cada línea, en el mismo orden, para `--timestamps`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.cluster.capture import RECORD, STAMP_WIDTH, format_stamp, times_path


def container_log(pod: dict[str, Any], container: str) -> Path:
    for item in pod["containers"]:
        if item["name"] == container:
            return Path(item["log"])
    raise KeyError(container)


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
