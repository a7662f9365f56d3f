"""lab.course.model: index.json → páginas → bloques con fichero y línea; CourseError «fichero:línea: mensaje»."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.course.model import Block, CourseError, load_course, markdown_blocks, marker_problems

REPO = Path(__file__).resolve().parents[1]


def make_course(tmp_path: Path, files: dict[str, str], index: dict | None = None) -> Path:
    index = index or {
        "title": "Curso",
        "description": "Descripción",
        "details": {
            "intro": {"text": "intro.md", "background": "setup.sh"},
            "steps": [
                {"title": "Primero", "text": "step1/text.md", "verify": "step1/verify.sh"},
                {"title": "Segundo", "text": "step2/text.md"},
            ],
            "finish": {"text": "finish.md"},
        },
        "backend": {"imageid": "ubuntu"},
    }
    (tmp_path / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False), encoding="utf-8")
    defaults = {"intro.md": "", "step1/text.md": "", "step1/verify.sh": "true\n", "step2/text.md": "", "finish.md": ""}
    for name, text in {**defaults, **files}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_pages_titles_and_paths(tmp_path: Path) -> None:
    course = load_course(make_course(tmp_path, {}))
    assert course.title == "Curso" and course.description == "Descripción"
    assert [p.slug for p in course.pages] == ["intro", "step1", "step2", "finish"]
    assert [p.title for p in course.steps] == ["Primero", "Segundo"]
    assert course.page("step1").verify == tmp_path / "step1/verify.sh"
    assert course.page("step2").verify is None
    assert course.page("intro").text == tmp_path / "intro.md"
    assert course.index["backend"]["imageid"] == "ubuntu"


def test_blocks_fenced_and_inline_with_lines(tmp_path: Path) -> None:
    md = (
        "# Título\n"                       # 1
        "Ejecuta `kubectl get pods`{{exec}} y mira.\n"  # 2
        "\n"                               # 3
        "```plain\n"                       # 4
        "curl -s localhost:30000/toapp\n"  # 5
        "echo\n"                           # 6
        "```{{exec}}\n"                    # 7
        "```yaml\n"                        # 8
        "a: 1\n"                           # 9
        "```{{copy}}\n"                    # 10
        "```\n"                            # 11
        "sin acción\n"                     # 12
        "```\n"                            # 13
        "- lista\n"                        # 14
        "  ```plain\n"                     # 15
        "  sleep 1\n"                      # 16
        "  ```{{exec interrupt}}\n"        # 17
        "`solo copia`{{}} y `nada`\n"      # 18
    )
    course = load_course(make_course(tmp_path, {"step1/text.md": md}))
    f = tmp_path / "step1/text.md"
    assert course.page("step1").blocks == (
        Block(f, 2, "kubectl get pods", "exec"),
        Block(f, 5, "curl -s localhost:30000/toapp\necho", "exec"),
        Block(f, 9, "a: 1", "copy"),
        Block(f, 16, "sleep 1", "exec interrupt"),
    )
    assert [b.runs for b in course.page("step1").blocks] == [True, True, False, True]


def test_block_span_is_the_fence_lines_and_stays_out_of_equality(tmp_path: Path) -> None:
    md = (
        "`ls`{{exec}}\n"                  # 1
        "~~~~plain\n"                     # 2
        "```{{exec}}\n"                   # 3 (dentro de la valla de tildes: no es un bloque)
        "~~~~{{copy}}\n"                  # 4
        "- paso\n"                        # 5
        "  ```bash\n"                     # 6
        "  kubectl get pods\n"            # 7
        "\n"                              # 8
        "  ```{{exec interrupt}}\n"       # 9
        "```\n"                           # 10
        "```{{exec}}\n"                   # 11 (cuerpo vacío)
    )
    root = make_course(tmp_path, {"step1/text.md": md})
    blocks = load_course(root).page("step1").blocks
    assert [(b.line, b.action, b.span) for b in blocks] == [
        (1, "exec", None),
        (3, "copy", (2, 4)),
        (7, "exec interrupt", (6, 9)),
        (11, "exec", (10, 11)),
    ]
    assert blocks[1].code == "```{{exec}}" and blocks[2].code == "kubectl get pods\n" and blocks[3].code == ""
    # Compatibilidad: construir sin span y comparar/hashear como antes.
    f = root / "step1/text.md"
    assert blocks[2] == Block(f, 7, "kubectl get pods\n", "exec interrupt")
    assert hash(blocks[2]) == hash(Block(f, 7, "kubectl get pods\n", "exec interrupt"))
    assert Block(f, 1, "ls", "exec").span is None


@pytest.mark.parametrize(
    ("md", "line", "fragment"),
    [
        ("x\n```\nls\n``` {{exec}}\n", 4, "espacio antes de {{exec}}"),
        ("`ls` {{exec}}\n", 1, "espacio antes de {{exec}}"),
        ("a\n```\nls\n```{{execute}}\n", 4, "Katacoda"),
        ("`ls`{{execute T2}}\n", 1, "Katacoda"),
        ("```\nls\n```{{run}}\n", 3, "acción desconocida {{run}}"),
        ("texto {{exec}} suelto\n", 1, "suelto"),
        ("\n\n```plain\nls\n", 3, "sin cerrar"),
    ],
)
def test_marker_problems(tmp_path: Path, md: str, line: int, fragment: str) -> None:
    root = make_course(tmp_path, {"step2/text.md": md})
    problems = marker_problems(root / "step2/text.md")
    assert problems, md
    assert problems[0].line == line and fragment in problems[0].message
    with pytest.raises(CourseError) as exc:
        load_course(root)
    assert str(exc.value).startswith(f"{root / 'step2/text.md'}:{line}: ")


def test_traffic_placeholder_and_copy_disabled_are_fine(tmp_path: Path) -> None:
    md = "[abre]({{TRAFFIC_HOST1_30000}}/toapp) y `x`{{}}\n"
    root = make_course(tmp_path, {"intro.md": md})
    assert marker_problems(root / "intro.md") == []
    assert markdown_blocks(root / "intro.md") == ()


def test_missing_text_file_points_at_index_line(tmp_path: Path) -> None:
    root = make_course(tmp_path, {})
    (root / "step2/text.md").unlink()
    with pytest.raises(CourseError) as exc:
        load_course(root)
    err = exc.value
    assert err.file == root / "index.json"
    assert '"step2/text.md"' in (root / "index.json").read_text().splitlines()[err.line - 1]
    assert "step2/text.md" in err.message


def test_missing_verify_and_bad_json(tmp_path: Path) -> None:
    root = make_course(tmp_path, {})
    (root / "step1/verify.sh").unlink()
    with pytest.raises(CourseError, match=r"index\.json:\d+: .*verify"):
        load_course(root)
    (root / "index.json").write_text('{\n  "title": "x",\n  oops\n}\n')
    with pytest.raises(CourseError) as exc:
        load_course(root)
    assert exc.value.line == 3


def test_course_error_str() -> None:
    err = CourseError(Path("a/b.md"), 7, "mal")
    assert str(err) == "a/b.md:7: mal" and err.line == 7 and err.message == "mal"


def test_real_course_loads_when_present() -> None:
    if not (REPO / "step1" / "text.md").exists():
        pytest.skip("el curso aún no tiene su Markdown")
    course = load_course(REPO)
    assert [p.slug for p in course.pages][:1] == ["intro"]
    assert any(b.runs for p in course.steps for b in p.blocks)
