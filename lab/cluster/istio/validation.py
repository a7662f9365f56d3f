"""Lo que responde el servidor de API a `kubectl apply` de una ruta http de una VirtualService.

Las tres capas de un clúster real, en su orden (la primera que falla responde):
1. Decodificación estricta (kubectl ≥ 1.27 pide `fieldValidation=Strict`): un campo que el CRD no
   declara → 400 BadRequest «strict decoding error: unknown field …».
2. El esquema del CRD (Istio manifests/charts/base/files/crd-all.gen.yaml): tipos y reglas CEL
   `duration(self) >= duration('1ms')` → 422 Invalid con una causa por campo (apiextensions-apiserver
   pkg/apiserver/schema/cel/validation.go: `field.Invalid(ruta, tipo, mensaje de la regla)`).
3. El webhook de Istio: `validateHTTPRetry` y `agent.ValidateDuration` (pkg/config/validation/) y el
   «configuration is invalid: » de pkg/webhooks/validation/server/server.go; el servidor de API lo
   envuelve en «admission webhook "…" denied the request: …», código 400 y sin `reason`
   (k8s.io/apiserver pkg/admission/plugin/webhook/errors/statuserror.go#ToStatusErr).
Los errores se juntan como hashicorp/go-multierror (v1.1.1 en el go.mod de Istio): uno solo va tal
cual; si el primero ya nació como multierror, o hay más de uno, con «N error(s) occurred:».
Los mensajes, tokens y reglas vienen de retries.json (los lee `facts()`); aquí solo está la lógica.
"""

from __future__ import annotations

from typing import Any

from lab.cluster.istio import facts
from lab.cluster.istio.gotypes import is_status_code, parse_duration
from lab.errors import StatusError

CEL_MIN_1MS = "duration(self) >= duration('1ms')"
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def check_http_route(name: str, api_version: str, index: int, rule: dict[str, Any]) -> None:
    """StatusError (como la daría el servidor de API) si la ruta http[index] no pasaría."""
    retries = rule.get("retries")
    path = f"spec.http[{index}]"
    schema = facts()["crd"]["http"]
    if isinstance(retries, dict):
        unknown = [k for k in retries if k not in schema["retries"]]
        if unknown:
            kind = facts()["crd"]["kind"]
            fields = ", ".join(f'unknown field "{path}.retries.{k}"' for k in unknown)
            version = api_version.split("/")[-1]
            raise StatusError(
                f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: {fields}',
                code=400, reason="BadRequest",
            )
    causes = crd_causes(index, rule)
    if causes:
        raise _invalid(name, causes)
    webhook_check(rule)


def crd_causes(index: int, rule: dict[str, Any]) -> list[dict[str, str]]:
    """What the CRD's schema and CEL rules say of http[index].retries and .timeout (the apiserver's
    validation of the whole object, before any admission webhook), as field causes."""
    schema = facts()["crd"]["http"]
    return _crd_causes(f"spec.http[{index}]", rule, rule.get("retries"), schema)


def webhook_check(rule: dict[str, Any]) -> None:
    """StatusError with the denial of Istio's validating webhook for one route (after the CRD's checks)."""
    retries = rule.get("retries")
    errors = webhook_errors(retries if isinstance(retries, dict) else None, rule.get("timeout"))
    if errors is not None:
        webhook = facts()["validation"]["webhook"]
        message = facts()["validation"]["messages"]["invalid_prefix"] + errors
        raise StatusError(f'admission webhook "{webhook}" denied the request: {message}', code=400, reason="")


def _crd_causes(path: str, rule: dict[str, Any], retries: Any, schema: dict[str, Any]) -> list[dict[str, str]]:
    causes = []
    if retries is not None and not isinstance(retries, dict):
        causes.append(_type_cause(f"{path}.retries", retries, "object"))
    fields = [(f"{path}.retries.{k}", v, schema["retries"][k]) for k, v in (retries or {}).items()] if isinstance(retries, dict) else []
    if "timeout" in rule:
        fields.append((f"{path}.timeout", rule["timeout"], schema["timeout"]))
    for where, value, field in fields:
        if value is None:
            continue  # null: el servidor lo trata como ausente
        if JSON_TYPES.get(type(value)) != field["type"]:
            causes.append(_type_cause(where, value, field["type"]))
            continue
        for check in field.get("rules", []):
            if check["rule"] != CEL_MIN_1MS:
                raise RuntimeError(f"regla CEL que el laboratorio no sabe evaluar: {check['rule']}")
            nanos = parse_duration(value)
            if nanos is None:  # cel-go: duration() de un texto que time.ParseDuration no acepta
                message = f"type conversion error from 'string' to 'google.protobuf.Duration' evaluating rule: {check['message']}"
                causes.append({"field": where, "message": f'Invalid value: "string": {message}'})
            elif nanos < 10**6:
                causes.append({"field": where, "message": f'Invalid value: "string": {check["message"]}'})
    return causes


def _type_cause(where: str, value: Any, expected: str) -> dict[str, str]:
    # kube-openapi validate: «<ruta> in body must be of type <tipo>: "<tipo recibido>"».
    got = JSON_TYPES.get(type(value), "null")
    return {"field": where, "message": f'Invalid value: "{got}": {where} in body must be of type {expected}: "{got}"'}


def _invalid(name: str, causes: list[dict[str, str]]) -> StatusError:
    kind = facts()["crd"]["kind"]
    text = "; ".join(f"{c['field']}: {c['message']}" for c in causes)
    if len(causes) > 1:
        text = f"[{', '.join(c['field'] + ': ' + c['message'] for c in causes)}]"
    return StatusError(
        f'{kind}.networking.istio.io "{name}" is invalid: {text}',
        code=422, reason="Invalid", details={"kind": kind, "name": name, "causes": causes},
    )


def webhook_errors(retries: dict[str, Any] | None, timeout: Any = None) -> str | None:
    """El texto de error de Istio para los reintentos y el timeout de una ruta (None: válida)."""
    msg = facts()["validation"]["messages"]
    tokens = set(facts()["validation"]["retry_on_tokens"])
    errors: list[str] = []
    multi = False
    if retries is not None:
        attempts = retries.get("attempts", 0) or 0
        if attempts < 0:
            errors.append(msg["attempts_negative"])
            multi = "attempts_negative" in facts()["validation"]["multierror_first"]
        retry_on = retries.get("retryOn") or ""
        if attempts == 0 and (retries.get("perTryTimeout") is not None or retry_on or retries.get("retryRemoteLocalities") is not None):
            errors.append(msg["attempts_zero"])
        if retries.get("perTryTimeout") is not None:
            errors += _duration_errors(retries["perTryTimeout"])
        if retry_on:
            for policy in retry_on.split(","):  # sin recortar espacios: así lo hace Istio
                if not is_status_code(policy) and policy not in tokens:
                    errors.append(msg["retry_on"].replace("%q", _go_quote(policy)))
        if retries.get("backoff") is not None:
            errors += _duration_errors(retries["backoff"])
    if timeout is not None:
        errors += _duration_errors(timeout)
    if not errors:
        return None
    if len(errors) == 1 and not multi:
        return errors[0]
    points = "\n\t".join(f"* {e}" for e in errors)
    head = "1 error occurred" if len(errors) == 1 else f"{len(errors)} errors occurred"
    return f"{head}:\n\t{points}\n\n"


def _duration_errors(value: str) -> list[str]:
    msg = facts()["validation"]["messages"]
    nanos = parse_duration(value)
    if nanos is None:
        return []  # el CRD ya lo ha rechazado antes de llegar aquí
    if nanos < 10**6:
        return [msg["duration_min"]]
    if nanos % 10**6:
        return [msg["duration_precision"]]
    return []


def _go_quote(text: str) -> str:
    """%q de Go para los textos que aparecen en retryOn (ASCII imprimible, comillas y barras)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
    return f'"{escaped}"'
