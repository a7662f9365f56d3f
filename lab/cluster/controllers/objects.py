"""Small helpers over Kubernetes objects as dicts: selectors, owners, pod readiness, names, events.

Follows kubernetes/kubernetes at v1.36: `staging/src/k8s.io/apimachinery/pkg/labels/selector.go`
(matchLabels/matchExpressions), `pkg/controller/controller_utils.go` (IsPodActive, FilterActivePods,
the 5-character random suffix of generateName), `pkg/api/v1/pod/util.go` (IsPodReady,
IsPodAvailable) and `staging/src/k8s.io/client-go/tools/record/events_cache.go` (an event repeated
for the same object, reason and message bumps `count` and `lastTimestamp` instead of a new Event).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from lab.cluster.api.registry import GENERATE_ALPHABET
from lab.cluster.api.store import NotFound, Obj, Store, now_rfc3339
from lab.constants import DEFAULT_NAMESPACE

ALPHABET = GENERATE_ALPHABET  # apimachinery util/rand: no vowels, no confusing characters
EVENTS = "events"


def meta(obj: Obj) -> dict[str, Any]:
    return obj.setdefault("metadata", {})


def safe_encode(text: str) -> str:
    """apimachinery `rand.SafeEncodeString`: each byte mapped onto ALPHABET (pod-template-hash)."""
    return "".join(ALPHABET[ord(c) % len(ALPHABET)] for c in text)


def matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against labels; an empty selector matches nothing
    here (a Deployment or Service with no selector selects no pods)."""
    if not selector:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def service_selects(service: Obj, labels: dict[str, str] | None) -> bool:
    selector = (service.get("spec") or {}).get("selector") or {}
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


def controller_uid(obj: Obj) -> str | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def owner_ref(owner: Obj, kind: str, api_version: str) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def terminating(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def pod_active(pod: Obj) -> bool:
    """controller_utils.IsPodActive: not Succeeded/Failed and not being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not terminating(pod)


def condition(obj: Obj, kind: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def pod_ready(pod: Obj) -> bool:
    ready = condition(pod, "Ready")
    return bool(ready and ready.get("status") == "True")


class Recorder:
    """client-go's EventRecorder + its correlator, writing core/v1 Events straight into the store."""

    def __init__(self, store: Store, component: str, host: str | None = None) -> None:
        self.store = store
        self.component = component
        self.host = host
        self.lock = threading.Lock()
        self.seen: dict[tuple[str, str, str, str], tuple[str, str]] = {}  # key → (namespace, name)

    def event(self, obj: Obj, kind: str, api_version: str, type_: str, reason: str, message: str,
              field_path: str | None = None) -> None:
        m = meta(obj)
        namespace = m.get("namespace") or DEFAULT_NAMESPACE
        key = (m.get("uid", ""), field_path or "", reason, message)
        stamp = now_rfc3339()
        with self.lock:
            known = self.seen.get(key)
            if known is not None:
                try:
                    self.store.mutate(EVENTS, *known, lambda e: e.update(count=e.get("count", 1) + 1, lastTimestamp=stamp))
                    return
                except NotFound:
                    pass
            name = f"{m['name']}.{time.time_ns():x}"
            involved = {"kind": kind, "namespace": namespace, "name": m["name"], "uid": m.get("uid"),
                        "apiVersion": api_version, "resourceVersion": m.get("resourceVersion")}
            if field_path:
                involved["fieldPath"] = field_path
            source = {"component": self.component, **({"host": self.host} if self.host else {})}
            self.store.create(EVENTS, {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": involved, "reason": reason, "message": message, "source": source,
                "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1, "type": type_,
                "eventTime": None, "reportingComponent": self.component, "reportingInstance": self.host or "",
            })
            self.seen[key] = (namespace, name)
