"""Istio's validation of VirtualServices as the API sees it: a validating admission.

On a cluster the order is: strict decoding (registry.py, from the CRD's schema) → the CRD's
structural schema and CEL rules (apiextensions-apiserver) → Istio's validating webhook
`validation.istio.io` (istiod pkg/webhooks/validation/server/server.go). The rules and messages of
the last two are lab/cluster/istio/validation.py's (`check_http_route`, from Istio's sources at
ISTIO_VERSION); this module runs them for every write of a VirtualService and hands back its
metav1.Status as an ApiError (k8s.io/apiserver pkg/admission/plugin/webhook/errors/statuserror.go
wording comes from validation.py).
"""

from __future__ import annotations

from typing import Any

from lab.cluster.api.errors import ApiError
from lab.cluster.istio import VIRTUALSERVICES
from lab.cluster.istio.validation import check_http_route
from lab.errors import StatusError

Obj = dict[str, Any]


def istio_validation(resource: str, new: Obj, old: Obj | None, dry_run: bool) -> None:
    """Admission hook: raises ApiError (Invalid or the webhook's denial) for a VirtualService Istio refuses."""
    if resource != VIRTUALSERVICES:
        return
    # The registry runs admission after strategy.prepare_for_create/update (which set apiVersion) and
    # after validation (which requires metadata.name), as the apiserver does (rest.BeforeCreate first).
    name, api_version = new["metadata"]["name"], new["apiVersion"]
    spec = new.get("spec") or {}
    try:
        for index, rule in enumerate(spec.get("http") or []):
            if isinstance(rule, dict):
                check_http_route(name, api_version, index, rule)
    except StatusError as refused:
        status = refused.status
        raise ApiError(status["message"], status["code"], status.get("reason") or "", status.get("details")) from None
