#!/usr/bin/env bash
# Preparación del sandbox de Killercoda para «Reintentos en Istio» (script de fondo de la intro).
#
# Convierte un clúster kubeadm recién creado en el entorno del curso mientras se lee la intro:
#   comprobaciones  las órdenes que usan este script y el curso, de una vez (si falta una, falla en segundos)
#   archivos        espera curso.tar.gz (asset), lo desempaqueta en CURSO_ROOT e instala traza
#   nodo            espera a que el nodo esté Ready; avisa si Kubernetes no es KUBERNETES_VERSION
#   cilium          si Cilium balancea por sockets, pone bpf-lb-sock-hostns-only=true (ver cilium_patch)
#   istioctl        descarga istioctl ISTIO_VERSION con reintentos (de GitHub o, si no responde, de
#                   blob.istio.io) y comprueba su sha256 publicado
#   istio           istioctl install -f apps/istio/istio-operator.yaml; etiqueta default para inyección
#   imagenes        (en paralelo desde «archivos») construye bff, backend1 y app2 con apps/Dockerfile,
#                   las importa en containerd y comprueba que están con el nombre que usará el kubelet
#   istio-imagenes  (en paralelo) descarga de antemano pilot (istiod) y proxyv2 (sidecars) del hub
#                   que declara el IstioOperator (spec.hub) con docker pull (los espejos de dockerd)
#                   y las importa igual; si falla, crictl pull (containerd directo)
#   apps            kubectl apply -f apps/k8s/
#   pods            espera cada despliegue (con tiempo límite; un pod sin sitio en el nodo falla en
#                   seguida con el motivo del planificador) y comprueba que todos llevan sidecar
#
# Registro: LOG_FILE (cada línea con hora UTC y segundos desde el inicio). Marcadores en STATE_DIR:
#   inicio (epoch del arranque), progreso (líneas para el primer plano), etapa (la de la línea
#   principal en curso), listo (terminó bien), fallo (etapa=, titulo=, mensaje=: la etapa que falló).
#   Un plazo total (SETUP_DEADLINE) termina la preparación con un fallo que nombra la etapa.
#   Volver a lanzarlo es seguro: cada etapa comprueba el estado real (o un sello con el hash de su
#   entrada) y no repite trabajo hecho.
#
# Uso:  setup.sh             toda la preparación (Killercoda la lanza así, como root)
#       setup.sh imagenes    solo construir y cargar las imágenes (en tu propio clúster, ver README)
set -euo pipefail

# La versión de Istio y la menor de Kubernetes para la que está escrito el curso (la del sandbox;
# si el clúster tiene otra, solo se avisa). Por qué estas y cuándo revisarlas: README, «El sandbox
# de Killercoda». El hub de las imágenes de Istio está en apps/istio/istio-operator.yaml (spec.hub).
ISTIO_VERSION=1.31.1
KUBERNETES_VERSION=1.36

# Todas las rutas y destinos se pueden redirigir (las pruebas lo hacen a un directorio temporal).
CURSO_ROOT=${CURSO_ROOT:-/root/curso}
BUNDLE=${BUNDLE:-/root/curso.tar.gz}
STATE_DIR=${STATE_DIR:-/var/lib/curso-setup}
LOG_FILE=${LOG_FILE:-/var/log/curso-setup.log}
BIN_DIR=${BIN_DIR:-/usr/local/bin}
ISTIO_HOME=${ISTIO_HOME:-/opt/istio}
# istioctl: primero la release de GitHub y, si no responde, el otro sitio oficial de los artefactos
# de cada versión (istio.io, blog/2026/retirement-of-gcp: blob.istio.io/istio-release/releases; el
# mismo directorio de la versión, con sus .sha256: istio/release-builder, pkg/publish/s3.go).
ISTIO_DOWNLOAD_URL=${ISTIO_DOWNLOAD_URL:-https://github.com/istio/istio/releases/download}
ISTIO_DOWNLOAD_FALLBACK_URL=${ISTIO_DOWNLOAD_FALLBACK_URL:-https://blob.istio.io/istio-release/releases}
ISTIO_ARCH=${ISTIO_ARCH:-}
# Dónde importar las imágenes: containerd (este nodo), kind[:clúster] o ssh:<nodo> (ver import_images).
IMAGE_TARGET=${IMAGE_TARGET:-containerd}
CRI_ENDPOINT=${CRI_ENDPOINT:-unix:///run/containerd/containerd.sock}
APP_NAMESPACE=${APP_NAMESPACE:-default}

# Límites (segundos o intentos): ninguna espera es infinita. Los de segundos se miden con el reloj
# (clock), no contando vueltas de un bucle.
BUNDLE_TIMEOUT=${BUNDLE_TIMEOUT:-300}
NODE_TIMEOUT=${NODE_TIMEOUT:-300}
DOWNLOAD_ATTEMPTS=${DOWNLOAD_ATTEMPTS:-5}
CILIUM_TIMEOUT=${CILIUM_TIMEOUT:-180}
ISTIO_TIMEOUT=${ISTIO_TIMEOUT:-300}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-240}
# Cada cuánto se mira, mientras se espera a los pods, si el planificador no encuentra sitio para alguno.
ROLLOUT_POLL=${ROLLOUT_POLL:-5}
LOCK_TIMEOUT=${LOCK_TIMEOUT:-1800}
BUILD_ATTEMPTS=${BUILD_ATTEMPTS:-3}
# Plazo total: muy por debajo de la hora de una sesión gratuita de Killercoda.
SETUP_DEADLINE=${SETUP_DEADLINE:-720}

CURRENT_STAGE=inicio
CURRENT_TITLE="Inicio"
CURRENT_SHORT="Inicio"
STAGE_START=0
START_EPOCH=$EPOCHSECONDS
LOGGING=0
JOB_PIDS=()
DEADLINE_PID=
ISTIO_HUB=

# ---------------------------------------------------------------- registro y marcadores

# El reloj de los plazos (epoch en segundos). Es `date +%s` y no $EPOCHSECONDS para que las pruebas
# puedan darle un reloj que avanza con cada espera falsa (tests/setup_fakes/fake.sh).
clock() { date +%s; }

# Una línea de registro: hora UTC, segundos desde el inicio, etapa y mensaje.
log() {
  local line stamp
  TZ=UTC printf -v stamp '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  printf -v line '%s +%ss [%s] %s' "$stamp" "$((EPOCHSECONDS - START_EPOCH))" "$CURRENT_STAGE" "$*"
  if ((LOGGING)); then printf '%s\n' "$line" >>"$LOG_FILE"; else printf '%s\n' "$line" >&2; fi
}

# A la salida original (fd 3: la terminal o quien lanzó el script). Escribir ahí nunca detiene la
# preparación: si se cerró (o el lector de la tubería se fue), se sigue sin ella.
to_caller() {
  if ! (printf '%s\n' "$*" >&3) 2>/dev/null; then exec 3>/dev/null; fi
}

# Un paso visible: al registro, al primer plano (STATE_DIR/progreso) y a la salida original.
progress() {
  log "$*"
  if ((LOGGING)); then
    printf '+%ss %s\n' "$((EPOCHSECONDS - START_EPOCH))" "$*" >>"$STATE_DIR/progreso"
    to_caller "$*"
  fi
}

# stage ID TÍTULO NOMBRE_CORTO: «▸ TÍTULO…» al empezar; stage_done DETALLE: «✔ NOMBRE: DETALLE (N s)».
# La etapa en curso queda en STATE_DIR/etapa (la de la línea principal) o etapa.PID (la de una
# etapa en paralelo, que wait_jobs pasa a etapa mientras la espera): el plazo total la nombra.
stage() {
  CURRENT_STAGE=$1
  CURRENT_TITLE=$2
  CURRENT_SHORT=$3
  STAGE_START=$EPOCHSECONDS
  if ((LOGGING)); then
    local file=$STATE_DIR/etapa
    [[ $BASHPID == "$$" ]] || file+=.$BASHPID
    printf 'etapa=%s\ntitulo=%s\n' "$1" "$2" >"$file"
  fi
  progress "▸ $CURRENT_TITLE…"
}

stage_done() {
  progress "✔ $CURRENT_SHORT: $1 ($((EPOCHSECONDS - STAGE_START)) s)"
}

# El primero que falla deja el marcador (noclobber: los demás no lo sobrescriben) y después la
# línea de progreso; foreground.sh vuelve a leer el progreso al ver el marcador.
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
  for pid in "${JOB_PIDS[@]}" $DEADLINE_PID; do kill "$pid" 2>/dev/null || true; done
  if ((rc != 0)); then mark_failure "terminó con código $rc"; fi
}

# ---------------------------------------------------------------- plazo total

# Los procesos que cuelgan de PID (los más profundos primero), sin el subárbol de SKIP.
descendants() {
  ps -e -o pid= -o ppid= | awk -v root="$1" -v skip="$2" '
    function walk(p,   n, i, kids) {
      n = split(children[p], kids, " ")
      for (i = 1; i <= n; i++) if (kids[i] != skip) { walk(kids[i]); print kids[i] }
    }
    { children[$2] = children[$2] " " $1 }
    END { walk(root) }'
}

# La etapa en curso según STATE_DIR/etapa (la escribe quien la empieza, también un trabajo en paralelo).
stage_in_progress() {
  local key value
  CURRENT_STAGE=desconocida CURRENT_TITLE=desconocida
  [[ -f $STATE_DIR/etapa ]] || return 0
  while IFS='=' read -r key value; do
    case $key in
      etapa) CURRENT_STAGE=$value ;;
      titulo) CURRENT_TITLE=$value ;;
    esac
  done <"$STATE_DIR/etapa"
}

# Al agotarse SETUP_DEADLINE: marcador de fallo con la etapa en curso (STATE_DIR/etapa) y fin de
# la preparación entera, también de lo que esté esperando (docker, kubectl, istioctl…).
deadline_reached() {
  stage_in_progress
  mark_failure "se agotó el plazo total de la preparación ($SETUP_DEADLINE s) en esta etapa; detalles en $LOG_FILE"
  stop_tree "$$" "$BASHPID"
}

# Termina ROOT y todo lo que cuelga de él (salvo el subárbol de SKIP). Primero lo detiene todo
# (SIGSTOP, hasta que no aparece nada nuevo: un proceso detenido no crea otros ni sale dejando
# huérfanos), después TERM y CONT: no queda nadie esperando ni con la salida original abierta.
stop_tree() {
  local root=$1 skip=$2 pid round found stopped=" $1 "
  kill -STOP "$root" 2>/dev/null
  for ((round = 0; round < 20; round++)); do
    found=0
    for pid in $(descendants "$root" "$skip"); do
      [[ $stopped == *" $pid "* ]] && continue
      kill -STOP "$pid" 2>/dev/null
      stopped+="$pid "
      found=1
    done
    ((found)) || break
  done
  # shellcheck disable=SC2086 # una lista de PID
  kill -TERM $stopped 2>/dev/null
  # shellcheck disable=SC2086
  kill -CONT $stopped 2>/dev/null
}

# El vigilante del plazo: un proceso aparte que espera SETUP_DEADLINE segundos y, si nadie lo ha
# parado antes, termina la preparación. Espera con `read -t` sobre una tubería que nadie escribe:
# sin proceso hijo que pudiera quedar huérfano, y una señal la corta al instante.
start_deadline() {
  (
    trap - ERR EXIT
    trap 'exit 0' TERM
    set +e
    exec {never}<> <(:)
    read -r -t "$SETUP_DEADLINE" -u "$never"
    (($? > 128)) && deadline_reached
  ) &
  DEADLINE_PID=$!
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

# ---------------------------------------------------------------- imágenes (una sola vía)

# Todas las imágenes llegan al kubelet por el mismo camino: dockerd las tiene (construidas o
# descargadas con `docker pull`, que usa los espejos de registro configurados en dockerd, como los
# de Killercoda), `docker save` las exporta y `ctr -n k8s.io images import` las mete en el
# containerd de cada nodo, con el nombre que pedirá el kubelet. IMAGE_TARGET elige los nodos:
#   containerd     este nodo (kubeadm, Killercoda)
#   kind[:NOMBRE]  los nodos del clúster kind, con docker exec (lo que hace kind load por dentro)
#   ssh:NODO       otro nodo, con ssh

# La arquitectura de los binarios y de las imágenes (amd64 o arm64).
node_arch() {
  if [[ -n $ISTIO_ARCH ]]; then
    printf '%s\n' "$ISTIO_ARCH"
    return 0
  fi
  case $(uname -m) in
    x86_64 | amd64) printf 'amd64\n' ;;
    aarch64 | arm64) printf 'arm64\n' ;;
    *) die "arquitectura no soportada: $(uname -m)" ;;
  esac
}

kind_cluster() {
  local cluster=${IMAGE_TARGET#kind}
  cluster=${cluster#:}
  printf '%s\n' "${cluster:-kind}"
}

# Los nodos donde se cargan las imágenes, uno por línea.
target_nodes() {
  case $IMAGE_TARGET in
    containerd) printf 'local\n' ;;
    ssh:*) printf '%s\n' "${IMAGE_TARGET#ssh:}" ;;
    kind | kind:*) kind get nodes --name "$(kind_cluster)" ;;
  esac
}

# on_node NODO orden...: la orden en ese nodo (aquí, dentro del contenedor del nodo kind o por ssh).
on_node() {
  local node=$1
  shift
  case $IMAGE_TARGET in
    containerd) "$@" ;;
    kind | kind:*) docker exec -i "$node" "$@" ;;
    ssh:*)
      # shellcheck disable=SC2029 # se expanden aquí a propósito: son la orden remota
      ssh "$node" "$@" ;;
  esac
}

# import_images REF...: docker save | ctr import en cada nodo. Con --platform: con el almacén de
# imágenes de containerd en Docker, `docker save` deja en el índice las demás plataformas sin su
# contenido y ctr, sin --platform, falla con «content digest … not found» (containerd PR #12908;
# kind, issue #3795: por eso `kind load`, que usa --all-platforms, falla ahí).
import_images() {
  local nodes node platform
  platform=linux/$(node_arch)
  mapfile -t nodes < <(target_nodes)
  ((${#nodes[@]})) || { log "no hay nodos en $IMAGE_TARGET"; return 1; }
  for node in "${nodes[@]}"; do
    docker save "$@" | on_node "$node" ctr -n k8s.io images import --platform "$platform" - || return 1
  done
}

# Las imágenes (de las referencias dadas) que algún nodo no tiene en containerd con el nombre que
# buscará el kubelet; falla si no puede listarlas.
missing_images() {
  local nodes node have ref name missing=
  mapfile -t nodes < <(target_nodes)
  ((${#nodes[@]})) || return 1
  for node in "${nodes[@]}"; do
    have=$(on_node "$node" ctr -n k8s.io images ls -q </dev/null) || return 1
    for ref; do
      name=$(containerd_name "$ref")
      grep -qxF "$name" <<<"$have" || [[ $missing == *"$name"$'\n'* ]] || missing+=$name$'\n'
    done
  done
  printf '%s' "$missing"
}

# Una construcción. Con buildx, BuildKit; sin él, el constructor clásico: docker/cli
# (cmd/docker/builder.go) falla si DOCKER_BUILDKIT=1 y falta buildx, así que se fija explícito.
docker_build() {
  local service=$1 ref=$2
  # Sin atestaciones de procedencia: una imagen simple que `ctr images import` acepta tal cual.
  DOCKER_BUILDKIT=$BUILDKIT BUILDKIT_PROGRESS=plain BUILDX_NO_DEFAULT_ATTESTATIONS=1 \
    docker build --build-arg "SERVICE=$service" -t "$ref" -f "$CURSO_ROOT/apps/Dockerfile" "$CURSO_ROOT/apps"
}

# load_images: construye las imágenes de apps/k8s/*.yaml con el Dockerfile común y las importa en
# los nodos de IMAGE_TARGET. Se puede usar sola: CURSO_ROOT=. IMAGE_TARGET=kind:curso ./setup.sh imagenes
load_images() {
  local refs ref service missing
  mapfile -t refs < <(image_refs)
  ((${#refs[@]})) || die "no hay ninguna imagen en $CURSO_ROOT/apps/k8s/*.yaml"
  retry 30 2 docker info >/dev/null || die "Docker no responde (docker info)"
  BUILDKIT=1
  if ! docker buildx version >/dev/null 2>&1; then
    BUILDKIT=0
    progress "  sin docker buildx: se construye con el constructor clásico de Docker"
  fi
  for ref in "${refs[@]}"; do
    service=$(service_of "$ref")
    [[ -f $CURSO_ROOT/apps/$service/main.py ]] ||
      die "la imagen $ref no corresponde a ninguna carpeta apps/$service/ con main.py"
    progress "  construyendo $ref (SERVICE=$service)"
    # La base y pip usan la red, que puede cortarse un momento (p. ej. mientras Cilium reinicia).
    retry "$BUILD_ATTEMPTS" 5 docker_build "$service" "$ref" ||
      die "falló docker build de $ref tras $BUILD_ATTEMPTS intentos (detalles en $LOG_FILE)"
  done
  progress "  importando ${refs[*]} en containerd ($IMAGE_TARGET): docker save | ctr images import"
  import_images "${refs[@]}" ||
    die "no se pudieron importar las imágenes en containerd ($IMAGE_TARGET: ctr -n k8s.io images import)"
  # Ahora y no 240 s después, como ErrImageNeverPull de un pod (imagePullPolicy: Never).
  missing=$(missing_images "${refs[@]}") ||
    die "no se pudieron listar las imágenes de containerd ($IMAGE_TARGET) tras importarlas"
  [[ -z $missing ]] ||
    die "tras importarlas, containerd no tiene $(tr '\n' ' ' <<<"$missing")(el nombre que buscará el kubelet; ver ctr -n k8s.io images ls)"
}

# Sello de las imágenes: hash de todo lo que entra en ellas (apps/ sin manifiestos ni Istio).
images_seal() {
  (cd "$CURSO_ROOT/apps" && find . -type f ! -path './k8s/*' ! -path './istio/*' \
    ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | awk '{print $1}'
}

job_images() {
  stage imagenes "Construyendo e importando las imágenes de bff, backend1 y app2" "Imágenes"
  local seal refs missing
  seal="$(images_seal) $IMAGE_TARGET"
  mapfile -t refs < <(image_refs)
  if [[ -f $STATE_DIR/imagenes.sello && $(<"$STATE_DIR/imagenes.sello") == "$seal" ]] &&
    missing=$(missing_images "${refs[@]}") && [[ -z $missing ]]; then
    stage_done "ya estaban importadas"
    return 0
  fi
  load_images
  printf '%s\n' "$seal" >"$STATE_DIR/imagenes.sello"
  touch "$STATE_DIR/imagenes.nuevas"
  stage_done "importadas"
}

# El hub de las imágenes de Istio: spec.hub del IstioOperator, el único sitio donde se escribe.
operator_hub() {
  sed -nE 's/^  hub:[[:space:]]*["'\'']?([^"'\''[:space:]#]+).*/\1/p' "$CURSO_ROOT/apps/istio/istio-operator.yaml"
}

# Las imágenes que usarán los pods de Istio, con el nombre exacto que pedirá el kubelet:
# istiod «HUB/pilot:TAG» (manifests/charts/istio-control/istio-discovery/templates/deployment.yaml)
# e istio-init e istio-proxy «HUB/proxyv2:TAG» (pkg/kube/inject/inject.go, ProxyImage), istio/istio 1.31.
istio_images() {
  printf '%s\n' "$ISTIO_HUB/pilot:$ISTIO_VERSION" "$ISTIO_HUB/proxyv2:$ISTIO_VERSION"
}

# Una imagen de Istio por dockerd: `docker pull` pasa por los espejos de registro de dockerd (en
# Killercoda, mirror.gcr.io y los suyos; Docker Hub limita las descargas anónimas por IP), y
# después la misma importación que las apps. Bien solo si queda en containerd con su nombre.
istio_image_through_docker() {
  local image=$1 missing
  retry 2 3 docker pull "$image" </dev/null || return 1
  import_images "$image" </dev/null || return 1
  missing=$(missing_images "$image") && [[ -z $missing ]]
}

# La alternativa: containerd la descarga directamente (crictl pull, por la CRI: como el kubelet).
istio_image_direct() {
  local image=$1 node nodes
  mapfile -t nodes < <(target_nodes)
  ((${#nodes[@]})) || return 1
  for node in "${nodes[@]}"; do
    retry 2 3 on_node "$node" crictl --runtime-endpoint "$CRI_ENDPOINT" pull "$image" </dev/null || return 1
  done
}

# Un adelanto: pilot primero (istiod está en el camino crítico), luego proxyv2. Cada una por
# dockerd y, si eso falla, directamente con containerd; si también falla, la descargará el kubelet
# al crear el pod. El registro dice qué camino sirvió cada imagen y cuánto tardó.
job_istio_images() {
  stage istio-imagenes "Descargando de antemano las imágenes de Istio (istiod y sidecars)" "Imágenes de Istio"
  local image images missing started summary=()
  mapfile -t images < <(istio_images)
  for image in "${images[@]}"; do
    started=$EPOCHSECONDS
    if missing=$(missing_images "$image") && [[ -z $missing ]]; then
      progress "  ✔ $image: ya estaba en containerd"
      summary+=("${image##*/} ya estaba")
    elif istio_image_through_docker "$image"; then
      progress "  ✔ $image: vía docker (docker pull con los espejos de dockerd, docker save | ctr import) ($((EPOCHSECONDS - started)) s)"
      summary+=("${image##*/} vía docker")
    elif istio_image_direct "$image"; then
      progress "  ✔ $image: vía containerd directa (crictl pull; docker pull falló) ($((EPOCHSECONDS - started)) s)"
      summary+=("${image##*/} vía containerd")
    else
      progress "  ⚠ $image: no se pudo descargar ni por docker ni por containerd; la descargará el kubelet ($((EPOCHSECONDS - started)) s)"
      summary+=("${image##*/} pendiente")
    fi
  done
  stage_done "$(printf '%s, ' "${summary[@]}" | sed 's/, $//')"
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
  local deadline seal
  if [[ ! -f $BUNDLE && -f $CURSO_ROOT/apps/istio/istio-operator.yaml ]]; then
    log "sin $BUNDLE: se usa $CURSO_ROOT tal como está"
  else
    # El asset puede llegar tarde (o a medio copiar): se espera a un .tar.gz completo.
    deadline=$(($(clock) + BUNDLE_TIMEOUT))
    until [[ -s $BUNDLE ]] && gzip -t "$BUNDLE" 2>/dev/null; do
      (($(clock) < deadline)) || die "no llegó $BUNDLE en $BUNDLE_TIMEOUT s"
      sleep 1
    done
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
  ISTIO_HUB=$(operator_hub)
  [[ -n $ISTIO_HUB ]] ||
    die "apps/istio/istio-operator.yaml no declara spec.hub (el registro de las imágenes de Istio, p. ej. docker.io/istio)"
  mkdir -p "$BIN_DIR"
  install -m 0755 "$CURSO_ROOT/tools/traza" "$BIN_DIR/traza"
  stage_done "en $CURSO_ROOT, traza instalada"
}

node_ready() { kubectl wait --for=condition=Ready node --all --timeout=5s; }

# «MAYOR.MENOR» del servidor de Kubernetes (vacío si no responde).
server_version() {
  kubectl get --raw /version 2>/dev/null |
    awk -F'"' '$2 == "major" { major = $4 } $2 == "minor" { minor = $4 }
      END { sub(/[^0-9].*/, "", minor); if (major != "" && minor != "") print major "." minor }' || true
}

wait_node() {
  stage nodo "Esperando a que el nodo de Kubernetes esté Ready" "Nodo"
  local deadline version
  # Por el reloj: una vuelta son los 5 s de kubectl wait más la pausa, o lo que tarde kubectl.
  deadline=$(($(clock) + NODE_TIMEOUT))
  until node_ready; do
    (($(clock) < deadline)) || die "el nodo no está Ready tras ${NODE_TIMEOUT} s (kubectl get nodes)"
    sleep 2
  done
  # Solo un aviso: el curso (y el kubectl del laboratorio) siguen a Kubernetes KUBERNETES_VERSION;
  # con otra versión, alguna salida de kubectl puede cambiar.
  version=$(server_version)
  if [[ -z $version ]]; then
    log "no se pudo leer la versión de Kubernetes del servidor (kubectl get --raw /version)"
  elif [[ $version != "$KUBERNETES_VERSION" ]]; then
    progress "  ⚠ Este clúster tiene Kubernetes $version y el curso está escrito para $KUBERNETES_VERSION: alguna salida de kubectl puede variar un poco."
  fi
  stage_done "Ready (Kubernetes ${version:-?})"
}

# Cilium (la CNI de Killercoda desde 2026) balancea los Services en el propio socket cuando
# sustituye a kube-proxy (kube-proxy-replacement=true, que activa el balanceo por sockets: Cilium,
# daemon/cmd/kube_proxy_replacement.go) o con bpf-lb-sock=true. Así la conexión sale ya hacia la IP
# de un pod, las reglas de iptables de istio-init no la llevan al sidecar y no hay reintentos.
# bpf-lb-sock-hostns-only=true limita ese balanceo a los procesos del nodo: es el ajuste que
# importa aquí (docs.cilium.io, «Integration with Istio»). cni-exclusive=false solo hace falta con
# el plugin CNI de Istio, que este curso no usa (istio-init pone las reglas): no se toca.
# Se decide con los valores vivos de cilium-config y solo se reinicia Cilium si hubo que cambiar algo.
cilium_patch() {
  stage cilium "Comprobando la CNI (Cilium)" "CNI"
  local out kpr sock hostns
  if ! out=$(kubectl -n kube-system get configmap cilium-config -o name 2>&1); then
    if [[ $out == *NotFound* || $out == *"not found"* ]]; then
      stage_done "sin Cilium: nada que ajustar"
      return 0
    fi
    die "no se pudo consultar configmap/cilium-config: $out"
  fi
  out=$(kubectl -n kube-system get configmap cilium-config \
    -o 'jsonpath={.data.kube-proxy-replacement}|{.data.bpf-lb-sock}|{.data.bpf-lb-sock-hostns-only}')
  IFS='|' read -r kpr sock hostns <<<"$out"
  log "cilium-config: kube-proxy-replacement=${kpr:-∅} bpf-lb-sock=${sock:-∅} bpf-lb-sock-hostns-only=${hostns:-∅}"
  if [[ $kpr != true && $kpr != strict && $sock != true ]]; then
    stage_done "Cilium sin balanceo por sockets: el tráfico ya pasa por los sidecars"
    return 0
  fi
  if [[ $hostns == true ]]; then
    stage_done "bpf-lb-sock-hostns-only=true ya estaba: sin reinicio"
    return 0
  fi
  kubectl -n kube-system patch configmap cilium-config --type merge \
    -p '{"data":{"bpf-lb-sock-hostns-only":"true"}}'
  kubectl -n kube-system rollout restart daemonset/cilium
  kubectl -n kube-system rollout status daemonset/cilium --timeout="${CILIUM_TIMEOUT}s" ||
    die "Cilium no volvió a estar listo en ${CILIUM_TIMEOUT} s tras el ajuste"
  stage_done "bpf-lb-sock-hostns-only=true, Cilium reiniciado"
}

fetch() {
  local url=$1 out=$2
  curl -fsSL --connect-timeout 15 --max-time 300 -o "$out" "$url"
}

# Descarga el archivo de istioctl y su .sha256 de un sitio (BASE/VERSIÓN/ARCHIVO), con reintentos.
fetch_istioctl() {
  local base=$1 archive=$2 dir=$3
  retry "$DOWNLOAD_ATTEMPTS" 2 fetch "$base/$ISTIO_VERSION/$archive" "$dir/$archive" &&
    retry "$DOWNLOAD_ATTEMPTS" 2 fetch "$base/$ISTIO_VERSION/$archive.sha256" "$dir/$archive.sha256"
}

download_istioctl() {
  stage istioctl "Descargando istioctl $ISTIO_VERSION" "istioctl $ISTIO_VERSION"
  local arch bin=$ISTIO_HOME/$ISTIO_VERSION/istioctl
  if [[ -x $bin ]]; then
    ln -sfn "$bin" "$BIN_DIR/istioctl"
    stage_done "ya estaba en $bin"
    return 0
  fi
  arch=$(node_arch)
  local archive=istioctl-$ISTIO_VERSION-linux-$arch.tar.gz tmp expected actual base source=
  tmp=$(mktemp -d "$STATE_DIR/descarga.XXXXXX")
  for base in "$ISTIO_DOWNLOAD_URL" "$ISTIO_DOWNLOAD_FALLBACK_URL"; do
    if fetch_istioctl "$base" "$archive" "$tmp"; then
      source=$base
      break
    fi
    progress "  ⚠ no se pudo descargar de $base tras $DOWNLOAD_ATTEMPTS intentos"
  done
  [[ -n $source ]] || {
    rm -rf "$tmp"
    die "no se pudo descargar $archive (ni de $ISTIO_DOWNLOAD_URL ni de $ISTIO_DOWNLOAD_FALLBACK_URL, tras $DOWNLOAD_ATTEMPTS intentos en cada uno)"
  }
  expected=$(awk '{print tolower($1); exit}' "$tmp/$archive.sha256")
  actual=$(sha256_of "$tmp/$archive")
  if [[ ! $expected =~ ^[0-9a-f]{64}$ ]]; then
    rm -rf "$tmp"
    die "$archive.sha256 no contiene una suma SHA-256 válida; no se instala istioctl"
  fi
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
  stage_done "sha256 verificada (de ${source%%/releases*})"
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

# Espera las etapas en paralelo; mientras espera una, esa es la etapa en curso (STATE_DIR/etapa).
wait_jobs() {
  local pid
  log "esperando a las etapas en paralelo (imágenes de las apps y de Istio)"
  for pid in "${JOB_PIDS[@]}"; do
    if [[ -f $STATE_DIR/etapa.$pid ]]; then mv -f "$STATE_DIR/etapa.$pid" "$STATE_DIR/etapa"; fi
    if ! wait "$pid"; then
      stage_in_progress # la etapa que falló es la del trabajo (si ya dejó el marcador, no se sobrescribe)
      mark_failure "una etapa en paralelo falló"
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

# Los pods que el planificador no puede colocar ahora, «pod<TAB>motivo»: la condición PodScheduled
# a False con reason Unschedulable y el mensaje del planificador, el mismo de su evento
# FailedScheduling (kubernetes, pkg/scheduler/schedule_one.go, handleSchedulingFailure), p. ej.
# «0/1 nodes are available: 1 Insufficient cpu». Es el estado actual, no un evento antiguo.
unschedulable_pods() {
  kubectl -n "$APP_NAMESPACE" get pods --field-selector=status.phase=Pending \
    -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{range .status.conditions[?(@.reason=="Unschedulable")]}{.message}{end}{"\n"}{end}' |
    awk -F'\t' '$2 != ""'
}

# Espera a cada Deployment, con un plazo total de ROLLOUT_TIMEOUT s por el reloj, en tramos de
# ROLLOUT_POLL s. Entre tramo y tramo mira si hay pods sin sitio en el nodo: si los mismos siguen
# sin sitio dos veces seguidas, falla en ese momento con el motivo del planificador (p. ej. CPU
# insuficiente en un nodo pequeño: README, «CPU en un nodo pequeño») en vez de agotar el plazo.
wait_rollouts() {
  stage pods "Esperando a que los pods (con su sidecar) estén listos" "Pods"
  local deployment pods missing deadline step stuck seen=
  deadline=$(($(clock) + ROLLOUT_TIMEOUT))
  for deployment in "${DEPLOYMENTS[@]}"; do
    while :; do
      step=$((deadline - $(clock)))
      if ((step <= 0)); then
        diagnose
        die "$deployment no estuvo listo en ${ROLLOUT_TIMEOUT} s (kubectl get pods; kubectl describe pod)"
      fi
      ((step <= ROLLOUT_POLL)) || step=$ROLLOUT_POLL
      kubectl -n "$APP_NAMESPACE" rollout status "$deployment" --timeout="${step}s" && break
      stuck=$(unschedulable_pods) || stuck=
      if [[ -n $stuck && $stuck == "$seen" ]]; then
        diagnose
        die "el planificador de Kubernetes no encuentra sitio para $(awk -F'\t' '{printf "%s ", $1}' <<<"$stuck")(Pending): «$(awk -F'\t' 'NR == 1 {print $2}' <<<"$stuck")»; mira kubectl describe node y los requests de CPU y memoria (README, «CPU en un nodo pequeño»)"
      fi
      seen=$stuck
    done
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

# Las órdenes externas que usa este script (con IMAGE_TARGET), para comprobarlas de una vez.
required_commands() {
  local mode=$1
  printf '%s\n' awk docker grep sed sort tr
  case $IMAGE_TARGET in
    containerd) printf '%s\n' ctr crictl ;;
    kind | kind:*) printf '%s\n' kind ;;
    ssh:*) printf '%s\n' ssh ;;
  esac
  [[ $mode == imagenes ]] ||
    printf '%s\n' curl date find flock gzip install kubectl ln mktemp mv ps rm sha256sum sleep tail tar touch uname wc xargs
  # No las usa este script sino el curso (mejor saberlo ahora que en un paso): python3, cada verify.sh
  # a través de traza; jq, los pasos 5 y 6.
  [[ $mode == imagenes ]] || printf '%s\n' python3 jq
}

# Falla en segundos, nombrando todo lo que falta (sin esto, sin docker se perdían ~4,5 min en
# reintentos de docker info).
preflight() {
  local mode=${1:-todo} command missing=()
  case $IMAGE_TARGET in
    containerd | kind | kind:* | ssh:?*) ;;
    *) die "IMAGE_TARGET desconocido: $IMAGE_TARGET (containerd, kind[:nombre] o ssh:nodo)" ;;
  esac
  while read -r command; do
    command -v "$command" >/dev/null || missing+=("$command")
  done < <(required_commands "$mode")
  ((${#missing[@]} == 0)) ||
    die "faltan órdenes que setup.sh necesita: ${missing[*]} (instala lo que falte o revisa el PATH: $PATH)"
}

# Un segundo setup.sh espera al primero, y lo dice en cuanto empieza a esperar.
acquire_lock() {
  local lock_fd
  command -v flock >/dev/null || return 0 # la comprobación previa dirá que falta
  exec {lock_fd}>"$STATE_DIR/lock"
  flock -n "$lock_fd" && return 0
  to_caller "Otra preparación está en marcha ($STATE_DIR/lock): se espera a que termine (como mucho $LOCK_TIMEOUT s). Su progreso: $STATE_DIR/progreso"
  log "esperando al cerrojo $STATE_DIR/lock (otra preparación en marcha)"
  if ! flock -w "$LOCK_TIMEOUT" "$lock_fd"; then
    to_caller "La otra preparación sigue en marcha tras $LOCK_TIMEOUT s: esta no hace nada."
    exit 1
  fi
}

prepare_state() {
  mkdir -p "$STATE_DIR" "${LOG_FILE%/*}"
  # La salida original, si la hay (puede llegar cerrada); todo lo demás, al registro.
  { exec 3>&1; } 2>/dev/null || exec 3>/dev/null
  exec >>"$LOG_FILE" 2>&1
  LOGGING=1
  acquire_lock
  START_EPOCH=$EPOCHSECONDS
  # Sin rm, la comprobación previa lo dirá (un sandbox nuevo no tiene marcadores que borrar).
  if command -v rm >/dev/null; then
    rm -f "$STATE_DIR/listo" "$STATE_DIR/fallo" "$STATE_DIR/progreso" "$STATE_DIR"/etapa*
  fi
  printf '%s\n' "$START_EPOCH" >"$STATE_DIR/inicio"
  trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
  trap on_exit EXIT
  trap 'exit 143' TERM
  log "setup.sh: Istio $ISTIO_VERSION, Kubernetes $KUBERNETES_VERSION, curso en $CURSO_ROOT, estado en $STATE_DIR"
}

main() {
  set -E
  prepare_state
  stage comprobaciones "Comprobando las herramientas del sistema" "Herramientas"
  preflight todo
  start_deadline
  stage_done "todas presentes; plazo total $SETUP_DEADLINE s"
  unpack_bundle
  # Las imágenes no dependen de Kubernetes ni de Istio: empiezan ya y se solapan con la espera del
  # nodo, el ajuste de Cilium, la descarga de istioctl y la instalación de Istio.
  start_job job_images
  start_job job_istio_images
  wait_node
  cilium_patch
  download_istioctl
  install_istio
  wait_jobs
  apply_apps
  wait_rollouts
  CURRENT_STAGE=listo CURRENT_TITLE=Listo CURRENT_SHORT=Listo
  # Primero la línea de progreso y después el marcador (completo, con mv): foreground.sh termina
  # al ver «listo» y ya ha podido leer la línea.
  progress "✔ Entorno listo en $((EPOCHSECONDS - START_EPOCH)) s"
  printf '%s\n' "$EPOCHSECONDS" >"$STATE_DIR/listo.nuevo"
  mv -f "$STATE_DIR/listo.nuevo" "$STATE_DIR/listo"
}

case ${1:-todo} in
  todo) main ;;
  imagenes)
    preflight imagenes
    load_images ;;
  *)
    printf 'Uso: %s [todo|imagenes]\n' "$0" >&2
    exit 2 ;;
esac
