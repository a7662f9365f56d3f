#!/usr/bin/env bash
# Paso 6: app2 sigue respondiendo 503 y backend1 lo pasa tal cual. Hubo una petición de curl sin
# reintentos de bff a backend1 (VirtualService backend1: 1/1/3) y otra sin reintentos de backend1
# a app2 (VirtualService app2: 1/3/3), y el clúster acaba como lo deja el texto: con la de app2 y
# sin la de backend1. Solo lee el estado: se puede ejecutar cuantas veces se quiera; no exige pods
# distintos y admite varios curl.
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
  fail "backend1 tiene STATUS_CODE_APP=$backend1 (quítasela con «kubectl set env deployment/backend1 STATUS_CODE_APP-»)."
[ "$app2" = "503" ] ||
  fail "app2 debe seguir con STATUS_CODE_APP=503 (ejecuta «kubectl set env deployment/app2 STATUS_CODE_APP=503»)."

# traza --recuento: una línea por request_id con sus líneas y estados en cada app.
recuento=$(traza --recuento) || fail "no he podido leer los registros de las apps (traza --recuento)."
grep -q ' bff=1 backend1=1 app2=3 estados_bff=200 estados_backend1=503 estados_app2=503,503,503$' <<<"$recuento" ||
  fail "ninguna petición de bff llegó 1 vez a backend1 y 3 veces a app2. Haz antes el paso 5 (el VirtualService backend1 y su curl)."

# La columna NAME de «kubectl get virtualservices» (en el namespace default).
virtualservices=$(kubectl get virtualservices 2>/dev/null) || fail "no he podido listar los VirtualService (kubectl get virtualservices)."
if grep -q '^backend1 ' <<<"$virtualservices"; then
  fail "el VirtualService backend1 del paso 5 sigue aplicado: bórralo con el bloque «kubectl delete» de este paso."
fi
grep -q '^app2 ' <<<"$virtualservices" ||
  fail "falta el VirtualService app2 (el bloque con «kubectl apply» para el host app2)."

grep -q ' bff=1 backend1=3 app2=3 estados_bff=200 estados_backend1=503,503,503 estados_app2=503,503,503$' <<<"$recuento" ||
  fail "ninguna petición de bff llegó 3 veces a backend1 y 3 veces a app2. Espera unos segundos tras aplicar el VirtualService app2 y vuelve a ejecutar «curl -s localhost:30000/toapp»."
echo "Paso 6 completado."
