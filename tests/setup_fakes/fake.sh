#!/usr/bin/env bash
# Falsificación grabadora de kubectl, docker, ctr, crictl, istioctl, curl, kind, sleep y date para
# probar setup.sh sin clúster. Se instala como enlaces con esos nombres (o como copia llamada istioctl
# dentro del tar falso de istioctl); el nombre con que se invoca elige la herramienta (o FAKE_AS,
# con el que `docker exec NODO orden…` se vuelve a llamar como esa orden dentro del nodo kind).
#
# El reloj falso: `date +%s` da FAKE_CLOCK_START (por omisión 1900000000) más los segundos que han
# «pasado»: cada `sleep N` y cada espera que agota su --timeout=Ns (kubectl wait, rollout status)
# los suman sin esperar de verdad. Así los plazos de setup.sh se comprueban por su reloj, sin
# depender de lo cargada que esté la máquina.
#
# Cada llamada deja dos líneas en $FAKE_STATE/calls.log, numeradas por un contador común bajo
# flock (el orden del archivo es el orden real de los sucesos):
#   <n> START <pid> <ns> <herramienta> <args...>
#   <n> END   <pid> <ns> <herramienta> <código>
# Variables que cambian el comportamiento:
#   FAKE_K8S_VERSION=M.m     versión del servidor de Kubernetes (`kubectl get --raw /version`)
#   FAKE_CILIUM=1            existe kube-system/configmap cilium-config, con los valores iniciales
#   FAKE_CILIUM_KPR, FAKE_CILIUM_SOCK_LB, FAKE_CILIUM_HOSTNS: kube-proxy-replacement (por omisión
#                            «true»), bpf-lb-sock y bpf-lb-sock-hostns-only (por omisión sin definir)
#   FAKE_NO_BUILDX=1         docker sin el componente buildx (con DOCKER_BUILDKIT=1, build falla)
#   FAKE_BUILD_FAILURES=N    las N primeras llamadas a docker build fallan (red cortada)
#   FAKE_DOCKER_PULL_FAILS=1 docker pull falla (límite de descargas de Docker Hub, espejo caído)
#   FAKE_CRICTL_PULL_FAILS=1 crictl pull falla
#   FAKE_DOCKER_STORE        «containerd» (por omisión: el almacén de imágenes de containerd de
#                            Docker >= 29) o «overlay2»; con containerd, `docker save` de una imagen
#                            descargada deja en el índice las otras plataformas sin contenido y
#                            `ctr images import` sin --platform falla (containerd PR #12908)
#   FAKE_NODE_NEVER_READY=1  el nodo nunca está Ready (kubectl wait agota su --timeout)
#   FAKE_UNSCHEDULABLE=NAME  los pods del Deployment NAME quedan Pending: el planificador no les
#                            encuentra sitio («0/1 nodes are available: 1 Insufficient cpu…»)
#   FAKE_UNSCHEDULABLE_ONCE=1 lo mismo, pero solo hasta la primera vez que se miran los pods Pending
#                            (después el planificador les encuentra sitio)
#   FAKE_CURL_DOWN=TEXTO     curl falla con toda URL que contiene TEXTO (un sitio caído)
#   FAKE_CTR_DROP=REF        ctr images import no deja REF con su nombre (p. ej. solo por resumen)
#   FAKE_HANG=TEXTO          toda llamada cuyo «herramienta argumentos» contiene TEXTO se queda
#                            colgada (un sleep real de 60 s), como un docker o un kubectl que no vuelve
#   FAKE_CURL_FAILURES=N     las N primeras llamadas a curl fallan (error transitorio)
#   FAKE_SHA_MISMATCH=1      el .sha256 publicado no corresponde al archivo
#   FAKE_ROLLOUT_NEVER=NAME  `kubectl rollout status deployment.apps/NAME` agota su tiempo
#   FAKE_SIDECAR_LAYOUT      dónde está istio-proxy en cada pod: «native» (por omisión; en
#                            initContainers, como Istio >= 1.27 en Kubernetes >= 1.33) o «classic»
#                            (en containers)
#   FAKE_NO_SIDECAR=NAME     los pods del Deployment NAME no llevan sidecar
#   FAKE_RENDEZVOUS=1        docker build espera a que empiecen istioctl install y docker pull,
#                            y estos a que empiece docker build (con límite, ~10 s): si setup.sh
#                            los serializa, sus intervalos no se solapan y la prueba lo ve
#   FAKE_ISTIOCTL_ARCHIVE    el .tar.gz que «descarga» curl
#
# El clúster falso no sabe nada de las apps del curso: lo que existe es lo que setup.sh hizo.
#   - `kubectl apply -f DIR` lee los manifiestos que recibe y guarda cada Deployment (nombre,
#     réplicas, imágenes y su imagePullPolicy) en $FAKE_STATE/deploy.<nombre>.
#   - dockerd: $FAKE_STATE/docker.images (lo que construyó docker build o descargó docker pull);
#     `docker save` solo exporta lo que está ahí.
#   - containerd: `ctr images import` guarda en $FAKE_STATE/ctr.images las imágenes que de verdad
#     recibió (el archivo de `docker save`), con el nombre completo de containerd; `crictl pull`,
#     la que descarga. kind tiene un nodo, NOMBRE-control-plane, con ese mismo containerd.
#   - `kubectl rollout status` termina bien solo si cada imagen del Deployment está en el nodo; si
#     no, sus pods quedan en ErrImageNeverPull (o ErrImagePull: aquí no hay registro) y la espera
#     agota su tiempo, como en un clúster. `get pods` y `get events` lo cuentan.
set -euo pipefail

TOOL=${FAKE_AS:-$(basename "$0")}
unset FAKE_AS
STATE=${FAKE_STATE:?FAKE_STATE sin definir}
ARGS="$*"

record() {
  local fd n
  exec {fd}>>"$STATE/seq.lock"
  flock "$fd"
  n=$(($(cat "$STATE/seq" 2>/dev/null || echo 0) + 1))
  printf '%s\n' "$n" >"$STATE/seq"
  printf '%s %s\n' "$n" "$*" >>"$STATE/calls.log"
  exec {fd}>&-
}

finish() {
  local rc=$?
  record "END $$ $(command -p date +%s%N) $TOOL $rc"
}

record "START $$ $(command -p date +%s%N) $TOOL $ARGS"
trap finish EXIT

real_sleep() { command -p sleep "$@"; }

# El reloj falso (segundos transcurridos en $STATE/clock, bajo flock).
clock_advance() {
  local fd
  exec {fd}>>"$STATE/clock.lock"
  flock "$fd"
  printf '%s\n' "$(($(cat "$STATE/clock" 2>/dev/null || echo 0) + $1))" >"$STATE/clock"
  exec {fd}>&-
}
clock_now() { printf '%s\n' "$((${FAKE_CLOCK_START:-1900000000} + $(cat "$STATE/clock" 2>/dev/null || echo 0)))"; }

# Una espera que agota su tiempo: el reloj avanza lo que diga --timeout=Ns.
time_out() {
  local timeout
  timeout=$(sed -nE 's/.*--timeout=([0-9]+)s.*/\1/p' <<<"$ARGS")
  clock_advance "${timeout:-0}"
}

if [[ -n ${FAKE_HANG:-} && "$TOOL $ARGS" == *"$FAKE_HANG"* ]]; then real_sleep 60; fi

# Espera (con límite: ~10 s) a que exista un archivo de estado.
rendezvous() {
  local i
  [[ ${FAKE_RENDEZVOUS:-0} == 1 ]] || return 0
  for ((i = 0; i < 500; i++)); do
    [[ -e $STATE/$1 ]] && return 0
    real_sleep 0.02
  done
  return 0
}

unknown() {
  printf 'fake %s: llamada no contemplada: %s\n' "$TOOL" "$ARGS" >&2
  exit 99
}

# El nombre con que containerd guarda una imagen de Docker: «bff:1.0.0» → «docker.io/library/bff:1.0.0»,
# «org/x:1» → «docker.io/org/x:1»; con registro («registry:5000/x:1», «localhost/x:1»), tal cual.
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

# Aplica un manifiesto: imprime «tipo/nombre» de cada objeto (como `-o name`) y guarda cada
# Deployment en $STATE/deploy.<nombre>: réplicas en la primera línea y luego «imagen política».
apply_manifest() {
  local kind name replicas image policy line
  while IFS=$'\t' read -r kind name replicas line; do
    case $kind in
      Deployment)
        echo "deployment.apps/$name"
        {
          printf '%s\n' "$replicas"
          tr ';' '\n' <<<"$line" | awk 'NF'
        } >"$STATE/deploy.$name" ;;
      *) echo "$(tr '[:upper:]' '[:lower:]' <<<"$kind")/$name" ;;
    esac
  done < <(awk '
    function flush() {
      if (kind != "") printf "%s\t%s\t%s\t%s\n", kind, name, (replicas == "" ? 1 : replicas), images
      kind = ""; name = ""; replicas = ""; images = ""; section = ""
    }
    function value(s) { sub(/^[^:]*:[ \t]*/, "", s); sub(/[ \t]+#.*$/, "", s); gsub(/["\047]/, "", s); return s }
    /^---/ { flush(); next }
    /^[A-Za-z]/ { section = $0; sub(/:.*/, "", section) }
    /^kind:/ { kind = value($0) }
    section == "metadata" && /^  name:/ { name = value($0) }
    section == "spec" && /^  replicas:/ { replicas = value($0) }
    /^[ \t]*(-[ \t]+)?image:/ { images = images (images == "" ? "" : ";") value($0) " IfNotPresent" }
    /^[ \t]*(-[ \t]+)?imagePullPolicy:/ { sub(/ [A-Za-z]+$/, " " value($0), images) }
    END { flush() }
  ' "$1")
}

deployments() {
  local file
  for file in "$STATE"/deploy.*; do
    [[ -e $file ]] && printf '%s\n' "${file##*/deploy.}"
  done
}

pod_name() { printf '%s-6d5f8c7b9d-x%04d\n' "$1" "$2"; }

# Por qué no arrancan los pods de un Deployment («MOTIVO mensaje», como el evento del kubelet), o
# nada si todas sus imágenes están en el nodo.
UNSCHEDULABLE_MESSAGE="0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."

pod_problem() {
  local image policy
  if [[ $1 == "${FAKE_UNSCHEDULABLE:-}" ]] && ! [[ ${FAKE_UNSCHEDULABLE_ONCE:-0} == 1 && -e $STATE/pending.seen ]]; then
    printf 'FailedScheduling %s\n' "$UNSCHEDULABLE_MESSAGE"
    return 0
  fi
  while read -r image policy; do
    grep -qxF "$(containerd_name "$image")" "$STATE/ctr.images" 2>/dev/null && continue
    if [[ $policy == Never ]]; then
      printf 'ErrImageNeverPull Container image "%s" is not present with pull policy of Never\n' "$image"
    else
      printf 'ErrImagePull Failed to pull image "%s": no hay registro en el clúster falso\n' "$image"
    fi
    return 0
  done < <(sed 1d "$STATE/deploy.$1")
}

# Nombres de los initContainers y de los containers de un pod de DEPLOYMENT (separados por «|»),
# según dónde puso Istio el sidecar:
#   nativo (Istio >= 1.27 en Kubernetes >= 1.33): istio-init e istio-proxy en initContainers;
#   clásico: istio-init en initContainers, istio-proxy en containers;
#   sin inyección: solo la app.
pod_containers() {
  local deployment=$1 layout=${FAKE_SIDECAR_LAYOUT:-native}
  if [[ ! -e $STATE/injected || $deployment == "${FAKE_NO_SIDECAR:-}" ]]; then
    printf '|%s\n' "$deployment"
  elif [[ $layout == native ]]; then
    printf 'istio-init istio-proxy|%s\n' "$deployment"
  elif [[ $layout == classic ]]; then
    printf 'istio-init|%s istio-proxy\n' "$deployment"
  else
    printf 'fake kubectl: FAKE_SIDECAR_LAYOUT=%s desconocido\n' "$layout" >&2
    exit 98
  fi
}

# Una plantilla jsonpath de kubectl limitada a lo que setup.sh usa, aplicada a un pod. Cualquier
# otra expresión es una llamada no contemplada: la falsificación no inventa campos.
render_pod() {
  local template=$1 pod=$2 deployment=$3 both init main out
  both=$(pod_containers "$deployment")
  init=${both%%|*} main=${both#*|}
  out=${template#'{range .items[*]}'}
  out=${out%'{end}'}
  [[ $out != "$template" ]] || unknown
  out=${out//'{.metadata.name}'/$pod}
  out=${out//'{.spec.initContainers[*].name}'/$init}
  out=${out//'{.spec.containers[*].name}'/$main}
  out=${out//'{" "}'/ }
  out=${out//'{"\n"}'/$'\n'}
  [[ $out != *"{"* ]] || unknown
  printf '%s' "$out"
}

# Un valor de cilium-config: el último parcheado, si no el inicial (FAKE_CILIUM_*).
cilium_value() {
  if [[ -f $STATE/cilium.$1 ]]; then
    cat "$STATE/cilium.$1"
  else
    case $1 in
      kube-proxy-replacement) printf '%s' "${FAKE_CILIUM_KPR-true}" ;;
      bpf-lb-sock) printf '%s' "${FAKE_CILIUM_SOCK_LB:-}" ;;
      bpf-lb-sock-hostns-only) printf '%s' "${FAKE_CILIUM_HOSTNS:-}" ;;
    esac
  fi
}

fake_kubectl() {
  case $ARGS in
    *"wait --for=condition=Ready node --all"*)
      if [[ ${FAKE_NODE_NEVER_READY:-0} == 1 ]]; then
        time_out
        echo "error: timed out waiting for the condition on nodes/controlplane" >&2
        exit 1
      fi
      echo "node/controlplane condition met" ;;
    "get --raw /version")
      local version=${FAKE_K8S_VERSION:?FAKE_K8S_VERSION sin definir}
      printf '{\n  "major": "%s",\n  "minor": "%s",\n  "gitVersion": "v%s.2"\n}\n' \
        "${version%%.*}" "${version#*.}" "$version" ;;
    *"get configmap cilium-config -o name"*)
      if [[ ${FAKE_CILIUM:-0} == 1 ]]; then
        echo "configmap/cilium-config"
      else
        echo 'Error from server (NotFound): configmaps "cilium-config" not found' >&2
        exit 1
      fi ;;
    *"get configmap cilium-config -o jsonpath={.data.kube-proxy-replacement}|{.data.bpf-lb-sock}|{.data.bpf-lb-sock-hostns-only}")
      printf '%s|%s|%s' "$(cilium_value kube-proxy-replacement)" "$(cilium_value bpf-lb-sock)" \
        "$(cilium_value bpf-lb-sock-hostns-only)" ;;
    *"patch configmap cilium-config --type merge -p "*)
      local patch=${ARGS##* -p } key value
      while IFS=$'\t' read -r key value; do
        printf '%s' "$value" >"$STATE/cilium.$key"
      done < <(sed -E 's/^\{"data":\{(.*)\}\}$/\1/; s/","/"\n"/g' <<<"$patch" | sed -E 's/^"([^"]+)":"([^"]*)"$/\1\t\2/')
      echo "configmap/cilium-config patched" ;;
    *"rollout restart daemonset/cilium"*) echo "daemonset.apps/cilium restarted" ;;
    *"rollout status daemonset/cilium"*) echo 'daemon set "cilium" successfully rolled out' ;;
    *"-n istio-system get deployment istiod"*)
      [[ -e $STATE/istio.installed ]] || {
        echo 'Error from server (NotFound): deployments.apps "istiod" not found' >&2
        exit 1
      }
      echo "istiod   1/1     1            1           1m" ;;
    *"-n istio-system rollout status deployment/istiod"*)
      [[ -e $STATE/istio.installed ]] || {
        echo 'Error from server (NotFound): deployments.apps "istiod" not found' >&2
        exit 1
      }
      echo 'deployment "istiod" successfully rolled out' ;;
    *"label namespace default istio-injection=enabled --overwrite"*)
      touch "$STATE/ns.labelled"
      echo "namespace/default labeled" ;;
    *"apply -f "*" -o name"*)
      local dir file
      dir=$(sed -E 's/.*apply -f ([^ ]+) -o name.*/\1/' <<<"$ARGS")
      # Los pods llevan sidecar solo si Istio y la etiqueta estaban antes que el apply.
      if [[ -e $STATE/istio.installed && -e $STATE/ns.labelled ]]; then touch "$STATE/injected"; fi
      for file in "$dir"/*.yaml; do apply_manifest "$file"; done ;;
    *"rollout restart deployment.apps/"*) echo "deployments restarted" ;;
    *"rollout status deployment.apps/"*)
      local deployment replicas
      deployment=$(sed -E 's#.*deployment\.apps/([^ ]+).*#\1#' <<<"$ARGS")
      [[ -f $STATE/deploy.$deployment ]] || {
        echo "Error from server (NotFound): deployments.apps \"$deployment\" not found" >&2
        exit 1
      }
      replicas=$(sed -n 1p "$STATE/deploy.$deployment")
      if [[ $deployment == "${FAKE_ROLLOUT_NEVER:-}" ]] || [[ -n $(pod_problem "$deployment") ]]; then
        echo "Waiting for deployment \"$deployment\" rollout to finish: 0 of $replicas updated replicas are available..."
        time_out
        echo "error: timed out waiting for the condition" >&2
        exit 1
      fi
      echo "deployment \"$deployment\" successfully rolled out" ;;
    *"get pods --field-selector=status.phase=Running -o jsonpath="*)
      local deployment i template
      template=${ARGS#*-o jsonpath=}
      for deployment in $(deployments); do
        [[ -z $(pod_problem "$deployment") ]] || continue  # sin imagen, el pod sigue Pending
        for ((i = 1; i <= $(sed -n 1p "$STATE/deploy.$deployment"); i++)); do
          render_pod "$template" "$(pod_name "$deployment" "$i")" "$deployment"
        done
      done ;;
    *"get pods --field-selector=status.phase=Pending -o jsonpath="*)
      # La única consulta de pods Pending que hace setup.sh: nombre y mensaje de la condición
      # PodScheduled=False (reason Unschedulable).
      local deployment i
      [[ $ARGS == *'{.metadata.name}{"\t"}{range .status.conditions[?(@.reason=="Unschedulable")]}{.message}{end}{"\n"}'* ]] || unknown
      for deployment in $(deployments); do
        [[ $(pod_problem "$deployment") == FailedScheduling* ]] || continue
        for ((i = 1; i <= $(sed -n 1p "$STATE/deploy.$deployment"); i++)); do
          printf '%s\t%s\n' "$(pod_name "$deployment" "$i")" "$UNSCHEDULABLE_MESSAGE"
        done
      done
      touch "$STATE/pending.seen" ;;
    *"get pods -o wide"*)
      local deployment i problem
      echo "NAME READY STATUS RESTARTS AGE"
      for deployment in $(deployments); do
        problem=$(pod_problem "$deployment")
        for ((i = 1; i <= $(sed -n 1p "$STATE/deploy.$deployment"); i++)); do
          if [[ $problem == FailedScheduling* ]]; then
            printf '%s 0/2 Pending 0 1m\n' "$(pod_name "$deployment" "$i")"
          elif [[ -n $problem ]]; then
            printf '%s 0/2 %s 0 1m\n' "$(pod_name "$deployment" "$i")" "${problem%% *}"
          else
            printf '%s 2/2 Running 0 1m\n' "$(pod_name "$deployment" "$i")"
          fi
        done
      done ;;
    *"get events"*)
      local deployment problem
      echo "LAST SEEN TYPE REASON OBJECT MESSAGE"
      for deployment in $(deployments); do
        problem=$(pod_problem "$deployment")
        [[ -z $problem ]] ||
          printf '1m Warning %s pod/%s %s\n' "${problem%% *}" "$(pod_name "$deployment" 1)" "${problem#* }"
      done ;;
    *) unknown ;;
  esac
}

fake_docker() {
  case ${1:-} in
    info) echo "Server Version: 27.0.0" ;;
    buildx)
      [[ ${2:-} == version ]] || unknown
      if [[ ${FAKE_NO_BUILDX:-0} == 1 ]]; then
        echo "docker: unknown command: docker buildx" >&2
        exit 1
      fi
      echo "github.com/docker/buildx v0.19.3" ;;
    build)
      printf '%s\n' "${DOCKER_BUILDKIT-unset}" >>"$STATE/build.buildkit"
      if [[ ${DOCKER_BUILDKIT:-} == 1 && ${FAKE_NO_BUILDX:-0} == 1 ]]; then
        # El mensaje de docker/cli (cmd/docker/builder.go) en este caso.
        echo "ERROR: BuildKit is enabled but the buildx component is missing or broken." >&2
        exit 1
      fi
      local n
      n=$(($(cat "$STATE/build.count" 2>/dev/null || echo 0) + 1))
      printf '%s\n' "$n" >"$STATE/build.count"
      if ((n <= ${FAKE_BUILD_FAILURES:-0})); then
        echo "ERROR: failed to resolve source metadata for docker.io/library/python:3.12.12-slim-trixie: i/o timeout" >&2
        exit 1
      fi
      touch "$STATE/docker-build.started"
      rendezvous istioctl-install.started
      rendezvous docker-pull.started
      local ref
      ref=$(sed -E 's/.* -t ([^ ]+) .*/\1/' <<<"$ARGS")
      echo "$ref" >>"$STATE/docker.images" ;;
    pull)
      [[ $# == 2 ]] || unknown
      touch "$STATE/docker-pull.started"
      rendezvous docker-build.started
      if [[ ${FAKE_DOCKER_PULL_FAILS:-0} == 1 ]]; then
        echo "Error response from daemon: toomanyrequests: You have reached your unauthenticated pull rate limit." >&2
        exit 1
      fi
      echo "$2" >>"$STATE/docker.images"
      echo "$2" ;;
    save)
      shift
      local ref
      # Con el almacén de containerd, una imagen descargada (no construida aquí) trae en su índice
      # las otras plataformas, sin su contenido.
      echo "FAKE-DOCKER-ARCHIVE ${FAKE_DOCKER_STORE:-containerd}"
      for ref in "$@"; do
        grep -qxF "$ref" "$STATE/docker.images" 2>/dev/null || {
          echo "Error response from daemon: reference does not exist: $ref" >&2
          exit 1
        }
        echo "$ref"
      done ;;
    exec)
      # docker exec -i NODO orden…: la orden dentro del nodo kind (el único: *-control-plane).
      [[ ${2:-} == -i && ${3:-} == *-control-plane ]] || unknown
      FAKE_AS=$4 "$0" "${@:5}" ;;
    *) unknown ;;
  esac
}

fake_ctr() {
  case $ARGS in
    "-n k8s.io images import "*)
      local line first=1 platform='' store=''
      case $ARGS in
        "-n k8s.io images import -") ;;
        "-n k8s.io images import --platform linux/"*" -") platform=${ARGS#*--platform } platform=${platform% -} ;;
        *) unknown ;;
      esac
      while IFS= read -r line; do
        if ((first)); then
          [[ $line == "FAKE-DOCKER-ARCHIVE "* ]] || { echo "ctr: archivo no válido" >&2; exit 1; }
          first=0
          store=${line#FAKE-DOCKER-ARCHIVE }
          continue
        fi
        # Una imagen descargada (con registro en el nombre) desde el almacén de containerd: sin
        # --platform, ctr busca las demás plataformas del índice y no están.
        if [[ $store == containerd && -z $platform && $line == */* ]]; then
          echo "ctr: content digest sha256:9106d83981393d7489c50e7cfa87a9d30b78444420c22931094256e55f9d0e5f: not found" >&2
          exit 1
        fi
        [[ $line == "${FAKE_CTR_DROP:-}" ]] && continue # importada sin su nombre
        containerd_name "$line" >>"$STATE/ctr.images"
        echo "unpacking $(containerd_name "$line") (sha256:0000)...done"
      done ;;
    "-n k8s.io images ls -q") cat "$STATE/ctr.images" 2>/dev/null || true ;;
    *) unknown ;;
  esac
}

fake_crictl() {
  local image=${*: -1}
  case $ARGS in
    *" inspecti "*) grep -qxF "$image" "$STATE/crictl.images" 2>/dev/null ;;
    *" pull "*)
      if [[ ${FAKE_CRICTL_PULL_FAILS:-0} == 1 ]]; then
        echo "E1204 pull image \"$image\" failed: 429 Too Many Requests" >&2
        exit 1
      fi
      echo "$image" >>"$STATE/crictl.images"
      containerd_name "$image" >>"$STATE/ctr.images"
      echo "Image is up to date for $image" ;;
    *) unknown ;;
  esac
}

fake_istioctl() {
  case ${1:-} in
    install)
      touch "$STATE/istioctl-install.started"
      rendezvous docker-build.started
      touch "$STATE/istio.installed"
      echo "✔ Istio core installed"
      echo "✔ Istiod installed" ;;
    *) unknown ;;
  esac
}

fake_curl() {
  local n out="" url="" prev=""
  n=$(($(cat "$STATE/curl.count" 2>/dev/null || echo 0) + 1))
  printf '%s\n' "$n" >"$STATE/curl.count"
  for arg in "$@"; do
    [[ $prev == -o ]] && out=$arg
    prev=$arg
    url=$arg
  done
  if ((n <= ${FAKE_CURL_FAILURES:-0})) || [[ -n ${FAKE_CURL_DOWN:-} && $url == *"$FAKE_CURL_DOWN"* ]]; then
    echo "curl: (7) Failed to connect to github.com port 443 after 3 ms: Couldn't connect to server" >&2
    exit 7
  fi
  [[ -n $out ]] || unknown
  case $url in
    *.tar.gz.sha256)
      local sum
      sum=$(sha256sum "${FAKE_ISTIOCTL_ARCHIVE:?}" | awk '{print $1}')
      [[ ${FAKE_SHA_MISMATCH:-0} == 1 ]] && sum=$(printf '%s' "$sum" | tr '0-9a-f' 'fedcba9876543210')
      printf '%s %s\n' "$sum" "$(basename "${url%.sha256}")" >"$out" ;;
    *.tar.gz) cp "${FAKE_ISTIOCTL_ARCHIVE:?}" "$out" ;;
    *) unknown ;;
  esac
}

case $TOOL in
  kubectl) fake_kubectl "$@" ;;
  docker) fake_docker "$@" ;;
  ctr) fake_ctr ;;
  crictl) fake_crictl "$@" ;;
  istioctl) fake_istioctl "$@" ;;
  curl) fake_curl "$@" ;;
  kind)
    [[ $ARGS == "get nodes --name "* && $# == 4 ]] || unknown
    echo "$4-control-plane" ;;
  sleep) clock_advance "${1%%.*}" ;;
  date)
    [[ $ARGS == +%s ]] || unknown
    clock_now ;;
  *) unknown ;;
esac
