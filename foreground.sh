#!/usr/bin/env bash
# Primer plano de la intro. Killercoda teclea estas líneas en la terminal de quien aprende: son pocas, como en sus escenarios (scenarios-istio, playground/init/foreground.sh).
# Esperan (como mucho FOREGROUND_FILES_TIMEOUT s) a que setup.sh desempaquete curso.tar.gz y ejecutan su vista de espera, tools/sandbox-wait, en un proceso aparte.
( t=$(date +%s); w=${CURSO_ROOT:-/root/curso}/tools/sandbox-wait; f=${STATE_DIR:-/var/lib/curso-setup}/fallo; echo "Preparando el entorno del curso: esperando a sus archivos…"
until [ -s "$w" ] || [ -f "$f" ] || [ $(($(date +%s) - t)) -ge "${FOREGROUND_FILES_TIMEOUT:-330}" ]; do sleep 1; done
if [ -s "$w" ]; then exec bash "$w" "$t"; elif [ -f "$f" ]; then sed -n 's/^titulo=\(.*\)/✘ La preparación falló en la etapa «\1»./p; s/^mensaje=/  Motivo: /p' "$f"; else echo "⚠ Los archivos del curso no han llegado en $(($(date +%s) - t)) s; la preparación sigue en segundo plano."; fi; echo "Registro completo: ${LOG_FILE:-/var/log/curso-setup.log}" )
