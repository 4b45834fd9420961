# E-Open Bekasi. `make run` serves the app on http://127.0.0.1:8000; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
export FLASK_APP := eopen

.PHONY: run serve install test test-unit test-e2e test-postgres chromium translations extract-messages bench clean guide

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

# The outbox worker (notifications by e-mail/SMS/WhatsApp, Halo Pamor's timers) runs beside the server
# and stops with it.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask eopen seed
	$(BIN)/flask eopen worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
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

# The help guide's media (eopen/static/guide/, committed): screenshots taken by the e2e tour as it walks the
# real journeys (compressed to WebP), then each guide section's narration spoken from the page's own text
# by espeak-ng (Indonesian voice) and compressed with opusenc. Debian's espeak-ng and opus-tools as needed.
GUIDE_SHOTS ?= $(or $(TMPDIR),/tmp)/eopen-guide-shots
guide: $(VENV)/.installed-test translations chromium
	@{ command -v espeak-ng && command -v opusenc; } >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y espeak-ng opus-tools; }
	rm -rf $(GUIDE_SHOTS)
	EOPEN_GUIDE_SHOTS=$(GUIDE_SHOTS) $(BIN)/pytest -q e2e/test_guide_tour.py
	$(BIN)/python -m eopen.help.build images $(GUIDE_SHOTS)
	$(BIN)/python -m eopen.help.build audio

bench: $(VENV)/.installed-test
	$(BIN)/python bench/bench_uploads.py

clean:
	rm -rf $(VENV) .pytest_cache
