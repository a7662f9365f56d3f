#!/usr/bin/env bash
# Paso 2: una versión mala de backend1 (backend1-v2, un pod que responde 503) ha convivido con los
# 3 pods buenos, el sidecar de bff ha reintentado en otro pod y esos reintentos han acabado bien
# (su contador upstream_rq_retry_success hacia backend1 es mayor que 0), y backend1-v2 ya no está.
# Solo lee el estado: se puede ejecutar cuantas veces se quiera. No mira los registros: al borrar
# backend1-v2 desaparecen los de su pod; el contador del sidecar de bff se queda.
set -uo pipefail

fail() {
  echo "Todavía no: $*"
  exit 1
}

stats=$(kubectl exec deploy/bff -c istio-proxy -- pilot-agent request GET stats) ||
  fail "no he podido leer los contadores del sidecar de bff (kubectl exec deploy/bff -c istio-proxy -- pilot-agent request GET stats)."
retried=$(grep -E '^cluster\.outbound\|[0-9]+\|\|backend1\..*\.upstream_rq_retry_success: [0-9]+$' <<<"$stats" | sed 's/.*: //')
[ -n "$retried" ] ||
  fail "el sidecar de bff no muestra upstream_rq_retry_success hacia backend1 (¿falta proxyStatsMatcher en la malla?)."
[ "$retried" -gt 0 ] ||
  fail "el sidecar de bff todavía no ha reintentado con éxito hacia backend1: haz antes el paso 1 (backend1-v2 y las 60 peticiones)."

left=$(kubectl get deployment backend1-v2 --ignore-not-found -o name) ||
  fail "no he podido consultar el Deployment backend1-v2."
[ -z "$left" ] || fail "backend1-v2 sigue desplegado: bórralo con «kubectl delete deployment backend1-v2»."
echo "Paso 2 completado."
