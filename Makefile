# Reintentos en Istio: the course, its lab and its checks.
#   make demo   fresh machine (Python >= 3.11) -> the whole course, played on the local lab
#   make unit   the fast loop: ruff + the pure-Python tests (no lab, no external programs)
#   make test   the whole suite: unit, lab (real Envoy), `lab check`, `lab play` (also needs Node.js >= 20.18)
#   make kind-play   the course on a real Kubernetes + Istio in kind (needs Docker and kind): what CI runs
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LAB := $(BIN)/lab
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: venv demo test unit mutants check bench bundle diagrams lab preview requirements clean kind-play kind-version

venv: $(STAMP)

# The lab's bytecode, written once: with PYTHONDONTWRITEBYTECODE=1 Python never caches it and every
# `lab` process compiled the lab's modules again (~0.1 s of CPU in each `lab up`). Stale files are
# only ignored (Python checks the source's mtime), so `bench` compiles again what changed.
COMPILE_LAB = $(BIN)/python -m compileall -q lab

$(STAMP): pyproject.toml apps/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Se necesita Python >= 3.11; prueba: make PYTHON=python3.12" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r apps/requirements.txt
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(COMPILE_LAB)
	touch $@

# cspell, the Spanish spell check of `lab check`, and xterm.js, the terminal of `lab preview` (only
# `make check`, `make preview` and `make test` need Node.js).
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "Falta npm (Node.js >= 20.18): lo usan el corrector ortográfico de lab check (cspell) y la terminal de lab preview (xterm.js)."; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: venv
	$(LAB) play

test: venv $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

# The fast loop: pure-Python tests only (`lab` ones start real Envoy, `slow` ones run other programs).
unit: venv
	$(BIN)/ruff check .
	$(BIN)/pytest -m 'not lab and not slow' -q

# Pruebas de mutación (mutmut, [tool.mutmut] de pyproject.toml) de los módulos puros que deciden si
# algo pasa o falla, contra sus pruebas rápidas; de cero cada vez (unos minutos). El resumen por
# módulo y los supervivientes: tests/mutants_score.py; los equivalentes, con su motivo, en tests/mutants.md.
mutants: venv
	rm -rf mutants
	$(BIN)/mutmut run
	$(BIN)/python tests/mutants_score.py

check: venv $(NODE_STAMP)
	$(LAB) check

bench: venv
	$(COMPILE_LAB)
	$(BIN)/python bench/bench_apps.py
	$(BIN)/python bench/bench_lab.py
	$(BIN)/python bench/bench_api.py

bundle: venv
	$(BIN)/python -m lab.course.bundle

diagrams: venv
	$(BIN)/python assets/diagrams/make_diagrams.py

lab: venv
	$(LAB) shell

# The browser terminal (xterm.js) is served from node_modules: hence the Node stamp.
preview: venv $(NODE_STAMP)
	$(LAB) preview

# Regenerates apps/requirements.txt (pinned, with hashes) from apps/requirements.in.
requirements: venv
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --universal --python-version 3.11 --generate-hashes --no-header --quiet \
	  apps/requirements.in -o apps/requirements.txt

clean:
	-$(LAB) down 2>/dev/null
	rm -rf $(VENV) node_modules .lab .pytest_cache artifacts mutants

# The course on a real cluster: a kind cluster (created if missing), setup.sh with the path variables
# of the README (nothing as root; state, log and binaries under KIND_STATE and KIND_BIN), then
# `lab play --cluster` with the istioctl and traza that setup.sh installed. Images reach the kind node
# the sandbox's way (docker save | docker exec NODE ctr -n k8s.io images import), not with `kind load`.
# .github/workflows/course.yml runs exactly this. KIND_VERSION and its node image (Kubernetes 1.36.1, the default image of kind
# v0.32.0: pkg/apis/config/defaults/image.go at that tag) are pinned here and only here.
KIND ?= kind
KIND_VERSION := v0.32.0
KIND_NODE_IMAGE := kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5
KIND_CLUSTER ?= curso
KIND_STATE ?= $(HOME)/.cache/curso-setup
KIND_BIN ?= $(HOME)/.local/bin
KIND_ISTIO_HOME ?= $(HOME)/.local/share/istio

# For CI (GITHUB_OUTPUT lines): the kind release and the kubectl of the node image's Kubernetes.
kind-version:
	@echo "version=$(KIND_VERSION)"
	@echo "kubectl=$(word 1,$(subst @, ,$(subst kindest/node:,,$(KIND_NODE_IMAGE))))"

kind-play: venv
	@command -v $(KIND) >/dev/null && command -v docker >/dev/null || { echo "make kind-play necesita Docker y kind $(KIND_VERSION) (https://kind.sigs.k8s.io)."; exit 1; }
	$(KIND) get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)' || \
	  $(KIND) create cluster --name $(KIND_CLUSTER) --image $(KIND_NODE_IMAGE) --config .github/kind-cluster.yaml --wait 180s
	kubectl config use-context kind-$(KIND_CLUSTER)
	mkdir -p $(KIND_STATE)
	CURSO_ROOT=$(CURDIR) IMAGE_TARGET=kind:$(KIND_CLUSTER) STATE_DIR=$(KIND_STATE) LOG_FILE=$(KIND_STATE)/setup.log \
	  BIN_DIR=$(KIND_BIN) ISTIO_HOME=$(KIND_ISTIO_HOME) ./setup.sh
	PATH="$(KIND_BIN):$$PATH" $(LAB) play --cluster
