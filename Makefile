# Reintentos en Istio: the course, its lab and its checks.
#   make demo   fresh machine (Python >= 3.11) -> the whole course, played on the local lab
#   make unit   the fast loop: ruff + the pure-Python tests (no lab, no external programs)
#   make test   the whole suite: unit, lab (real Envoy), `lab check`, `lab play` (also needs Node.js >= 20.18)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LAB := $(BIN)/lab
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: venv demo test unit check bench bundle diagrams lab preview requirements clean

venv: $(STAMP)

$(STAMP): pyproject.toml apps/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Se necesita Python >= 3.11; prueba: make PYTHON=python3.12" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r apps/requirements.txt
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# cspell, the Spanish spell check of `lab check` (only `make check` and `make test` need Node.js).
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "Falta npm (Node.js >= 20.18): lo usa el corrector ortográfico de lab check (cspell)."; exit 1; }
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

check: venv $(NODE_STAMP)
	$(LAB) check

bench: venv
	$(BIN)/python bench/bench_apps.py
	$(BIN)/python bench/bench_lab.py

bundle: venv
	$(BIN)/python -m lab.course.bundle

diagrams: venv
	$(BIN)/python assets/diagrams/make_diagrams.py

lab: venv
	$(LAB) shell

preview: venv
	$(LAB) preview

# Regenerates apps/requirements.txt (pinned, with hashes) from apps/requirements.in.
requirements: venv
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --universal --python-version 3.11 --generate-hashes --no-header --quiet \
	  apps/requirements.in -o apps/requirements.txt

clean:
	-$(LAB) down 2>/dev/null
	rm -rf $(VENV) node_modules .lab .pytest_cache artifacts
