"""`kubectl logs`: leer la salida de un contenedor de un pod del laboratorio."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any


def container_log(pod: dict[str, Any], container: str) -> Path:
    for item in pod["containers"]:
        if item["name"] == container:
            return Path(item["log"])
    raise KeyError(container)


def read_lines(path: Path, tail: int) -> list[str]:
    """Las últimas `tail` líneas (todas si tail < 0), sin el salto final."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            if tail < 0:
                return [line.rstrip("\n") for line in handle]
            return [line.rstrip("\n") for line in deque(handle, maxlen=tail)]
    except FileNotFoundError:
        return []
