"""Istio's validation of VirtualServices as the API sees it: a validating admission.

On a cluster the order is: strict decoding (registry.py, from the CRD's schema) → the CRD's
structural schema and CEL rules (apiextensions-apiserver; strategy.py through crdvalidation.py) →
Istio's validating webhook `validation.istio.io` (istiod pkg/webhooks/validation/server/server.go).
This module is the last one: lab/cluster/istio/validation.py's `webhook_check` (Istio's rules and
messages at ISTIO_VERSION) for every route of every write of a VirtualService, its metav1.Status
handed back as an ApiError (k8s.io/apiserver pkg/admission/plugin/webhook/errors/statuserror.go
wording comes from validation.py).
"""

from __future__ import annotations

from typing import Any

from lab.cluster.api.errors import ApiError
from lab.cluster.istio import VIRTUALSERVICES
from lab.cluster.istio.validation import webhook_check
from lab.errors import StatusError

Obj = dict[str, Any]


def istio_validation(resource: str, new: Obj, old: Obj | None, dry_run: bool) -> None:
    """Admission hook: raises ApiError (the webhook's denial) for a VirtualService Istio refuses."""
    if resource != VIRTUALSERVICES:
        return
    spec = new.get("spec") or {}
    try:
        for rule in spec.get("http") or []:
            if isinstance(rule, dict):
                webhook_check(rule)
    except StatusError as refused:  # the webhook's denial: a Status with its code, no reason and no details
        raise ApiError(refused.status["message"], refused.status["code"]) from None
