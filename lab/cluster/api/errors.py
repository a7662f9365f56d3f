"""metav1.Status errors, worded as kube-apiserver words them.

Follows k8s.io/apimachinery `pkg/api/errors/errors.go` (NewNotFound, NewAlreadyExists, NewConflict,
NewInvalid, NewBadRequest, NewMethodNotSupported, NewResourceExpired…): the reason, the HTTP code
and the message format. kubectl prints `Error from server (<reason>): <message>` from them.
"""

from __future__ import annotations

import json
from typing import Any

from lab.errors import StatusError

Obj = dict[str, Any]


class ApiError(StatusError):
    """An API answer that is not a success: `status` is the whole metav1.Status to send."""

    def __init__(self, message: str, code: int, reason: str = "", details: Obj | None = None) -> None:
        super().__init__(message, code, reason, details)
        status: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message}
        if reason:
            status["reason"] = reason
        if details:
            status["details"] = details
        status["code"] = code
        self.status = status

    @property
    def code(self) -> int:
        return int(self.status["code"])


def _details(resource: str, name: str | None) -> Obj:
    plural, _, group = resource.partition(".")
    details: Obj = {"kind": plural}
    if name:
        details = {"name": name, **({"group": group} if group else {}), "kind": plural}
    elif group:
        details["group"] = group
    return details


def not_found(resource: str, name: str) -> ApiError:
    """`resource` is the group-qualified plural (`pods`, `deployments.apps`)."""
    return ApiError(f'{resource} "{name}" not found', 404, "NotFound", _details(resource, name))


def already_exists(resource: str, name: str) -> ApiError:
    return ApiError(f'{resource} "{name}" already exists', 409, "AlreadyExists", _details(resource, name))


def conflict(resource: str, name: str, why: str) -> ApiError:
    return ApiError(f'Operation cannot be fulfilled on {resource} "{name}": {why}', 409, "Conflict", _details(resource, name))


def invalid(kind: str, group: str, name: str, causes: list[Obj]) -> ApiError:
    """NewInvalid: causes are {"type": FieldValueInvalid…, "field": path, "message": text}.

    The message joins the field errors like field.ErrorList.ToAggregate(): one as is, several in [a, b].
    """
    qualified = f"{kind}.{group}" if group else kind
    texts = [f"{c['field']}: {c['message']}" for c in causes]
    joined = texts[0] if len(texts) == 1 else f"[{', '.join(texts)}]"
    details: Obj = {k: v for k, v in (("name", name), ("group", group), ("kind", kind)) if v}
    details["causes"] = causes
    return ApiError(f'{qualified} "{name}" is invalid: {joined}', 422, "Invalid", details)


def field_invalid(field: str, value: Any, detail: str, *, go_value: str | None = None) -> Obj:
    """A FieldValueInvalid cause, as field.Invalid(...).Error() words it (`go_value`: the %#v of a
    Go struct, when the value is one)."""
    shown = go_value if go_value is not None else json.dumps(value, ensure_ascii=False) if isinstance(value, str) else \
        str(value).lower() if isinstance(value, bool) else value
    return {"reason": "FieldValueInvalid", "message": f"Invalid value: {shown}: {detail}", "field": field}


def go_value(value: Any) -> str:
    """Go's `%+v` of a decoded JSON value (map[string]interface{}: sorted `key:value`, slices `[a b]`)."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def field_required(field: str, detail: str = "") -> Obj:
    return {"reason": "FieldValueRequired", "message": "Required value" + (f": {detail}" if detail else ""), "field": field}


def bad_request(message: str) -> ApiError:
    return ApiError(message, 400, "BadRequest")


def method_not_supported(resource: str, action: str) -> ApiError:
    return ApiError(f'{action} is not supported on resources of kind "{resource}"', 405, "MethodNotAllowed", _details(resource, None))


def expired(message: str) -> ApiError:
    return ApiError(message, 410, "Expired")


def not_acceptable(message: str) -> ApiError:
    return ApiError(message, 406, "NotAcceptable")


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(f'the body of the request was in an unknown format - accepted media types include: '
                    f'application/json, application/yaml, application/apply-patch+yaml, application/merge-patch+json, '
                    f'application/json-patch+json, application/strategic-merge-patch+json ({content_type})', 415, "UnsupportedMediaType")


def path_not_found() -> ApiError:
    """A URL that names nothing served (NewGenericServerResponse 404)."""
    return ApiError("the server could not find the requested resource", 404, "NotFound", {})


def lab_cannot(message: str) -> ApiError:
    """What the lab does not do (attach, port-forward, metrics…): a clear Status in Spanish."""
    return ApiError(message, 400, "BadRequest")
