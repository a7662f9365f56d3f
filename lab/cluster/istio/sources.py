"""Lectura de las fuentes de Istio para regenerate.py: los archivos, sus blobs y los hechos.

Cada función toma datos de un archivo de Istio y falla con un mensaje (GoDataError) si ese
archivo ya no tiene la forma que espera: mejor pararse que escribir datos a medias.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from lab.cluster.istio import VIRTUALSERVICES
from lab.cluster.istio.golit import Duration, GoDataError, Ref, Struct, var_block

SETUP = Path(__file__).resolve().parents[3] / "setup.sh"

RETRY_GO = "pilot/pkg/networking/core/route/retry/retry.go"
RETRY_TEST = "pilot/pkg/networking/core/route/retry/retry_test.go"
ROUTE_GO = "pilot/pkg/networking/core/route/route.go"
FILTERS_GO = "pilot/pkg/xds/filters/filters.go"
VALIDATION_GO = "pkg/config/validation/validation.go"
VALIDATION_TEST = "pkg/config/validation/validation_test.go"
AGENT_GO = "pkg/config/validation/agent/validation.go"
WEBHOOK_GO = "pkg/webhooks/validation/server/server.go"
CRDS = "manifests/charts/base/files/crd-all.gen.yaml"
DEFAULT_VALIDATOR = "manifests/charts/base/templates/defaultrevision-validatingwebhookconfiguration.yaml"
MESH_TEMPLATE = "manifests/charts/istio-control/istio-discovery/templates/configmap.yaml"
DISCOVERY_VALUES = "manifests/charts/istio-control/istio-discovery/values.yaml"
HELPERS = "manifests/charts/istio-control/istio-discovery/templates/_helpers.tpl"

# Campos int64 de envoy.config.route.v3.RetryPolicy (envoy api route_components.proto): el JSON
# de proto3 los escribe como cadena, y así los enseña el config_dump de Envoy.
INT64_FIELDS = {"hostSelectionRetryMaxAttempts"}
# HTTPRetry (istio/api networking/v1alpha3/virtual_service.proto) → nombre en el YAML.
HTTP_RETRY_FIELDS = {
    "Attempts": "attempts",
    "PerTryTimeout": "perTryTimeout",
    "RetryOn": "retryOn",
    "RetryRemoteLocalities": "retryRemoteLocalities",
    "RetryIgnorePreviousHosts": "retryIgnorePreviousHosts",
    "Backoff": "backoff",
}


class Source:
    """Los archivos de una ref de un clon de istio/istio, con el blob de cada uno."""

    def __init__(self, checkout: Path, ref: str) -> None:
        self.checkout, self.ref, self.blobs = checkout, ref, {}
        self.commit = self.git("rev-parse", f"{ref}^{{commit}}").strip()

    def git(self, *args: str) -> str:
        proc = subprocess.run(["git", "-C", str(self.checkout), *args], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"git {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def read(self, path: str) -> str:
        self.blobs[path] = self.git("rev-parse", f"{self.ref}:{path}").strip()
        return self.git("show", f"{self.ref}:{path}")

    def has_tag(self, tag: str) -> bool:
        return self.tag_exists(self.checkout, tag)

    @staticmethod
    def tag_exists(checkout: Path, tag: str) -> bool:
        command = ["git", "-C", str(checkout), "rev-parse", "-q", "--verify", f"refs/tags/{tag}"]
        return subprocess.run(command, capture_output=True).returncode == 0


def istio_version() -> str:
    match = re.search(r"^ISTIO_VERSION=([0-9][^\s#]*)", SETUP.read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise SystemExit(f"No encuentro la línea ISTIO_VERSION= en {SETUP}.")
    return match.group(1)


# ----------------------------------------------------------------------------- valores → JSON
def duration_yaml(value: Duration) -> str:
    """La misma duración como la escribiría alguien en el YAML (sintaxis de time.ParseDuration)."""
    for unit, size in (("h", 3600 * 10**9), ("m", 60 * 10**9), ("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if value.nanos % size == 0:
            return f"{value.nanos // size}{unit}"
    return f"{value.nanos}ns"


def http_retry_yaml(retry: Struct) -> dict[str, Any]:
    out = {}
    for field, value in retry.fields.items():
        if field not in HTTP_RETRY_FIELDS:
            raise GoDataError(f"campo de HTTPRetry desconocido: {field}")
        out[HTTP_RETRY_FIELDS[field]] = duration_yaml(value) if isinstance(value, Duration) else value
    return out


def camel(path: str) -> str:
    parts = [p for p in path.split(".") if p != "Value"]
    return ".".join(p[0].lower() + p[1:] for p in parts)


def type_url(imports: dict[str, str], alias_and_message: str) -> str:
    alias, message = alias_and_message.split(".")
    package = imports[alias].split("go-control-plane/", 1)[1].replace("/", ".")
    return f"type.googleapis.com/{package}.{message}"


def go_imports(text: str) -> dict[str, str]:
    block = re.search(r"^import \((.*?)^\)", text, re.MULTILINE | re.DOTALL)
    out = {}
    for alias, path in re.findall(r'^\s*(?:(\w+)\s+)?"([^"]+)"', block.group(1) if block else "", re.MULTILINE):
        out[alias or path.rsplit("/", 1)[-1]] = path
    return out


# ----------------------------------------------------------------------------- hechos de Istio
def retry_facts(src: Source) -> dict[str, Any]:
    retry_go, filters_go, route_go = src.read(RETRY_GO), src.read(FILTERS_GO), src.read(ROUTE_GO)
    names = ["defaultNumRetries", "defaultRetryOn", "cachedDefaultPolicy", "cachedRetryRemoteLocalitiesPredicate"]
    var = var_block(retry_go, names)
    policy = var["cachedDefaultPolicy"].fields
    if policy["RetryHostPredicate"] != Ref("defaultRetryHostPredicate") or "xdsfilters.RetryPreviousHosts" not in retry_go:
        raise GoDataError("retry.go: la política por defecto ya no usa xdsfilters.RetryPreviousHosts")
    predicate = var_block(filters_go, ["RetryPreviousHosts"])["RetryPreviousHosts"].fields
    any_call = re.search(r"RetryPreviousHosts = .*?MessageToAny\(&(\w+\.\w+)\{\}\)", filters_go, re.DOTALL)
    priority = var["cachedRetryRemoteLocalitiesPredicate"].fields
    frequency = re.search(r"UpdateFrequency:\s*int32\((\d+)\)", retry_go)
    priority_any = re.search(r"buildPreviousPrioritiesConfig\(\) \*(\w+)\.(\w+)", retry_go)
    inbound = re.search(
        r'func BuildDefaultHTTPInboundRoute.*?RetryOn:\s*"([^"]+)".*?Value:\s*(\d+)', route_go, re.DOTALL
    )
    if not (any_call and frequency and priority_any and inbound):
        raise GoDataError("retry.go/filters.go/route.go cambiaron de forma: revisa regenerate.retry_facts")
    host_predicate = {
        "name": predicate["Name"],
        "typedConfig": {"@type": type_url(go_imports(filters_go), any_call.group(1))},
    }
    default = {
        "retryOn": var["defaultRetryOn"],
        "numRetries": var["defaultNumRetries"].fields["Value"],
        "retryHostPredicate": [host_predicate],
        "hostSelectionRetryMaxAttempts": str(policy["HostSelectionRetryMaxAttempts"]),
    }
    return {
        "default_policy": default,
        "retry_priority": {
            "name": priority["Name"],
            "typedConfig": {
                "@type": type_url(go_imports(retry_go), ".".join(priority_any.groups())),
                "updateFrequency": int(frequency.group(1)),
            },
        },
        "inbound_policy": {"retryOn": inbound.group(1), "numRetries": int(inbound.group(2))},
    }


def validation_facts(src: Source) -> dict[str, Any]:
    validation_go, agent_go, webhook_go = src.read(VALIDATION_GO), src.read(AGENT_GO), src.read(WEBHOOK_GO)
    tokens = re.search(r"supportedRetryOnPolicies = sets\.New\((.*?)\n\t\)", validation_go, re.DOTALL)
    retry_fn = re.search(r"^func validateHTTPRetry\(.*?^}", validation_go, re.MULTILINE | re.DOTALL)
    duration_fn = re.search(r"^func ValidateDuration\(.*?^}", agent_go, re.MULTILINE | re.DOTALL)
    invalid = re.search(r'fmt\.Errorf\("(configuration is invalid: )%v", err\)', webhook_go)
    if not (tokens and retry_fn and duration_fn and invalid):
        raise GoDataError("validation.go/agent/validation.go/server.go cambiaron de forma")
    retry_messages = re.findall(r'(?:errors\.New|fmt\.Errorf)\("([^"]*)"', retry_fn.group())
    duration_messages = re.findall(r'errors\.New\("([^"]*)"\)', duration_fn.group())
    if len(retry_messages) != 3 or len(duration_messages) != 2 or "time.Millisecond" not in duration_fn.group():
        raise GoDataError("validateHTTPRetry o ValidateDuration cambiaron: revisa regenerate.validation_facts")
    if "multierror.Append(errs, errors.New(" not in retry_fn.group().split("\n\n")[1]:
        raise GoDataError("validateHTTPRetry: el error de attempts < 0 ya no va en un multierror")
    return {
        "retry_on_tokens": sorted(re.findall(r'"([^"]+)"', tokens.group(1))),
        "messages": {
            "attempts_negative": retry_messages[0],
            "attempts_zero": retry_messages[1],
            "retry_on": retry_messages[2],
            "duration_min": duration_messages[0],
            "duration_precision": duration_messages[1],
            "invalid_prefix": invalid.group(1),
        },
        # El primer error de validateHTTPRetry (attempts < 0) nace como multierror de 1 error.
        "multierror_first": ["attempts_negative"],
        "webhook": webhook_name(src),
    }


def webhook_name(src: Source) -> str:
    names = re.findall(r"^\s*- name: ([\w.]+)", src.read(DEFAULT_VALIDATOR), re.MULTILINE)
    if len(names) != 1:
        raise GoDataError(f"{DEFAULT_VALIDATOR}: esperaba un solo webhook y hay {names}")
    return names[0]


def crd_facts(src: Source) -> dict[str, Any]:
    for doc in yaml.safe_load_all(src.read(CRDS)):
        if doc and doc["metadata"]["name"] == VIRTUALSERVICES:
            versions = {v["name"]: v for v in doc["spec"]["versions"]}
            http = versions["v1"]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["http"]["items"]
            schemas = {v: _http(s) for v, s in versions.items()}
            if any(s != schemas["v1"] for s in schemas.values()):
                raise GoDataError("el esquema de http.retries/timeout difiere entre versiones del CRD")
            return {"kind": doc["spec"]["names"]["kind"], "versions": sorted(versions), "http": _http(http)}
    raise GoDataError(f"no encuentro el CRD {VIRTUALSERVICES}")


def _http(version_or_http: dict[str, Any]) -> dict[str, Any]:
    http = version_or_http
    if "schema" in http:
        http = http["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["http"]["items"]

    def field(schema: dict[str, Any]) -> dict[str, Any]:
        out = {k: schema[k] for k in ("type", "format", "nullable") if k in schema}
        if "x-kubernetes-validations" in schema:
            out["rules"] = schema["x-kubernetes-validations"]
        return out

    retries = http["properties"]["retries"]
    return {
        "retries": {name: field(s) for name, s in retries["properties"].items()},
        "timeout": field(http["properties"]["timeout"]),
    }


def mesh_defaults(src: Source) -> dict[str, Any]:
    """Lo que la plantilla del ConfigMap `istio` escribe con los valores por defecto del chart.

    No es un motor de Helm: comprueba que la plantilla tiene las líneas que interpreta y falla si no.
    """
    template, helpers = src.read(MESH_TEMPLATE), src.read(HELPERS)
    values = yaml.safe_load(src.read(DISCOVERY_VALUES))["_internal_defaults_do_not_set"]
    expected = [
        'trustDomain: "cluster.local"',
        "{{ if $prom }}- prometheus{{ end }}",
        "{{- if not (eq .Values.global.proxy.tracer \"none\") }}",
        "discoveryAddress: istiod{{- if not (eq .Values.revision \"\") }}-{{ .Values.revision }}{{- end }}"
        ".{{.Release.Namespace}}.svc:15012",
        "{{- $mesh := mergeOverwrite $originalMesh .Values.meshConfig }}",
    ]
    missing = [line for line in expected if line not in template]
    # 1.30: `rootNamespace: {{ … }}`; 1.31: la misma expresión entre paréntesis y con `| quote`.
    root = r"rootNamespace: \{\{ \(?\.Values\.meshConfig\.rootNamespace \| default \.Values\.global\.istioNamespace\)?( \| quote)? \}\}"
    if not re.search(root, template):
        missing.append("rootNamespace: … default .Values.global.istioNamespace")
    prometheus = "(not .Values.meshConfig.defaultProviders)\n  .Values.telemetry.enabled .Values.telemetry.v2.enabled " \
        ".Values.telemetry.v2.prometheus.enabled"
    if missing or prometheus not in helpers:
        raise GoDataError(f"{MESH_TEMPLATE} cambió; líneas que ya no están: {missing or ['default-prometheus']}")
    telemetry, glob = values["telemetry"], values["global"]
    if glob["proxy"]["tracer"] != "none" or values["revision"] or glob["meshID"] or glob["remotePilotAddress"]:
        raise GoDataError("los valores por defecto del chart cambiaron (tracer, revision, meshID, remotePilotAddress)")
    namespace = glob["istioNamespace"]
    mesh: dict[str, Any] = {
        "trustDomain": "cluster.local",
        "rootNamespace": namespace,
        "defaultConfig": {"discoveryAddress": f"istiod.{namespace}.svc:15012"},
        **values["meshConfig"],
    }
    if telemetry["enabled"] and telemetry["v2"]["enabled"] and telemetry["v2"]["prometheus"]["enabled"]:
        mesh["defaultProviders"] = {"metrics": ["prometheus"]}
    return {"namespace": namespace, "mesh": mesh, "prometheus_unless": "defaultProviders"}


