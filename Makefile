# Reverie: two set-up commands on a fresh machine (python3 + pip): `make demo` and `make test`.
# Everything else (uv, the virtualenv, every package) is installed from uv.lock by these targets.

PYTHON ?= python3
TOOLS  := .tools
UV     := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
VENV   := .venv
BIN    := $(VENV)/bin
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: help install demo test test-fast test-dist bench ui lint clean

help:
	@echo "make demo   - run the closed loop (fly, ingest, score, dream, evaluate, promote) offline"
	@echo "make test   - install everything and run the test suite (tests/distributed included)"
	@echo "make test-dist - only the distributed tests: S3 server, Redis, Celery workers, Postgres on 127.0.0.1"
	@echo "make bench  - run the benchmarks (results in benchmarks/README.md)"
	@echo "make ui     - open the Dagster UI on this REVERIE_HOME"

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

# Byte-compiled at install: where .pyc files cannot be written at run time (read-only installs,
# PYTHONDONTWRITEBYTECODE), every process would otherwise compile dagster, polars, ... from source each start.
$(BIN)/reverie: pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --frozen --all-groups --compile-bytecode
	$(BIN)/python -m compileall -q pipeline assets resources cli
	@touch $@

install: $(BIN)/reverie

demo: install
	$(BIN)/reverie demo

# loadscope keeps each test module on one worker (the e2e demo fixture, the CLI module's shared warm-up):
# under pytest 9.2, xdist 3.8's loadgroup silently stops grouping (pytest-dev/pytest-xdist#1386).
test: install
	$(BIN)/python -m pytest -n 2 --dist loadscope -q

# Part of `make test` too; each test skips with the reason when its server (moto[server], Debian redis-server
# or postgresql) is missing.
test-dist: install
	$(BIN)/python -m pytest -q tests/distributed

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

bench: install
	$(BIN)/python benchmarks/run_all.py

ui: install
	$(BIN)/reverie ui

lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check pipeline assets resources cli tests benchmarks
	$(BIN)/ruff format --check pipeline assets resources cli tests benchmarks

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
