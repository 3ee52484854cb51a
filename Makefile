# The front door. `make run` and `make test` work on a fresh clone with only Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Local data (embedded servers, logs); `make run VAR_DIR=/elsewhere` keeps a second copy apart.
VAR_DIR ?= $(CURDIR)/var
export VAR_DIR
# Start embedded PostgreSQL/Redis for the command if DATABASE_URL/REDIS_URL are unset; stop them after.
EMBEDDED := $(PY) -m config.embedded exec --
# `make run SEED_ARGS="--scale 0.05"`: a smaller demo history (the fault drills use one).
SEED_ARGS ?=
# `make drill`: the fault drills CI runs (a few minutes); DRILL_MODE=nightly adds the slow ones.
DRILL_MODE ?= ci
DRILL_SELECT := $(if $(filter nightly,$(DRILL_MODE)),drill,drill and not nightly)

.PHONY: help run test lint bench bench-admin drill install services-stop clean

$(VENV)/.installed: requirements/base.txt requirements/production.txt requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $@

install: $(VENV)/.installed

help:
	@echo "make run            install, start embedded PostgreSQL + Redis, migrate, seed, run web + worker + beat"
	@echo "                    (supervisord: a process that dies is restarted; Ctrl-C stops everything)"
	@echo "make test           the test suite against real PostgreSQL, Redis and Celery"
	@echo "make lint           ruff, mypy, manage.py check, makemigrations --check"
	@echo "make drill          fault drills on a copy of the app (kill -9, database stop, second beat, ...)"
	@echo "                    DRILL_MODE=nightly adds the slow ones (Redis stop, kill mid-report, ...)"
	@echo "make bench          throughput and latency benchmarks (15 to 30 minutes)"
	@echo "make bench-admin    time every console page on the data make run loaded"
	@echo "make services-stop  stop embedded servers left running by a plain manage.py command"
	@echo "make clean          delete var/ (all local data)"

run: install
	@$(EMBEDDED) bash -c '\
	  set -e; \
	  $(PY) manage.py migrate --noinput; \
	  $(PY) manage.py seed_demo $(SEED_ARGS); \
	  $(PY) manage.py ensure_admin; \
	  echo ""; \
	  echo "  Operator console  http://$(HOST):$(PORT)/admin/"; \
	  echo "  API docs          http://$(HOST):$(PORT)/api/docs/"; \
	  echo "  Health            http://$(HOST):$(PORT)/health/"; \
	  if [ -z "$$EMAIL_URL" ]; then echo "  Report emails     written as files to var/mail/ (set EMAIL_URL for SMTP)"; fi; \
	  echo "  Stop with Ctrl-C."; \
	  echo ""; \
	  mkdir -p "$(VAR_DIR)/log"; \
	  exec env HOST=$(HOST) PORT=$(PORT) WEB_PORT=$(PORT) WORKER_CONCURRENCY=$${WORKER_CONCURRENCY:-2} VENV_BIN=$(CURDIR)/$(VENV)/bin \
	    DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.local} \
	    $(VENV)/bin/supervisord --configuration config/supervisor/supervisord.conf'

test: install
	@$(EMBEDDED) $(PY) -m pytest --ds=config.settings.test $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@$(EMBEDDED) bash -c '$(VENV)/bin/mypy && $(PY) manage.py check && $(PY) manage.py makemigrations --check --dry-run'

bench: install
	@$(EMBEDDED) $(PY) -m tests.bench $(BENCH_ARGS)

# Time every console page on the data `make run` uses (load it first: `make run`, or seed_demo).
bench-admin: install
	@$(EMBEDDED) $(PY) -m tests.bench.admin $(BENCH_ARGS)

# A copy of the app with its own embedded servers under var/drills/, faults injected, checked;
# the closing line is pytest's. Not collected by `make test`.
drill: install
	@$(PY) -m pytest -p no:django -p no:cacheprovider -W ignore::pytest.PytestConfigWarning \
	  --confcutdir=tests/drills tests/drills -m "$(DRILL_SELECT)" $(PYTEST_ARGS)

services-stop: install
	$(PY) -m config.embedded stop

clean: services-stop
	rm -rf var/
