"""Las formas de salida de kubectl: tablas (tabwriter de kubectl) y edades («5s», «3m2s», «2d»)."""

from __future__ import annotations

import time

MIN_WIDTH, PADDING = 6, 3  # printers.GetNewTabWriter: minwidth 6, padding 3


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columnas alineadas como las de kubectl (la última sin relleno)."""
    all_rows = [header, *rows]
    widths = [max(MIN_WIDTH, max(len(r[i]) for r in all_rows) + PADDING) for i in range(len(header) - 1)]
    lines = []
    for row in all_rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + row[-1])
    return "\n".join(lines)


def age(since: float, now: float | None = None) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    seconds = int((now if now is not None else time.time()) - since)
    if seconds < 0:
        return "0s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m{s}s" if s else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        m = minutes % 60
        return f"{hours}h{m}m" if m else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{days}d{h}h" if h else f"{days}d"
    return f"{days}d"
