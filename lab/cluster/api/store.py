"""The twin's object store: every Kubernetes object the lab serves, with resourceVersion and watches.

Like etcd behind kube-apiserver (k8s.io/apiserver `pkg/storage`): objects are plain JSON dicts,
each write gets the next resourceVersion, and every write is an event that watches read.

- Keys: (resource, namespace, name); `resource` is the group-qualified plural as kube-apiserver
  names it (`pods`, `deployments.apps`, `virtualservices.networking.istio.io`); namespace is ""
  for cluster-scoped kinds.
- Every read returns a deep copy: callers never share a dict with the store.
- `watch()` replays the events after a resourceVersion still in the history (or answers `Gone`, as
  etcd's compaction does: apiserver `storage/cacher` → 410 «too old resource version»), or starts
  with one ADDED per current object (`initial=True`, the streaming list of kubectl 1.36 informers).
- `observe()` registers a synchronous observer: it runs after each write, outside the lock and
  before the write returns, so an API request (e.g. a VirtualService apply) can answer only once the
  twin has reacted (the sidecars loaded the route). Controllers that need no such ordering watch.

The HTTP front, strategies (defaults, validation, admission) and printing live in the other modules
of this package; this one knows nothing about kinds.
"""

from __future__ import annotations

import copy
import itertools
import queue
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
Key = tuple[str, str, str]  # (resource, namespace, name)
HISTORY = 10_000  # events kept for watches that resume from a resourceVersion
MUTATE_ATTEMPTS = 20  # read-change-write rounds before mutate() gives up on a Conflict
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"  # a Kubernetes timestamp (metav1.Time: RFC 3339, seconds, UTC)


class StoreError(Exception):
    """Base of the store's errors; the API turns each into its metav1.Status."""


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class Conflict(StoreError):
    """The object changed since the resourceVersion the writer read (optimistic concurrency)."""


class Gone(StoreError):
    """The resourceVersion asked for is older than the history kept (HTTP 410 Expired)."""


@dataclass(frozen=True)
class Event:
    type: str  # ADDED, MODIFIED, DELETED
    resource: str
    object: Obj  # a copy, as it was after the write (before it, for DELETED)
    resource_version: int

    @property
    def namespace(self) -> str:
        return self.object["metadata"].get("namespace", "")

    @property
    def name(self) -> str:
        return self.object["metadata"]["name"]


def now_rfc3339() -> str:
    """A Kubernetes timestamp (metav1.Time: RFC 3339, seconds, UTC)."""
    return datetime.now(UTC).strftime(RFC3339)


def key_of(resource: str, obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return resource, meta.get("namespace", ""), meta["name"]


class Watch:
    """The events of one watch, in order; `close()` (or the store) ends the iteration."""

    _END = object()

    def __init__(self, store: Store, match: Callable[[Event], bool]) -> None:
        self._store = store
        self._match = match
        self._queue: queue.Queue[Any] = queue.Queue()
        self.closed = False

    def _offer(self, event: Event) -> None:
        if not self.closed and self._match(event):
            self._queue.put(event)

    def next(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after `timeout` seconds (or once closed)."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is Watch._END:
            self._queue.put(Watch._END)  # every later call sees the end too
            return None
        return item

    def __iter__(self) -> Iterator[Event]:
        while (event := self.next()) is not None:
            yield event

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._store._forget(self)
            self._queue.put(Watch._END)


class Store:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[Key, Obj] = {}
        self._rv = itertools.count(1)
        self._current_rv = 0
        self._history: deque[Event] = deque(maxlen=HISTORY)
        self._watches: list[Watch] = []
        self._observers: list[Callable[[Event], None]] = []

    # ------------------------------------------------------------------ reads
    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._current_rv

    def get(self, resource: str, namespace: str, name: str) -> Obj:
        with self._lock:
            obj = self._objects.get((resource, namespace, name))
            if obj is None:
                raise NotFound(f'{resource} "{name}" not found')
            return copy.deepcopy(obj)

    def find(self, resource: str, namespace: str, name: str) -> Obj | None:
        try:
            return self.get(resource, namespace, name)
        except NotFound:
            return None

    def list(
        self, resource: str, namespace: str | None = None, match: Callable[[Obj], bool] | None = None
    ) -> tuple[list[Obj], int]:
        """The objects of `resource` (in `namespace`, or all), sorted by namespace and name, and the
        resourceVersion of this snapshot."""
        with self._lock:
            found = [
                copy.deepcopy(obj)
                for (res, ns, _), obj in sorted(item for item in self._objects.items() if item[0][0] == resource)
                if (namespace is None or ns == namespace) and (match is None or match(obj))
            ]
            return found, self._current_rv

    def metadata(self, resource: str) -> list[Obj]:
        """Only the `metadata` of every object of `resource` ({"metadata": …}, copied), in list() order:
        what the garbage collector reads on each pass, without copying specs and statuses."""
        with self._lock:
            return [{"metadata": copy.deepcopy(obj["metadata"])}
                    for _, obj in sorted(item for item in self._objects.items() if item[0][0] == resource)]

    # ------------------------------------------------------------------ writes
    def create(self, resource: str, obj: Obj) -> Obj:
        """Stores a new object: uid, creationTimestamp, generation 1 and resourceVersion are set here."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        with self._lock:
            key = key_of(resource, obj)
            if key in self._objects:
                raise AlreadyExists(f'{resource} "{key[2]}" already exists')
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now_rfc3339())
            if "spec" in obj:
                meta.setdefault("generation", 1)
            event = self._commit("ADDED", resource, key, obj)
        self._notify(event)
        return copy.deepcopy(event.object)

    def update(self, resource: str, obj: Obj, *, check_version: bool = True) -> Obj:
        """Replaces an object. With `check_version`, `metadata.resourceVersion` must be the stored one
        (Conflict otherwise), as kube-apiserver's GuaranteedUpdate does; uid and creationTimestamp
        are kept; generation goes up when `spec` changes."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        with self._lock:
            key = key_of(resource, obj)
            old = self._objects.get(key)
            if old is None:
                raise NotFound(f'{resource} "{key[2]}" not found')
            sent = meta.get("resourceVersion")
            if check_version and sent not in (None, "") and sent != old["metadata"]["resourceVersion"]:
                raise Conflict(
                    f'Operation cannot be fulfilled on {resource} "{key[2]}": the object has been modified; '
                    "please apply your changes to the latest version and try again"
                )
            for field in ("uid", "creationTimestamp"):
                meta[field] = old["metadata"][field]
            if "generation" in old["metadata"]:
                # A strategy may ask for a bump without a spec change (a Deployment's annotations) by
                # raising the generation it passes; nobody else can set it (the registry resets it).
                changed = obj.get("spec") != old.get("spec") or meta.get("generation", 0) > old["metadata"]["generation"]
                meta["generation"] = old["metadata"]["generation"] + (1 if changed else 0)
            if _same(old, obj):
                return copy.deepcopy(old)  # no-op write: no new resourceVersion, no event
            event = self._commit("MODIFIED", resource, key, obj)
        self._notify(event)
        return copy.deepcopy(event.object)

    def mutate(self, resource: str, namespace: str, name: str, change: Callable[[Obj], None]) -> Obj:
        """Read-modify-write (for controllers and the node): `change` edits the dict. Optimistic, like
        client-go's RetryOnConflict: read, change, write with the version read, again on Conflict (a
        bounded number of times). The store's lock is never held while `change` or the observers run."""
        for _ in range(MUTATE_ATTEMPTS):
            obj = self.get(resource, namespace, name)
            change(obj)
            try:
                return self.update(resource, obj)
            except Conflict:
                continue  # someone wrote in between: read the newer object and apply the change again
        raise Conflict(f'{resource} "{name}": still conflicting after {MUTATE_ATTEMPTS} attempts')

    def delete(self, resource: str, namespace: str, name: str) -> Obj:
        """Removes an object for good; returns it as it was (with a new resourceVersion, like etcd)."""
        with self._lock:
            key = (resource, namespace, name)
            old = self._objects.get(key)
            if old is None:
                raise NotFound(f'{resource} "{name}" not found')
            del self._objects[key]
            event = self._commit("DELETED", resource, key, old, store=False)
        self._notify(event)
        return copy.deepcopy(event.object)

    # ------------------------------------------------------------------ watches
    def watch(
        self,
        resource: str,
        namespace: str | None = None,
        *,
        since: int | None = None,
        initial: bool = False,
        match: Callable[[Obj], bool] | None = None,
    ) -> tuple[Watch, int]:
        """A watch on `resource` (and `namespace`), and the resourceVersion it starts from.

        since: replay the events after that resourceVersion (Gone if the history lost them).
        initial: first one ADDED event per current object (the streaming list), then the changes.
        """

        def wanted(event: Event) -> bool:
            return (
                event.resource == resource
                and (namespace is None or event.namespace == namespace)
                and (match is None or match(event.object))
            )

        watch = Watch(self, wanted)
        with self._lock:
            start = self._current_rv
            if since is not None and since < start:
                oldest = self._history[0].resource_version if self._history else start + 1
                if since + 1 < oldest:
                    raise Gone(f"too old resource version: {since} ({oldest - 1})")
                for event in self._history:
                    if event.resource_version > since:
                        watch._offer(event)
            if initial:
                for (res, ns, _), obj in sorted(self._objects.items()):
                    if res == resource and (namespace is None or ns == namespace):
                        watch._offer(Event("ADDED", resource, copy.deepcopy(obj), int(obj["metadata"]["resourceVersion"])))
            self._watches.append(watch)
        return watch, start

    def observe(self, observer: Callable[[Event], None]) -> None:
        """`observer(event)` after every write, in the writer's thread (see the module docstring)."""
        with self._lock:
            self._observers.append(observer)

    def close(self) -> None:
        """Ends every watch (the server is stopping)."""
        with self._lock:
            watches = list(self._watches)
        for watch in watches:
            watch.close()

    # ------------------------------------------------------------------ inside
    def _commit(self, kind: str, resource: str, key: Key, obj: Obj, *, store: bool = True) -> Event:
        self._current_rv = next(self._rv)
        obj["metadata"]["resourceVersion"] = str(self._current_rv)
        if store:
            self._objects[key] = obj
        event = Event(kind, resource, copy.deepcopy(obj), self._current_rv)
        self._history.append(event)
        for watch in self._watches:
            watch._offer(event)
        return event

    def _notify(self, event: Event) -> None:
        for observer in list(self._observers):
            observer(event)

    def _forget(self, watch: Watch) -> None:
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)


def _same(old: Obj, new: Obj) -> bool:
    """Equal but for resourceVersion (a write that changes nothing is not an event)."""

    def bare(obj: Obj) -> Obj:
        meta = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
        return {**obj, "metadata": meta}

    return bare(old) == bare(new)
