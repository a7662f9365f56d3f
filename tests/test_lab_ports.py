"""Un curso cuyos Services no usan el puerto 8080: los nombres de cluster, la RouteConfiguration y
las sondas salen de los manifiestos (un solo sitio por dato), así que la cadena sigue enrutando.

backend1 en el puerto 9080 y app2 en el 7070 (los contenedores siguen en 8080, `targetPort: http`),
y las variables *_URL de quien llama, cambiadas a juego.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.testing.driver import LabDriver

pytestmark = pytest.mark.lab
K8S = Path(__file__).resolve().parent.parent / "apps" / "k8s"


def _edit(name: str, *changes: tuple[str, str]) -> str:
    text = (K8S / name).read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, (name, old)
        text = text.replace(old, new)
    return text


LAB_FILES = {  # fixture lab (tests/conftest.py)
    "apps/k8s/bff.yaml": _edit("bff.yaml", ('"http://backend1:8080"', '"http://backend1:9080"')),
    "apps/k8s/backend1.yaml": _edit(
        "backend1.yaml",
        ('"http://app2:8080"', '"http://app2:7070"'),
        ("{name: http, port: 8080, targetPort: http}", "{name: http, port: 9080, targetPort: http}"),
    ),
    "apps/k8s/app2.yaml": _edit(
        "app2.yaml", ("{name: http, port: 8080, targetPort: http}", "{name: http, port: 7070, targetPort: http}")
    ),
}


def test_services_on_other_ports_still_route_1_1_1(lab: LabDriver) -> None:
    for _ in range(5):
        status, body = lab.curl()
        assert status == 200 and isinstance(body, dict), body
        assert body["backend1_status"] == 200, body
        assert lab.counts(body["request_id"]) == (1, 1, 1)


def test_route_names_and_clusters_follow_the_service_ports(lab: LabDriver) -> None:
    routes = json.loads(lab.run("istioctl", "proxy-config", "route", "deploy/bff", "-o", "json").stdout)
    outbound = [r for r in routes if not r["name"].startswith("inbound|")]
    assert [r["name"] for r in outbound] == ["7070+8080+9080"]  # una escucha de salida: ver envoyconfig
    clusters = {vh["name"]: vh["routes"][0]["route"]["cluster"] for vh in outbound[0]["virtualHosts"]}
    assert clusters == {
        "bff.default.svc.cluster.local:8080": "outbound|8080||bff.default.svc.cluster.local",
        "backend1.default.svc.cluster.local:9080": "outbound|9080||backend1.default.svc.cluster.local",
        "app2.default.svc.cluster.local:7070": "outbound|7070||app2.default.svc.cluster.local",
    }
