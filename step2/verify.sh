#!/usr/bin/env bash
# Paso 2: app2 responde 503 (STATUS_CODE_APP=503), backend1 ya no fuerza ningún estado (pasa el
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

backend1=$(status_code_app backend1) || fail "no pude leer el deployment backend1."
app2=$(status_code_app app2) || fail "no pude leer el deployment app2."
[ -z "$backend1" ] ||
  fail "backend1 todavía tiene STATUS_CODE_APP=$backend1 (ejecuta «kubectl set env deployment/backend1 STATUS_CODE_APP-»)."
[ "$app2" = "503" ] ||
  fail "app2 debe tener STATUS_CODE_APP=503 (ejecuta «kubectl set env deployment/app2 STATUS_CODE_APP=503»)."

logs=$(
  for app in bff backend1 app2; do
    kubectl logs -l "app=$app" --tail=-1 | sed "s/^/$app /" || exit 1
  done
) || fail "no pude leer los registros de las apps."

# Un request_id de bff (status=200) con exactamente 3 líneas en backend1 y 9 en app2, todas 503.
if ! awk -v want_backend1=3 -v want_app2=9 -v backend1_status=503 -v app2_status=503 '
  {
    id = ""; status = ""
    for (i = 2; i <= NF; i++) {
      if ($i ~ /^request_id=/) id = substr($i, 12)
      else if ($i ~ /^status=/) status = substr($i, 8)
    }
    if (id == "" || id == "-") next
    if ($1 == "bff") { if (status == 200) bff[id] = 1 }
    else if ($1 == "backend1") { n1[id]++; if (status != backend1_status) bad[id] = 1 }
    else if ($1 == "app2") { n2[id]++; if (status != app2_status) bad[id] = 1 }
  }
  END {
    for (id in bff)
      if (n1[id] == want_backend1 && n2[id] == want_app2 && !(id in bad)) { print "request_id " id; found = 1; break }
    exit (found ? 0 : 1)
  }' <<<"$logs"; then
  fail "ninguna petición de bff llegó 3 veces a backend1 y 9 veces a app2. Espera a que terminen los despliegues («kubectl rollout status deployment/app2») y vuelve a hacer «curl -s localhost:30000/toapp»."
fi
echo "Paso 2 completado."
