# Laurel: `make run` serves the app with a worker on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: install install-dev run test bench lint migrate clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "Laurel needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# `make run` installs only what running needs; the test and lint tools come with `make test`/`make lint`.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[dev]'
	@touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-dev: $(DEV_STAMP)

run: install            ## migrate, seed the demo once, serve web + worker + cron on $(HOST):$(PORT)
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) serve

test: install-dev       ## the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install-dev      ## benchmarks in tests/benchmarks (not part of `make test`)
	$(BIN)/python -m tests.benchmarks $(BENCH_ARGS)

lint: install-dev       ## ruff, and the import contract (pyproject.toml [tool.importlinter])
	$(BIN)/ruff check app tests
	$(BIN)/lint-imports

migrate: install-dev    ## after changing models: make migrate m="what changed"
	$(FLASK) db migrate -m "$(m)"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
