# Civic Feedback Assistant: `make run` and `make test` set up everything they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
RASA_VENV := .venv-rasa
PY        := $(VENV)/bin/python
CIVICBOT  := $(VENV)/bin/civicbot
PYTHON311 ?= $(shell command -v python3.11 2>/dev/null || command -v python3)

# Rasa 3.6 runs on Python 3.10 only. Use PYTHON310 if set, else a working
# python3.10 on the PATH, else the newest 3.10 that pyenv knows.
PYTHON310 ?= $(shell \
  if python3.10 -c 'import sys' >/dev/null 2>&1; then command -v python3.10; \
  elif command -v pyenv >/dev/null 2>&1; then \
    v=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$$' | sort -V | tail -n 1); \
    [ -n "$$v" ] && p=$$(pyenv prefix "$$v" 2>/dev/null)/bin/python3.10 && [ -x "$$p" ] && echo "$$p"; \
  fi)

.PHONY: help install nginx-check run test test-unit test-e2e lint format train clean nlu-crossval lock audit

help:
	@echo "make run   - install, train if needed, start every process (web chat on http://127.0.0.1:8000/)"
	@echo "make test  - install, train if needed, lint, run the whole test suite"
	@echo "make lint  - ruff, mypy, the import contracts (pyproject.toml, tool.importlinter), rasa data validate"
	@echo "make lock  - re-lock both environments after changing their dependencies (UPGRADE=--upgrade for the newest)"
	@echo "make audit - check the locked packages against the PyPI/OSV vulnerability data (needs that service)"

# Both environments get exactly the versions in their lock files, every file checked
# against its hash; the project itself goes in without fetching anything else.
$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x "$(PY)" || $(PYTHON311) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(RASA_VENV)/.installed: requirements-rasa.lock
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "error: Rasa 3.6 needs Python 3.10, and none was found."; \
	  echo "  Install it (for example 'pyenv install 3.10.13', or Debian/Ubuntu's python3.10 and python3.10-venv)"; \
	  echo "  or point to one: make PYTHON310=/path/to/python3.10 ..."; \
	  exit 1; fi
	@test -x "$(RASA_VENV)/bin/python" || $(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements-rasa.lock
	@touch $@

# The lock files come from pyproject.toml (with the dev extra) and requirements-rasa.txt.
# Pins already in a lock file are kept unless UPGRADE=--upgrade (or
# UPGRADE="--upgrade-package NAME") says otherwise.
UV_COMPILE := $(VENV)/bin/uv pip compile --quiet --generate-hashes --custom-compile-command "make lock"
lock: $(VENV)/.installed
	$(UV_COMPILE) $(UPGRADE) pyproject.toml --extra dev --universal --python-version 3.11 \
	  -o requirements.lock
	$(UV_COMPILE) $(UPGRADE) requirements-rasa.txt --python-version 3.10 \
	  --python-platform x86_64-unknown-linux-gnu -o requirements-rasa.lock

# Known vulnerabilities in what the lock files install, from the PyPI vulnerability
# data; run it where pypi.org is reachable. --disable-pip audits the pinned files as
# they are, without installing anything.
audit: $(VENV)/.installed
	$(VENV)/bin/uv tool run pip-audit --disable-pip -r requirements.lock
	$(VENV)/bin/uv tool run pip-audit --disable-pip -r requirements-rasa.lock

# Browser tests: Debian's Chromium and a Chinese font for its PDFs (as root, installed
# here; otherwise say what to do)
# and axe-core from the npm registry.
BROWSER_STAMP := tests/browser/node_modules/.installed
$(BROWSER_STAMP): tests/browser/package.json tests/browser/package-lock.json
	@if ! command -v chromium >/dev/null 2>&1 || ! test -d /usr/share/fonts/truetype/wqy; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei; \
	  else echo "error: the browser tests need Chromium and a Chinese font: sudo apt-get install chromium fonts-wqy-microhei"; exit 1; fi; \
	fi
	npm ci --prefix tests/browser --no-audit --no-fund --silent
	@touch $@

# The deployment tests (tests/ops/test_deploy.py) check deploy/nginx/civic.conf with
# `nginx -t`: Debian's nginx, installed here as root; otherwise say what to do.
nginx-check:
	@if ! command -v nginx >/dev/null 2>&1 && ! test -x /usr/sbin/nginx; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nginx; \
	  else echo "error: the deployment tests need nginx: sudo apt-get install nginx"; exit 1; fi; \
	fi

install: $(VENV)/.installed $(RASA_VENV)/.installed

train: install
	$(CIVICBOT) train

run: train
	$(CIVICBOT) run

lint: $(VENV)/.installed $(RASA_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy civic bot actions storage ops
	$(VENV)/bin/lint-imports
	$(PY) -m ops.training validate $(wildcard profiles/*/)

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: train lint $(BROWSER_STAMP) nginx-check
	$(PY) -m pytest

test-unit: $(VENV)/.installed
	$(PY) -m pytest -m "not e2e"

test-e2e: train
	$(PY) -m pytest -m e2e

# Rasa's own 3-fold cross-validation of the NLU data (intents, complaint kinds, FAQ); the
# report lands in var/crossval/. Slow: about 10 minutes on two cores.
nlu-crossval: train
	rm -rf var/crossval-data && mkdir -p var/crossval-data
	cp nlu/complaints*.yml nlu/conversation*.yml nlu/nlu.yml models/.build/faq_nlu.yml var/crossval-data/
	RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 $(RASA_VENV)/bin/rasa test nlu \
	  --config config.yml --domain models/.build/domain --nlu var/crossval-data \
	  --cross-validation --folds 3 --out var/crossval
	$(PY) benchmarks/crossval_summary.py var/crossval

clean:
	rm -rf var models .pytest_cache .mypy_cache .ruff_cache
