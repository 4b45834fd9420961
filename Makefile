# E-Open Bekasi. `make run` serves the app on http://127.0.0.1:8000; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
export FLASK_APP := eopen

.PHONY: run serve install test test-unit test-e2e test-postgres chromium translations extract-messages bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed translations

# Compiled message catalogues are build output, not sources.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d eopen/translations

extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --ignore-dirs='.*' -o eopen/translations/messages.pot .
	$(BIN)/pybabel update -i eopen/translations/messages.pot -d eopen/translations --no-fuzzy-matching

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask eopen seed
	$(BIN)/flask eopen serve --host $(HOST) --port $(PORT)

# Debian's Chromium for the Playwright tests (test tools cannot download their own browsers here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

test: $(VENV)/.installed-test translations chromium
	$(BIN)/pytest -q

test-unit: $(VENV)/.installed-test translations
	$(BIN)/pytest -q tests

test-e2e: $(VENV)/.installed-test translations chromium
	$(BIN)/pytest -q e2e

# The database-facing tests again on PostgreSQL (used by .ci/run when one answers on 127.0.0.1:5432).
test-postgres: $(VENV)/.installed-test translations
	EOPEN_TEST_DATABASE_URL=$${EOPEN_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/pytest -q tests

bench: $(VENV)/.installed-test
	$(BIN)/python bench/bench_uploads.py

clean:
	rm -rf $(VENV) .pytest_cache
