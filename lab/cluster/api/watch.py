"""Watches: newline-delimited JSON watch events over a chunked response.

Follows k8s.io/apiserver `pkg/endpoints/handlers/watch.go` (serveWatch: one `{"type","object"}` per
line; in a Table watch only the first event carries the column definitions — response.go
watchEmbeddedEncoder) and the watch cache's semantics (`pkg/storage/cacher`): no resourceVersion or
`0` starts with a synthetic ADDED per object; `sendInitialEvents=true` (the streaming list of
kubectl 1.36's informers) ends the initial events with a BOOKMARK annotated
`k8s.io/initial-events-end: "true"`; a version older than the history → an ERROR event with a 410
Expired Status. Ends after `timeoutSeconds`, when the client goes, or when the server closes.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from lab.cluster.api import errors, selectors, tables
from lab.cluster.api.store import Event, Gone

if TYPE_CHECKING:
    from lab.cluster.api.rest import Request, Target
    from lab.cluster.api.server import ApiServer, _Handler

Obj = dict[str, Any]
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
DEFAULT_TIMEOUT = 1800  # kube-apiserver: a random time in [minRequestTimeout, 2×minRequestTimeout)
POLL = 0.5  # seconds between checks that the client is still there


def serve(api: ApiServer, req: Request, t: Target, out: _Handler) -> None:
    res = t.resource
    match = selectors.both(selectors.label_selector(req.query.get("labelSelector")),
                           selectors.field_selector(req.query.get("fieldSelector")))
    if t.name:
        match = selectors.both(match, lambda obj: obj["metadata"]["name"] == t.name)
    rv = req.query.get("resourceVersion", "")
    initial_stream = req.flag("sendInitialEvents")
    if initial_stream and req.query.get("resourceVersionMatch") != "NotOlderThan":
        raise errors.ApiError("ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
                              "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan", 422, "Invalid")
    timeout = float(req.query["timeoutSeconds"]) if req.query.get("timeoutSeconds", "").isdigit() else DEFAULT_TIMEOUT
    table = req.wants_table
    include = req.query.get("includeObject", "Metadata")
    since = int(rv) if rv not in ("", "0") and not initial_stream else None
    initial = initial_stream or rv in ("", "0")
    store = api.registry.store
    out.start_stream("application/json")
    try:
        stream, start = store.watch(res.key, t.namespace or None, since=since, initial=initial, match=match)
    except Gone as gone:
        status = errors.expired(str(gone)).status
        out.chunk(_line({"type": "ERROR", "object": status}))
        out.end_stream()
        return
    api.track(stream)
    headers_sent = False

    def send(kind: str, obj: Obj) -> None:
        nonlocal headers_sent
        if table and kind != "BOOKMARK":
            obj = tables.table(res, [obj], include=include, resource_version=obj["metadata"].get("resourceVersion", ""),
                               with_columns=not headers_sent)
            headers_sent = True
        out.chunk(_line({"type": kind, "object": obj}))

    try:
        pending: Event | None = None
        if initial_stream:
            while (event := stream.next(0)) is not None and event.resource_version <= start and event.type == "ADDED":
                send("ADDED", res.present(event.object, t.version))
            pending = event
            bookmark = {"kind": res.kind, "apiVersion": res.api_version(t.version),
                        "metadata": {"resourceVersion": str(start), "annotations": {INITIAL_EVENTS_END: "true"}}}
            send("BOOKMARK", bookmark)
        deadline = time.monotonic() + timeout
        while not api.stop.is_set() and time.monotonic() < deadline:
            event = pending or stream.next(min(POLL, max(deadline - time.monotonic(), 0)))
            pending = None
            if event is None:
                if stream.closed or out.client_gone():
                    break
                continue
            send(event.type, res.present(event.object, t.version))
        out.end_stream()
    except OSError:
        out.close_connection = True
    finally:
        stream.close()
        api.untrack(stream)


def _line(event: Obj) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode() + b"\n"
