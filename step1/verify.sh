#!/usr/bin/env bash
# Paso 1: la versión mala de backend1 (el Deployment backend1-v2, con STATUS_CODE_APP=503) está
# desplegada junto a los 3 pods buenos, y el sidecar de bff ya ha reintentado con éxito hacia
# backend1 (su contador upstream_rq_retry_success es mayor que 0: lo guarda por el proxyStatsMatcher
# de la malla). Solo lee el estado: se puede ejecutar cuantas veces se quiera.
set -uo pipefail

fail() {
  echo "Todavía no: $*"
  exit 1
}

status=$(kubectl get deployment backend1-v2 \
  -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="STATUS_CODE_APP")].value}' 2>/dev/null) ||
  fail "no encuentro el Deployment backend1-v2: aplícalo con el bloque «kubectl apply» del paso."
[ "$status" = "503" ] ||
  fail "backend1-v2 debe tener STATUS_CODE_APP=503 (vuelve a aplicar el bloque «kubectl apply» del paso)."

stats=$(kubectl exec deploy/bff -c istio-proxy -- pilot-agent request GET stats) ||
  fail "no he podido leer los contadores del sidecar de bff (kubectl exec deploy/bff -c istio-proxy -- pilot-agent request GET stats)."
retried=$(grep -E '^cluster\.outbound\|[0-9]+\|\|backend1\..*\.upstream_rq_retry_success: [0-9]+$' <<<"$stats" | sed 's/.*: //')
[ -n "$retried" ] ||
  fail "el sidecar de bff no muestra upstream_rq_retry_success hacia backend1 (¿falta proxyStatsMatcher en la malla?)."
[ "$retried" -gt 0 ] ||
  fail "el sidecar de bff todavía no ha reintentado hacia backend1: ejecuta el bloque de las 60 peticiones."
echo "Paso 1 completado."
