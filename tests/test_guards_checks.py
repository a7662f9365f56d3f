"""Las reglas de `lab check` sobre el Markdown y el script foreground (lab/course/check/markdown.py),
cada una con un caso que pasa y otro que falla, en un curso mínimo de tmp_path. Python puro: sin
cspell, shellcheck ni el resto de `lab check` (eso es tests/test_check.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.course.check.base import make_ctx
from lab.course.check.markdown import check_foreground, check_markdown


def course(tmp_path: Path, markdown: str, foreground: bytes = b"echo hola\n") -> Path:
    (tmp_path / "index.json").write_text(json.dumps({"details": {"intro": {"text": "intro.md", "foreground": "fg.sh"}}}))
    (tmp_path / "intro.md").write_text(markdown, encoding="utf-8")
    (tmp_path / "fg.sh").write_bytes(foreground)
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "cadena.png").write_bytes(b"\x89PNG")
    return tmp_path


def markdown_problems(tmp_path: Path, text: str) -> list[str]:
    return [f"{p.line}: {p.message}" for p in check_markdown(make_ctx(course(tmp_path, f"# Título\n\n{text}\n")))]


@pytest.mark.parametrize("text", [
    "![cadena](img/cadena.png)",
    '<img src="img/cadena.png" alt="cadena">',
    "[Istio](https://istio.io/latest/docs/)",           # un enlace remoto sí vale
    "[arriba](#título)",
    "`![código](https://ejemplo.org/x.png)`",           # dentro de código no es una imagen
])
def test_local_images_and_remote_links_pass(tmp_path: Path, text: str) -> None:
    assert markdown_problems(tmp_path, text) == []


@pytest.mark.parametrize("text", [
    "![cadena](https://ejemplo.org/cadena.png)",
    "![cadena](http://ejemplo.org/cadena.png)",
    "![cadena](//ejemplo.org/cadena.png)",
    '<img src="https://ejemplo.org/cadena.png">',
])
def test_a_remote_image_is_reported_at_its_line(tmp_path: Path, text: str) -> None:
    problems = markdown_problems(tmp_path, text)
    assert len(problems) == 1 and problems[0].startswith("3: imagen remota")


@pytest.mark.parametrize(("text", "kind"), [("![cadena](/img/cadena.png)", "imagen"), ("[paso](/step1/text.md)", "enlace")])
def test_an_absolute_path_is_reported(tmp_path: Path, text: str, kind: str) -> None:
    target = text.split("(")[1][:-1]
    assert markdown_problems(tmp_path, text) == [f"3: {kind} «{target}» con ruta absoluta: usa una ruta relativa al Markdown"]


def test_a_missing_local_file_is_reported(tmp_path: Path) -> None:
    assert markdown_problems(tmp_path, "![x](img/no.png) y [y](otra.md#a)") == [
        "3: imagen rota: no existe «img/no.png» (relativo a ./)",
        "3: enlace roto: no existe «otra.md» (relativo a ./)",
    ]


def foreground_problems(tmp_path: Path, script: bytes) -> list[str]:
    return [f"{p.line}: {p.message}" for p in check_foreground(make_ctx(course(tmp_path, "# T\n", script)))]


@pytest.mark.parametrize("script", [b"echo hola\n", b"echo hola", b"#!/bin/bash\n\necho hola\n"])
def test_a_clean_foreground_passes(tmp_path: Path, script: bytes) -> None:
    assert foreground_problems(tmp_path, script) == []


def test_a_crlf_foreground_is_reported(tmp_path: Path) -> None:
    assert foreground_problems(tmp_path, b"echo hola\r\necho adios\r\n") == ["1: el script foreground tiene finales de línea CRLF"]


@pytest.mark.parametrize(("script", "line", "blank"), [(b"echo hola\n\n", 2, 1), (b"echo hola\n \n\t\n", 2, 2)])
def test_trailing_blank_lines_in_the_foreground_are_reported(tmp_path: Path, script: bytes, line: int, blank: int) -> None:
    assert foreground_problems(tmp_path, script) == [
        f"{line}: el script foreground acaba en {blank} línea(s) en blanco: Killercoda las teclea en la terminal del alumno"
    ]
