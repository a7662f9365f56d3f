"""`lab check` sobre el curso real (debe pasar) y sobre copias rotas a propósito (debe fallar con
«fichero:línea: mensaje» que señala el sitio exacto)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import replace_once

from lab.course.check import Problem, run_checks

REPO = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", ".lab", "lab", "tests", "bench", "__pycache__", "*.egg-info",
    ".pytest_cache", "artifacts", "*.pyc",
)


def copy_course(dst: Path) -> Path:
    """Una copia del curso (sin el código del laboratorio ni las pruebas) para romperla."""
    shutil.copytree(REPO, dst, ignore=SKIP, symlinks=True)
    return dst


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return copy_course(tmp_path / "curso")


def lab_check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", "check", "--course", str(root), *args],
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
    )


def line_of(path: Path, needle: str) -> int:
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} no está en {path}")


def shown(problems: list[Problem], root: Path) -> list[str]:
    return [p.show(root) for p in problems]


# --------------------------------------------------------------------------- el curso real


def test_real_course_passes_every_check() -> None:
    proc = lab_check(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "" and "todo en orden" in proc.stderr


def test_copy_of_the_course_passes(course: Path) -> None:
    """La base de todas las copias rotas: sin romper nada, la copia pasa (así cada fallo es el nuestro)."""
    assert shown(run_checks(course), course) == []


# --------------------------------------------------------------------------- copias rotas


def test_image_removed(course: Path) -> None:
    text = course / "step1" / "text.md"
    target = re.search(r"!\[[^\]]*\]\((\S+?\.png)\)", text.read_text(encoding="utf-8"))
    assert target, "el paso 1 muestra una imagen"
    (text.parent / target.group(1)).unlink()
    proc = lab_check(course, "--only", "markdown")
    assert proc.returncode == 1
    expected = f"step1/text.md:{line_of(text, target.group(1))}: imagen rota: no existe «{target.group(1)}»"
    assert expected in proc.stdout, proc.stdout


def test_index_json_path_wrong(course: Path) -> None:
    line = replace_once(course / "index.json", '"step1/verify.sh"', '"step1/verfy.sh"')
    proc = lab_check(course, "--only", "index")
    assert proc.returncode == 1
    assert f"index.json:{line}: details.steps[0].verify: no existe el fichero «step1/verfy.sh»" in proc.stdout


def test_asset_path_is_relative_to_assets(course: Path) -> None:
    line = replace_once(course / "index.json", '"curso.tar.gz"', '"assets/curso.tar.gz"')
    problems = shown(run_checks(course, ["index"]), course)
    assert problems == [
        f"index.json:{line}: details.assets.host01[0].file: no existe «assets/assets/curso.tar.gz» "
        "(las rutas de assets son relativas a assets/)"
    ]


def test_index_unknown_and_katacoda_keys_and_missing_imageid(course: Path) -> None:
    index = json.loads((course / "index.json").read_text(encoding="utf-8"))
    index["details"]["intro"]["courseData"] = "setup.sh"
    index["details"]["steps"][0]["verfy"] = "step1/verify.sh"
    del index["backend"]["imageid"]
    (course / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False), encoding="utf-8")
    problems = "\n".join(shown(run_checks(course, ["index"]), course))
    assert re.search(r"index\.json:\d+: details\.intro\.courseData es una clave de Katacoda: usa «background»", problems)
    assert re.search(r"index\.json:\d+: details\.steps\[0\]: clave desconocida «verfy»", problems)
    assert "falta «backend.imageid» (obligatorio)" in problems


def test_word_stripped_of_its_accent(course: Path) -> None:
    intro = course / "intro.md"
    prose = [n for n, t in enumerate(intro.read_text(encoding="utf-8").splitlines(), 1) if "petición" in t and "`" not in t]
    assert prose, "la intro habla de «petición»"
    lines = intro.read_text(encoding="utf-8").splitlines()
    lines[prose[0] - 1] = lines[prose[0] - 1].replace("petición", "peticion")
    intro.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = lab_check(course, "--only", "spelling")
    assert proc.returncode == 1
    expected = rf"^intro\.md:{prose[0]}: ortografía: «peticion» no está en el diccionario \(¿«petición»\?\)"
    assert re.search(expected, proc.stdout, re.M), proc.stdout


def test_accentless_words_anywhere_are_reported_with_their_line(course: Path) -> None:
    finish = course / "finish.md"
    with finish.open("a", encoding="utf-8") as f:
        f.write("\nLa conexion necesita una explicacion.\n\n```plain\nconexion-sin-tilde-en-codigo\n```\n`explicacion` en código\n")
    total = len(finish.read_text(encoding="utf-8").splitlines())
    problems = shown(run_checks(course, ["spelling"]), course)
    assert [p.split(": ortografía")[0] for p in problems] == [f"finish.md:{total - 5}"] * 2
    assert "«conexion»" in problems[0] and "«explicacion»" in problems[1]


def test_katacoda_execute(course: Path) -> None:
    line = replace_once(course / "step1" / "text.md", "```{{exec}}", "```{{execute}}")
    proc = lab_check(course, "--only", "markdown")
    assert proc.returncode == 1
    assert f"step1/text.md:{line}: {{{{execute}}}} es sintaxis de Katacoda: usa {{{{exec}}}}" in proc.stdout


def test_space_before_exec_and_unknown_action(course: Path) -> None:
    line1 = replace_once(course / "step2" / "text.md", "```{{exec}}", "``` {{exec}}")
    line2 = replace_once(course / "step2" / "text.md", "```{{exec}}", "```{{run}}")
    problems = shown(run_checks(course, ["markdown"]), course)
    assert problems == [
        f"step2/text.md:{line1}: espacio antes de {{{{exec}}}}: va pegado a la valla de cierre",
        f"step2/text.md:{line2}: acción desconocida {{{{run}}}} (válidas: {{{{exec}}}}, {{{{exec interrupt}}}}, {{{{copy}}}})",
    ]


def test_unknown_field_in_manifest(course: Path) -> None:
    manifest = course / "apps" / "k8s" / "backend1.yaml"
    line = replace_once(manifest, "  replicas: 3\n", "  replicas: 3\n  replicaz: 3\n") + 1
    proc = lab_check(course, "--only", "manifests")
    assert proc.returncode == 1
    assert re.search(
        rf"^apps/k8s/backend1\.yaml:{line}: Deployment/backend1 no valida contra Kubernetes [\d.]+ \(estricto\) en spec: .*'replicaz'",
        proc.stdout, re.M,
    ), proc.stdout


def test_foreground_trailing_blank_lines(course: Path) -> None:
    fg = course / "foreground.sh"
    lines = len(fg.read_text(encoding="utf-8").splitlines())
    with fg.open("a", encoding="utf-8") as f:
        f.write("\n\n")
    assert shown(run_checks(course, ["foreground"]), course) == [
        f"foreground.sh:{lines + 1}: el script foreground acaba en 2 línea(s) en blanco: Killercoda las teclea en la terminal del alumno"
    ]


def test_shellcheck_in_exec_block_points_at_markdown_line(course: Path) -> None:
    text = course / "step3" / "text.md"
    curl = "RESPUESTA=$(curl -s localhost:30000/toapp)\n"
    line = replace_once(text, curl, curl + "[ $ID == x ] && echo igual\n") + 1
    problems = shown(run_checks(course, ["shellcheck"]), course)
    assert any(p.startswith(f"step3/text.md:{line}: shellcheck SC") for p in problems), problems


def test_shellcheck_in_scripts(course: Path) -> None:
    verify = course / "step2" / "verify.sh"
    with verify.open("a", encoding="utf-8") as f:
        f.write("echo $UNDEFINED_THING\n")
    line = len(verify.read_text(encoding="utf-8").splitlines())
    problems = shown(run_checks(course, ["shellcheck"]), course)
    assert any(p.startswith(f"step2/verify.sh:{line}: shellcheck SC2086") for p in problems), problems


def test_hadolint_on_the_dockerfile(course: Path) -> None:
    dockerfile = course / "apps" / "Dockerfile"
    with dockerfile.open("a", encoding="utf-8") as f:
        f.write("RUN cd /tmp && echo hola\n")
    line = len(dockerfile.read_text(encoding="utf-8").splitlines())
    problems = shown(run_checks(course, ["hadolint"]), course)
    assert any(p.startswith(f"apps/Dockerfile:{line}: hadolint DL3003") for p in problems), problems


def test_bundle_out_of_date(course: Path) -> None:
    tool = course / "tools" / "traza"
    tool.write_text(tool.read_text(encoding="utf-8") + "\n# cambio\n", encoding="utf-8")
    problems = shown(run_checks(course, ["bundle"]), course)
    assert problems and all(p.startswith("assets/curso.tar.gz:1: paquete:") for p in problems), problems
    assert "make bundle" in "\n".join(problems)


def test_list_of_checks_and_unknown_name() -> None:
    proc = lab_check(REPO, "--only", "nada")
    assert proc.returncode == 2 and "comprobación desconocida: nada" in proc.stderr


def test_titles_in_index_json_are_prose_too(course: Path) -> None:
    index = course / "index.json"
    data = json.loads(index.read_text(encoding="utf-8"))
    title = data["details"]["steps"][1]["title"]
    line = replace_once(index, json.dumps(title, ensure_ascii=False), json.dumps(title + " y su explicacion", ensure_ascii=False))
    problems = shown(run_checks(course, ["spelling"]), course)
    assert problems == [
        f"index.json:{line}: ortografía: «explicacion» no está en el diccionario (¿«explicación»?); "
        "si es un término técnico, añádelo a .cspell/glosario.txt"
    ]


def test_accent_stripped_in_a_verify_message_is_reported_at_its_line(course: Path) -> None:
    verify = course / "step3" / "verify.sh"
    line = replace_once(verify, 'fail "ninguna petición de bff', 'fail "ninguna peticion de bff')
    proc = lab_check(course, "--only", "spelling")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        f"step3/verify.sh:{line}: ortografía: «peticion» no está en el diccionario (¿«petición»?); "
        "si es un término técnico, añádelo a .cspell/glosario.txt"
    ], proc.stdout


def test_script_text_is_messages_not_code(course: Path) -> None:
    """Del script se revisa lo que se lee (echo/printf, cadenas entre comillas dobles, comentarios
    del foreground) en su línea, aunque la cadena ocupe varias; no el código: variables, opciones,
    rutas, programas de awk entre comillas simples, $(…) dentro de una cadena, comentarios de los
    scripts que nadie ve ni el uso «[todo|imagenes]»."""
    verify = course / "step2" / "verify.sh"
    start = len(verify.read_text(encoding="utf-8").splitlines())
    with verify.open("a", encoding="utf-8") as f:
        f.write(
            "# comentario sin tilde que nadie ve: opcion\n"
            "awk '{ cancion = $1 }\n  END { print cancion }' /dev/null\n"
            'echo "uno $(printf "%s" "$cancion") dos --opcion=camion /ruta/camion raton_camion"\n'
            "printf 'Uso: %s [todo|imagenes]\\n' \"$0\"\n"
            'echo "primera línea\nsegunda con cancion"\n'
            "printf 'la accion %s\\n' \"$x\"\n"
        )
        f.write("echo \"${cancion:-x} ${#lista[@]} $((a + $(b)))\" 'cancion'\n")
    (course / "foreground.sh").write_text(
        (course / "foreground.sh").read_text(encoding="utf-8").replace("# Primer plano", "# Primer plano sin tildes: pequeno", 1),
        encoding="utf-8",
    )
    problems = shown(run_checks(course, ["spelling"]), course)
    assert [p.split(" no está")[0] for p in problems] == [
        "foreground.sh:2: ortografía: «pequeno»",
        f"step2/verify.sh:{start + 7}: ortografía: «cancion»",
        f"step2/verify.sh:{start + 8}: ortografía: «accion»",
    ], problems
