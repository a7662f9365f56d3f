#!/usr/bin/env bash
# Primer plano de la intro: Killercoda escribe estas líneas en la terminal; todo corre en un bash hijo.
bash <<'ESPERA_CURSO'
estado=${STATE_DIR:-/var/lib/curso-setup}
registro=${LOG_FILE:-/var/log/curso-setup.log}
curso=${CURSO_ROOT:-/root/curso}
limite=${FOREGROUND_TIMEOUT:-900}
inicio_fg=$(date +%s)
mostradas=0
ultimo_aviso=0
en_terminal=0
if [ -t 1 ]; then en_terminal=1; clear; fi
limpiar_linea() { if [ "$en_terminal" = 1 ]; then printf '\r\033[K'; fi; }
mostrar_progreso() {
  awk '{t = $1; sub(/^\+/, "", t); sub(/s$/, "", t); $1 = ""; printf "  [%4s s]%s\n", t, $0}'
}
# Las líneas de progreso aún no mostradas (setup.sh escribe la última antes del marcador «listo»).
progreso_nuevo() {
  [ -f "$estado/progreso" ] || return 0
  total=$(wc -l <"$estado/progreso")
  if [ "$total" -lt "$mostradas" ]; then mostradas=0; fi
  if [ "$total" -gt "$mostradas" ]; then
    limpiar_linea
    sed -n "$((mostradas + 1)),${total}p" "$estado/progreso" | mostrar_progreso
    mostradas=$total
  fi
}
mkdir -p "$estado" 2>/dev/null && date +%s >"$estado/primer-plano.inicio" 2>/dev/null
echo "Preparando el entorno del curso: Istio, los sidecars y las aplicaciones bff, backend1 y app2."
echo "Lee la introducción mientras tanto; suele tardar unos dos minutos."
echo
while :; do
  ahora=$(date +%s)
  t0=$inicio_fg
  if [ -s "$estado/inicio" ]; then t0=$(cat "$estado/inicio"); fi
  progreso_nuevo
  if [ -f "$estado/listo" ]; then
    progreso_nuevo
    fin=$(cat "$estado/listo")
    limpiar_linea
    echo
    echo "✔ Listo: el entorno está preparado (en $((fin - t0)) s)."
    echo "  Istio y las tres aplicaciones ya están en marcha, con un sidecar en cada pod."
    echo
    echo "Primer comando para probar:"
    echo "  kubectl get pods"
    break
  fi
  if grep -q '^mensaje=' "$estado/fallo" 2>/dev/null; then
    progreso_nuevo
    titulo=$(sed -n 's/^titulo=//p' "$estado/fallo")
    mensaje=$(sed -n 's/^mensaje=//p' "$estado/fallo")
    limpiar_linea
    echo
    echo "✘ La preparación falló en la etapa «${titulo:-desconocida}» (a los $((ahora - t0)) s)."
    echo "  Motivo: ${mensaje:-sin detalle}"
    echo
    echo "Últimas líneas del registro:"
    tail -n 15 "$registro" 2>/dev/null | sed 's/^/  | /'
    echo
    echo "Registro completo: $registro"
    if [ -f "$curso/setup.sh" ]; then
      echo "Para reintentarlo (repetirlo es seguro): bash $curso/setup.sh"
    fi
    break
  fi
  if [ $((ahora - inicio_fg)) -ge "$limite" ]; then
    limpiar_linea
    echo
    echo "⚠ La preparación sigue sin terminar tras $((ahora - inicio_fg)) s; algo va más lento de lo normal."
    echo "  No se ha detenido: sigue en marcha en segundo plano."
    echo
    echo "Últimas líneas del registro:"
    tail -n 15 "$registro" 2>/dev/null | sed 's/^/  | /'
    echo
    echo "Qué hacer ahora:"
    echo "  • Espera a que exista $estado/listo, o a que «kubectl get pods» muestre"
    echo "    todos los pods con 2/2 en READY; entonces pasa al paso 1."
    echo "  • Registro completo: $registro (síguelo con: tail -f $registro)"
    echo "  • Si aparece $estado/fallo, la preparación falló; para reintentarlo"
    echo "    (repetirlo es seguro): bash $curso/setup.sh"
    break
  fi
  if [ "$en_terminal" = 1 ]; then
    printf '\r\033[K  ⏳ %s s' "$((ahora - t0))"
  elif [ $((ahora - t0)) -ge $((ultimo_aviso + 15)) ]; then
    ultimo_aviso=$((ahora - t0))
    echo "  … $ultimo_aviso s"
  fi
  sleep 1
done
ESPERA_CURSO
