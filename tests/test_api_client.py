"""A second real client: the official `kubernetes` Python package (pinned in the dev dependencies)
lists, watches, patches, replaces with a stale resourceVersion (409) and deletes through the lab's API."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from api_seed import APP, NS, PODS, ApiLab
from kubernetes import client, watch
from kubernetes.client.rest import ApiException


@pytest.fixture(scope="module")
def k8s(api: ApiLab) -> Iterator[client.ApiClient]:
    config = client.Configuration()
    config.host = api.server.url
    with client.ApiClient(config) as api_client:
        yield api_client


def test_list_with_a_label_selector_and_pages(k8s: client.ApiClient) -> None:
    core = client.CoreV1Api(k8s)
    pods = core.list_namespaced_pod(NS, label_selector=f"app={APP}")
    assert [p.metadata.name for p in pods.items] == PODS
    assert pods.items[0].status.container_statuses[1].name == "istio-proxy"
    first = core.list_namespaced_pod(NS, limit=2)
    assert len(first.items) == 2 and first.metadata._continue
    rest = core.list_namespaced_pod(NS, limit=2, _continue=first.metadata._continue)
    assert [p.metadata.name for p in first.items + rest.items] == PODS and not rest.metadata._continue
    assert core.list_namespaced_pod(NS, field_selector=f"metadata.name={PODS[1]}").items[0].metadata.name == PODS[1]


def test_watch_sees_a_change_made_by_another_client(api: ApiLab, k8s: client.ApiClient) -> None:
    apps = client.AppsV1Api(k8s)
    start = apps.list_namespaced_deployment(NS).metadata.resource_version
    events: list[tuple[str, str, int]] = []

    def follow() -> None:
        for event in watch.Watch().stream(apps.list_namespaced_deployment, NS, resource_version=start, timeout_seconds=10):
            events.append((event["type"], event["object"].metadata.name, event["object"].spec.replicas))
            return

    thread = threading.Thread(target=follow)
    thread.start()
    apps.patch_namespaced_deployment_scale(APP, NS, {"spec": {"replicas": 4}})
    thread.join(timeout=15)
    assert events == [("MODIFIED", APP, 4)]


def test_patch_strategic_merge_keeps_the_other_containers(k8s: client.ApiClient) -> None:
    apps = client.AppsV1Api(k8s)
    body = {"spec": {"template": {"spec": {"containers": [{"name": APP, "image": "apps/k8s/backend:2.0"}]}}}}
    patched = apps.patch_namespaced_deployment(APP, NS, body)  # the client sends strategic-merge-patch+json
    containers = patched.spec.template.spec.containers
    assert [(c.name, c.image) for c in containers] == [(APP, "apps/k8s/backend:2.0")]
    assert containers[0].ports[0].container_port == 8080  # merged by name, not replaced


def test_replace_with_a_stale_resource_version_is_409(k8s: client.ApiClient) -> None:
    core = client.CoreV1Api(k8s)
    stale = core.read_namespaced_service(APP, NS)
    core.patch_namespaced_service(APP, NS, {"metadata": {"labels": {"tier": "back"}}})
    with pytest.raises(ApiException) as raised:
        core.replace_namespaced_service(APP, NS, stale)
    assert raised.value.status == 409
    assert '"reason":"Conflict"' in raised.value.body


def test_delete_a_configmap_and_then_it_is_gone(k8s: client.ApiClient) -> None:
    core = client.CoreV1Api(k8s)
    core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="borrar"), data={"a": "1"}))
    status = core.delete_namespaced_config_map("borrar", NS)  # this client version types it as a plain object
    assert (status["kind"], status["status"], status["details"]["name"]) == ("Status", "Success", "borrar")
    with pytest.raises(ApiException) as raised:
        core.read_namespaced_config_map("borrar", NS)
    assert raised.value.status == 404


def test_the_status_subresource_keeps_the_spec(k8s: client.ApiClient) -> None:
    """A controller writes status through deployments/status; spec changes sent there are ignored."""
    apps = client.AppsV1Api(k8s)
    current = apps.read_namespaced_deployment(APP, NS)
    replicas = current.spec.replicas
    current.spec.replicas = 9
    current.status.ready_replicas = 1
    written = apps.replace_namespaced_deployment_status(APP, NS, current)
    assert (written.spec.replicas, written.status.ready_replicas) == (replicas, 1)
