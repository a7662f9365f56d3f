"""Las promesas del texto (lab/course/promises.py) por los dos lados: se cumplen con lo prometido y
se rompen con cada cosa distinta (menos líneas, más líneas, otro servicio, ninguna petición).

`traza --recuento` es aquí una función que devuelve su salida (el formato de tools/traza: una línea
por request_id con `servicio=líneas` y `estados_servicio=…`); Python puro, sin procesos.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from subprocess import CompletedProcess
from types import SimpleNamespace

import pytest

from lab.course.model import Page
from lab.course.player import Player
from lab.course.promises import ObserveError, Observer, Promise, Request, page_promises, parse_requests
from lab.course.session import PlayFailure

PROMISED = {"bff": 1, "backend1": 3, "app2": 3}  # la del paso 1: 1/3/3


def traza(*lines: str, code: int = 0, stderr: str = "") -> CompletedProcess[str]:
    return CompletedProcess(["traza", "--recuento"], code, "".join(f"{line}\n" for line in lines), stderr)


def observer(*lines: str) -> Observer:
    """Un Observer de bff cuyo traza responde siempre `lines`; settle=0: mira una sola vez."""
    return Observer(lambda command: traza(*lines), "bff", settle=0)


def promise(counts: dict[str, int] = PROMISED, kind: str = "cada") -> Promise:
    return Promise(Path("step1/text.md"), 7, dict(counts), kind)


def check(watcher: Observer, wanted: Promise, seen: set[str]) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Observer.wait con una promesa → ({request_id nuevo: sus recuentos de los servicios prometidos},
    {request_id que la rompe: lo que dio})."""
    ids, failed = watcher.wait([wanted], seen)
    requests = watcher.requests() if ids else {}
    new = {rid: {s: requests[rid].counts.get(s, 0) for s in wanted.counts} for rid in ids}
    return new, {rid: got for _, rid, got in failed}


def test_the_promised_counts_keep_the_promise() -> None:
    new, wrong = check(observer("request_id=a bff=1 backend1=3 app2=3 estados_bff=200"), promise(), set())
    assert (new, wrong) == ({"a": PROMISED}, {})


@pytest.mark.parametrize(("line", "why"), [
    ("request_id=a bff=1 backend1=1 app2=1", "un clúster sin reintentos (Istio ≥ 1.24 sin la política de la malla)"),
    ("request_id=a bff=1 backend1=3 app2=2", "una línea menos"),
    ("request_id=a bff=1 backend1=2 app2=3", "un intento menos en el salto del medio"),
    ("request_id=a bff=1 backend1=3 app2=9", "más líneas (los reintentos del paso 2)"),
    ("request_id=a bff=2 backend1=3 app2=3", "una línea de más en la entrada"),
    ("request_id=a bff=1 app2=3 otro=3", "el servicio equivocado: backend1 no aparece"),
])
def test_any_other_count_breaks_the_promise(line: str, why: str) -> None:
    new, wrong = check(observer(line), promise(), set())
    assert new and wrong == new, why


def test_one_wrong_request_among_right_ones_breaks_it() -> None:
    right, wrong_line = "request_id=a bff=1 backend1=3 app2=3", "request_id=b bff=1 backend1=1 app2=1"
    new, wrong = check(observer(right, wrong_line), promise(), set())
    assert set(new) == {"a", "b"} and wrong == {"b": {"bff": 1, "backend1": 1, "app2": 1}}


def test_no_request_at_all_gives_nothing_new() -> None:
    assert check(observer(), promise(), set()) == ({}, {})
    assert check(observer("request_id=a bff=1 backend1=3 app2=3"), promise(), {"a"}) == ({}, {})
    # líneas que no llegaron a la entrada (bff=0) no son un curl del curso
    assert check(observer("request_id=c bff=0 backend1=3 app2=3"), promise(), set()) == ({}, {})


def test_only_the_promised_services_count() -> None:
    new, wrong = check(observer("request_id=a bff=1 backend1=3 app2=3 otro=5"), promise(), set())
    assert (new, wrong) == ({"a": PROMISED}, {})


def test_failing_traza_is_an_observe_error_with_its_output() -> None:
    broken = Observer(lambda command: traza(code=1, stderr="error: no hay pods\n"), "bff", settle=0)
    with pytest.raises(ObserveError, match="no hay pods"):
        check(broken, promise(), set())
    with pytest.raises(ObserveError, match="código 3"):
        Observer(lambda command: traza(code=3), "bff", settle=0).requests()


def test_wait_asks_traza_again_until_the_late_lines_arrive() -> None:
    # la segunda respuesta, y todas las siguientes, ya traen la línea que llegó tarde
    answers = itertools.chain([traza("request_id=a bff=1 backend1=3 app2=2")],
                              itertools.repeat(traza("request_id=a bff=1 backend1=3 app2=3")))
    late = Observer(lambda command: next(answers), "bff", settle=5)
    assert check(late, promise(), set()) == ({"a": PROMISED}, {})


def test_parse_requests_keeps_counts_and_last_statuses_and_drops_other_lines() -> None:
    text = ("request_id=a bff=1 backend1=3 estados_bff=200 estados_backend1=503,503,503\n"
            "nota: aproximado\nrequest_id=b bff=x app2=2\n")
    assert parse_requests(text) == {"a": Request({"bff": 1, "backend1": 3}, {"bff": 200, "backend1": 503}),
                                    "b": Request({"app2": 2}, {})}


def page(tmp_path: Path, text: str) -> Page:
    path = tmp_path / "text.md"
    path.write_text(text, encoding="utf-8")
    return Page("step1", "Paso", path, None, ())


def test_page_promises_reads_each_marker_with_its_line(tmp_path: Path) -> None:
    found = page_promises(page(tmp_path, "# P\n\n<!-- promesa: bff=1 backend1=3 app2=3 -->\n<!--promesa:bff=1 app2=9-->\n"), "bff")
    assert [(p.line, p.counts) for p in found] == [(3, PROMISED), (4, {"bff": 1, "app2": 9})]
    assert str(found[0]) == "bff=1 backend1=3 app2=3"


@pytest.mark.parametrize(("marker", "message"), [
    ("<!-- promesa: -->", "mal escrita"),
    ("<!-- promesa: bff=uno -->", "mal escrita"),
    ("<!-- promesa: bff=1 backend1 -->", "mal escrita"),
    ("<!-- promesa: backend1=3 app2=3 -->", "no dice cuántas líneas deja en bff"),
])
def test_a_bad_marker_is_a_play_failure_at_its_line(tmp_path: Path, marker: str, message: str) -> None:
    with pytest.raises(PlayFailure, match=message) as failure:
        page_promises(page(tmp_path, f"# P\n\n{marker}\n"), "bff")
    assert failure.value.line == 3


def player(tmp_path: Path, *lines: str) -> Player:
    course = SimpleNamespace(root=tmp_path)
    return Player(course, None, lambda text: None, observer(*lines))  # type: ignore[arg-type]


def test_the_player_fails_a_promise_with_no_request(tmp_path: Path) -> None:
    with pytest.raises(PlayFailure, match="ninguna petición nueva llegó a bff"):
        player(tmp_path).keep([promise()], set())


def test_the_player_fails_a_promise_the_cluster_without_retries_does_not_keep(tmp_path: Path) -> None:
    with pytest.raises(PlayFailure, match=r"promete bff=1 backend1=3 app2=3 pero .* dio bff=1 backend1=1 app2=1"):
        player(tmp_path, "request_id=a bff=1 backend1=1 app2=1").keep([promise()], set())
    kept = player(tmp_path, "request_id=a bff=1 backend1=3 app2=3")
    assert kept.keep([promise()], set()) == {"a"} and kept.promises_kept == 1


# --------------------------------------------------------------------------- lo que mutmut vio sin prueba


def test_a_bad_marker_names_its_file_and_the_marker(tmp_path: Path) -> None:
    marker = "<!-- promesa: bff=uno -->"
    with pytest.raises(PlayFailure) as failure:
        page_promises(page(tmp_path, f"\n\n{marker}\n"), "bff")  # el texto empieza con un salto de línea
    assert (failure.value.file, failure.value.line) == (tmp_path / "text.md", 3) and marker in failure.value.message
    missing = "<!-- promesa: backend1=3 -->"
    with pytest.raises(PlayFailure) as failure:
        page_promises(page(tmp_path, missing), "bff")
    assert failure.value.file == tmp_path / "text.md" and failure.value.message == (
        f"la promesa «{missing}» no dice cuántas líneas deja en bff, "
        "el servicio al que llama el curl (el del Service NodePort de apps/k8s)")
    assert page_promises(page(tmp_path, "<!-- promesa: bff=1 -->"), "bff")[0].file == tmp_path / "text.md"


def test_parse_requests_splits_each_field_at_its_first_equals_sign() -> None:
    assert parse_requests("request_id=a bff=1 x=2=3\n") == {"a": Request({"bff": 1}, {})}


def test_the_observer_asks_traza_for_the_tally_and_keeps_only_requests_to_the_entry() -> None:
    asked: list[list[str]] = []

    def tool(command: list[str]) -> CompletedProcess[str]:
        asked.append(command)
        return traza("request_id=a bff=1 backend1=3", "request_id=z backend1=3 app2=3")

    watcher = Observer(tool, "bff", settle=0)
    assert watcher.request_ids() == {"a"} and asked == [["traza", "--recuento"]]
    with pytest.raises(ObserveError, match="^«traza --recuento» falló: adiós$"):
        Observer(lambda command: traza(code=1, stderr="adiós\n"), "bff", settle=0).requests()


def test_a_missing_service_counts_as_zero_lines() -> None:
    new, wrong = check(observer("request_id=a bff=1 app2=3 otro=3"), promise(), set())
    assert wrong == new == {"a": {"bff": 1, "backend1": 0, "app2": 3}}
    assert check(observer("request_id=a bff=1"), promise({"bff": 1, "backend1": 1}), set())[1] == {"a": {"bff": 1, "backend1": 0}}


# --------------------------------------------------------------------------- «alguna» y «final» (paso 1)


def test_alguna_holds_when_one_new_request_shows_the_counts_and_breaks_when_none_does() -> None:
    some = promise({"bff": 1, "backend1": 2, "app2": 2}, "alguna")
    saved, clean = "request_id=a bff=1 backend1=2 app2=2", "request_id=b bff=1 backend1=1 app2=1"
    assert check(observer(clean, saved), some, set())[1] == {}
    assert check(observer(clean), some, set())[1] == {"b": {"bff": 1, "backend1": 1, "app2": 1}}
    assert check(observer("request_id=c bff=1 backend1=3 app2=3"), some, set())[1]  # más intentos no valen


def test_final_holds_only_if_every_request_ends_in_the_promised_status() -> None:
    final = promise({"backend1": 200}, "final")
    ok = "request_id=a bff=1 backend1=2 estados_backend1=503,200"
    lost = "request_id=b bff=1 backend1=3 estados_backend1=503,503,503"
    assert check(observer(ok), final, set())[1] == {}
    assert check(observer(ok, lost), final, set())[1] == {"b": {"backend1": 503}}
    assert check(observer("request_id=c bff=1"), final, set())[1] == {"c": {"backend1": 0}}  # no llegó a backend1


def test_page_promises_reads_the_kind_word_and_says_it_back(tmp_path: Path) -> None:
    text = ("# P\n\n<!-- promesa: alguna bff=1 backend1=2 app2=2 -->\n<!-- promesa: final backend1=200 -->\n"
            "<!-- promesa: bff=1 backend1=3 app2=3 -->\n")
    found = page_promises(page(tmp_path, text), "bff")  # «final» no necesita la entrada
    assert [(p.line, p.kind, p.counts) for p in found] == [
        (3, "alguna", {"bff": 1, "backend1": 2, "app2": 2}), (4, "final", {"backend1": 200}), (5, "cada", PROMISED)]
    assert [str(p) for p in found] == ["alguna bff=1 backend1=2 app2=2", "final backend1=200", "bff=1 backend1=3 app2=3"]


@pytest.mark.parametrize("marker", [
    "<!-- promesa: alguna -->",  # la palabra sola
    "<!-- promesa: cada bff=1 -->",  # «cada» no se escribe
    "<!-- promesa: final -->",
    "<!-- promesa: bff=1 alguna -->",  # la palabra va delante
])
def test_a_kind_word_without_counts_or_out_of_place_is_a_bad_marker(tmp_path: Path, marker: str) -> None:
    with pytest.raises(PlayFailure) as failure:
        page_promises(page(tmp_path, marker), "gateway")
    assert failure.value.message == (
        f"marca de promesa mal escrita: «{marker}» (se espera <!-- promesa: gateway=1 backend1=3 app2=3 -->, "
        "<!-- promesa: alguna bff=1 backend1=2 app2=2 --> o <!-- promesa: final backend1=200 -->)")


def test_alguna_with_no_new_request_yet_waits_for_one() -> None:
    some = promise({"bff": 1, "backend1": 2, "app2": 2}, "alguna")
    assert check(observer(), some, set()) == ({}, {})
    answers = itertools.chain([traza()], itertools.repeat(traza("request_id=a bff=1 backend1=2 app2=2")))
    late = Observer(lambda command: next(answers), "bff", settle=5)
    assert check(late, some, set()) == ({"a": {"bff": 1, "backend1": 2, "app2": 2}}, {})


def test_final_reads_the_status_field_whatever_the_order_of_the_fields() -> None:
    final = promise({"backend1": 200}, "final")
    line = "request_id=a estados_backend1=503,200 backend1=2 bff=1"  # «campo=valor»: el orden no importa
    assert parse_requests(line)["a"] == Request({"backend1": 2, "bff": 1}, {"backend1": 200})
    assert check(observer(line), final, set()) == ({"a": {"backend1": 2}}, {})
