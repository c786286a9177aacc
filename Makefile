# erpsync developer entry points. `make demo` and `make test` are the two that matter;
# `make help` lists the rest.
#
# The virtualenv is .venv/. Its installs are recorded by stamp files named after a hash of
# pyproject.toml, so a rerun installs nothing until pyproject.toml changes:
#   .venv/.installed-run-<hash>   `pip install -e .`          (what `make demo` needs)
#   .venv/.installed-dev-<hash>   `pip install -e '.[dev]'`   (tests, linters; implies the above)
# Choose the interpreter with `make PYTHON=python3.12 ...` (used only when .venv is created).

SHELL := bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PYPROJECT_HASH := $(shell (sha256sum pyproject.toml 2>/dev/null || shasum -a 256 pyproject.toml) | cut -c1-12)
RUN_STAMP := $(VENV)/.installed-run-$(PYPROJECT_HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(PYPROJECT_HASH)
TESTDB := bash scripts/testdb.sh
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help .venv venv demo test lint format typecheck unit schemas i18n bench bench-tenants clean

help:
	@echo "make demo       install erpsync in .venv and run the demo"
	@echo "make test       everything CI runs: lint, format check, mypy, pytest against a throwaway PostgreSQL"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make format     ruff format + ruff check --fix"
	@echo "make typecheck  mypy"
	@echo "make unit       pytest without starting servers (database tests skip)"
	@echo "make schemas    regenerate the JSON Schemas in schemas/"
	@echo "make i18n       extract messages, update the .po catalogues, compile them"
	@echo "make bench      run the benchmarks (bench/run.py, arguments in BENCH_ARGS)"
	@echo "make bench-tenants  plan --all-targets over 200 ruoyi-vue-pro tenants (bench/tenants.py)"
	@echo "make .venv      create .venv with the dev extras"
	@echo "make clean      stop test servers, remove .venv, caches and build output"

# --- virtualenv -----------------------------------------------------------------------------

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: no python3.11 or python3 on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(RUN_STAMP): | $(BIN)/python
	$(PIP) install --quiet -e .
	rm -f $(VENV)/.installed-run-*
	touch $@

$(DEV_STAMP): | $(BIN)/python
	$(PIP) install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-run-* $(VENV)/.installed-dev-*
	touch $@ $(RUN_STAMP)

.venv venv: $(DEV_STAMP)

# --- the two main commands ------------------------------------------------------------------

demo: $(RUN_STAMP)
	$(BIN)/erpsync validate
	$(BIN)/erpsync demo

# Start a throwaway PostgreSQL, run every check (all of them, even after one fails), stop the
# server whatever happened, and exit with the status of the first check that failed.
test: $(DEV_STAMP)
	@trap '$(TESTDB) stop' EXIT; trap 'exit 130' INT TERM; \
	$(TESTDB) start || exit $$?; \
	eval "$$($(TESTDB) env)"; \
	export ERPSYNC_ACTIONLINT="$(CURDIR)/scripts/actionlint.sh"; \
	export ERPSYNC_GITLAB_CI_LOCAL="$(CURDIR)/scripts/gitlab-ci-local.sh"; \
	failed=0; \
	step() { \
		echo "==> $$*"; \
		"$$@" || { rc=$$?; echo "==> FAILED (exit $$rc): $$*"; [ "$$failed" -ne 0 ] || failed=$$rc; }; \
	}; \
	step $(BIN)/ruff check .; \
	step $(BIN)/ruff format --check .; \
	step $(BIN)/mypy; \
	step $(BIN)/pytest $(PYTEST_ARGS); \
	exit $$failed

# --- single checks --------------------------------------------------------------------------

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# --- generated files and measurements -------------------------------------------------------

schemas: $(RUN_STAMP)
	$(BIN)/python -m erpsync.schema_export schemas/

# Message catalogues: extract the messages, merge them into each .po (translate the new
# ones there), compile the .mo files the package ships. data-messages.pot lists the
# templates of messages that are data (marked N_), the only ones i18n.said reads text by.
i18n: $(DEV_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 -k pgettext:1c,2 --no-location \
		--omit-header --sort-output -o erpsync/locale/erpsync.pot .
	$(BIN)/pybabel extract -F babel.cfg --no-default-keywords -k N_ --no-location \
		--omit-header --sort-output -o erpsync/locale/data-messages.pot .
	$(BIN)/pybabel update -i erpsync/locale/erpsync.pot -d erpsync/locale -D erpsync \
		--no-wrap --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d erpsync/locale -D erpsync --statistics

bench: $(DEV_STAMP)
	@export ERPSYNC_TESTDB_SERVERS=$${ERPSYNC_TESTDB_SERVERS:-pg}; \
	trap '$(TESTDB) stop' EXIT; $(TESTDB) start && eval "$$($(TESTDB) env)" && $(BIN)/python bench/run.py $(BENCH_ARGS)

bench-tenants: $(DEV_STAMP)
	@trap '$(TESTDB) stop' EXIT; $(TESTDB) start && eval "$$($(TESTDB) env)" && $(BIN)/python bench/tenants.py

clean:
	$(TESTDB) stop
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist demo bench/out
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -maxdepth 2 -name '*.egg-info' -type d -prune -exec rm -rf {} +
