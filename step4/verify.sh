#!/usr/bin/env bash
# Paso 4: app2 responde 503 (STATUS_CODE_APP=503), backend1 ya no fuerza ningún estado (pasa el
# de app2), y una misma petición de curl llegó 3 veces a backend1 y 9 veces a app2, todas con 503.
# Solo lee el estado: se puede ejecutar cuantas veces se quiera. No exige pods distintos y
# admite varios curl.
set -uo pipefail

fail() {
  echo "Todavía no: $*"
  exit 1
}

status_code_app() {
  kubectl get deployment "$1" \
    -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="STATUS_CODE_APP")].value}'
}

backend1=$(status_code_app backend1) || fail "no he podido leer el Deployment backend1."
app2=$(status_code_app app2) || fail "no he podido leer el Deployment app2."
[ -z "$backend1" ] ||
  fail "backend1 todavía tiene STATUS_CODE_APP=$backend1 (ejecuta «kubectl set env deployment/backend1 STATUS_CODE_APP-»)."
[ "$app2" = "503" ] ||
  fail "app2 debe tener STATUS_CODE_APP=503 (ejecuta «kubectl set env deployment/app2 STATUS_CODE_APP=503»)."

# traza --recuento: una línea por request_id con sus líneas y estados en cada app.
recuento=$(traza --recuento) || fail "no he podido leer los registros de las apps (traza --recuento)."
grep -q ' bff=1 backend1=3 app2=9 estados_bff=200 estados_backend1=503,503,503 estados_app2=503,503,503,503,503,503,503,503,503$' <<<"$recuento" ||
  fail "ninguna petición de bff llegó 3 veces a backend1 y 9 veces a app2. Espera a que terminen los despliegues («kubectl rollout status deployment/app2») y vuelve a ejecutar «curl -s localhost:30000/toapp»."
echo "Paso 4 completado."
