# mmoe-lab: `make lab` opens the kit, `make test` runs every test. Both create .venv if missing.
SHELL := /bin/bash
# First Python 3.11/3.12 found (override: make lab PYTHON=/path/to/python3.12); only used to create .venv.
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
NOTEBOOKS := notebooks

.PHONY: lab reset-notebooks test unit nbval nbval-tf browser bench reproduce timings lint typecheck claims clean-venv help

help:
	@echo "make lab        set up .venv (first time only) and open JupyterLab on your copies of the notebooks (my-notebooks/)"
	@echo "make reset-notebooks  replace your copies with fresh ones from notebooks/"
	@echo "make test       lint, types, claims, unit tests on JAX and TensorFlow, strict nbval (JAX), notebooks on TensorFlow, browser test"
	@echo "make bench      JAX and TensorFlow side by side: fused layer vs loop, ms/step, replicated runs/min (ratios printed)"
	@echo "make reproduce  regenerate the precomputed experiments in data/"
	@echo "make timings    run every notebook in a fresh kernel and record its runtime (data/timings.csv)"
	@echo "make claims     re-evaluate every notebook claim on its stored evidence (data/claims/) against its stated rate"
	@echo "make lint       ruff on the package, the tests and the notebooks; make typecheck: mypy on the package"

# ---- environment and `make lab` ----
# Created once; re-running does not reinstall unless pyproject.toml changed.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || test -n "$(PYTHON)" || { echo "make: need Python 3.11 or 3.12 on PATH to create $(VENV) (or: make lab PYTHON=/path/to/python3.12)"; exit 1; }
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON) ..."; $(PYTHON) -m venv $(VENV); }
	@echo "installing mmoe-lab and its dependencies into $(VENV) (first time: a few minutes) ..."
	PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/python -m pip install -qq --upgrade pip
	set -o pipefail; PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/python -m pip install -qq -e '.[dev]' 2>&1 | { grep -v -i "editable\|setuptools\|^ *$$" || true; }
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mmoe-lab)" >/dev/null
	@$(BIN)/jupyter labextension list 2>&1 | grep -q '@jupyter-widgets/jupyterlab-manager.*enabled.*OK' || \
		{ echo "the ipywidgets extension (@jupyter-widgets/jupyterlab-manager) is missing from $(VENV); see README, Troubleshooting"; exit 1; }
	@touch $(STAMP)

# Checked on every `make lab` (instant): the widget front end is installed and matches ipywidgets.
LAB_CHECK := import importlib.metadata as m, pathlib, sys; \
	v = {k: m.version(k) for k in ("ipywidgets", "jupyterlab_widgets")}; \
	ext = pathlib.Path(sys.prefix, "share/jupyter/labextensions/@jupyter-widgets/jupyterlab-manager/package.json"); \
	found = "found" if ext.is_file() else "MISSING"; \
	ok = ext.is_file() and (v["ipywidgets"].split(".")[0], v["jupyterlab_widgets"].split(".")[0]) == ("8", "3"); \
	ok or sys.exit(f"widget front end not usable: {v}, extension {found}. " \
	"Fix: $(BIN)/pip install --force-reinstall ipywidgets jupyterlab_widgets (README: Troubleshooting)")
FREE_PORT := import socket, sys; p = int(sys.argv[1]); busy = socket.socket().connect_ex(("127.0.0.1", p)) == 0; \
	s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1] if busy else p)
OPEN_BROWSER ?= True

# Your working copies of the notebooks (git-ignored): `make lab` opens these, so running a
# notebook never touches the committed, tested files in notebooks/. Missing ones are copied in
# on every `make lab`; `make reset-notebooks` replaces all of them with fresh copies.
WORK := my-notebooks

# Opens 00_start_here; prints the URL with its token; if PORT is taken, picks a free one and says so.
lab: $(STAMP)
	@$(BIN)/python -c '$(LAB_CHECK)'
	@mkdir -p $(WORK); for nb in $(NOTEBOOKS)/*.ipynb; do [ -e "$(WORK)/$$(basename $$nb)" ] || cp "$$nb" $(WORK)/; done
	@port=$$($(BIN)/python -c '$(FREE_PORT)' $(PORT)); \
	if [ "$$port" != "$(PORT)" ]; then echo "port $(PORT) is in use; using $$port (choose one: make lab PORT=8890)"; fi; \
	token=$${JUPYTER_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))')}; \
	echo ""; \
	echo "  mmoe-lab is starting on your copies in $(WORK)/ (fresh copies: make reset-notebooks)."; \
	echo "  Open (the token is your password):"; \
	echo "    http://127.0.0.1:$$port/lab/tree/00_start_here.ipynb?token=$$token"; \
	echo "  Kernel: \"Python 3 (mmoe-lab)\". Problems: README, Troubleshooting."; \
	echo "  Stop: Ctrl+C here, or from another terminal: $(BIN)/jupyter server stop $$port"; \
	echo ""; \
	JUPYTER_TOKEN=$$token exec $(BIN)/jupyter lab --notebook-dir=$(WORK) --ip=127.0.0.1 --port=$$port \
		--ServerApp.port_retries=0 --ServerApp.open_browser=$(OPEN_BROWSER) \
		--LabApp.default_url=/lab/tree/00_start_here.ipynb $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# Replace your working copies with the committed notebooks (your edits there are lost).
reset-notebooks:
	@mkdir -p $(WORK) && cp $(NOTEBOOKS)/*.ipynb $(WORK)/ && echo "fresh copies of $(NOTEBOOKS)/*.ipynb in $(WORK)/"

# Unit tests on both Keras backends; strict nbval on the default backend (JAX); every notebook
# executed on TensorFlow too (errors fail, outputs are not compared: the numbers differ).
test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory typecheck
	$(MAKE) --no-print-directory claims
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory nbval
	$(MAKE) --no-print-directory nbval-tf
	$(MAKE) --no-print-directory browser

unit: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python -m pytest tests -q -m "not browser"
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest tests -q -m "not browser"

nbval-tf: $(STAMP)
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest -q --nbval-lax --nbval-current-env --nbval-cell-timeout=300 \
		-p no:warnings $(NOTEBOOKS)

# JupyterLab in headless chromium (tests/browser); skipped with the reason shown (-rs) when chromium
# or playwright is missing, a failure instead when MMOE_LAB_REQUIRE_BROWSER=1 (CI).
browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser -q -rs -m browser

nbval: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout=300 $(NOTEBOOKS)

bench: $(STAMP)
	$(BIN)/python -m mmoe_lab.bench_backends

reproduce: $(STAMP)
	$(BIN)/python -m mmoe_lab reproduce

# Every notebook in a fresh kernel: wall and CPU seconds and load average -> data/timings.csv
timings: $(STAMP)
	$(BIN)/python -m mmoe_lab timings

# ruff on the package, the tests and the notebooks (settings: pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check mmoe_lab tests $(NOTEBOOKS)

# mypy on the package (settings: [tool.mypy] in pyproject.toml)
typecheck: $(STAMP)
	$(BIN)/mypy

# Every notebook claim re-evaluated on its stored evidence (data/claims/, no training); fails when
# one falls below its stated rate. On fresh seeds (trains): make claims CLAIMS_ARGS="07 --seeds 20"
CLAIMS_ARGS ?= --from-csv
claims: $(STAMP)
	$(BIN)/python -m mmoe_lab claims $(CLAIMS_ARGS)

clean-venv:
	rm -rf $(VENV)
