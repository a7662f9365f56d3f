"""Server-side printing against upstream's own test data (carried as data, not code):
apimachinery pkg/util/duration/duration_test.go (TestHumanDuration, TestHumanDurationBoundaries) and
kubernetes pkg/printers/internalversion/printers_test.go (TestPrintPod,
TestPrintPodWithRestartableInitContainer, TestPrintPodwide)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lab.cluster.api.printers import human_duration, pod_row

S, M, H, D, MS, NS = 1.0, 60.0, 3600.0, 86400.0, 0.001, 1e-9
Y = 365 * D

DURATIONS = [
    (S, "1s"), (70 * S, "70s"), (190 * S, "3m10s"), (70 * M, "70m"), (47 * H, "47h"), (49 * H, "2d1h"),
    ((8 * 24 + 2) * H, "8d"), (367 * D, "367d"), ((365 * 2 * 24 + 25) * H, "2y1d"), ((365 * 8 * 24 + 2) * H, "8y"),
    # TestHumanDurationBoundaries
    (-2 * S, "<invalid>"), (-2 * S + NS, "0s"), (0, "0s"), (S - MS, "0s"), (2 * M - MS, "119s"), (2 * M, "2m"),
    (2 * M + S, "2m1s"), (10 * M - MS, "9m59s"), (10 * M, "10m"), (10 * M + S, "10m"), (3 * H - MS, "179m"),
    (3 * H, "3h"), (3 * H + M, "3h1m"), (8 * H - MS, "7h59m"), (8 * H, "8h"), (8 * H + 59 * M, "8h"),
    (2 * D - MS, "47h"), (2 * D, "2d"), (2 * D + H, "2d1h"), (8 * D - MS, "7d23h"), (8 * D, "8d"), (8 * D + 23 * H, "8d"),
    (2 * Y - MS, "729d"), (2 * Y, "2y"), (2 * Y + 23 * H, "2y"), (2 * Y + 23 * H + 59 * M, "2y"), (2 * Y + D - MS, "2y"),
    (2 * Y + D, "2y1d"), (3 * Y, "3y"), (4 * Y, "4y"), (5 * Y, "5y"), (6 * Y, "6y"), (7 * Y, "7y"), (8 * Y - MS, "7y364d"),
    (8 * Y, "8y"), (8 * Y + 364 * D, "8y"), (9 * Y, "9y"),
]


@pytest.mark.parametrize(("seconds", "want"), DURATIONS)
def test_human_duration(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want


NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


def before(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


RUNNING: dict[str, Any] = {"running": {}}


def status(ready: bool = False, restarts: int = 0, state: dict | None = None, finished: float | None = None, **extra: Any) -> dict:
    out: dict[str, Any] = {"ready": ready, "restartCount": restarts, "state": state or {}, **extra}
    if finished is not None:
        out["lastState"] = {"terminated": {"finishedAt": before(finished)}}
    return out


def pod(name: str, containers: int, phase: str, statuses: list[dict], *, init: list[dict] | None = None,
        init_statuses: list[dict] | None = None, reason: str = "", conditions: list[dict] | None = None,
        deleted: bool = False) -> dict:
    meta: dict[str, Any] = {"name": name}
    if deleted:
        meta["deletionTimestamp"] = before(10)
    return {"metadata": meta,
            "spec": {"containers": [{"name": f"c{i}"} for i in range(containers)], "initContainers": init or []},
            "status": {"phase": phase, "reason": reason, "containerStatuses": statuses,
                       "initContainerStatuses": init_statuses or [], "conditions": conditions or []}}


def waiting(reason: str = "") -> dict:
    return {"waiting": {"reason": reason} if reason else {}}


def terminated(reason: str = "", code: int = 0) -> dict:
    return {"terminated": {"reason": reason, "exitCode": code}}


SIDECARS = [{"name": "restartable-init-1", "restartPolicy": "Always"}, {"name": "restartable-init-2", "restartPolicy": "Always"}]
NOT_INITIALIZED = [{"type": "Initialized", "status": "False"}]
INITIALIZED = [{"type": "Initialized", "status": "True"}]

PODS = [  # TestPrintPod, then TestPrintPodWithRestartableInitContainer: (pod, READY, STATUS, RESTARTS)
    (pod("test1", 2, "podPhase", [status(True, 3, RUNNING), status(restarts=3)]), "1/2", "podPhase", "6"),
    (pod("test2", 2, "podPhase", [status(True, 3, RUNNING), status(restarts=3, state=waiting("ContainerWaitingReason"))]),
     "1/2", "ContainerWaitingReason", "6"),
    (pod("test3", 2, "podPhase", [status(restarts=3, state=waiting("ContainerWaitingReason")),
                                  status(restarts=3, state=terminated("ContainerTerminatedReason"))]),
     "0/2", "ContainerWaitingReason", "6"),
    (pod("test4", 2, "podPhase", [status(True, 3, RUNNING), status(True, 3)]), "1/2", "podPhase", "6"),
    (pod("test5", 2, "podPhase", [status(True, 3, RUNNING), status(True, 3)], reason="podReason"), "1/2", "podReason", "6"),
    (pod("test6", 2, "Running", [status(True, 3, terminated("Completed")), status(True, 3, RUNNING)]), "1/2", "NotReady", "6"),
    (pod("test6", 2, "Running", [status(True, 3, terminated("Completed")), status(True, 3, RUNNING)],
         conditions=[{"type": "Ready", "status": "True"}]), "1/2", "Running", "6"),
    (pod("test7", 1, "podPhase", [status(state=waiting())], init=[{"name": ""}],
         init_statuses=[status(restarts=3, state=RUNNING, finished=10)]), "0/1", "Init:0/1", "3 (10s ago)"),
    (pod("test8", 1, "podPhase", [status(state=waiting())], init=[{"name": ""}, {"name": ""}],
         init_statuses=[status(restarts=3, state=RUNNING, finished=10), status(state=waiting())]), "0/1", "Init:0/2", "3 (10s ago)"),
    (pod("test9", 1, "podPhase", [status(state=waiting())], init=[{"name": ""}, {"name": ""}],
         init_statuses=[status(state=terminated()), status(restarts=3, state=RUNNING, finished=10)]), "0/1", "Init:1/2", "3 (10s ago)"),
    (pod("test10", 1, "podPhase", [status(state=waiting())], init=[{"name": ""}, {"name": ""}],
         init_statuses=[status(restarts=2, state=terminated(), finished=120), status(restarts=3, state=RUNNING, finished=10)]),
     "0/1", "Init:1/2", "5 (10s ago)"),
    (pod("test11", 1, "Running", [status(restarts=4, state=RUNNING, finished=20)], init=[{"name": ""}],
         init_statuses=[status(restarts=2, state=terminated(), finished=120)]), "0/1", "Running", "4 (20s ago)"),
    (pod("test12", 1, "Running", [status(True, 3, RUNNING, finished=5 * D)]), "1/1", "Running", "3 (5d ago)"),
    (pod("test13", 2, "Running", [status(True, 0, RUNNING), status(True, 3, RUNNING, finished=10 * D)]), "2/2", "Running", "3 (10d ago)"),
    (pod("test14", 2, "Running", [status(True, 6, RUNNING, finished=5 * D), status(True, 3, RUNNING, finished=20 * D)]),
     "2/2", "Running", "9 (5d ago)"),
    (pod("test15", 2, "podPhase", [], conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
     "0/2", "SchedulingGated", "0"),
    (pod("test16", 1, "Succeeded", [status(state=terminated("Completed"))]), "0/1", "Completed", "0"),
    (pod("test17", 1, "Failed", [status(state=terminated("Error", 1))]), "0/1", "Error", "0"),
    (pod("test18", 1, "Succeeded", [status(state=terminated("Completed"))], deleted=True), "0/1", "Completed", "0"),
    (pod("test19", 1, "Running", [status(state=RUNNING)], deleted=True), "0/1", "Terminating", "0"),
    (pod("test20", 1, "Pending", [], deleted=True), "0/1", "Terminating", "0"),
    (pod("sidecar1", 1, "Pending", [status(state=waiting())], init=SIDECARS, conditions=NOT_INITIALIZED,
         init_statuses=[status(restarts=3, state=RUNNING, finished=10, started=False, name="restartable-init-1"),
                        status(state=waiting(), started=False, name="restartable-init-2")]), "0/3", "Init:0/2", "3 (10s ago)"),
    (pod("sidecar2", 1, "Pending", [status(state=waiting())], init=SIDECARS, conditions=NOT_INITIALIZED,
         init_statuses=[status(restarts=3, state=RUNNING, finished=10, started=True, name="restartable-init-1"),
                        status(state=RUNNING, started=False, name="restartable-init-2")]), "0/3", "Init:1/2", "3 (10s ago)"),
    (pod("sidecar3", 1, "Running", [status(True, 4, RUNNING, finished=20)], init=SIDECARS, conditions=INITIALIZED,
         init_statuses=[status(restarts=3, state=RUNNING, finished=10, started=True, name="restartable-init-1"),
                        status(state=RUNNING, started=True, name="restartable-init-2")]), "1/3", "Running", "7 (10s ago)"),
    (pod("sidecar4", 1, "Succeeded", [status(restarts=4, state=terminated("Completed"), finished=20)], init=SIDECARS,
         conditions=INITIALIZED,
         init_statuses=[status(restarts=3, state=terminated("Error", 137), finished=10, started=False, name="restartable-init-1"),
                        status(state=terminated("Error", 137), started=False, name="restartable-init-2")]),
     "0/3", "Completed", "7 (10s ago)"),
    (pod("sidecar5", 0, "Running", [{"name": "containerinvalid"}, {"name": "container1"}],
         init=[{"name": "init1"}, {"name": "sidecar1", "restartPolicy": "Always"}],
         init_statuses=[{"name": "initinvalid"}, {"name": "init1"}, {"name": "sidecar1"}]), "0/1", "Init:0/2", "0"),
]


@pytest.mark.parametrize(("obj", "ready", "reason", "restarts"), PODS, ids=[p[0]["metadata"]["name"] for p in PODS])
def test_pod_row(obj: dict, ready: str, reason: str, restarts: str) -> None:
    assert pod_row(obj, NOW)[1:4] == [ready, reason, restarts]
    assert pod_row(obj, NOW)[4] == "<unknown>"  # no creationTimestamp


def test_pod_row_wide() -> None:
    """TestPrintPodwide: IP, node, nominated node and readiness gates (the first IP of podIPs)."""
    gates = [{"conditionType": c} for c in ("condition1", "condition2", "condition3")]
    obj = pod("test1", 2, "podPhase", [status(True, 3, RUNNING), status(restarts=3)],
              conditions=[{"type": "condition1", "status": "False"}, {"type": "condition2", "status": "True"}])
    obj["spec"].update(nodeName="test1", readinessGates=gates)
    obj["status"].update(podIPs=[{"ip": "1.1.1.1"}, {"ip": "2001:db8::"}], nominatedNodeName="node1")
    assert pod_row(obj, NOW) == ["test1", "1/2", "podPhase", "6", "<unknown>", "1.1.1.1", "test1", "node1", "1/3"]
    bare = pod("test2", 2, "podPhase", [status(True, 3, RUNNING), status(restarts=3, state=waiting("ContainerWaitingReason"))])
    assert pod_row(bare, NOW)[5:] == ["<none>", "<none>", "<none>", "<none>"]
