"""Cada caso de Istio de retries.json, contra el laboratorio con Envoy real.

Para cada caso: `lab kubectl apply -f -` de una VirtualService a backend1 con esos `retries`, y
la ruta de bff a backend1 leída con `lab istioctl proxy-config route deploy/bff -o json` (el
config_dump del Envoy de bff). Se compara con lo que Istio espera:
- lo acepta → la retryPolicy que esperan las aserciones de TestRetry o las reglas;
- lo rechaza → la respuesta de kubectl con la forma del servidor de API (webhook «validation.istio.io»
  o el CRD) y nada aplicado: ni la VirtualService ni un cambio en la ruta.
Los casos de TestRetry con condiciones inventadas («some,fake,conditions») no pasan el webhook en
un clúster real; su conversión se comprueba por la política de la malla en
tests/test_lab_istio_mesh.py. Al final de la salida de pytest (no es una prueba), una línea dice el
commit de Istio y cuántos casos pasaron, y la lista de los casos sin emular con su motivo.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from istio_cases import (
    CASES,
    DATA,
    FACTS,
    ISTIO_INBOUND_POLICY,
    NOT_EMULATED,
    by_prefix,
    not_emulated_lines,
    policy_problems,
    report,
    route_to,
    virtual_service,
    webhook_would_refuse,
)

from lab.testing.driver import LabDriver

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parent.parent
OPERATOR = ROOT / "apps/istio/istio-operator.yaml"
RAN: Counter[str] = Counter()


def expected_stderr(denied: dict[str, Any]) -> str:
    """La salida de kubectl ante el rechazo (kubernetes/kubectl pkg/cmd/util/helpers.go)."""
    if denied["by"] == "crd":
        (cause,) = denied["causes"]
        return f'The VirtualService "conformidad" is invalid: {cause["field"]}: {cause["message"]}\n'
    webhook = FACTS["validation"]["webhook"]
    text = f'Error from server: error when creating "STDIN": admission webhook "{webhook}" denied the request: {denied["message"]}'
    return text if text.endswith("\n") else text + "\n"


@pytest.fixture(scope="module")
def baseline(lab: LabDriver) -> dict[str, Any]:
    """La ruta de bff a backend1 sin VirtualService: a la que todo caso debe volver."""
    return route_to(lab)


def apply_and_read(lab: LabDriver, baseline: dict[str, Any], retries: dict[str, Any] | None) -> tuple[Any, dict[str, Any]]:
    """Aplica la VirtualService y devuelve (resultado de kubectl, ruta de bff a backend1); la borra después."""
    applied = lab.kubectl("apply", "-f", "-", stdin=virtual_service(retries), check=False)
    route = route_to(lab)
    if applied.returncode == 0:
        lab.kubectl("delete", "-f", "-", stdin=virtual_service(retries))
    else:
        assert route == baseline, "una VirtualService rechazada cambió la ruta (o la anterior no se borró del todo)"
        assert "conformidad" not in lab.kubectl("get", "virtualservices").stdout
    return applied, route


def assert_refused(applied: Any, stderr: str | None = None) -> None:
    assert applied.returncode == 1, f"el laboratorio la aceptó: {applied.stdout}"
    if stderr is not None:
        assert applied.stderr == stderr
    else:
        assert applied.stderr.startswith(('Error from server: error when creating "STDIN": admission webhook',
                                          'The VirtualService "conformidad" is invalid: ')), applied.stderr


VS_CASES = [c for c in by_prefix("TestRetry/") if c["retries"] is not None and not webhook_would_refuse(c["retries"])]


@pytest.fixture(scope="module", autouse=True)
def summary(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tras el módulo, la línea de la conformidad para el final de la salida (conftest.py): commit de
    Istio y casos que pasaron. Es un informe, no una prueba: las pruebas son las de cada caso."""
    yield
    istio = DATA["istio"]
    ref = istio["ref"] if istio["ref_is_version_tag"] else f"{istio['ref']} (no es la etiqueta {istio['version']})"
    planned = len(VS_CASES) + len(by_prefix("TestValidateHTTPRetry/")) + len(by_prefix("rule/"))
    report(request.config, (
        f"Conformidad con Istio {istio['version']} (istio/istio {ref} @ {istio['commit']}; {len(CASES)} casos): "
        f"{RAN['vs']} de {planned} por VirtualService contra Envoy real; los de meshConfig, en "
        f"test_lab_istio_mesh.py; {len(NOT_EMULATED)} sin emular:"
    ))
    for line in not_emulated_lines():
        report(request.config, line)


@pytest.mark.parametrize("case", VS_CASES, ids=lambda c: c["id"])
def test_istio_conversion_cases(lab: LabDriver, baseline: dict[str, Any], case: dict[str, Any]) -> None:
    applied, route = apply_and_read(lab, baseline, case["retries"])
    assert applied.returncode == 0, applied.stderr
    problems = policy_problems(case["expect"]["policy"], route.get("retryPolicy"))
    assert not problems, "\n".join(problems)
    RAN["vs"] += 1


@pytest.mark.parametrize("case", by_prefix("TestValidateHTTPRetry/"), ids=lambda c: c["id"])
def test_istio_validation_cases(lab: LabDriver, baseline: dict[str, Any], case: dict[str, Any]) -> None:
    applied, route = apply_and_read(lab, baseline, case["retries"])
    if case["expect"]["valid"]:
        assert applied.returncode == 0, applied.stderr
        assert ("retryPolicy" in route) == (case["retries"].get("attempts", 0) > 0)
    else:
        assert_refused(applied)
    RAN["vs"] += 1


@pytest.mark.parametrize("case", by_prefix("rule/"), ids=lambda c: c["id"])
def test_istio_rules(lab: LabDriver, baseline: dict[str, Any], case: dict[str, Any]) -> None:
    expect = case["expect"]
    applied, route = apply_and_read(lab, baseline, case["retries"])
    if "denied" in expect:
        assert_refused(applied, expected_stderr(expect["denied"]))
    elif expect["policy"] == "mesh":  # sin retries: la de la malla, como si la VirtualService la llevara
        assert applied.returncode == 0, applied.stderr
        mesh = yaml.safe_load(OPERATOR.read_text(encoding="utf-8"))["spec"]["meshConfig"]["defaultHttpRetryPolicy"]
        assert route.get("retryPolicy") == apply_and_read(lab, baseline, mesh)[1].get("retryPolicy") is not None
    else:
        assert applied.returncode == 0, applied.stderr
        problems = policy_problems(expect["policy"], route.get("retryPolicy"))
        assert not problems, "\n".join(problems)
    RAN["vs"] += 1


def test_inbound_retry_policy(lab: LabDriver) -> None:
    """route.go#BuildDefaultHTTPInboundRoute: la entrada de cada pod reintenta reset-before-request."""
    configs = json.loads(lab.run("istioctl", "proxy-config", "route", "deploy/backend1", "-o", "json").stdout)
    inbound = [r["route"] for c in configs if c.get("name", "").startswith("inbound|")
               for v in c.get("virtualHosts", []) for r in v["routes"]]
    assert inbound and all(r.get("retryPolicy") == ISTIO_INBOUND_POLICY for r in inbound), configs
