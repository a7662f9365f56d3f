"""xterm.js y su complemento fit, servidos desde node_modules/ (package.json fija sus versiones).

`npm ci` los instala junto a cspell; `make preview` depende de eso. Sin ellos la vista previa no
arranca y dice qué hacer (`missing`).
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"

# nombre en /vendor/ → (fichero bajo node_modules, tipo MIME)
FILES: dict[str, tuple[str, str]] = {
    "xterm.js": ("@xterm/xterm/lib/xterm.js", "text/javascript; charset=utf-8"),
    "xterm.css": ("@xterm/xterm/css/xterm.css", "text/css; charset=utf-8"),
    "addon-fit.js": ("@xterm/addon-fit/lib/addon-fit.js", "text/javascript; charset=utf-8"),
}


def path(name: str) -> Path:
    return NODE_MODULES / FILES[name][0]


def missing() -> str | None:
    """El error para quien arranca la vista previa si falta algún fichero de xterm.js; None si están."""
    absent = [FILES[name][0] for name in FILES if not path(name).is_file()]
    if not absent:
        return None
    return (
        f"falta la terminal del navegador (xterm.js): no está {NODE_MODULES / absent[0]}. "
        f"Ejecuta «npm ci» en {REPO} (necesita Node.js >= 20.18), o usa «make preview», que lo hace."
    )
