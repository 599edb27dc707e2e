# Atelier: `make run` serves the app with its workers; `make test` runs ruff and the whole suite.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/atelier_test
PYTEST_ARGS ?=

.PHONY: help run test lint format migrate messages translations check-deploy bench clean

help:
	@echo "make run    serve http://$(HOST):$(PORT) with $(WORKERS) background worker(s)"
	@echo "make test   ruff + the whole pytest suite on SQLite, then on PostgreSQL if one answers"
	@echo "make messages   update the Chinese catalogues from the source (then translate what is new)"

# The venv is rebuilt only when pyproject.toml changes, so a second `make run` starts in seconds.
$(VENV)/.installed-run: pyproject.toml
	@bin/ensure-venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml
	@bin/ensure-venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e . --group dev
	@touch $@ $(VENV)/.installed-run

# The .mo files are build output: compiled from the .po catalogues in pure Python (Babel).
translations: $(VENV)/.installed-run
	$(PY) manage.py compile_translations --verbosity 0

run: $(VENV)/.installed-run translations
	$(PY) manage.py migrate --no-input
	$(PY) manage.py runserver_with_workers --workers $(WORKERS) $(HOST):$(PORT)

migrate: $(VENV)/.installed-run
	$(PY) manage.py migrate --no-input

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint translations
	@bin/ensure-gettext
	@if [ -z "$${SKIP_BROWSER:-}" ]; then bin/ensure-chromium; fi
	@echo "== pytest on SQLite"
	DATABASE_URL= $(PY) -m pytest $(PYTEST_ARGS)
	@if $(PY) bin/db-answers "$(TEST_DATABASE_URL)"; then \
		echo "== pytest on PostgreSQL ($(TEST_DATABASE_URL))"; \
		DATABASE_URL="$(TEST_DATABASE_URL)" $(PY) -m pytest $(PYTEST_ARGS); \
	else \
		echo "== SKIPPED the PostgreSQL run: nothing answers at $(TEST_DATABASE_URL) (set TEST_DATABASE_URL to point at one)"; \
	fi

# Brings gallery/locale/zh_Hans/LC_MESSAGES/*.po up to date with the source (GNU gettext's
# xgettext and msgmerge, installed by bin/ensure-gettext); translate what it adds.
messages: $(VENV)/.installed-dev
	@bin/ensure-gettext
	$(PY) manage.py update_translations

check-deploy: $(VENV)/.installed-run
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
		DJANGO_ALLOWED_HOSTS=atelier.example.com $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
