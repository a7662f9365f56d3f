"""Lo que Istio hereda de Go al leer una VirtualService, escrito en Python.

- Duraciones: istiod lee el JSON de la VirtualService con golang/protobuf jsonpb, que pasa las
  duraciones por `time.ParseDuration` («2s», «500ms», «1.5s», «1h30m», «250us»). Las reglas CEL
  del CRD (`duration(self)`) aceptan la misma sintaxis.
- Números en `retryOn`: `strconv.Atoi` (signo opcional, solo dígitos decimales) y
  `http.StatusText(i) != ""` (golang/go src/net/http/status.go: los códigos con nombre).
- La salida: el JSON de proto3 que enseña el config_dump de Envoy («3s», «0.500s»).
"""

from __future__ import annotations

import re

# golang/go src/net/http/status.go (Go 1.22–1.25): los códigos para los que StatusText no es "".
STATUS_TEXT_CODES = frozenset(
    [100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308]
    + list(range(400, 419))
    + [421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511]
)
INT64_MAX = 2**63 - 1
UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
PIECE = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


def atoi(text: str) -> int | None:
    """strconv.Atoi: el entero, o None si Go daría error (sintaxis o fuera de int64)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if -INT64_MAX - 1 <= value <= INT64_MAX else None


def is_status_code(text: str) -> bool:
    """Lo que Istio toma por código HTTP en retryOn: Atoi sin error y StatusText no vacío."""
    value = atoi(text)
    return value is not None and value in STATUS_TEXT_CODES


def parse_duration(text: str) -> int | None:
    """time.ParseDuration → nanosegundos, o None si Go lo rechaza («», «5», «1d», «1.5»)."""
    body, sign = text, 1
    if body[:1] in "+-" and body:
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if body == "0":
        return 0
    if not body:
        return None
    total, pos = 0, 0
    while pos < len(body):
        match = PIECE.match(body, pos)
        if not match or match.group(1) in ("", "."):
            return None
        whole, _, frac = match.group(1).partition(".")
        unit = UNITS[match.group(2)]
        total += int(whole or 0) * unit + (int(frac) * unit // 10 ** len(frac) if frac else 0)
        pos = match.end()
    return sign * total if total <= INT64_MAX else None


def duration_json(nanos: int) -> str:
    """Una duración en el JSON de proto3 (como la escribe el config_dump de Envoy): 3s, 0.500s."""
    sign = "-" if nanos < 0 else ""
    seconds, rest = divmod(abs(nanos), 10**9)
    if rest == 0:
        return f"{sign}{seconds}s"
    digits = 3 if rest % 10**6 == 0 else 6 if rest % 10**3 == 0 else 9
    return f"{sign}{seconds}.{rest // 10 ** (9 - digits):0{digits}d}s"


def go_duration(seconds: float) -> str:
    """Whole seconds as Go's time.Duration.String() prints them: 10s, 1m20s, 5m0s, 1h0m0s (the kubelet's
    «back-off %s» message)."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s" if minutes else f"{secs}s"
