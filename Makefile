# Two commands: `make run` (serve the demo) and `make test` (the whole suite).
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
FLASK   := $(VENV)/bin/flask --app wsgi
HOST    ?= 127.0.0.1
PORT    ?= 5000
PYTEST_ARGS ?= -n 2  # two workers (pytest-xdist), each on its own database: half the time
CAS_VENV ?= .venv-cas

.PHONY: setup run test test-sqlite test-postgres lint assets translations bench clean

setup: $(VENV)/.installed static/vendor/.copied booking/translations/zh/LC_MESSAGES/messages.mo \
       $(CAS_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The test CAS server (django-mama-cas) lives in a venv of its own: its Django is not ours.
$(CAS_VENV)/.installed: tests/servers/cas/requirements.txt
	$(PYTHON) -m venv $(CAS_VENV)
	$(CAS_VENV)/bin/python -m pip install --quiet -r tests/servers/cas/requirements.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

static/vendor/.copied: node_modules/.package-lock.json scripts/copy-assets.mjs
	node scripts/copy-assets.mjs
	touch $@

booking/translations/zh/LC_MESSAGES/messages.mo: booking/translations/zh/LC_MESSAGES/messages.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d booking/translations

translations: $(VENV)/.installed  ## re-extract strings after changing them (then translate the .po)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o booking/translations/messages.pot .
	$(VENV)/bin/pybabel update -i booking/translations/messages.pot -d booking/translations -l zh --ignore-obsolete

run: setup
	$(FLASK) db upgrade
	$(FLASK) demo seed --if-empty
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	$(FLASK) run --host $(HOST) --port $(PORT)

# The whole suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set.
test: setup
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "TEST_DATABASE_URL not set: PostgreSQL run skipped"; fi

test-sqlite:
	@echo "== test suite on SQLite =="
	env -u TEST_DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)

test-postgres:
	@echo "== test suite on PostgreSQL ($$TEST_DATABASE_URL) =="
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check booking tests bench config.py wsgi.py

clean:
	rm -rf $(VENV) $(CAS_VENV) node_modules static/vendor .pytest_cache
