"""La comparación de las «Salida esperada» (lab/course/expected.py) por los dos lados: cada regla que
deja pasar algo (el «…», cada normalización, el orden libre de `kubectl logs -l`, las filas
Terminating) tiene al lado el caso que debe seguir fallando. Python puro."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.course.expected import compare, expected_outputs, normalise
from lab.course.model import CourseError

LOGS = "kubectl logs -l app=backend1 --prefix --tail=-1"


@pytest.mark.parametrize("actual", ["a", "a\nb", "a\nb\nc\nd"])
def test_a_trailing_ellipsis_stands_for_zero_or_more_lines(actual: str) -> None:
    assert compare("x", "a\n…", actual) is None
    assert compare("x", "a\n… y más", actual) is None  # lo que sigue al «…» es un comentario


@pytest.mark.parametrize(("expected", "actual"), [
    ("a\n…", ""),             # falta la primera línea
    ("a\n…", "b\na"),         # la primera línea no es la esperada
    ("a\n…\nz", "a\nb"),      # falta la última
    ("a\nb", "a\nb\nc"),      # sin «…», ni una línea de más
    ("a\nb", "a"),            # ni una de menos
    ("…\nz", "z\ny"),         # un «…» al principio no cubre lo que va detrás de la última línea
])
def test_an_ellipsis_never_hides_a_missing_or_wrong_line(expected: str, actual: str) -> None:
    assert compare("x", expected, actual) is not None


def test_ellipsis_alone_and_in_the_middle() -> None:
    assert compare("x", "…", "") is None and compare("x", "…", "p\nq") is None
    assert compare("x", "a\n…\nz", "a\nz") is None and compare("x", "a\n…\nz", "a\nb\nc\nz") is None
    assert compare("x", "a\n…\nb\n…\nc", "a\nx\nb\nc") is None
    assert compare("x", "a\n…\nc\n…\nb", "a\nb\nc") is not None  # el orden cuenta


def test_an_inline_ellipsis_is_any_text_but_the_rest_of_the_line_counts() -> None:
    assert compare("x", "retry … 503", "retry on 3 attempts 503") is None
    assert compare("x", "retry … 503", "retry 503") is None
    assert compare("x", "retry … 503", "retry on 3 attempts 504") is not None
    assert compare("x", "retry … 503", "retries on 503") is not None
    assert compare("x", "a.b …", "aXb c") is not None  # el resto se compara literal, no como regex


@pytest.mark.parametrize(("expected", "actual", "wrong"), [
    ("backend1-7d9f8c6b5d-4xk2p", "backend1-6c8b7d5f9c-q2w4z", "app2-6c8b7d5f9c-q2w4z"),
    ("request_id=9b1f2c3d-8b1d-4c7a-9e52-1d0b7f4a6c21", "request_id=00000000-1111-2222-3333-444444444444",
     "request_id=otro"),
    ("10.244.0.23:8080", "127.0.2.11:15006", "backend1:8080"),
    ("AGE 31s", "AGE 2m3s", "AGE nunca"),
    ("[2026-05-14T10:21:33.512Z] GET", "[2027-01-01T00:00:00Z] GET", "[ayer] GET"),
    ('"-" 0 180 71 70 "-"', '"-" 0 181 9 - "-"', '"-" 0 181 "-"'),
    ("curl/8.5.0", "curl/8.12.1", "wget/8.5.0"),
    ("a  b", "a b", "ab"),
])
def test_each_normalisation_hides_what_varies_and_nothing_else(expected: str, actual: str, wrong: str) -> None:
    assert compare("x", expected, actual) is None
    assert compare("x", expected, wrong) is not None


def test_normalise_names_what_it_replaced() -> None:
    assert normalise("  pod=backend1-7d9f8c6b5d-4xk2p   ip=10.0.0.1 \n\n") == ["pod=backend1-<pod> ip=<ip>"]


def test_a_real_mismatch_in_the_counts_is_reported_with_its_diff() -> None:
    expected = "bff=1 backend1=3 app2=3"
    for actual in ("bff=1 backend1=1 app2=1", "bff=1 backend1=3 app2=9", "bff=1 backend1=3"):
        mismatch = compare("traza --recuento", expected, actual)
        assert mismatch is not None and f"+{actual}" in mismatch.diff and f"-{expected}" in mismatch.diff


def test_kubectl_logs_with_a_selector_ignores_order_not_count() -> None:
    want = "pod=a status=503\npod=b status=503\npod=c status=200"
    assert compare(LOGS, want, "pod=c status=200\npod=a status=503\npod=b status=503") is None
    assert compare(LOGS, want, "pod=c status=200\npod=a status=503") is not None
    assert compare(LOGS, want, "pod=c status=200\npod=a status=503\npod=b status=503\npod=d status=503") is not None
    assert compare(LOGS, want, "pod=c status=503\npod=a status=503\npod=b status=503") is not None
    assert compare(LOGS, want + "\n…", "pod=c status=200\npod=a status=503\npod=b status=503\npod=d status=1") is None
    assert compare(LOGS, "pod=a status=503\npod=a status=503", "pod=a status=503\npod=b status=503") is not None
    assert compare("kubectl logs deploy/backend1", want, "pod=c status=200\npod=a status=503\npod=b status=503") is not None


def test_only_get_pods_drops_terminating_rows() -> None:
    want, got = "NAME READY STATUS\nx 2/2 Running", "NAME READY STATUS\nx 2/2 Running\ny 2/2 Terminating"
    for command in ("kubectl get pods", "kubectl get po -o wide", "kubectl get pod --watch=false"):
        assert compare(command, want, got) is None, command
    for command in ("kubectl get deployments", "kubectl describe pods", "echo kubectl get pods"):
        assert compare(command, want, got) is not None, command


# --------------------------------------------------------------------------- lo que mutmut vio sin prueba


def test_a_mismatch_carries_what_was_compared_and_a_unified_diff() -> None:
    ordered = compare("traza", "a\nb", "a\nc")
    assert ordered is not None and (ordered.command, ordered.expected, ordered.actual) == ("traza", "a\nb", "a\nc")
    assert ordered.reason == "la salida no concuerda con la esperada"
    assert ordered.diff == "--- esperada (normalizada)\n+++ real (normalizada)\n@@ -1,2 +1,2 @@\n a\n-b\n+c"
    assert str(ordered) == f"{ordered.reason}\n{ordered.diff}"
    unordered = compare(LOGS, "a", "b")
    assert unordered is not None
    assert unordered.reason == "la salida no concuerda con la esperada (con kubectl logs -l, en cualquier orden)"


@pytest.mark.parametrize("command", [
    "kubectl logs --selector app=backend1", "kubectl logs --selector=app=backend1", "kubectl logs -lapp=backend1",
])
def test_every_spelling_of_the_selector_frees_the_order(command: str) -> None:
    assert compare(command, "a\nb", "b\na") is None


@pytest.mark.parametrize("command", ["kubectl logs deploy/backend1 # sin -l", "kubectl logs deploy/backend1"])
def test_without_a_selector_the_order_counts(command: str) -> None:
    assert compare(command, "a\nb", "b\na") is not None


@pytest.mark.parametrize("command", [
    "date; kubectl get pods", "date\nkubectl get pods", "FOO=1 kubectl get pods",
    "kubectl get --watch=false pods", "kubectl get pods 'sin cerrar",
])
def test_get_pods_is_found_among_other_commands(command: str) -> None:
    assert compare(command, "NAME STATUS\nx Running", "NAME STATUS\nx Running\ny Terminating") is None


def test_kubectl_get_without_a_kind_is_not_get_pods() -> None:
    assert compare("kubectl get", "x Running", "x Running\ny Terminating") is not None


def test_unordered_matching_backtracks_and_gives_up_on_hopeless_input() -> None:
    assert compare(LOGS, "a…\nab", "ab\nax") is None  # «a…» no debe quedarse con la única línea «ab»
    many = "\n".join(["a…"] * 12 + ["b"])
    assert compare(LOGS, many, "\n".join(["ax"] * 12 + ["c"])) is not None  # 12! combinaciones: el presupuesto corta


def test_an_ellipsis_does_not_go_back() -> None:
    assert compare("x", "a\n…\na", "a") is not None


def test_normalise_keeps_the_text_at_its_edges() -> None:
    assert normalise("X\n") == ["X"] and normalise("\n\nXa X\n\n") == ["Xa X"]


def md(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "text.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_expected_outputs_only_after_blocks_that_run(tmp_path: Path) -> None:
    path = md(tmp_path, "```plain\nx\n```{{copy}}\n\n```text\nno\n```\n\n```plain\ny\n```{{exec}}\n\n```bash\nz\n```\n\n"
                       "```plain\nw\n```{{exec}}\n\n```text\nuno\n``\ndos\n```\n")
    found = expected_outputs(path)
    assert [(e.block.code, e.line, e.text) for e in found] == [("w", 22, "uno\n``\ndos")]


def test_an_indented_expected_output_loses_its_indent(tmp_path: Path) -> None:
    path = md(tmp_path, "1. Paso:\n\n   ```plain\n   w\n   ```{{exec}}\n\n   ```text\n   uno\n x\n   ```\n")
    assert expected_outputs(path)[0].text == "uno\n x"


def test_an_opt_out_without_a_reason_says_how_to_write_it(tmp_path: Path) -> None:
    with pytest.raises(CourseError) as failure:
        expected_outputs(md(tmp_path, "```plain\nw\n```{{exec}}\n\n<!-- salida: libre -->\n```text\nx\n```\n"))
    assert str(failure.value).endswith(":5: «salida: libre» sin motivo: escribe <!-- salida: libre — por qué -->")
