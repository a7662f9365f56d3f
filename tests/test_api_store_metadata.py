"""Store.metadata: what the garbage collector reads on each pass, without copying specs and statuses."""

from __future__ import annotations

from lab.cluster.api.store import Store


def obj(name: str, namespace: str = "default") -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "labels": {"app": name}}, "spec": {"big": [1] * 50}}


def test_metadata_is_list_order_only_metadata_and_a_copy() -> None:
    store = Store()
    for name, namespace in (("b", "default"), ("a", "kube-system"), ("a", "default")):
        store.create("pods", obj(name, namespace))
    store.create("services", obj("a"))
    listed, _ = store.list("pods")
    got = store.metadata("pods")
    assert got == [{"metadata": item["metadata"]} for item in listed]
    assert [(m["metadata"]["namespace"], m["metadata"]["name"]) for m in got] == [
        ("default", "a"), ("default", "b"), ("kube-system", "a")]
    got[0]["metadata"]["labels"]["app"] = "changed"
    assert store.get("pods", "default", "a")["metadata"]["labels"] == {"app": "a"}
    assert store.metadata("configmaps") == []
