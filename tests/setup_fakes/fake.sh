#!/usr/bin/env bash
# Falsificación grabadora de kubectl, docker, ctr, crictl, istioctl, curl, kind y sleep para probar
# setup.sh sin clúster. Se instala como enlaces con esos nombres (o como copia llamada istioctl
# dentro del tar falso de istioctl); el nombre con que se invoca elige la herramienta.
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
#   FAKE_RENDEZVOUS=1        docker build espera a que empiecen istioctl install y crictl pull,
#                            y estos a que empiece docker build (con límite, ~10 s): si setup.sh
#                            los serializa, sus intervalos no se solapan y la prueba lo ve
#   FAKE_ISTIOCTL_ARCHIVE    el .tar.gz que «descarga» curl
#
# El clúster falso no sabe nada de las apps del curso: lo que existe es lo que setup.sh hizo.
#   - `kubectl apply -f DIR` lee los manifiestos que recibe y guarda cada Deployment (nombre,
#     réplicas, imágenes y su imagePullPolicy) en $FAKE_STATE/deploy.<nombre>.
#   - `ctr images import` y `kind load` guardan en $FAKE_STATE/ctr.images las imágenes que de verdad
#     recibieron (el archivo de `docker save`), con el nombre completo de containerd.
#   - `kubectl rollout status` termina bien solo si cada imagen del Deployment está en el nodo; si
#     no, sus pods quedan en ErrImageNeverPull (o ErrImagePull: aquí no hay registro) y la espera
#     agota su tiempo, como en un clúster. `get pods` y `get events` lo cuentan.
set -euo pipefail

TOOL=$(basename "$0")
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
  record "END $$ $(date +%s%N) $TOOL $rc"
}

record "START $$ $(date +%s%N) $TOOL $ARGS"
trap finish EXIT

real_sleep() { command -p sleep "$@"; }

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
pod_problem() {
  local image policy
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
    *"wait --for=condition=Ready node --all"*) echo "node/controlplane condition met" ;;
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
    *"get pods -o wide"*)
      local deployment i problem
      echo "NAME READY STATUS RESTARTS AGE"
      for deployment in $(deployments); do
        problem=$(pod_problem "$deployment")
        for ((i = 1; i <= $(sed -n 1p "$STATE/deploy.$deployment"); i++)); do
          if [[ -n $problem ]]; then
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
      rendezvous crictl-pull.started
      local ref
      ref=$(sed -E 's/.* -t ([^ ]+) .*/\1/' <<<"$ARGS")
      touch "$STATE/built.$ref" ;;
    save)
      shift
      local ref
      echo "FAKE-DOCKER-ARCHIVE"
      for ref in "$@"; do
        [[ -e $STATE/built.$ref ]] || {
          echo "Error response from daemon: reference does not exist: $ref" >&2
          exit 1
        }
        echo "$ref"
      done ;;
    *) unknown ;;
  esac
}

fake_ctr() {
  case $ARGS in
    "-n k8s.io images import -")
      local line first=1
      while IFS= read -r line; do
        if ((first)); then
          [[ $line == FAKE-DOCKER-ARCHIVE ]] || { echo "ctr: archivo no válido" >&2; exit 1; }
          first=0
          continue
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
      touch "$STATE/crictl-pull.started"
      rendezvous docker-build.started
      echo "$image" >>"$STATE/crictl.images" ;;
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
  if ((n <= ${FAKE_CURL_FAILURES:-0})); then
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
    [[ ${1:-} == load ]] || unknown
    for ref in "${@:5}"; do containerd_name "$ref" >>"$STATE/ctr.images"; done ;;
  sleep) : ;;
  *) unknown ;;
esac
