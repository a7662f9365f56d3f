"""Sin `defaultHttpRetryPolicy` en el IstioOperator, el laboratorio se porta como Istio ≥ 1.24:
un 503 no se reintenta, así que los pasos 1 y 2 dan 1/1/1 (y bff no marca URX)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from lab.testing.driver import LabDriver

pytestmark = pytest.mark.lab
OPERATOR = Path(__file__).resolve().parent.parent / "apps/istio/istio-operator.yaml"


def without_mesh_policy(text: str) -> str:
    lines, skipping = [], False
    for line in text.splitlines():
        if line.strip().startswith("defaultHttpRetryPolicy:"):
            skipping = True
            continue
        if skipping and (line.startswith(" " * 6) or not line.strip()):
            continue
        skipping = False
        lines.append(line)
    result = "\n".join(lines) + "\n"
    assert "defaultHttpRetryPolicy" not in result and "accessLogFile" in result
    return result


LAB_FILES = {"apps/istio/istio-operator.yaml": without_mesh_policy(OPERATOR.read_text())}  # fixture lab


def test_configmap_has_no_retry_policy(lab: LabDriver) -> None:
    out = lab.kubectl("-n", "istio-system", "get", "cm", "istio", "-o", "jsonpath={.data.mesh}").stdout
    assert "defaultHttpRetryPolicy" not in out and "accessLogFile: /dev/stdout" in out


def test_step1_without_mesh_policy_is_1_1_1(lab: LabDriver) -> None:
    lab.set_env("backend1", STATUS_CODE_APP="503")
    rids = []
    for _ in range(10):
        status, body = lab.curl()
        assert (status, body["backend1_status"]) == (200, 503)
        assert lab.counts(body["request_id"]) == (1, 1, 1)
        rids.append(body["request_id"])
    deadline = time.monotonic() + 5
    while True:
        out = lab.kubectl("logs", "deploy/bff", "-c", "istio-proxy", "--tail=-1").stdout
        lines = [line for line in out.splitlines() if f'"{rids[-1]}"' in line and "outbound|" in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(lines) == 1 and re.search(r'" 503 - via_upstream ', lines[0]), out


def test_step2_without_mesh_policy_is_1_1_1(lab: LabDriver) -> None:
    lab.set_env("backend1", STATUS_CODE_APP=None)
    lab.set_env("app2", STATUS_CODE_APP="503")
    for _ in range(10):
        status, body = lab.curl()
        assert (status, body["backend1_status"]) == (200, 503)
        assert lab.counts(body["request_id"]) == (1, 1, 1)


def test_default_policy_still_retries_connect_failures(lab: LabDriver) -> None:
    routes = lab.run("istioctl", "proxy-config", "route", "deploy/backend1", "-o", "json").stdout
    assert '"retryOn": "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"' in routes
    assert "retriableStatusCodes" not in routes
