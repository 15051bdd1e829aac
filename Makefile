# Laurel: `make run` serves the app with a worker on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
STAMP  := $(VENV)/.installed

.PHONY: install run test bench lint migrate clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "Laurel needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install            ## migrate, seed the demo once, serve web + worker + cron on $(HOST):$(PORT)
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) serve

test: install           ## the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install          ## benchmarks in tests/benchmarks (not part of `make test`)
	$(BIN)/python -m tests.benchmarks $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check app tests

migrate: install        ## after changing models: make migrate m="what changed"
	$(FLASK) db migrate -m "$(m)"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
