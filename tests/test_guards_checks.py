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


# --------------------------------------------------------------------------- lo que mutmut vio sin prueba


def full_problems(root: Path) -> list[tuple[Path, int, str]]:
    ctx = make_ctx(root)
    return [(p.file, p.line, p.message) for p in check_markdown(ctx) + check_foreground(ctx)]


def two_pages(tmp_path: Path, intro: str, step: str, foreground: bytes | None = None) -> Path:
    step_page: dict = {"text": "step1/text.md"}
    if foreground is not None:
        step_page["foreground"] = "step1/fg.sh"
        (tmp_path / "step1").mkdir(exist_ok=True)
        (tmp_path / "step1" / "fg.sh").write_bytes(foreground)
    (tmp_path / "index.json").write_text(json.dumps({"details": {"intro": {"text": "intro.md", "foreground": "falta.sh"},
                                                                 "steps": [step_page]}}))
    (tmp_path / "intro.md").write_text(intro, encoding="utf-8")
    (tmp_path / "step1").mkdir(exist_ok=True)
    (tmp_path / "step1" / "text.md").write_text(step, encoding="utf-8")
    return tmp_path


def test_problems_of_every_page_with_their_file_and_line(tmp_path: Path) -> None:
    root = two_pages(tmp_path, "# I\n\n```bash\nls\n``` {{exec}}\n", "# P\n\n![x](no.png) [y](/abs)\n", b"echo\r\n")
    intro, step = root / "intro.md", root / "step1" / "text.md"
    assert full_problems(root) == [
        (intro, 5, "espacio antes de {{exec}}: va pegado a la valla de cierre"),
        (step, 3, "imagen rota: no existe «no.png» (relativo a step1/)"),
        (step, 3, "enlace «/abs» con ruta absoluta: usa una ruta relativa al Markdown"),
        (root / "step1" / "fg.sh", 1, "el script foreground tiene finales de línea CRLF"),
    ]


def test_the_remote_image_message(tmp_path: Path) -> None:
    root = course(tmp_path, "# T\n\n![x](https://ejemplo.org/x.png)\n")
    assert full_problems(root) == [(root / "intro.md", 3, "imagen remota «https://ejemplo.org/x.png»: guarda la imagen "
                                    "junto al Markdown (Killercoda no siempre llega a otros sitios)")]


@pytest.mark.parametrize("text", [
    "![x](<img/cadena.png>)", "![x](img/cadena.png?v=1#arriba)", "[app]({{TRAFFIC_HOST1_30000}}/toapp)",
])
def test_targets_that_are_fine(tmp_path: Path, text: str) -> None:
    assert markdown_problems(tmp_path, text) == []


@pytest.mark.parametrize(("text", "problem"), [
    ('<source src="https://ejemplo.org/v.webm">', "3: imagen remota «https://ejemplo.org/v.webm»"),
    ("![x](img/cadena.png?v=1?w=2)", None),
    ("![x](img/cadena.png#a#b)", None),
    ("[a](https://istio.io) ![b](img/no.png)", "3: imagen rota: no existe «img/no.png»"),
    ("[a](?q) ![b](img/no.png)", "3: imagen rota: no existe «img/no.png»"),
    ("[a](/abs) ![b](img/no.png)", "3: imagen rota: no existe «img/no.png»"),
])
def test_each_target_on_a_line_is_checked(tmp_path: Path, text: str, problem: str | None) -> None:
    problems = markdown_problems(tmp_path, text)
    assert (problems[-1].startswith(problem) if problem else problems == []), problems


@pytest.mark.parametrize(("script", "expected"), [
    (b"\xff echo\r\n", "1: el script foreground tiene finales de línea CRLF"),           # UTF-8 mal formado
    (b"echo hola\n  ", "2: el script foreground acaba en 1 línea(s) en blanco"),          # sin salto final
    (b"\n\n", "1: el script foreground acaba en 2 línea(s) en blanco"),                    # solo líneas en blanco
    (b"a\nb\n\n", "3: el script foreground acaba en 1 línea(s) en blanco"),
])
def test_foreground_edges(tmp_path: Path, script: bytes, expected: str) -> None:
    problems = foreground_problems(tmp_path, script)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_a_foreground_that_index_json_names_but_is_missing_is_left_to_the_index_check(tmp_path: Path) -> None:
    root = two_pages(tmp_path, "# I\n", "# P\n")
    assert check_foreground(make_ctx(root)) == []


def test_a_blank_line_problem_names_the_foreground_and_links_keep_their_letters(tmp_path: Path) -> None:
    root = course(tmp_path, "# T\n\n[a](Xno)\n", b"echo\n\n")
    assert full_problems(root) == [(root / "intro.md", 3, "enlace roto: no existe «Xno» (relativo a ./)"),
                                   (root / "fg.sh", 2, "el script foreground acaba en 1 línea(s) en blanco: "
                                    "Killercoda las teclea en la terminal del alumno")]
