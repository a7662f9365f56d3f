#!/usr/bin/env bash
# Paso 3: backend1 responde 503 (STATUS_CODE_APP=503), app2 responde bien, y una misma petición
# de curl llegó 3 veces a backend1 (las tres con 503) y 3 veces a app2 (las tres con 200).
# Solo lee el estado: se puede ejecutar cuantas veces se quiera. No exige tres pods distintos
# (previous_hosts lo consigue casi siempre, no siempre) y admite varios curl.
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
[ "$backend1" = "503" ] ||
  fail "backend1 debe tener STATUS_CODE_APP=503 (ejecuta «kubectl set env deployment/backend1 STATUS_CODE_APP=503»)."
case "$app2" in
  "" | 200) ;;
  *) fail "app2 debe responder 200: quítale STATUS_CODE_APP=$app2 con «kubectl set env deployment/app2 STATUS_CODE_APP-»." ;;
esac

# traza --recuento: una línea por request_id con sus líneas y estados en cada app.
recuento=$(traza --recuento) || fail "no he podido leer los registros de las apps (traza --recuento)."
grep -q ' bff=1 backend1=3 app2=3 estados_bff=200 estados_backend1=503,503,503 estados_app2=200,200,200$' <<<"$recuento" ||
  fail "ninguna petición de bff llegó 3 veces a backend1 y 3 veces a app2. Espera a que terminen los despliegues («kubectl rollout status deployment/backend1») y vuelve a ejecutar «curl -s localhost:30000/toapp»."
echo "Paso 3 completado."
