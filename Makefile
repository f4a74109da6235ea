# mmoe-lab: `make lab` opens the kit, `make test` runs every test. Both create .venv if missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
NOTEBOOKS := notebooks

.PHONY: lab test unit nbval bench reproduce lint clean-venv help

help:
	@echo "make lab        set up .venv (first time only) and open JupyterLab on notebooks/"
	@echo "make test       unit tests + strict nbval over notebooks/ (+ browser test if chromium is present)"
	@echo "make bench      fused MMoE layer vs per-expert loop, ratios printed"
	@echo "make reproduce  regenerate the precomputed experiments in data/"

# Created once; re-running does not reinstall unless pyproject.toml changed.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mmoe-lab)" >/dev/null
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=$(NOTEBOOKS) --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.open_browser=True --LabApp.default_url=/lab/tree/00_start_here.ipynb

test: $(STAMP)
	$(BIN)/python -m pytest tests -q
	$(BIN)/python -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout=300 $(NOTEBOOKS)

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q

nbval: $(STAMP)
	$(BIN)/python -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout=300 $(NOTEBOOKS)

bench: $(STAMP)
	$(BIN)/python -m mmoe_lab.bench

reproduce: $(STAMP)
	$(BIN)/python -m mmoe_lab reproduce

lint: $(STAMP)
	$(BIN)/ruff check mmoe_lab tests

clean-venv:
	rm -rf $(VENV)
