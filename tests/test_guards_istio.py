"""La validación de Istio (lab/cluster/istio/validation.py) en sus fronteras exactas y la conversión
(lab/cluster/meshpolicy.py#convert_policy) contra valores escritos aquí a mano desde el código de
Istio, no leídos de retries.json (el archivo que lee la implementación). Python puro.

Las fuentes, en istio/istio release-1.31 (commit a8d7012191ebf42bacd48fa72b32a05828e4c564):
- pkg/config/validation/agent/validation.go#ValidateDuration: `if dur < time.Millisecond` →
  «duration must be greater than 1ms»; `if dur%time.Millisecond != 0` → «only durations to ms
  precision are supported». 1ms vale; 999µs no; 1.5ms no (precisión).
- manifests/charts/base/files/crd-all.gen.yaml, perTryTimeout/backoff/timeout de HTTPRoute:
  `x-kubernetes-validations: rule: duration(self) >= duration('1ms')`, message «must be a valid
  duration greater than 1ms»: también 1ms vale (>=) y 999µs no.
- pilot/pkg/networking/core/route/retry/retry.go: defaultRetryOn = "connect-failure,refused-stream,
  unavailable,cancelled,retriable-status-codes", NumRetries 2, HostSelectionRetryMaxAttempts 5,
  RetryHostPredicate previous_hosts; `in.Attempts <= 0` → nil; parseRetryOn (TrimSpace, Atoi +
  StatusText) y «,retriable-status-codes» si hay códigos y el texto no lo tiene.
"""

from __future__ import annotations

import copy

import pytest
from istio_cases import ISTIO_DEFAULT_POLICY

from lab.cluster.istio import validation
from lab.cluster.istio.validation import check_http_route, webhook_errors
from lab.cluster.meshpolicy import convert_policy
from lab.errors import LabError, StatusError

ISTIO_DEFAULT = ISTIO_DEFAULT_POLICY  # escrita a mano desde retry.go en tests/istio_cases.py
ISTIO_RETRY_ON, PREVIOUS_HOSTS = ISTIO_DEFAULT["retryOn"], ISTIO_DEFAULT["retryHostPredicate"]
CEL = "must be a valid duration greater than 1ms"
TOO_SHORT, NOT_MS = "duration must be greater than 1ms", "only durations to ms precision are supported"


def refusal(retries: dict | None = None, timeout: str | None = None) -> StatusError | None:
    rule: dict = {"route": [{"destination": {"host": "backend1"}}], "retries": retries}
    if timeout is not None:
        rule["timeout"] = timeout
    try:
        check_http_route("vs", "networking.istio.io/v1", 0, rule)
    except StatusError as exc:
        return exc
    return None


@pytest.mark.parametrize("field", ["perTryTimeout", "backoff"])
@pytest.mark.parametrize("value", ["1ms", "1000us", "1000000ns", "0.001s", "2ms", "1s"])
def test_one_millisecond_and_more_is_accepted(field: str, value: str) -> None:
    assert refusal({"attempts": 3, field: value}) is None
    assert webhook_errors({"attempts": 3, field: value}) is None


@pytest.mark.parametrize("value", ["1ms", "1000us", "5s"])
def test_a_route_timeout_of_one_millisecond_is_accepted(value: str) -> None:
    assert refusal({"attempts": 3}, timeout=value) is None


@pytest.mark.parametrize("field", ["perTryTimeout", "backoff"])
@pytest.mark.parametrize("value", ["999us", "999999ns", "0.9ms", "0s", "0", "-1ms"])
def test_under_one_millisecond_the_crd_refuses_before_the_webhook(field: str, value: str) -> None:
    refused = refusal({"attempts": 3, field: value})
    assert refused is not None and refused.status["code"] == 422 and refused.status["reason"] == "Invalid"
    assert refused.status["details"]["causes"] == [
        {"field": f"spec.http[0].retries.{field}", "message": f'Invalid value: "string": {CEL}'}
    ]
    assert webhook_errors({"attempts": 3, field: value}) == TOO_SHORT  # y el webhook, si llegara


def test_a_route_timeout_under_one_millisecond_is_refused_by_the_crd() -> None:
    refused = refusal({"attempts": 3}, timeout="999us")
    assert refused is not None and refused.status["details"]["causes"][0]["field"] == "spec.http[0].timeout"


@pytest.mark.parametrize("value", ["1500us", "1001us", "1000001ns", "2.5ms"])
def test_over_one_millisecond_but_not_whole_milliseconds_is_refused_by_the_webhook(value: str) -> None:
    refused = refusal({"attempts": 3, "perTryTimeout": value})
    assert refused is not None and refused.status["code"] == 400
    assert str(refused) == f'admission webhook "validation.istio.io" denied the request: configuration is invalid: {NOT_MS}'


def test_attempts_boundaries() -> None:
    assert refusal({"attempts": 0}) is None and refusal({"attempts": 1}) is None
    zero = refusal({"attempts": 0, "perTryTimeout": "2s"})
    assert zero is not None and "http retry policy configured when attempts are set to 0 (disabled)" in str(zero)
    negative = refusal({"attempts": -1})
    assert negative is not None and "attempts cannot be negative" in str(negative)


def test_without_a_policy_istio_uses_its_default_without_503() -> None:
    assert convert_policy(None) == ISTIO_DEFAULT


@pytest.mark.parametrize("attempts", [0, -1, None])
def test_zero_or_no_attempts_disable_retries(attempts: int | None) -> None:
    assert convert_policy({"attempts": attempts, "retryOn": "5xx"}) is None
    assert convert_policy({}) is None


def test_the_course_mesh_policy_is_istios_default_plus_503() -> None:
    """apps/istio/istio-operator.yaml: attempts 2, el retryOn de Istio y 503 (lo que promete el paso 1)."""
    policy = convert_policy({"attempts": 2, "retryOn": f"{ISTIO_RETRY_ON},503"})
    assert policy == {**ISTIO_DEFAULT, "retriableStatusCodes": [503]}


@pytest.mark.parametrize(("retry_on", "words", "codes"), [
    ("503", ",retriable-status-codes", [503]),                   # la coma delante, como Istio
    ("5xx, 503 ,gateway-error", "5xx,gateway-error,retriable-status-codes", [503]),
    ("retriable-status-codes,503,504", "retriable-status-codes", [503, 504]),
    ("5xx,,", "5xx", None),
    ("5xx,429,499,600", "5xx,499,600,retriable-status-codes", [429]),  # 499 y 600: sin StatusText en Go
])
def test_retry_on_is_split_like_parse_retry_on(retry_on: str, words: str, codes: list[int] | None) -> None:
    policy = convert_policy({"attempts": 3, "retryOn": retry_on})
    assert policy is not None and policy["retryOn"] == words and policy.get("retriableStatusCodes") == codes
    assert policy["numRetries"] == 3 and policy["retryHostPredicate"] == PREVIOUS_HOSTS


def test_each_field_of_httpretry_reaches_envoy() -> None:
    policy = convert_policy({"attempts": 1, "perTryTimeout": "1.5s", "backoff": "25ms",
                             "retryIgnorePreviousHosts": False, "retryRemoteLocalities": True})
    assert policy == {
        "retryOn": ISTIO_RETRY_ON, "numRetries": 1, "hostSelectionRetryMaxAttempts": "5",
        "perTryTimeout": "1.500s", "retryBackOff": {"baseInterval": "0.025s"},
        "retryPriority": {
            "name": "envoy.retry_priorities.previous_priorities",
            "typedConfig": {
                "@type": "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig",
                "updateFrequency": 2,
            },
        },
    }
    kept = convert_policy({"attempts": 1, "retryIgnorePreviousHosts": True, "retryRemoteLocalities": False})
    assert kept == {**ISTIO_DEFAULT, "numRetries": 1}


# --------------------------------------------------------------------------- lo que mutmut vio sin prueba
# Las formas de los errores: apimachinery (errors.NewInvalid: «<Kind>.<grupo> "<nombre>" is invalid: »
# y, con más de una causa, el agregado «[a, b]»), el decodificador estricto («strict decoding error:
# unknown field "…", unknown field "…"») y kube-openapi («in body must be of type»).

PER_TRY = 'spec.http[0].retries.perTryTimeout: Invalid value: "string": must be a valid duration greater than 1ms'
ATTEMPTS = ('spec.http[0].retries.attempts: Invalid value: "string": spec.http[0].retries.attempts in body must be of '
            'type integer: "string"')


def test_one_crd_cause_and_two_crd_causes() -> None:
    one = refusal({"attempts": None, "perTryTimeout": "999us"})  # null cuenta como ausente y se sigue mirando
    assert one is not None and str(one) == f'VirtualService.networking.istio.io "vs" is invalid: {PER_TRY}'
    assert one.status["code"] == 422 and one.status["details"]["kind"] == "VirtualService" and one.status["details"]["name"] == "vs"
    two = refusal({"attempts": "dos", "perTryTimeout": "999us"})  # un tipo mal no para la revisión de los demás
    assert two is not None and str(two) == f'VirtualService.networking.istio.io "vs" is invalid: [{ATTEMPTS}, {PER_TRY}]'
    assert [c["field"] for c in two.status["details"]["causes"]] == ["spec.http[0].retries.attempts", "spec.http[0].retries.perTryTimeout"]


def test_retries_that_are_not_an_object() -> None:
    refused = refusal([3])  # type: ignore[arg-type]
    assert refused is not None and refused.status["details"]["causes"] == [{
        "field": "spec.http[0].retries",
        "message": 'Invalid value: "array": spec.http[0].retries in body must be of type object: "array"',
    }]


def test_a_duration_cel_cannot_parse() -> None:
    refused = refusal({"attempts": 3, "backoff": "ayer"})
    assert refused is not None
    (cause,) = refused.status["details"]["causes"]
    assert cause["field"] == "spec.http[0].retries.backoff"
    assert cause["message"].startswith('Invalid value: "string": type conversion error from \'string\' to \'google.protobuf.Duration\'')
    assert cause["message"].endswith(f"evaluating rule: {CEL}")


def test_a_cel_rule_the_lab_cannot_evaluate_stops_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = copy.deepcopy(validation.facts())
    changed["crd"]["http"]["retries"]["perTryTimeout"]["rules"] = [{"rule": "self != ''", "message": "m"}]
    monkeypatch.setattr(validation, "facts", lambda: changed)
    with pytest.raises(RuntimeError, match="no sabe evaluar: self != ''"):
        refusal({"attempts": 3, "perTryTimeout": "2s"})


def test_unknown_fields_are_a_strict_decoding_error() -> None:
    rule = {"route": [{"destination": {"host": "backend1"}}], "retries": {"attempts": 2, "uno": 1, "dos": 2}}
    with pytest.raises(StatusError) as refused:
        check_http_route("vs", "networking.istio.io/v1beta1", 0, rule)
    assert str(refused.value) == ('VirtualService in version "v1beta1" cannot be handled as a VirtualService: strict decoding '
                                  'error: unknown field "spec.http[0].retries.uno", unknown field "spec.http[0].retries.dos"')
    assert (refused.value.status["code"], refused.value.status["reason"]) == (400, "BadRequest")


def test_the_webhook_sees_the_route_timeout_and_missing_attempts() -> None:
    timeout = refusal({"attempts": 3}, timeout="1500us")
    assert timeout is not None and str(timeout).endswith(f"configuration is invalid: {NOT_MS}")
    assert timeout.status == {"message": str(timeout), "code": 400, "reason": "", "details": None}
    no_attempts = refusal({"perTryTimeout": "2s"})
    assert no_attempts is not None and str(no_attempts).endswith("http retry policy configured when attempts are set to 0 (disabled)")
    assert webhook_errors({"attempts": -1}, timeout="2s") == "1 error occurred:\n\t* attempts cannot be negative\n\n"


def test_retry_on_is_quoted_like_go() -> None:
    """%q de Go: comillas y barras escapadas, \\t y \\n con su barra."""
    assert webhook_errors({"attempts": 1, "retryOn": 'a"b\\c\td\ne'}) == '"a\\"b\\\\c\\td\\ne" is not a valid retryOn policy'


def test_the_policy_returned_is_a_copy() -> None:
    changed = convert_policy({"attempts": 1, "retryRemoteLocalities": True})
    assert changed is not None
    changed["retryHostPredicate"].append("otro")
    changed["retryPriority"]["typedConfig"]["updateFrequency"] = 9
    again = convert_policy({"attempts": 1, "retryRemoteLocalities": True})
    assert again is not None and again["retryHostPredicate"] == PREVIOUS_HOSTS
    assert again["retryPriority"]["typedConfig"]["updateFrequency"] == 2


@pytest.mark.parametrize(("field", "value"), [("perTryTimeout", "ayer"), ("backoff", "ayer"), ("perTryTimeout", 5)])
def test_a_bad_duration_names_its_field(field: str, value: object) -> None:
    with pytest.raises(LabError, match=f"^{field}: duración no válida «{value}» \\(ejemplos: 500ms, 2s\\)\\.$"):
        convert_policy({"attempts": 1, field: value})
