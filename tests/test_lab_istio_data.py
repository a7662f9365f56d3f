"""Los datos de Istio del laboratorio (lab/cluster/istio/retries.json) y sus casos, sin procesos.

- El archivo es de la versión de Istio que instala setup.sh y dice de qué commit salió.
- Cada caso de Istio pasa por el conversor (ConvertPolicy) y la validación (CRD + webhook) del
  laboratorio. Los casos de TestRetry llevan lo que sus aserciones esperan; los de
  TestValidateHTTPRetry, su veredicto (istio/istio pkg/config/validation/validation_test.go).
- El ConfigMap `istio` que enseña el curso sale de los valores del chart de Istio (en los datos).
- El lector de Go de la regeneración entiende las tablas y se para con un mensaje si no.
La misma lista de casos contra Envoy real: tests/test_lab_istio_conformance.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from istio_cases import CASES, DATA, FACTS, ISTIO_DEFAULT_POLICY, NOT_EMULATED, by_prefix, policy_problems

from lab.cluster.istio.golit import Duration, GoDataError, Ref, Struct, table
from lab.cluster.istio.gotypes import duration_json, is_status_code, parse_duration
from lab.cluster.istio.validation import check_http_route, webhook_errors
from lab.cluster.meshpolicy import convert_policy, load_mesh_config, mesh_configmap
from lab.errors import StatusError

ROOT = Path(__file__).resolve().parent.parent


def setup_istio_version() -> str:
    match = re.search(r"^ISTIO_VERSION=(\S+)", (ROOT / "setup.sh").read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "setup.sh no tiene la línea ISTIO_VERSION="
    return match.group(1)


def test_data_is_for_the_istio_version_setup_installs() -> None:
    """Tras cambiar ISTIO_VERSION hay que regenerar (lab/README.md, «Lo que el laboratorio toma de Istio»)."""
    istio = DATA["istio"]
    assert istio["version"] == setup_istio_version(), (
        f"retries.json es de Istio {istio['version']} y setup.sh instala {setup_istio_version()}: "
        "regenera con .venv/bin/python -m lab.cluster.istio.regenerate /ruta/a/istio (con --ref release-X.Y "
        "si el clon aún no tiene esa etiqueta; lab/README.md, «Lo que el laboratorio toma de Istio»)"
    )
    assert re.fullmatch(r"[0-9a-f]{40}", istio["commit"])
    assert istio["ref_is_version_tag"] == (istio["ref"] == istio["version"]) or not istio["ref_is_version_tag"]
    assert set(DATA["sources"]) >= {
        "pilot/pkg/networking/core/route/retry/retry_test.go", "pkg/config/validation/validation_test.go"
    }


def test_cases_cover_istios_own_tests_and_the_rules() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len([i for i in ids if i.startswith("TestRetry/")]) >= 16 and len(by_prefix("TestValidateHTTPRetry/")) >= 12
    # Los que el laboratorio no emula son exactamente los de consistentHash, y nombrados uno a uno.
    assert {c["id"] for c in CASES if c.get("consistent_hash")} == set(NOT_EMULATED)
    assert not [c for c in by_prefix("") if c.get("consistent_hash")]


def verdict(retries: dict | None) -> StatusError | None:
    rule = {"route": [{"destination": {"host": "backend1"}}], "retries": retries}
    try:
        check_http_route("c", "networking.istio.io/v1", 0, rule)
    except StatusError as exc:
        return exc
    return None


@pytest.mark.parametrize("case", by_prefix("TestRetry/") + by_prefix("mesh/"), ids=lambda c: c["id"])
def test_conversion_matches_istio(case: dict) -> None:
    retries = case.get("retries", case.get("mesh_retries"))
    policy = convert_policy(None if retries in (None, "absent") else retries)
    assert not policy_problems(case["expect"]["policy"], policy), policy_problems(case["expect"]["policy"], policy)


@pytest.mark.parametrize("case", by_prefix("TestValidateHTTPRetry/"), ids=lambda c: c["id"])
def test_validation_matches_istio(case: dict) -> None:
    assert (verdict(case["retries"]) is None) == case["expect"]["valid"]


@pytest.mark.parametrize("case", by_prefix("rule/"), ids=lambda c: c["id"])
def test_rules_istio_applies(case: dict) -> None:
    expect, refusal = case["expect"], verdict(case["retries"])
    if "denied" in expect:
        assert refusal is not None, "el laboratorio la acepta y Istio no"
        denied = expect["denied"]
        if denied["by"] == "webhook":
            webhook = FACTS["validation"]["webhook"]
            assert refusal.status["code"] == 400 and refusal.status["reason"] == ""
            assert str(refusal) == f'admission webhook "{webhook}" denied the request: {denied["message"]}'
        else:
            assert refusal.status["reason"] == "Invalid" and refusal.status["details"]["causes"] == denied["causes"]
        return
    assert refusal is None, str(refusal)
    if expect["policy"] == "mesh":  # sin retries: la de la malla del curso, la de Istio más 503
        assert convert_policy(load_mesh_config(ROOT)["defaultHttpRetryPolicy"]) == {
            **ISTIO_DEFAULT_POLICY, "retriableStatusCodes": [503]
        }
        return
    assert not policy_problems(expect["policy"], convert_policy(case["retries"]))


def test_mesh_configmap_is_the_chart_defaults_plus_the_operator() -> None:
    operator = load_mesh_config(ROOT)
    shown = yaml.safe_load(mesh_configmap(operator))
    chart = FACTS["mesh_configmap"]["mesh"]
    assert shown["defaultHttpRetryPolicy"] == operator["defaultHttpRetryPolicy"]
    assert shown["accessLogFile"] == operator["accessLogFile"]
    for key, value in chart.items():  # lo que istioctl install añade, sin que el curso lo escriba
        assert shown[key] == ({**value, **operator[key]} if key in operator else value), key
    assert shown["defaultConfig"]["proxyStatsMatcher"] == operator["defaultConfig"]["proxyStatsMatcher"]
    assert set(shown) == set(chart) | set(operator)
    # mergeOverwrite es en profundidad y, con defaultProviders propios, no se añade prometheus
    custom = yaml.safe_load(mesh_configmap({"defaultConfig": {"holdApplicationUntilProxyStarts": True},
                                            "defaultProviders": {"tracing": ["zipkin"]}}))
    assert custom["defaultConfig"] == {**chart["defaultConfig"], "holdApplicationUntilProxyStarts": True}
    assert custom["defaultProviders"] == {"tracing": ["zipkin"]}


def test_webhook_message_shapes() -> None:
    """Uno solo va tal cual; attempts < 0 ya nace como multierror (validateHTTPRetry)."""
    assert webhook_errors({"attempts": 2, "retryOn": "5xx,sometimes"}) == '"sometimes" is not a valid retryOn policy'
    assert webhook_errors({"attempts": -1}) == "1 error occurred:\n\t* attempts cannot be negative\n\n"
    assert webhook_errors({"attempts": 2}, timeout="1500us") == "only durations to ms precision are supported"
    assert webhook_errors({"attempts": 2, "retryOn": "gateway-error,+503,0503"}) is None  # strconv.Atoi


def test_crd_layer_types_and_unknown_fields() -> None:
    typed = verdict({"attempts": "dos"})
    assert typed is not None and typed.status["details"]["causes"] == [{
        "field": "spec.http[0].retries.attempts",
        "message": 'Invalid value: "string": spec.http[0].retries.attempts in body must be of type integer: "string"',
    }]
    unknown = verdict({"attempts": 2, "retryBudget": {}})
    assert unknown is not None and unknown.status["reason"] == "BadRequest"
    assert 'strict decoding error: unknown field "spec.http[0].retries.retryBudget"' in str(unknown)
    assert verdict({"attempts": 2, "perTryTimeout": "ayer"}) is not None


def test_go_parsing_rules() -> None:
    assert [parse_duration(t) for t in ("2s", "1.5s", "1h30m", "250us", "1µs", "0", "-1ms")] == [
        2 * 10**9, 15 * 10**8, 5400 * 10**9, 250_000, 1000, 0, -(10**6)
    ]
    assert [parse_duration(t) for t in ("", "5", "1d", "s", "1.5", " 2s")] == [None] * 6
    assert [duration_json(n) for n in (3 * 10**9, 5 * 10**8, 2 * 10**9 + 1, 1500)] == ["3s", "0.500s", "2.000000001s", "0.000001500s"]
    assert [is_status_code(t) for t in ("503", "+503", "0503", "499", "600", "1000", "5xx", " 503")] == [
        True, True, True, False, False, False, False, False
    ]


def test_go_table_reader() -> None:
    go = '''
    testCases := []struct {
        name string
        in   *networking.HTTPRetry
        valid bool
    }{
        {name: "a", in: &networking.HTTPRetry{Attempts: 10, PerTryTimeout: durationpb.New(time.Second * 3),
            Backoff: &durationpb.Duration{Nanos: 999}, RetryOn: "5xx,\\tx"}, valid: true},
        {name: "b", in: &networking.HTTPRetry{RetryRemoteLocalities: &wrapperspb.BoolValue{Value: false}}, valid: false},
    }
    '''
    a, b = table(go, "testCases := []struct {")
    assert a["in"] == Struct("networking.HTTPRetry", {
        "Attempts": 10, "PerTryTimeout": Duration(3 * 10**9), "Backoff": Duration(999), "RetryOn": "5xx,\tx"
    })
    assert b["in"].fields == {"RetryRemoteLocalities": False} and b["valid"] is False
    with pytest.raises(GoDataError, match="no reconocid"):
        table(go.replace("time.Second * 3", "someFunc(x, y)"), "testCases := []struct {")
    assert Ref("x") != Ref("y")


def test_regeneration_needs_the_version_tag_or_a_ref(tmp_path: Path) -> None:
    """Sin la etiqueta ISTIO_VERSION en el clon, la regeneración se para y pide --ref (nada escrito)."""
    repo = tmp_path / "istio"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "vacío"], check=True)
    out = tmp_path / "datos.json"
    proc = subprocess.run([sys.executable, "-m", "lab.cluster.istio.regenerate", str(repo), "--output", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1 and f"no tiene la etiqueta {setup_istio_version()}" in proc.stderr and "--ref" in proc.stderr
    assert not out.exists()


def test_the_course_mesh_policy_retries_503() -> None:
    """La política del IstioOperator del curso: la de Istio más 503 (lo que promete el paso 1)."""
    policy = convert_policy(load_mesh_config(ROOT)["defaultHttpRetryPolicy"])
    assert policy == {**ISTIO_DEFAULT_POLICY, "retriableStatusCodes": [503]}
    assert FACTS["default_policy"] == ISTIO_DEFAULT_POLICY  # retries.json dice lo mismo que retry.go
