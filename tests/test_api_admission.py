"""Istio's validation as the API's admission (lab/cluster/api/admission.py), without HTTP: which writes
it looks at, every http rule with its index, and the metav1.Status it hands back unchanged — through
the registry (strict decoding, then the CRD's schema and CEL rules for the whole object, then the
webhook, as kube-apiserver orders them) and, where only the webhook is meant, the hook alone.

The messages are Istio's (release-1.31 `pkg/config/validation/validation.go` validateHTTPRetry, the
CRD's CEL rule for durations; held to Istio's own test data in tests/test_lab_istio_*.py); here they
only show which layer answered and for which rule."""

from __future__ import annotations

import pytest

from lab.cluster.api.admission import istio_validation
from lab.cluster.api.errors import ApiError
from lab.cluster.api.registry import Admission, Registry
from lab.cluster.api.store import Store
from lab.cluster.istio import VIRTUALSERVICES

ROUTE = {"route": [{"destination": {"host": "backend1"}}]}
WEBHOOK = 'admission webhook "validation.istio.io" denied the request: configuration is invalid: '


def vs(*http: object, spec: dict | None = None) -> dict:
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "backend1"},
            "spec": spec if spec is not None else {"hosts": ["backend1"], "http": list(http)}}


def hook_refusal(obj: dict) -> dict:
    """The webhook alone."""
    with pytest.raises(ApiError) as refused:
        istio_validation(VIRTUALSERVICES, obj, None, False)
    return refused.value.status


def refusal(obj: dict) -> dict:
    """A write of the VirtualService through the registry, with kubectl's fieldValidation=Strict."""
    registry = Registry(Store(), Admission(validating=[istio_validation]))
    registry.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    with pytest.raises(ApiError) as refused:
        registry.create(VIRTUALSERVICES, obj, field_validation="Strict", namespace="default")
    return refused.value.status


def test_a_valid_virtual_service_and_other_kinds_pass() -> None:
    istio_validation(VIRTUALSERVICES, vs({**ROUTE, "retries": {"attempts": 0}}), None, False)
    istio_validation(VIRTUALSERVICES, vs(spec={}), None, False)  # sin http: nada que validar aquí
    istio_validation(VIRTUALSERVICES, vs("no es un objeto", ROUTE), None, True)  # el CRD lo rechaza antes
    # Lo mismo que Istio rechazaría, en otro tipo, no es cosa de su webhook.
    istio_validation("deployments.apps", vs({**ROUTE, "retries": {"attempts": -1}}), None, False)


def test_the_webhook_denial_is_a_400_without_reason() -> None:
    status = refusal(vs({**ROUTE, "retries": {"attempts": 2, "retryOn": "5xx,bogus"}}))
    assert status["message"] == WEBHOOK + '"bogus" is not a valid retryOn policy'
    assert status["code"] == 400 and not status.get("reason") and status["status"] == "Failure"


def test_every_rule_is_checked_with_its_index_and_the_crd_answers_invalid() -> None:
    bad = {**ROUTE, "retries": {"attempts": 2, "perTryTimeout": "999us"}}
    status = refusal(vs(ROUTE, bad))
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["message"] == ('VirtualService.networking.istio.io "backend1" is invalid: spec.http[1].retries.perTryTimeout: '
                                 'Invalid value: "string": must be a valid duration greater than 1ms')
    assert status["details"]["name"] == "backend1" and status["details"]["causes"][0]["field"] == "spec.http[1].retries.perTryTimeout"


def test_the_first_refused_rule_answers() -> None:
    status = hook_refusal(vs({**ROUTE, "retries": {"attempts": -1}}, {**ROUTE, "retries": {"perTryTimeout": "0s"}}))
    assert status["code"] == 400 and "attempts cannot be negative" in status["message"]


def test_a_crd_error_in_any_route_wins_over_the_webhook() -> None:
    """kube-apiserver validates the whole object against the CRD (store.go: BeforeCreate) before it
    calls the validating webhook: the 0s of http[1] is the answer, not the -1 of http[0]."""
    status = refusal(vs({**ROUTE, "retries": {"attempts": -1}}, {**ROUTE, "retries": {"perTryTimeout": "0s"}}))
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "spec.http[1].retries.perTryTimeout"


def test_an_unknown_retries_field_names_the_version_the_object_was_sent_in() -> None:
    # Kubernetes v1.36.3: k8s.io/apiserver pkg/endpoints/handlers/rest.go transformDecodeError, «%s in version %q
    # cannot be handled as a %s: %v» with the kind and version of the body, as errors.NewBadRequest (400
    # «BadRequest»); k8s.io/apimachinery pkg/runtime/error.go strictDecodingError: «strict decoding error: » + causes.
    beta = {**vs({**ROUTE, "retries": {"attempts": 2, "retryOnn": "5xx"}}), "apiVersion": "networking.istio.io/v1beta1"}
    status = refusal(beta)
    assert status["message"] == ('VirtualService in version "v1beta1" cannot be handled as a VirtualService: '
                                 'strict decoding error: unknown field "spec.http[0].retries.retryOnn"')
    assert (status["code"], status["reason"]) == (400, "BadRequest")

