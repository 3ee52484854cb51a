# The front door. `make run` and `make test` work on a fresh clone with only Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Start embedded PostgreSQL/Redis for the command if DATABASE_URL/REDIS_URL are unset; stop them after.
EMBEDDED := $(PY) -m config.embedded exec --

.PHONY: run test lint bench bench-admin install services-stop clean

$(VENV)/.installed: requirements/base.txt requirements/production.txt requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $@

install: $(VENV)/.installed

run: install
	@$(EMBEDDED) bash -c '\
	  set -e; \
	  $(PY) manage.py migrate --noinput; \
	  $(PY) manage.py seed_demo; \
	  $(PY) manage.py ensure_admin; \
	  echo ""; \
	  echo "  Operator console  http://$(HOST):$(PORT)/admin/"; \
	  echo "  API docs          http://$(HOST):$(PORT)/api/docs/"; \
	  echo "  Health            http://$(HOST):$(PORT)/health/"; \
	  if [ -z "$$EMAIL_URL" ]; then echo "  Report emails     written as files to var/mail/ (set EMAIL_URL for SMTP)"; fi; \
	  echo "  Stop with Ctrl-C."; \
	  echo ""; \
	  exec env HOST=$(HOST) DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.local} $(VENV)/bin/honcho start --port $(PORT) web worker beat'

test: install
	@$(EMBEDDED) $(PY) -m pytest --ds=config.settings.test $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@$(EMBEDDED) bash -c '$(PY) manage.py check && $(PY) manage.py makemigrations --check --dry-run'

bench: install
	@$(EMBEDDED) $(PY) -m tests.bench $(BENCH_ARGS)

# Time every console page on the data `make run` uses (load it first: `make run`, or seed_demo).
bench-admin: install
	@$(EMBEDDED) $(PY) -m tests.bench.admin $(BENCH_ARGS)

services-stop: install
	$(PY) -m config.embedded stop

clean: services-stop
	rm -rf var/
