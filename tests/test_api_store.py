"""The object store behind the lab's API: resourceVersions, optimistic concurrency, watches."""

from __future__ import annotations

import pytest

from lab.cluster.api.store import AlreadyExists, Conflict, Gone, NotFound, Store


def pod(name: str, **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": dict(spec)}


def test_every_write_gets_a_new_resource_version_and_reads_are_copies() -> None:
    store = Store()
    a = store.create("pods", pod("a"))
    b = store.create("pods", pod("b"))
    assert int(b["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"])
    got = store.get("pods", "default", "a")
    got["spec"]["x"] = 1
    assert "x" not in store.get("pods", "default", "a")["spec"]
    assert a["metadata"]["generation"] == 1 and a["metadata"]["uid"] != b["metadata"]["uid"]


def test_create_twice_and_missing_objects_raise() -> None:
    store = Store()
    store.create("pods", pod("a"))
    with pytest.raises(AlreadyExists):
        store.create("pods", pod("a"))
    with pytest.raises(NotFound):
        store.get("pods", "default", "b")
    with pytest.raises(NotFound):
        store.delete("pods", "default", "b")


def test_a_stale_update_is_a_conflict_and_generation_follows_the_spec() -> None:
    store = Store()
    first = store.create("pods", pod("a", image="x:1"))
    fresh = store.update("pods", {**first, "spec": {"image": "x:2"}})
    assert fresh["metadata"]["generation"] == 2
    with pytest.raises(Conflict):
        store.update("pods", {**first, "spec": {"image": "x:3"}})
    labelled = store.update("pods", {**fresh, "metadata": {**fresh["metadata"], "labels": {"a": "b"}}})
    assert labelled["metadata"]["generation"] == 2
    same = store.update("pods", labelled)
    assert same["metadata"]["resourceVersion"] == labelled["metadata"]["resourceVersion"]


def test_watch_replays_from_a_version_streams_changes_and_reports_gone() -> None:
    store = Store()
    a = store.create("pods", pod("a"))
    store.create("pods", pod("b"))
    watch, _ = store.watch("pods", "default", since=int(a["metadata"]["resourceVersion"]))
    store.delete("pods", "default", "a")
    events = [watch.next(1), watch.next(1)]
    assert [(e.type, e.name) for e in events] == [("ADDED", "b"), ("DELETED", "a")]
    watch.close()
    assert watch.next(0.1) is None
    initial, _ = store.watch("pods", initial=True)
    assert [(e.type, e.name) for e in [initial.next(1)]] == [("ADDED", "b")]
    store._history.clear()
    with pytest.raises(Gone):
        store.watch("pods", since=0)


def test_observers_run_before_the_write_returns() -> None:
    store = Store()
    seen: list[str] = []
    store.observe(lambda event: seen.append(f"{event.type} {event.name}"))
    store.create("pods", pod("a"))
    assert seen == ["ADDED a"]
    store.mutate("pods", "default", "a", lambda obj: obj["spec"].update(image="y"))
    assert seen == ["ADDED a", "MODIFIED a"]


def test_observers_of_a_mutate_run_without_the_store_lock() -> None:
    """An observer may wait for another thread that writes to the store (the lab's endpoints observer
    waits for the sidecars): with the lock held during the observers that would deadlock."""
    import threading

    store = Store()
    store.create("pods", pod("a"))
    store.create("pods", pod("b"))
    wrote = threading.Event()

    def observer(event: object) -> None:
        if getattr(event, "name", "") == "a" and not wrote.is_set():
            other = threading.Thread(target=lambda: (store.mutate("pods", "default", "b", lambda o: o["spec"].update(x=1)), wrote.set()))
            other.start()
            other.join(timeout=5)

    store.observe(observer)
    store.mutate("pods", "default", "a", lambda obj: obj["spec"].update(image="y"))
    assert wrote.is_set() and store.get("pods", "default", "b")["spec"] == {"x": 1}
