# mmoe-lab: `make lab` opens the kit, `make test` runs every test. Both create .venv if missing.
SHELL := /bin/bash
# First Python 3.11/3.12 found (override: make lab PYTHON=/path/to/python3.12); only used to create .venv.
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
NOTEBOOKS := notebooks

.PHONY: lab reset-notebooks test unit nbval nbval-tf nbval-isa exercises browser bench reproduce timings lint typecheck claims clean-venv help

help:
	@echo "make lab        set up .venv (first time only) and open JupyterLab on your copies of the notebooks (my-notebooks/)"
	@echo "make reset-notebooks  replace your copies with fresh ones from notebooks/"
	@echo "make test       lint, types, claims, unit tests (JAX; TensorFlow: fast and backend tests), strict nbval on JAX, TensorFlow and an AVX2 cap, exercise solutions, browser test"
	@echo "make bench      JAX and TensorFlow side by side: fused layer vs loop, ms/step, replicated runs/min (ratios printed)"
	@echo "make reproduce  regenerate the precomputed experiments in data/"
	@echo "make timings    run every notebook in a fresh kernel and record its runtime (data/timings.csv), then time one press of 04's Train on all cores and on one (data/press_timings.csv)"
	@echo "make claims     re-evaluate every notebook claim on its stored evidence (data/claims/) against its stated rate"
	@echo "make lint       ruff on the package, the tests and the notebooks; make typecheck: mypy on the package"

# ---- environment and `make lab` ----
# Created once; re-running does not reinstall unless pyproject.toml changed.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || test -n "$(PYTHON)" || { echo "make: need Python 3.11 or 3.12 on PATH to create $(VENV) (or: make lab PYTHON=/path/to/python3.12)"; exit 1; }
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON) ..."; $(PYTHON) -m venv $(VENV); }
	@echo "installing mmoe-lab and its dependencies into $(VENV) (first time: a few minutes) ..."
	@PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/python -m pip install -qq --upgrade pip
	@set -o pipefail; PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/python -m pip install -qq -e '.[dev]' 2>&1 | { grep -v -i "editable\|setuptools\|^ *$$" || true; }
	@$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mmoe-lab)" >/dev/null
	@$(BIN)/jupyter labextension list 2>&1 | grep -q '@jupyter-widgets/jupyterlab-manager.*enabled.*OK' || \
		{ echo "the ipywidgets extension (@jupyter-widgets/jupyterlab-manager) is missing from $(VENV); see README, Troubleshooting"; exit 1; }
	@$(BIN)/python -c '$(NEWS_OFF)'
	@touch $(STAMP)

# JupyterLab's "Jupyter news" pop-up and update check are off in .venv (a default in the app's
# overrides.json; a user can still turn them on in Settings). Written at install and on every `make lab`.
NEWS_OFF := import json, pathlib, sys; p = pathlib.Path(sys.prefix, "share/jupyter/lab/settings/overrides.json"); \
	d = json.loads(p.read_text()) if p.is_file() else {}; \
	d.setdefault("@jupyterlab/apputils-extension:notification", {}).update(fetchNews="false", checkForUpdates=False); \
	p.parent.mkdir(parents=True, exist_ok=True); p.write_text(json.dumps(d, indent=2) + "\n")

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
	@$(BIN)/python -c '$(NEWS_OFF)'
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

# Unit tests: all on the default backend (JAX); on TensorFlow the fast ones and every test marked
# `backend` (the code that differs between backends), so the slow training tests run once.
# Strict nbval three times: on JAX, on TensorFlow and on JAX with the vector ISA capped at AVX2.
# Training numbers differ between CPUs and backends, so cells that print a live draw are tagged
# nbval-ignore-output; passing under all three is what "passes on any machine" rests on.
test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory typecheck
	$(MAKE) --no-print-directory claims
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory nbval
	$(MAKE) --no-print-directory nbval-tf
	$(MAKE) --no-print-directory nbval-isa
	$(MAKE) --no-print-directory exercises
	$(MAKE) --no-print-directory browser

unit: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python -m pytest tests -q -m "not browser"
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest tests -q -m "not browser and (not slow or backend)"

NBVAL := -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	--nbval-cell-timeout=300 -p no:warnings

nbval: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python $(NBVAL) $(NOTEBOOKS)

nbval-tf: $(STAMP)
	KERAS_BACKEND=tensorflow $(BIN)/python $(NBVAL) $(NOTEBOOKS)

nbval-isa: $(STAMP)
	XLA_FLAGS=--xla_cpu_max_isa=AVX2 KERAS_BACKEND=jax $(BIN)/python $(NBVAL) $(NOTEBOOKS)

# Every notebook executed with each exercise filled in by its reference solution: every check must pass.
exercises: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python -m mmoe_lab exercises --solutions $(NOTEBOOKS) --require-all

# JupyterLab in headless chromium (tests/browser); skipped with the reason shown (-rs) when chromium
# or playwright is missing, a failure instead when MMOE_LAB_REQUIRE_BROWSER=1 (CI).
browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser -q -rs -m browser

# mmoe_lab.tools.bench_backends: each backend in its own subprocess, side by side
bench: $(STAMP)
	$(BIN)/python -m mmoe_lab.tools.bench_backends

# mmoe_lab.study.cli: the stored studies in data/study/ (resumes; --help lists the options)
reproduce: $(STAMP)
	$(BIN)/python -m mmoe_lab reproduce

# mmoe_lab.tools.timings: every notebook in a fresh kernel: wall and CPU seconds and load average -> data/timings.csv;
# then one press of 04's Train on all cores and on one core -> data/press_timings.csv
timings: $(STAMP)
	$(BIN)/python -m mmoe_lab timings
	$(BIN)/python -m mmoe_lab timings --press

# ruff on the package, the tests and the notebooks (settings: pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check mmoe_lab tests $(NOTEBOOKS)

# mypy on the package (settings: [tool.mypy] in pyproject.toml)
typecheck: $(STAMP)
	$(BIN)/mypy

# mmoe_lab.tools.checks: every notebook claim re-evaluated on its stored evidence (data/claims/, no training); fails when
# one falls below its stated rate. On fresh seeds (trains): make claims CLAIMS_ARGS="07 --seeds 20"
CLAIMS_ARGS ?= --from-csv
claims: $(STAMP)
	$(BIN)/python -m mmoe_lab claims $(CLAIMS_ARGS)

clean-venv:
	rm -rf $(VENV)
