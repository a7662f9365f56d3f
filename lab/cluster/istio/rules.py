"""Casos de reglas que ningún test de Istio cubre, escritos a partir de su código.

Parte de regenerate.py. Cada caso dice dónde está la regla en Istio (`origin`); las salidas
esperadas se componen con los hechos extraídos de las fuentes (política por defecto, mensajes,
reglas del CRD), nunca con el código del laboratorio.
"""

from __future__ import annotations

from typing import Any

from lab.cluster.istio.sources import AGENT_GO, CRDS, RETRY_GO, ROUTE_GO, VALIDATION_GO


def case(id_: str, origin: str, retries: dict[str, Any] | None, expect: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": f"rule/{id_}", "origin": origin, "retries": retries, **extra, "expect": expect}


def rules(facts: dict[str, Any]) -> list[dict[str, Any]]:
    default, msg = facts["default_policy"], facts["validation"]["messages"]
    codes = "retriable-status-codes"

    def policy(**fields: Any) -> dict[str, Any]:
        return {"policy": {"exact": {**default, **fields}}}

    def denied(*errors: str, multi: bool = False) -> dict[str, Any]:
        if len(errors) == 1 and not multi:
            text = errors[0]
        else:  # hashicorp/go-multierror ListFormatFunc (v1.1.1 en el go.mod de Istio)
            points = "\n\t".join(f"* {e}" for e in errors)
            count = "1 error" if len(errors) == 1 else f"{len(errors)} errors"
            text = f"{count} occurred:\n\t{points}\n\n"
        return {"denied": {"by": "webhook", "message": msg["invalid_prefix"] + text}}

    def bad_retry_on(token: str) -> dict[str, Any]:
        return denied(msg["retry_on"].replace("%q", f'"{token}"'))

    def crd(field: str) -> dict[str, Any]:
        # apiextensions-apiserver: regla CEL incumplida → field.Invalid(ruta, tipo del esquema, mensaje).
        rule = facts["crd"]["http"]["retries"][field]["rules"][0]["message"]
        cause = {"field": f"spec.http[0].retries.{field}", "message": f'Invalid value: "string": {rule}'}
        return {"denied": {"by": "crd", "causes": [cause]}}

    route, conv = f"{ROUTE_GO}#applyHTTPRouteDestination", f"{RETRY_GO}#ConvertPolicy"
    val, agent, cel = f"{VALIDATION_GO}#validateHTTPRetry", f"{AGENT_GO}#ValidateDuration", f"{CRDS}#x-kubernetes-validations"
    no_hosts = {k: v for k, v in default.items() if k != "retryHostPredicate"}
    return [
        case("vs-retries-replace-mesh-default", route, {"attempts": 4}, policy(numRetries=4),
             note="la VirtualService sustituye entera a defaultHttpRetryPolicy: retryOn vuelve al de Istio"),
        case("vs-without-retries-uses-mesh-default", route, None, {"policy": "mesh"}),
        case("attempts-zero-disables", conv, {"attempts": 0}, {"policy": None}),
        case("status-codes-only-keep-leading-comma", f"{RETRY_GO}#parseRetryOn", {"attempts": 2, "retryOn": "503"},
             policy(retryOn="," + codes, retriableStatusCodes=[503])),
        case("status-codes-with-token", conv, {"attempts": 2, "retryOn": f"{codes},503,504"},
             policy(retryOn=codes, retriableStatusCodes=[503, 504])),
        case("backoff", conv, {"attempts": 2, "backoff": "100ms"}, policy(retryBackOff={"baseInterval": "0.100s"})),
        case("per-try-timeout", conv, {"attempts": 3, "perTryTimeout": "1.5s"}, policy(numRetries=3, perTryTimeout="1.500s")),
        case("retry-ignore-previous-hosts-true", conv, {"attempts": 2, "retryIgnorePreviousHosts": True}, policy()),
        case("retry-ignore-previous-hosts-false", conv, {"attempts": 2, "retryIgnorePreviousHosts": False},
             {"policy": {"exact": no_hosts}}),
        case("retry-remote-localities", conv, {"attempts": 2, "retryRemoteLocalities": True},
             policy(retryPriority=facts["retry_priority"])),
        case("attempts-negative", val, {"attempts": -1}, denied(msg["attempts_negative"], multi=True)),
        case("retry-on-unknown-word", val, {"attempts": 2, "retryOn": "5xx,sometimes"}, bad_retry_on("sometimes")),
        case("retry-on-space-after-comma", val, {"attempts": 2, "retryOn": "5xx, gateway-error"}, bad_retry_on(" gateway-error"),
             note="la validación no recorta espacios (el conversor sí)"),
        case("retry-on-trailing-comma", val, {"attempts": 2, "retryOn": "5xx,"}, bad_retry_on("")),
        case("retry-on-unknown-status-code", val, {"attempts": 2, "retryOn": "499"}, bad_retry_on("499")),
        case("per-try-timeout-sub-millisecond-precision", agent, {"attempts": 2, "perTryTimeout": "1500us"},
             denied(msg["duration_precision"])),
        case("attempts-zero-with-settings-two-errors", val, {"attempts": 0, "retryOn": "5xx", "backoff": "2.5ms"},
             denied(msg["attempts_zero"], msg["duration_precision"])),
        case("per-try-timeout-under-1ms", cel, {"attempts": 2, "perTryTimeout": "500us"}, crd("perTryTimeout")),
        case("backoff-under-1ms", cel, {"attempts": 2, "backoff": "999ns"}, crd("backoff")),
    ]


# Se comprueban con la política de la malla (meshConfig.defaultHttpRetryPolicy), sin VirtualService.
MESH_RULES = [
    {"id": "mesh/no-default-policy", "origin": f"{ROUTE_GO}#BuildDefaultHTTPOutboundRoute", "mesh_retries": "absent",
     "expect": {"policy": "default"}},
    {"id": "mesh/empty-policy-disables", "origin": f"{RETRY_GO}#ConvertPolicy", "mesh_retries": {},
     "expect": {"policy": None}},
]
