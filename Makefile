# Laurel: `make run` serves the app with a worker on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: install install-dev run test bench lint migrate clean translations

# Compiled catalogues (.mo) are built from the committed .po files, never committed themselves.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

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

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(RUN_STAMP)
	@$(BIN)/pybabel compile --statistics -i $< -o $@ -l $*

run: install $(CATALOGUES) ## migrate, seed the demo once, serve web + worker + cron on $(HOST):$(PORT)
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) serve

test: install-dev $(CATALOGUES) ## the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install-dev      ## benchmarks in tests/benchmarks (not part of `make test`)
	$(BIN)/python -m tests.benchmarks $(BENCH_ARGS)

lint: install-dev       ## ruff, and the import contract (pyproject.toml [tool.importlinter])
	$(BIN)/ruff check app tests
	$(BIN)/lint-imports

translations: install-dev  ## extract marked strings, update every catalogue, compile (docs/i18n.md)
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l --add-location=file --sort-by-file \
		--project=Laurel --copyright-holder=Laurel -o translations/messages.pot .
	@for po in translations/*/LC_MESSAGES/messages.po; do \
		[ -f "$$po" ] || continue; \
		locale=$$(basename $$(dirname $$(dirname $$po))); \
		$(BIN)/pybabel -q update --no-fuzzy-matching -i translations/messages.pot -d translations -l $$locale; \
	done
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then $(BIN)/pybabel compile -d translations --statistics; fi

migrate: install-dev    ## after changing models: make migrate m="what changed"
	$(FLASK) db migrate -m "$(m)"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
