"""Los casos de Istio que se comprueban por `meshConfig.defaultHttpRetryPolicy`, contra Envoy real.

- Los de TestRetry con condiciones inventadas («some,fake,conditions»): el webhook los rechaza en
  una VirtualService, pero Istio no valida la política de la malla (pkg/config/validation/agent/
  validation.go#ValidateMeshConfig no la mira), así que llegan a Envoy por ahí.
- ConvertPolicy(nil) (sin política en la malla) y la política vacía `{}`.
Un laboratorio por política (el IstioOperator de una copia del curso); se lee la ruta de bff a
backend1 con `lab istioctl proxy-config route deploy/bff -o json`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from istio_cases import DATA, by_prefix, policy_problems, report, route_to, webhook_would_refuse

from lab.testing.driver import LabDriver

pytestmark = pytest.mark.lab
OPERATOR = Path(__file__).resolve().parent.parent / "apps/istio/istio-operator.yaml"
MESH_CASES = [c for c in by_prefix("TestRetry/") if webhook_would_refuse(c["retries"]) or c["retries"] is None]
MESH_CASES += by_prefix("mesh/")
RAN: Counter[str] = Counter()


def mesh_retries(case: dict[str, Any]) -> Any:
    if "mesh_retries" in case:
        return case["mesh_retries"]
    return "absent" if case["retries"] is None else case["retries"]


def with_mesh_policy(retries: Any) -> str:
    operator = yaml.safe_load(OPERATOR.read_text(encoding="utf-8"))
    mesh = operator["spec"]["meshConfig"]
    if retries == "absent":
        mesh.pop("defaultHttpRetryPolicy")
    else:
        mesh["defaultHttpRetryPolicy"] = retries
    return yaml.safe_dump(operator, allow_unicode=True)


@pytest.fixture(params=MESH_CASES, ids=lambda c: c["id"])
def mesh_lab(request: pytest.FixtureRequest, course_copy: Any) -> Iterator[tuple[LabDriver, dict[str, Any]]]:
    case = request.param
    driver = LabDriver(course_copy({"apps/istio/istio-operator.yaml": with_mesh_policy(mesh_retries(case))}))
    driver.up()
    try:
        yield driver, case
    finally:
        driver.down()


def test_istio_cases_through_the_mesh_policy(mesh_lab: tuple[LabDriver, dict[str, Any]]) -> None:
    lab, case = mesh_lab
    configmap = yaml.safe_load(lab.kubectl("-n", "istio-system", "get", "cm", "istio", "-o", "jsonpath={.data.mesh}").stdout)
    policy = mesh_retries(case)
    assert configmap.get("defaultHttpRetryPolicy", "absent") == policy
    problems = policy_problems(case["expect"]["policy"], route_to(lab).get("retryPolicy"))
    assert not problems, "\n".join(problems)
    RAN["mesh"] += 1



@pytest.fixture(scope="module", autouse=True)
def summary(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tras el módulo, una línea para el final de la salida (conftest.py): un informe, no una prueba."""
    yield
    istio = DATA["istio"]
    report(request.config, f"Conformidad con Istio {istio['version']} por meshConfig: istio/istio {istio['ref']} @ "
                           f"{istio['commit']}: {RAN['mesh']} de {len(MESH_CASES)} casos contra Envoy real")
