"""Los diagramas de assets/ salen de assets/diagrams/make_diagrams.py, byte a byte."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "assets" / "diagrams" / "make_diagrams.py"
# Los PNG que hay en assets/ (el script debe dibujar exactamente estos; lo comprueba la primera prueba).
NAMES = sorted(path.name for path in (ROOT / "assets").glob("*.png"))


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, i = [], 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        found.append((data[i + 4 : i + 8], data[i + 8 : i + 8 + length]))
        i += 12 + length
    return found


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    pytest.importorskip("matplotlib", reason="matplotlib está en las dependencias dev (pyproject.toml)")
    out = tmp_path_factory.mktemp("diagramas")
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, capture_output=True, timeout=240)
    return out


def test_the_script_draws_every_committed_png_and_nothing_else(regenerated):
    assert len(NAMES) >= 5
    assert sorted(path.name for path in regenerated.iterdir()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_png_is_what_the_script_draws(regenerated, name):
    committed = (ROOT / "assets" / name).read_bytes()
    assert (regenerated / name).read_bytes() == committed, (
        f"assets/{name} no coincide con make_diagrams.py: ejecuta «python assets/diagrams/make_diagrams.py»"
    )


@pytest.mark.parametrize("name", NAMES)
def test_png_has_no_timestamp_or_software_metadata(name):
    kinds = {kind for kind, _ in chunks((ROOT / "assets" / name).read_bytes())}
    assert not kinds & {b"tIME", b"tEXt", b"iTXt", b"zTXt"}, kinds
