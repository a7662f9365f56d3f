"""The registry and the HTTP front without kubectl: patch semantics, graceful deletion, dry run,
paging, and the watch protocol as client-go's informers read it (raw HTTP)."""

from __future__ import annotations

import hashlib
import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_seed import APP, NS, PODS, ApiLab

from lab.cluster.api.errors import ApiError
from lab.cluster.api.patch import JSON_PATCH, MERGE, STRATEGIC


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiLab]:
    lab = ApiLab(tmp_path)
    yield lab
    lab.close()


def containers(api: ApiLab) -> list[dict]:
    return api.registry.get("deployments.apps", NS, APP)["spec"]["template"]["spec"]["containers"]


def test_strategic_merge_by_name_with_order_delete_and_null(api: ApiLab) -> None:
    sidecar = {"name": "extra", "image": "busybox"}
    patch = {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "extra"}, {"name": APP}],
                                            "containers": [sidecar, {"name": APP, "env": [{"name": "A", "value": "1"}]}]}}}}
    api.registry.patch("deployments.apps", NS, APP, STRATEGIC, patch)
    assert [c["name"] for c in containers(api)] == ["extra", APP]
    assert containers(api)[1]["env"] == [{"name": "A", "value": "1"}] and containers(api)[1]["ports"][0]["containerPort"] == 8080
    api.registry.patch("deployments.apps", NS, APP, STRATEGIC,
                       {"spec": {"template": {"spec": {"containers": [{"name": "extra", "$patch": "delete"}]}}},
                        "metadata": {"labels": {"app": None}}})
    assert [c["name"] for c in containers(api)] == [APP]
    assert "app" not in api.registry.get("deployments.apps", NS, APP)["metadata"].get("labels", {})


def test_strategic_merge_replace_directive_and_atomic_lists(api: ApiLab) -> None:
    api.registry.patch("deployments.apps", NS, APP, STRATEGIC,
                       {"spec": {"template": {"spec": {"containers": [{"name": "solo", "image": "x"}, {"$patch": "replace"}]}}}})
    assert [c["name"] for c in containers(api)] == ["solo"]
    api.registry.patch("deployments.apps", NS, APP, STRATEGIC,  # args has no patch strategy: replaced whole
                       {"spec": {"template": {"spec": {"containers": [{"name": "solo", "args": ["b"]}]}}}})
    api.registry.patch("deployments.apps", NS, APP, STRATEGIC,
                       {"spec": {"template": {"spec": {"containers": [{"name": "solo", "args": ["c", "d"]}]}}}})
    assert containers(api)[0]["args"] == ["c", "d"]


def test_merge_patch_replaces_lists_and_json_patch_edits_paths(api: ApiLab) -> None:
    api.registry.patch("deployments.apps", NS, APP, MERGE, {"spec": {"template": {"spec": {"containers": [{"name": "m", "image": "y"}]}}}})
    assert [c["name"] for c in containers(api)] == ["m"]
    api.registry.patch("deployments.apps", NS, APP, JSON_PATCH, [{"op": "replace", "path": "/spec/replicas", "value": 5}])
    assert api.registry.get("deployments.apps", NS, APP)["spec"]["replicas"] == 5
    with pytest.raises(ApiError) as failed:
        api.registry.patch("deployments.apps", NS, APP, JSON_PATCH, [{"op": "test", "path": "/spec/replicas", "value": 1}])
    assert failed.value.code == 422  # a patch that does not apply (apiserver handlers/patch.go applyJSPatch)


def test_pods_are_deleted_gracefully_other_kinds_at_once(api: ApiLab) -> None:
    pod, gone = api.registry.delete("pods", NS, PODS[0])
    assert not gone and pod["metadata"]["deletionGracePeriodSeconds"] == 30 and pod["metadata"]["deletionTimestamp"]
    assert "finalizers" not in pod["metadata"]  # ObjectMeta.Finalizers is omitempty: no `[]` on a terminating pod
    assert api.registry.get("pods", NS, PODS[0])["metadata"]["deletionTimestamp"]  # still there: the kubelet removes it
    unscheduled = api.registry.create("pods", {"metadata": {"name": "sin-nodo", "namespace": NS},
                                               "spec": {"containers": [{"name": "a", "image": "b"}]}})
    assert unscheduled["status"]["phase"] == "Pending"
    assert api.registry.delete("pods", NS, "sin-nodo")[1]  # never scheduled: removed at once (CheckGracefulDelete)
    assert api.registry.delete("services", NS, APP)[1]
    with pytest.raises(ApiError) as missing:
        api.registry.get("services", NS, APP)
    assert missing.value.status["reason"] == "NotFound"


def test_dry_run_paging_and_missing_namespace(api: ApiLab) -> None:
    obj = {"metadata": {"name": "seco", "namespace": NS}, "data": {"a": "1"}}
    assert api.registry.create("configmaps", obj, dry_run=True)["metadata"]["name"] == "seco"
    assert api.store.find("configmaps", NS, "seco") is None
    first, _, token = api.registry.list_page("pods", NS, limit=2)
    rest, _, end = api.registry.list_page("pods", NS, limit=2, continue_=token)
    assert [p["metadata"]["name"] for p in first + rest] == PODS and token and not end
    with pytest.raises(ApiError) as failed:
        api.registry.create("configmaps", {"metadata": {"name": "x", "namespace": "nada"}})
    assert failed.value.status["message"] == 'namespaces "nada" not found'


def watch_lines(api: ApiLab, query: str, count: int) -> list[dict]:
    conn = http.client.HTTPConnection("127.0.0.1", api.server.port, timeout=10)
    conn.request("GET", f"/apis/apps/v1/namespaces/{NS}/deployments?watch=true&{query}")
    response = conn.getresponse()
    assert response.status == 200
    events = [json.loads(response.readline()) for _ in range(count)]
    conn.close()
    return events


def test_streaming_list_ends_with_the_initial_events_bookmark(api: ApiLab) -> None:
    events = watch_lines(api, "sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", 2)
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[0]["object"]["metadata"]["name"] == APP
    bookmark = events[1]["object"]["metadata"]
    assert bookmark["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bookmark["resourceVersion"]) == api.store.resource_version


def test_a_watch_from_a_forgotten_version_is_410_expired(api: ApiLab) -> None:
    api.store._history.clear()
    (event,) = watch_lines(api, "resourceVersion=1", 1)
    assert event["type"] == "ERROR"
    assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
    assert event["object"]["message"].startswith("too old resource version: 1 (")


def test_errors_are_status_objects(api: ApiLab) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", api.server.port, timeout=10)
    conn.request("GET", "/apis/apps/v1/namespaces/default/deployments/nada")
    response = conn.getresponse()
    status = json.loads(response.read())
    assert response.status == 404
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": 'deployments.apps "nada" not found', "reason": "NotFound",
                      "details": {"name": "nada", "group": "apps", "kind": "deployments"}, "code": 404}
    conn.request("GET", "/apis/nada/v1/cosas")
    response = conn.getresponse()
    assert response.status == 404 and json.loads(response.read())["message"] == "the server could not find the requested resource"


def test_closing_the_server_ends_watches_cleanly(tmp_path: Path) -> None:
    lab = ApiLab(tmp_path)
    conn = http.client.HTTPConnection("127.0.0.1", lab.server.port, timeout=10)
    conn.request("GET", f"/api/v1/namespaces/{NS}/pods?watch=true&resourceVersion={lab.store.resource_version}")
    response = conn.getresponse()
    assert response.status == 200
    lab.close()
    assert response.read() == b""  # the chunked stream ends (last chunk), no error
    conn.close()


def get(api: ApiLab, path: str, accept: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", api.server.port, timeout=10)
    conn.request("GET", path, headers={"Accept": accept})
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, body


def test_table_include_object_and_not_acceptable(api: ApiLab) -> None:
    table = "application/json;as=Table;v=v1;g=meta.k8s.io"
    path = f"/api/v1/namespaces/{NS}/pods"
    _, metadata = get(api, path, table)
    assert metadata["kind"] == "Table" and metadata["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    _, whole = get(api, path + "?includeObject=Object", table)
    assert whole["rows"][0]["object"]["spec"]["nodeName"] == "lab"
    _, bare = get(api, path + "?includeObject=None", table)
    assert "object" not in bare["rows"][0] and bare["rows"][0]["cells"][:3] == [PODS[0], "2/2", "Running"]
    status, refused = get(api, path, "text/html")
    assert (status, refused["reason"]) == (406, "NotAcceptable")


def test_admission_order_mutating_then_the_strategy_then_validating() -> None:
    """As on kube-apiserver: what a mutating plugin makes is validated by the strategy (a broken
    injection is a 422 of the pod), and a validating plugin only sees an object the strategy accepted."""
    from lab.cluster.api.registry import Admission, Registry  # noqa: PLC0415 - a registry of its own, no server
    from lab.cluster.api.store import Store  # noqa: PLC0415

    seen: list[str] = []

    def breaks_the_name(resource: str, new: dict, old: dict | None, dry_run: bool) -> None:
        if resource == "configmaps":
            new["metadata"]["name"] = "Bad_Name"

    def records(resource: str, new: dict, old: dict | None, dry_run: bool) -> None:
        seen.append(new["metadata"]["name"])

    registry = Registry(Store(), Admission(mutating=[breaks_the_name], validating=[records]))
    registry.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    with pytest.raises(ApiError) as refused:
        registry.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}})
    assert refused.value.code == 422
    assert refused.value.status["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"')
    assert seen == ["default"]  # the namespace went through; the broken ConfigMap never reached validating admission


def test_openapi_v3_is_served_as_kube_openapi_handler3_does(api: ApiLab) -> None:
    """ETag = SHA-512 of the bytes; the index's URLs carry it; by that hash the document is immutable
    for a year (kubectl's HTTP cache then skips it), by another hash a 301 to the current one, and a
    matching If-None-Match is a 304 without body."""
    conn = http.client.HTTPConnection("127.0.0.1", api.server.port, timeout=10)

    def get(path: str, **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response, response.read()

    index, body = get("/openapi/v3")
    assert index.status == 200 and index.headers["Etag"] == f'"{hashlib.sha512(body).hexdigest().upper()}"'
    assert index.headers["Cache-Control"] == "no-cache, private"
    url = json.loads(body)["paths"]["apis/apps/v1"]["serverRelativeURL"]
    path, _, digest = url.partition("?hash=")
    assert path == "/openapi/v3/apis/apps/v1" and len(digest) == 128
    doc, body = get(url)
    assert (doc.status, doc.headers["Etag"], doc.headers["Cache-Control"], doc.headers["Vary"]) == (
        200, f'"{digest}"', "public, immutable", "Accept")
    assert hashlib.sha512(body).hexdigest().upper() == digest
    assert "io.k8s.api.apps.v1.Deployment" in json.loads(body)["components"]["schemas"]
    assert doc.headers["Expires"].endswith(" UTC")  # Go's time.RFC1123 of a UTC time
    moved, _ = get(f"{path}?hash=ABC")
    assert (moved.status, moved.headers["Location"], moved.headers["Etag"]) == (301, url, f'"{digest}"')
    same, empty = get(path, **{"If-None-Match": f'"{digest}"'})
    assert (same.status, empty, same.headers["Content-Length"]) == (304, b"", None)
    plain, _ = get(path)
    assert (plain.status, plain.headers["Cache-Control"], plain.headers["Vary"]) == (200, "no-cache, private", "Accept")
    conn.close()


def test_a_delete_that_leaves_the_object_terminating_answers_200_with_it(api: ApiLab) -> None:
    """delete.go: a pod in graceful deletion (or an owner waiting on a finalizer) comes back with 200
    and the object; 202 only when the client sent orphanDependents=false (kept for old clients)."""
    conn = http.client.HTTPConnection("127.0.0.1", api.server.port, timeout=10)
    conn.request("DELETE", f"/api/v1/namespaces/{NS}/pods/{PODS[0]}")
    response = conn.getresponse()
    pod = json.loads(response.read())
    assert (response.status, pod["kind"], bool(pod["metadata"]["deletionTimestamp"])) == (200, "Pod", True)
    body = json.dumps({"kind": "DeleteOptions", "apiVersion": "v1", "orphanDependents": False})
    conn.request("DELETE", f"/api/v1/namespaces/{NS}/pods/{PODS[1]}", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    assert response.status == 202
    conn.close()
