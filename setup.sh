#!/usr/bin/env bash
# Preparación del sandbox de Killercoda para «Reintentos en Istio» (script de fondo de la intro).
#
# Convierte un clúster kubeadm recién creado en el entorno del curso mientras se lee la intro:
#   archivos   espera curso.tar.gz (asset), lo desempaqueta en CURSO_ROOT e instala traza
#   nodo       espera a que el nodo esté Ready
#   cilium     si existe cilium-config, lo ajusta para Istio (si no, el tráfico salta los sidecars)
#   istioctl   descarga istioctl ISTIO_VERSION con reintentos y comprueba su sha256 publicado
#   istio      istioctl install -f apps/istio/istio-operator.yaml; etiqueta default para inyección
#   imagenes   (en paralelo desde el principio) construye bff, backend1 y app2 con apps/Dockerfile
#              y las importa en containerd (ctr -n k8s.io images import)
#   sidecar    (en paralelo) descarga de antemano la imagen proxyv2 de los sidecars
#   apps       kubectl apply -f apps/k8s/
#   pods       espera cada despliegue (con tiempo límite) y comprueba que todos los pods llevan sidecar
#
# Registro: LOG_FILE (cada línea con hora UTC y segundos desde el inicio). Marcadores en STATE_DIR:
#   inicio (epoch del arranque), progreso (líneas para el primer plano), listo (terminó bien),
#   fallo (etapa=, titulo=, mensaje=: la etapa que falló). Volver a lanzarlo es seguro: cada etapa
#   comprueba el estado real (o un sello con el hash de su entrada) y no repite trabajo hecho.
#
# Uso:  setup.sh             toda la preparación (Killercoda la lanza así, como root)
#       setup.sh imagenes    solo construir y cargar las imágenes (en tu propio clúster, ver README)
set -euo pipefail

ISTIO_VERSION=1.30.3

# Todas las rutas y destinos se pueden redirigir (las pruebas lo hacen a un directorio temporal).
CURSO_ROOT=${CURSO_ROOT:-/root/curso}
BUNDLE=${BUNDLE:-/root/curso.tar.gz}
STATE_DIR=${STATE_DIR:-/var/lib/curso-setup}
LOG_FILE=${LOG_FILE:-/var/log/curso-setup.log}
BIN_DIR=${BIN_DIR:-/usr/local/bin}
ISTIO_HOME=${ISTIO_HOME:-/opt/istio}
ISTIO_DOWNLOAD_URL=${ISTIO_DOWNLOAD_URL:-https://github.com/istio/istio/releases/download}
ISTIO_HUB=${ISTIO_HUB:-docker.io/istio}
ISTIO_ARCH=${ISTIO_ARCH:-}
# Dónde cargar las imágenes: containerd (este nodo), kind[:clúster] o ssh:<nodo> (ver load_images).
IMAGE_TARGET=${IMAGE_TARGET:-containerd}
CRI_ENDPOINT=${CRI_ENDPOINT:-unix:///run/containerd/containerd.sock}
APP_NAMESPACE=${APP_NAMESPACE:-default}

# Límites (segundos o intentos): ninguna espera es infinita.
BUNDLE_TIMEOUT=${BUNDLE_TIMEOUT:-300}
NODE_TIMEOUT=${NODE_TIMEOUT:-300}
DOWNLOAD_ATTEMPTS=${DOWNLOAD_ATTEMPTS:-5}
CILIUM_TIMEOUT=${CILIUM_TIMEOUT:-180}
ISTIO_TIMEOUT=${ISTIO_TIMEOUT:-300}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-240}
LOCK_TIMEOUT=${LOCK_TIMEOUT:-1800}

CURRENT_STAGE=inicio
CURRENT_TITLE="Inicio"
CURRENT_SHORT="Inicio"
STAGE_START=0
START_EPOCH=$(date +%s)
LOGGING=0
JOB_PIDS=()

# ---------------------------------------------------------------- registro y marcadores

now() { date +%s; }

# Una línea de registro: hora UTC, segundos desde el inicio, etapa y mensaje.
log() {
  local line
  line=$(printf '%s +%ss [%s] %s' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(($(now) - START_EPOCH))" \
    "$CURRENT_STAGE" "$*")
  if ((LOGGING)); then printf '%s\n' "$line" >>"$LOG_FILE"; else printf '%s\n' "$line" >&2; fi
}

# Un paso visible: al registro, al primer plano (STATE_DIR/progreso) y a la salida original.
progress() {
  log "$*"
  if ((LOGGING)); then
    printf '+%ss %s\n' "$(($(now) - START_EPOCH))" "$*" >>"$STATE_DIR/progreso"
    printf '%s\n' "$*" >&3
  fi
}

# stage ID TÍTULO NOMBRE_CORTO: «▸ TÍTULO…» al empezar; stage_done DETALLE: «✔ NOMBRE: DETALLE (N s)».
stage() {
  CURRENT_STAGE=$1
  CURRENT_TITLE=$2
  CURRENT_SHORT=$3
  STAGE_START=$(now)
  progress "▸ $CURRENT_TITLE…"
}

stage_done() {
  progress "✔ $CURRENT_SHORT: $1 ($(($(now) - STAGE_START)) s)"
}

# El primero que falla deja el marcador; los demás no lo sobrescriben (noclobber).
mark_failure() {
  local message=$1
  if ((LOGGING == 0)); then
    printf 'error: %s\n' "$message" >&2
    return 0
  fi
  if (set -C && printf 'etapa=%s\ntitulo=%s\nmensaje=%s\n' "$CURRENT_STAGE" "$CURRENT_TITLE" \
    "$message" >"$STATE_DIR/fallo") 2>/dev/null; then
    progress "✘ Falló la etapa «$CURRENT_TITLE»: $message"
  fi
}

die() {
  mark_failure "$1"
  exit 1
}

on_error() {
  local rc=$1 line=$2 command=$3
  mark_failure "la orden «$command» terminó con código $rc (setup.sh, línea $line)"
}

on_exit() {
  local rc=$?
  local pid
  for pid in "${JOB_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if ((rc != 0)); then mark_failure "terminó con código $rc"; fi
}

# ---------------------------------------------------------------- utilidades

# retry INTENTOS PAUSA orden...: repite la orden hasta que salga bien (pausa creciente, 10 s como
# mucho entre intentos).
retry() {
  local attempts=$1 pause=$2 i wait_s
  shift 2
  for ((i = 1; i <= attempts; i++)); do
    if "$@"; then return 0; fi
    if ((i < attempts)); then
      wait_s=$((pause * i > 10 ? 10 : pause * i))
      log "intento $i de $attempts fallido: $*; nuevo intento en $wait_s s"
      sleep "$wait_s"
    fi
  done
  return 1
}

sha256_of() { sha256sum "$1" | awk '{print $1}'; }

# Referencias de imagen de los manifiestos (apps/k8s/*.yaml: el único sitio donde se escriben).
image_refs() {
  sed -nE "s/^[[:space:]]*(-[[:space:]]+)?image:[[:space:]]*[\"']?([^\"'[:space:]#]+).*/\2/p" \
    "$CURSO_ROOT"/apps/k8s/*.yaml | sort -u
}

# Nombre del servicio (carpeta de apps/ y SERVICE del Dockerfile) a partir de «nombre:versión».
service_of() {
  local ref=$1 name
  name=${ref%:*}
  name=${name##*/}
  printf '%s\n' "$name"
}

# Nombre completo con el que containerd guarda una imagen de Docker («bff:1.0.0» →
# «docker.io/library/bff:1.0.0»), que es como Kubernetes la busca.
containerd_name() {
  local ref=$1 first=${1%%/*}
  if [[ $ref != */* ]]; then
    printf 'docker.io/library/%s\n' "$ref"
  elif [[ $first == *.* || $first == *:* || $first == localhost ]]; then
    printf '%s\n' "$ref"
  else
    printf 'docker.io/%s\n' "$ref"
  fi
}

# ---------------------------------------------------------------- imágenes (una sola función)

# load_images: construye las imágenes de apps/k8s/*.yaml con el Dockerfile común y las carga donde
# las verá el kubelet. Es lo único que cambia entre Killercoda y tu propio clúster:
#   IMAGE_TARGET=containerd   docker save | ctr -n k8s.io images import -   (este nodo: kubeadm)
#   IMAGE_TARGET=kind[:NOMBRE] kind load docker-image --name NOMBRE          (clúster kind)
#   IMAGE_TARGET=ssh:NODO      docker save | ssh NODO ctr -n k8s.io images import -
# Se puede usar sola: CURSO_ROOT=. IMAGE_TARGET=kind:curso ./setup.sh imagenes
load_images() {
  local refs ref service
  mapfile -t refs < <(image_refs)
  ((${#refs[@]})) || die "no hay ninguna imagen en $CURSO_ROOT/apps/k8s/*.yaml"
  retry 30 2 docker info >/dev/null || die "Docker no responde (docker info)"
  for ref in "${refs[@]}"; do
    service=$(service_of "$ref")
    [[ -f $CURSO_ROOT/apps/$service/main.py ]] ||
      die "la imagen $ref no corresponde a ninguna carpeta apps/$service/ con main.py"
    progress "  construyendo $ref (SERVICE=$service)"
    # Sin atestaciones de procedencia: una imagen simple que `ctr images import` acepta tal cual.
    BUILDKIT_PROGRESS=plain BUILDX_NO_DEFAULT_ATTESTATIONS=1 docker build --build-arg "SERVICE=$service" -t "$ref" \
      -f "$CURSO_ROOT/apps/Dockerfile" "$CURSO_ROOT/apps" ||
      die "falló docker build de $ref (detalles en $LOG_FILE)"
  done
  progress "  cargando ${refs[*]} en $IMAGE_TARGET"
  case $IMAGE_TARGET in
    containerd)
      docker save "${refs[@]}" | ctr -n k8s.io images import - ||
        die "no se pudieron importar las imágenes en containerd (ctr -n k8s.io images import)" ;;
    kind | kind:*)
      local cluster=${IMAGE_TARGET#kind}
      cluster=${cluster#:}
      kind load docker-image --name "${cluster:-kind}" "${refs[@]}" ||
        die "kind load docker-image falló" ;;
    ssh:*)
      docker save "${refs[@]}" | ssh "${IMAGE_TARGET#ssh:}" ctr -n k8s.io images import - ||
        die "no se pudieron importar las imágenes en ${IMAGE_TARGET#ssh:}" ;;
    *) die "IMAGE_TARGET desconocido: $IMAGE_TARGET (containerd, kind[:nombre] o ssh:nodo)" ;;
  esac
}

# ¿Están ya en containerd todas las imágenes? (solo se puede saber en este nodo)
images_present() {
  [[ $IMAGE_TARGET == containerd ]] || return 0
  local have ref refs
  mapfile -t refs < <(image_refs)
  ((${#refs[@]})) || return 1
  have=$(ctr -n k8s.io images ls -q 2>/dev/null) || return 1
  for ref in "${refs[@]}"; do
    grep -qxF "$(containerd_name "$ref")" <<<"$have" || return 1
  done
}

# Sello de las imágenes: hash de todo lo que entra en ellas (apps/ sin manifiestos ni Istio).
images_seal() {
  (cd "$CURSO_ROOT/apps" && find . -type f ! -path './k8s/*' ! -path './istio/*' \
    ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | awk '{print $1}'
}

job_images() {
  stage imagenes "Construyendo e importando las imágenes de bff, backend1 y app2" "Imágenes"
  local seal
  seal="$(images_seal) $IMAGE_TARGET"
  if [[ -f $STATE_DIR/imagenes.sello && $(<"$STATE_DIR/imagenes.sello") == "$seal" ]] &&
    images_present; then
    stage_done "ya estaban importadas"
    return 0
  fi
  load_images
  printf '%s\n' "$seal" >"$STATE_DIR/imagenes.sello"
  touch "$STATE_DIR/imagenes.nuevas"
  stage_done "importadas"
}

job_sidecar() {
  stage sidecar "Descargando de antemano la imagen de los sidecars" "Imagen del sidecar"
  local image=$ISTIO_HUB/proxyv2:$ISTIO_VERSION
  if [[ $IMAGE_TARGET != containerd ]] || ! command -v crictl >/dev/null; then
    stage_done "omitido: sin crictl en este nodo"
    return 0
  fi
  if crictl --runtime-endpoint "$CRI_ENDPOINT" inspecti "$image" >/dev/null 2>&1; then
    stage_done "$image ya estaba"
    return 0
  fi
  # Solo es un adelanto: si falla, el kubelet la descargará al crear los pods.
  if retry 3 3 crictl --runtime-endpoint "$CRI_ENDPOINT" pull "$image"; then
    stage_done "$image"
  else
    stage_done "no se pudo; la descargará el kubelet"
  fi
}

# Lanza una etapa en segundo plano, con sus propias trampas (en un subshell no se heredan).
start_job() {
  (
    trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
    trap - EXIT
    "$@"
  ) &
  JOB_PIDS+=("$!")
}

# ---------------------------------------------------------------- etapas de la línea principal

unpack_bundle() {
  stage archivos "Esperando los archivos del curso" "Archivos del curso"
  local i seal
  if [[ ! -f $BUNDLE && -f $CURSO_ROOT/apps/istio/istio-operator.yaml ]]; then
    log "sin $BUNDLE: se usa $CURSO_ROOT tal como está"
  else
    # El asset puede llegar tarde (o a medio copiar): se espera a un .tar.gz completo.
    for ((i = 0; i < BUNDLE_TIMEOUT; i++)); do
      if [[ -s $BUNDLE ]] && gzip -t "$BUNDLE" 2>/dev/null; then break; fi
      sleep 1
    done
    ((i < BUNDLE_TIMEOUT)) || die "no llegó $BUNDLE en $BUNDLE_TIMEOUT s"
    seal=$(sha256_of "$BUNDLE")
    if [[ -f $STATE_DIR/paquete.sello && $(<"$STATE_DIR/paquete.sello") == "$seal" &&
      -d $CURSO_ROOT/apps ]]; then
      log "$BUNDLE ya estaba desempaquetado en $CURSO_ROOT"
    else
      mkdir -p "$CURSO_ROOT"
      tar -xzf "$BUNDLE" -C "$CURSO_ROOT" --no-same-owner
      printf '%s\n' "$seal" >"$STATE_DIR/paquete.sello"
      log "$BUNDLE desempaquetado en $CURSO_ROOT"
    fi
  fi
  local needed
  for needed in apps/Dockerfile apps/istio/istio-operator.yaml tools/traza; do
    [[ -f $CURSO_ROOT/$needed ]] || die "falta $needed en $CURSO_ROOT (¿curso.tar.gz incompleto?)"
  done
  compgen -G "$CURSO_ROOT/apps/k8s/*.yaml" >/dev/null || die "no hay manifiestos en apps/k8s/"
  mkdir -p "$BIN_DIR"
  install -m 0755 "$CURSO_ROOT/tools/traza" "$BIN_DIR/traza"
  stage_done "en $CURSO_ROOT, traza instalada"
}

node_ready() { kubectl wait --for=condition=Ready node --all --timeout=5s; }

wait_node() {
  stage nodo "Esperando a que el nodo de Kubernetes esté Ready" "Nodo"
  local i
  for ((i = 0; i < NODE_TIMEOUT; i += 5)); do
    if node_ready; then break; fi
    sleep 2
  done
  ((i < NODE_TIMEOUT)) ||
    die "el nodo no está Ready tras ${NODE_TIMEOUT} s (kubectl get nodes)"
  stage_done "Ready"
}

# Con Cilium (la CNI de Killercoda desde 2026), Istio necesita cni-exclusive=false y
# bpf-lb-sock-hostns-only=true; si no, el balanceo por sockets salta el sidecar y no hay reintentos.
cilium_patch() {
  stage cilium "Comprobando la CNI (Cilium)" "CNI"
  local out exclusive hostns
  if ! out=$(kubectl -n kube-system get configmap cilium-config -o name 2>&1); then
    if [[ $out == *NotFound* || $out == *"not found"* ]]; then
      stage_done "sin Cilium: nada que ajustar"
      return 0
    fi
    die "no se pudo consultar configmap/cilium-config: $out"
  fi
  exclusive=$(kubectl -n kube-system get configmap cilium-config -o 'jsonpath={.data.cni-exclusive}')
  hostns=$(kubectl -n kube-system get configmap cilium-config \
    -o 'jsonpath={.data.bpf-lb-sock-hostns-only}')
  if [[ $exclusive == false && $hostns == true && -f $STATE_DIR/cilium.hecho ]]; then
    stage_done "Cilium ya estaba ajustado"
    return 0
  fi
  kubectl -n kube-system patch configmap cilium-config --type merge \
    -p '{"data":{"cni-exclusive":"false","bpf-lb-sock-hostns-only":"true"}}'
  kubectl -n kube-system rollout restart daemonset/cilium
  kubectl -n kube-system rollout status daemonset/cilium --timeout="${CILIUM_TIMEOUT}s" ||
    die "Cilium no volvió a estar listo en ${CILIUM_TIMEOUT} s tras el ajuste"
  touch "$STATE_DIR/cilium.hecho"
  stage_done "cni-exclusive=false, bpf-lb-sock-hostns-only=true"
}

fetch() {
  local url=$1 out=$2
  curl -fsSL --connect-timeout 15 --max-time 300 -o "$out" "$url"
}

download_istioctl() {
  stage istioctl "Descargando istioctl $ISTIO_VERSION" "istioctl $ISTIO_VERSION"
  local arch=$ISTIO_ARCH bin=$ISTIO_HOME/$ISTIO_VERSION/istioctl
  if [[ -x $bin ]]; then
    ln -sfn "$bin" "$BIN_DIR/istioctl"
    stage_done "ya estaba en $bin"
    return 0
  fi
  if [[ -z $arch ]]; then
    case $(uname -m) in
      x86_64 | amd64) arch=amd64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) die "arquitectura no soportada: $(uname -m)" ;;
    esac
  fi
  local archive=istioctl-$ISTIO_VERSION-linux-$arch.tar.gz tmp expected actual
  local url=$ISTIO_DOWNLOAD_URL/$ISTIO_VERSION/$archive
  tmp=$(mktemp -d "$STATE_DIR/descarga.XXXXXX")
  retry "$DOWNLOAD_ATTEMPTS" 2 fetch "$url" "$tmp/$archive" ||
    die "no se pudo descargar $url tras $DOWNLOAD_ATTEMPTS intentos"
  retry "$DOWNLOAD_ATTEMPTS" 2 fetch "$url.sha256" "$tmp/$archive.sha256" ||
    die "no se pudo descargar $url.sha256 tras $DOWNLOAD_ATTEMPTS intentos"
  expected=$(awk '{print tolower($1); exit}' "$tmp/$archive.sha256")
  actual=$(sha256_of "$tmp/$archive")
  [[ $expected =~ ^[0-9a-f]{64}$ ]] ||
    die "$archive.sha256 no contiene una suma SHA-256 válida; no se instala istioctl"
  if [[ $expected != "$actual" ]]; then
    rm -rf "$tmp"
    die "la suma SHA-256 de $archive no coincide con la publicada (esperada $expected, obtenida $actual); descarga corrupta o alterada: no se instala istioctl"
  fi
  tar -xzf "$tmp/$archive" -C "$tmp" istioctl
  mkdir -p "$ISTIO_HOME/$ISTIO_VERSION"
  install -m 0755 "$tmp/istioctl" "$bin.nuevo"
  mv -f "$bin.nuevo" "$bin"
  rm -rf "$tmp"
  ln -sfn "$bin" "$BIN_DIR/istioctl"
  stage_done "sha256 verificada"
}

install_istio() {
  stage istio "Instalando Istio $ISTIO_VERSION (istiod y la política de reintentos)" \
    "Istio $ISTIO_VERSION"
  local operator=$CURSO_ROOT/apps/istio/istio-operator.yaml seal
  seal="$ISTIO_VERSION $(sha256_of "$operator")"
  if [[ -f $STATE_DIR/istio.sello && $(<"$STATE_DIR/istio.sello") == "$seal" ]] &&
    kubectl -n istio-system get deployment istiod >/dev/null 2>&1; then
    log "Istio ya instalado con este IstioOperator: no se reinstala"
  else
    "$BIN_DIR/istioctl" install -f "$operator" -y --readiness-timeout "${ISTIO_TIMEOUT}s" ||
      die "istioctl install falló (detalles en $LOG_FILE)"
    printf '%s\n' "$seal" >"$STATE_DIR/istio.sello"
  fi
  kubectl -n istio-system rollout status deployment/istiod --timeout="${ISTIO_TIMEOUT}s" ||
    die "istiod no estuvo listo en ${ISTIO_TIMEOUT} s"
  kubectl label namespace "$APP_NAMESPACE" istio-injection=enabled --overwrite
  stage_done "istiod listo, inyección de sidecars activada en $APP_NAMESPACE"
}

wait_jobs() {
  local pid
  log "esperando a las etapas en paralelo (imágenes, sidecar)"
  for pid in "${JOB_PIDS[@]}"; do
    if ! wait "$pid"; then
      [[ -f $STATE_DIR/fallo ]] || mark_failure "una etapa en paralelo falló"
      exit 1
    fi
  done
  JOB_PIDS=()
}

DEPLOYMENTS=()

apply_apps() {
  stage apps "Desplegando bff, backend1 y app2" "Despliegue"
  local out restart=0
  if [[ -f $STATE_DIR/imagenes.nuevas && -f $STATE_DIR/apps.aplicadas ]]; then restart=1; fi
  out=$(kubectl apply -f "$CURSO_ROOT/apps/k8s/" -o name) || die "kubectl apply -f apps/k8s/ falló"
  printf '%s\n' "$out"
  mapfile -t DEPLOYMENTS < <(grep -E '^deployment' <<<"$out" || true)
  ((${#DEPLOYMENTS[@]})) || die "apps/k8s/ no contiene ningún Deployment"
  if ((restart)); then
    # Mismas etiquetas de imagen con contenido nuevo: los pods deben recrearse para usarlo.
    kubectl -n "$APP_NAMESPACE" rollout restart "${DEPLOYMENTS[@]}"
  fi
  rm -f "$STATE_DIR/imagenes.nuevas"
  touch "$STATE_DIR/apps.aplicadas"
  stage_done "${#DEPLOYMENTS[@]} despliegues"
}

diagnose() {
  {
    kubectl -n "$APP_NAMESPACE" get pods -o wide
    kubectl -n "$APP_NAMESPACE" get events --sort-by=.lastTimestamp | tail -n 25
  } || true
}

wait_rollouts() {
  stage pods "Esperando a que los pods (con su sidecar) estén listos" "Pods"
  local deployment pods missing
  for deployment in "${DEPLOYMENTS[@]}"; do
    if ! kubectl -n "$APP_NAMESPACE" rollout status "$deployment" --timeout="${ROLLOUT_TIMEOUT}s"; then
      diagnose
      die "$deployment no estuvo listo en ${ROLLOUT_TIMEOUT} s (kubectl get pods; kubectl describe pod)"
    fi
  done
  # Desde Istio 1.27, con Kubernetes >= 1.33, el sidecar es un «sidecar nativo»: istio-proxy va en
  # initContainers (restartPolicy: Always); antes, o en clústeres más antiguos, en containers.
  # Vale cualquiera de los dos sitios. Cada línea: «pod init... contenedores...».
  pods=$(kubectl -n "$APP_NAMESPACE" get pods --field-selector=status.phase=Running \
    -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.spec.initContainers[*].name}{" "}{.spec.containers[*].name}{"\n"}{end}')
  missing=$(awk 'NF { for (i = 2; i <= NF; i++) if ($i == "istio-proxy") next; print $1 }' <<<"$pods")
  [[ -z $missing ]] || die "pods sin sidecar istio-proxy: $(tr '\n' ' ' <<<"$missing")(¿falta la inyección?)"
  stage_done "$(awk 'NF' <<<"$pods" | wc -l) pods listos, todos con sidecar"
}

# ---------------------------------------------------------------- principal

prepare_state() {
  mkdir -p "$STATE_DIR" "$(dirname "$LOG_FILE")"
  exec 3>&1
  exec >>"$LOG_FILE" 2>&1
  LOGGING=1
  local lock_fd
  exec {lock_fd}>"$STATE_DIR/lock"
  if ! flock -w "$LOCK_TIMEOUT" "$lock_fd"; then
    printf 'Otra preparación sigue en marcha (%s/lock)\n' "$STATE_DIR" >&3
    exit 1
  fi
  START_EPOCH=$(now)
  rm -f "$STATE_DIR/listo" "$STATE_DIR/fallo" "$STATE_DIR/progreso"
  printf '%s\n' "$START_EPOCH" >"$STATE_DIR/inicio"
  trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
  trap on_exit EXIT
  log "setup.sh: Istio $ISTIO_VERSION, curso en $CURSO_ROOT, estado en $STATE_DIR"
}

main() {
  set -E
  prepare_state
  unpack_bundle
  # Las imágenes y la del sidecar no dependen de Kubernetes ni de Istio: empiezan ya y se solapan
  # con la espera del nodo, el ajuste de Cilium, la descarga de istioctl y la instalación de Istio.
  start_job job_images
  start_job job_sidecar
  wait_node
  cilium_patch
  download_istioctl
  install_istio
  wait_jobs
  apply_apps
  wait_rollouts
  CURRENT_STAGE=listo
  CURRENT_TITLE="Listo"
  CURRENT_SHORT="Listo"
  printf '%s\n' "$(now)" >"$STATE_DIR/listo"
  progress "✔ Entorno listo en $(($(now) - START_EPOCH)) s"
}

case ${1:-todo} in
  todo) main ;;
  imagenes) load_images ;;
  *)
    printf 'Uso: %s [todo|imagenes]\n' "$0" >&2
    exit 2 ;;
esac
