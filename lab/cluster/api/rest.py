"""REST routing and verbs: which resource a URL names and what each HTTP method does to it.

Follows k8s.io/apiserver `pkg/endpoints/installer.go` (the paths: `/api/v1/namespaces/{ns}/{plural}/
{name}/{sub}`, cluster-scoped and all-namespaces lists, the legacy `/watch/` prefix) and
`pkg/endpoints/handlers/` (get.go: list/get and `as=Table`; create.go: 201; delete.go: 200 with the
object while it terminates (202 only when orphanDependents=false asked for it), else a Success Status
or, for the kinds that ask for it, the deleted object; patch.go: the patch types; the `dryRun`,
`fieldValidation`, `propagationPolicy` and `gracePeriodSeconds` options).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab.cluster.api import deletion, discovery, errors, openapi, patch, strategy, streams, tables, watch
from lab.cluster.api.resources import Resource, by_path

if TYPE_CHECKING:
    from lab.cluster.api.server import ApiServer, _Handler

Obj = dict[str, Any]
CONNECT = ("exec", "attach", "portforward")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    query_lists: dict[str, list[str]]
    headers: dict[str, str]
    read_body: Callable[[], Any]

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), "")

    @property
    def wants_table(self) -> bool:
        return "as=Table" in self.header("Accept")

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1")


@dataclass
class Target:
    resource: Resource
    version: str
    namespace: str
    name: str
    sub: str
    watch: bool


ACCEPTED = ("application/json", "application/vnd.kubernetes.protobuf", "application/*", "*/*")


def handle(api: ApiServer, req: Request, out: _Handler) -> None:
    parts = [p for p in req.path.split("/") if p]
    accept = req.header("Accept")
    if accept and not any(part.split(";")[0].strip() in ACCEPTED for part in accept.split(",")):
        # negotiation.go: 406 when nothing offered can be served (JSON answers a protobuf client too)
        raise errors.not_acceptable("only the following media types are accepted: application/json, "
                                    "application/vnd.kubernetes.protobuf")
    if req.method == "GET" and _serve_meta(api, parts, req, out):
        return
    target = _target(parts)
    if target is None:
        raise errors.path_not_found()
    _verb(api, req, target, out)


def _serve_meta(api: ApiServer, parts: list[str], req: Request, out: _Handler) -> bool:
    """Discovery, version, health and OpenAPI: True when answered."""
    doc: Any = None
    if parts == ["version"]:
        doc = discovery.version_info()
    elif parts in (["healthz"], ["livez"], ["readyz"]):
        out.send_response(200)
        out.send_header("Content-Type", "text/plain")
        out.send_header("Content-Length", "2")
        out.end_headers()
        out.wfile.write(b"ok")
        return True
    elif parts in (["api"], ["apis"]) and discovery.wants_aggregated(req.header("Accept")):
        out.send_json(discovery.aggregated(core=parts == ["api"]), content_type=discovery.AGGREGATED)
        return True
    elif parts == ["api"]:
        doc = discovery.api_versions(f"127.0.0.1:{api.port}")
    elif parts == ["apis"]:
        doc = discovery.api_group_list()
    elif len(parts) == 2 and parts[0] == "api":
        doc = discovery.resource_list("", parts[1]) or _raise_not_found()
    elif len(parts) == 2 and parts[0] == "apis":
        doc = discovery.api_group(parts[1]) or _raise_not_found()
    elif len(parts) == 3 and parts[0] == "apis":
        doc = discovery.resource_list(parts[1], parts[2]) or _raise_not_found()
    elif parts[:1] == ["openapi"]:
        _openapi(parts[1:], req, out)
        return True
    else:
        return False
    out.send_json(doc)
    return True


def _openapi(parts: list[str], req: Request, out: _Handler) -> None:
    """kube-openapi handler3: ETag on every answer (and 304 to a matching If-None-Match); a document
    asked for by its hash is cacheable for a year, by another hash a 301 to the current one."""
    doc = openapi.served(parts) or _raise_not_found()
    headers = {"Etag": f'"{doc.etag}"'}
    if len(parts) > 1:
        headers["Vary"] = "Accept"
        if req.query.get("hash"):
            if req.query["hash"] != doc.etag:
                out.send_status(301, {**headers, "Location": openapi.url("/".join(parts[1:]))})
                return
            expires = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(time.time() + 365 * 86400))  # Go's RFC1123
            headers |= {"Cache-Control": "public, immutable", "Expires": expires}
    if req.header("If-None-Match") == headers["Etag"]:
        out.send_status(304, headers, length=None)  # http.ServeContent: no body headers on a 304
        return
    out.send_bytes(doc.body, {**headers, "Last-Modified": doc.modified})


def _raise_not_found() -> Any:
    raise errors.path_not_found()


def _target(parts: list[str]) -> Target | None:
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    is_watch = rest[:1] == ["watch"]
    rest = rest[1:] if is_watch else rest
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        inner = by_path(group, version, rest[2])
        if inner is not None and inner.namespaced:
            namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    res = by_path(group, version, rest[0])
    if res is None:
        return None
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in res.subresources:
        return None
    return Target(res, version, namespace, name, sub, is_watch)


def _verb(api: ApiServer, req: Request, t: Target, out: _Handler) -> None:
    reg, res = api.registry, t.resource
    if t.sub in CONNECT or t.sub == "log":
        streams.serve(api, req, t, out)
        return
    if req.method == "GET" and not t.name:
        if t.watch or req.flag("watch"):
            watch.serve(api, req, t, out)
        else:
            _list(api, req, t, out)
        return
    if not t.name and req.method == "POST":
        body = _object_body(req, t)
        warnings: list[str] = []
        created = reg.create(res, body, dry_run=req.dry_run, field_validation=req.query.get("fieldValidation", ""),
                             namespace=t.namespace or None, warnings=warnings)
        out.send_json(res.present(created, t.version), 201, warnings=warnings)
        return
    if not t.name:
        raise errors.method_not_supported(res.key, "deletecollection" if req.method == "DELETE" else req.method.lower())
    if t.sub == "scale":
        _scale(api, req, t, out)
        return
    sub = t.sub or None
    if req.method == "GET":
        obj = reg.get(res, t.namespace, t.name)
        if req.wants_table:
            out.send_json(tables.table(res, [res.present(obj, t.version)], include=req.query.get("includeObject", "Metadata"),
                                       resource_version=obj["metadata"].get("resourceVersion", "")))
        else:
            out.send_json(res.present(obj, t.version))
    elif req.method == "PUT":
        body = _object_body(req, t)
        if body.get("metadata", {}).get("name") not in (None, t.name):
            raise errors.bad_request(f"the name of the object ({body['metadata']['name']}) does not match the name on "
                                     f"the URL ({t.name})")
        body.setdefault("metadata", {}).update(name=t.name, **({"namespace": t.namespace} if t.namespace else {}))
        warnings = []
        updated = reg.update(res, body, dry_run=req.dry_run, subresource=sub,
                             field_validation=req.query.get("fieldValidation", ""), warnings=warnings)
        out.send_json(res.present(updated, t.version), warnings=warnings)
    elif req.method == "PATCH":
        kind = req.header("Content-Type").split(";")[0].strip()
        warnings = []
        patched = reg.patch(res, t.namespace, t.name, kind, req.read_body(), dry_run=req.dry_run, subresource=sub,
                            field_validation=req.query.get("fieldValidation", ""), warnings=warnings)
        out.send_json(res.present(patched, t.version), warnings=warnings)
    elif req.method == "DELETE":
        _delete(api, req, t, out)
    else:
        raise errors.method_not_supported(res.key, req.method.lower())


def _object_body(req: Request, t: Target) -> Obj:
    body = req.read_body()
    if not isinstance(body, dict):
        raise errors.bad_request("the object provided is unrecognized or invalid")
    res = t.resource
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if api_version and api_version != res.api_version(t.version):
        raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected API version "
                                 f"({res.api_version(t.version)})")
    if kind and kind != res.kind:
        raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({res.kind})")
    namespace = (body.get("metadata") or {}).get("namespace")
    if res.namespaced and namespace and t.namespace and namespace != t.namespace:
        raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
    return body


def _list(api: ApiServer, req: Request, t: Target, out: _Handler) -> None:
    res = t.resource
    limit = int(req.query["limit"]) if req.query.get("limit", "").isdigit() else None
    items, rv, token = api.registry.list_page(res, t.namespace or None, req.query.get("labelSelector"),
                                              req.query.get("fieldSelector"), limit=limit,
                                              continue_=req.query.get("continue") or None)
    items = [res.present(o, t.version) for o in items]
    if req.wants_table:
        out.send_json(tables.table(res, items, include=req.query.get("includeObject", "Metadata"), resource_version=str(rv),
                                   continue_=token))
        return
    meta: Obj = {"resourceVersion": str(rv)}
    if token:
        meta["continue"] = token
    out.send_json({"kind": res.list_kind, "apiVersion": res.api_version(t.version), "metadata": meta, "items": items})


def _delete(api: ApiServer, req: Request, t: Target, out: _Handler) -> None:
    res = t.resource
    options = req.read_body() or {}
    grace = options.get("gracePeriodSeconds", req.query.get("gracePeriodSeconds"))
    dry_run = req.dry_run or "All" in (options.get("dryRun") or [])
    if "propagationPolicy" not in options and req.query.get("propagationPolicy"):
        options["propagationPolicy"] = req.query["propagationPolicy"]
    obj, gone = api.registry.delete(res, t.namespace, t.name, dry_run=dry_run,
                                    propagation=deletion.propagation(options),
                                    grace_period=int(grace) if grace not in (None, "") else None,
                                    preconditions=options.get("preconditions"))
    if not gone:  # terminating: 200, and 202 only for the old orphanDependents=false (delete.go keeps it for old clients)
        out.send_json(res.present(obj, t.version), 202 if options.get("orphanDependents") is False else 200)
    elif res.return_deleted:
        out.send_json(res.present(obj, t.version))
    else:
        details: Obj = {"name": t.name, **({"group": res.group} if res.group else {}), "kind": res.plural,
                        "uid": obj["metadata"].get("uid", "")}
        out.send_json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})


def _scale(api: ApiServer, req: Request, t: Target, out: _Handler) -> None:
    """deployments/scale and replicasets/scale: an autoscaling/v1 Scale (pkg/registry/apps/deployment/storage ScaleREST)."""
    res, reg = t.resource, api.registry
    obj = reg.get(res, t.namespace, t.name)
    if req.method == "PUT":
        body = req.read_body() or {}
        sent = (body.get("metadata") or {}).get("resourceVersion")
        if sent and sent != obj["metadata"]["resourceVersion"]:
            raise errors.conflict(res.key, t.name, strategy.MODIFIED)
        wanted = (body.get("spec") or {}).get("replicas")
    elif req.method == "PATCH":
        kind = req.header("Content-Type").split(";")[0].strip()
        if kind == patch.STRATEGIC:  # a Scale has no lists nor patch keys: the same as a merge patch
            kind = patch.MERGE
        wanted = (reg.apply_patch(res, _scale_of(obj), kind, req.read_body()).get("spec") or {}).get("replicas")
    else:
        out.send_json(_scale_of(obj))
        return
    if not isinstance(wanted, int) or wanted < 0:
        cause = errors.field_invalid("spec.replicas", wanted, "must be greater than or equal to 0")
        raise errors.invalid("Scale", "autoscaling", t.name, [cause])
    updated = copy.deepcopy(obj)
    updated["spec"]["replicas"] = wanted
    out.send_json(_scale_of(reg.update(res, updated, dry_run=req.dry_run)))


def _scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    selector = (obj.get("spec") or {}).get("selector") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items()))}}
