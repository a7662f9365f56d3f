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
#   FAKE_CILIUM=1            existe kube-system/configmap cilium-config
#   FAKE_CURL_FAILURES=N     las N primeras llamadas a curl fallan (error transitorio)
#   FAKE_SHA_MISMATCH=1      el .sha256 publicado no corresponde al archivo
#   FAKE_ROLLOUT_NEVER=NAME  `kubectl rollout status deployment.apps/NAME` agota su tiempo
#   FAKE_RENDEZVOUS=1        docker build espera a que empiecen istioctl install y crictl pull,
#                            y estos a que empiece docker build (con límite, ~10 s): si setup.sh
#                            los serializa, sus intervalos no se solapan y la prueba lo ve
#   FAKE_ISTIOCTL_ARCHIVE    el .tar.gz que «descarga» curl
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

fake_kubectl() {
  case $ARGS in
    *"wait --for=condition=Ready node --all"*) echo "node/controlplane condition met" ;;
    *"get configmap cilium-config -o name"*)
      if [[ ${FAKE_CILIUM:-0} == 1 ]]; then
        echo "configmap/cilium-config"
      else
        echo 'Error from server (NotFound): configmaps "cilium-config" not found' >&2
        exit 1
      fi ;;
    *"get configmap cilium-config -o jsonpath={.data.cni-exclusive}"*)
      cat "$STATE/cilium.cni-exclusive" 2>/dev/null || printf 'true' ;;
    *"get configmap cilium-config -o jsonpath={.data.bpf-lb-sock-hostns-only}"*)
      cat "$STATE/cilium.bpf-lb-sock-hostns-only" 2>/dev/null || true ;;
    *"patch configmap cilium-config"*)
      printf 'false' >"$STATE/cilium.cni-exclusive"
      printf 'true' >"$STATE/cilium.bpf-lb-sock-hostns-only"
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
      local dir file name
      dir=$(sed -E 's/.*apply -f ([^ ]+) -o name.*/\1/' <<<"$ARGS")
      # Los pods llevan sidecar solo si Istio y la etiqueta estaban antes que el apply.
      if [[ -e $STATE/istio.installed && -e $STATE/ns.labelled ]]; then touch "$STATE/injected"; fi
      for file in "$dir"/*.yaml; do
        name=$(basename "$file" .yaml)
        echo "deployment.apps/$name"
        echo "service/$name"
      done ;;
    *"rollout restart deployment.apps/"*) echo "deployments restarted" ;;
    *"rollout status deployment.apps/"*)
      local deployment image
      deployment=$(sed -E 's#.*deployment\.apps/([^ ]+).*#\1#' <<<"$ARGS")
      image="docker.io/library/$deployment:1.0.0"
      if [[ $deployment == "${FAKE_ROLLOUT_NEVER:-}" ]] ||
        ! grep -qxF "$image" "$STATE/ctr.images" 2>/dev/null; then
        echo "Waiting for deployment \"$deployment\" rollout to finish: 0 of 3 updated replicas are available..."
        echo "error: timed out waiting for the condition" >&2
        exit 1
      fi
      echo "deployment \"$deployment\" successfully rolled out" ;;
    *"get pods --field-selector=status.phase=Running"*)
      local name sidecar=""
      [[ -e $STATE/injected ]] && sidecar=" istio-proxy"
      for name in bff backend1 app2; do
        printf '%s-6d5f8c7b9d-abcde %s%s\n' "$name" "$name" "$sidecar"
      done ;;
    *"get pods -o wide"*) echo "NAME READY STATUS RESTARTS AGE" ;;
    *"get events"*) echo "LAST SEEN TYPE REASON OBJECT MESSAGE" ;;
    *) unknown ;;
  esac
}

fake_docker() {
  case ${1:-} in
    info) echo "Server Version: 27.0.0" ;;
    build)
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
        echo "docker.io/library/$line" >>"$STATE/ctr.images"
        echo "unpacking docker.io/library/$line (sha256:0000)...done"
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
    version) echo "1.30.3" ;;
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
    for ref in "${@:5}"; do echo "docker.io/library/$ref" >>"$STATE/ctr.images"; done ;;
  sleep) : ;;
  *) unknown ;;
esac
