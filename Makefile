# Sluice: `make demo` runs the local stack, `make test` runs every check. Both run `setup` first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help setup solc-wrapper chromium demo test test-slow lint typecheck contracts bench-gas bench-reports bench-webhooks clean

help:
	@echo "make demo       sluice dev: database, chain, API + indexer + worker, checkout and demo shop"
	@echo "make test       lint, type-check, artifact drift check and the whole test suite"
	@echo "make test-slow  the long runs (10,000 escrow invariant examples)"
	@echo "make setup      install Python and npm dependencies (idempotent)"

setup: $(VENV)/.installed node_modules/.installed solc-wrapper chromium

# The checkout's browser tests drive Debian's Chromium through playwright's Python client
# (`playwright install` cannot download its own browser here). Installed only when missing.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }

# ape-solidity compiles through py-solc-x, which wants a native solc (and cannot download one
# everywhere): link the project's solcjs wrapper in its place. Idempotent.
solc-wrapper: node_modules/.installed
	@sh scripts/install-solc-wrapper.sh

# Node.js and npm come from Debian when the machine has none.
node_modules/.installed: package.json package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

demo: setup
	$(VENV)/bin/sluice dev $(DEV_ARGS)

# lint-imports checks the layering contracts of pyproject.toml ([tool.importlinter]).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: setup
	$(VENV)/bin/mypy

contracts: setup
	$(VENV)/bin/sluice contracts build

test: setup lint typecheck
	$(VENV)/bin/sluice contracts build --check
	$(PY) -m pytest -m "not slow" -n 2 $(PYTEST_ARGS)

test-slow: setup
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

bench-gas: setup
	$(PY) benchmarks/gas.py

bench-api: setup
	$(PY) benchmarks/api_create_intent.py

# 20,000 Paid events over 2,000 blocks: raw eth_getLogs vs the indexer's backfill, live latency.
bench-indexer: setup
	$(PY) benchmarks/indexer_backfill.py

# 10,000 webhook deliveries through the real worker to a local receiver; exactly-once check.
bench-webhooks: setup
	$(PY) benchmarks/webhook_delivery.py

bench-reports: setup
	$(PY) benchmarks/reports.py

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache
