# keapconnect: the two commands are `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-postgres bench lint clean

$(VENV)/.runtime: requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

## demo: set up, then run the app and the Keap sandbox together (Ctrl-C stops both)
demo: $(VENV)/.runtime
	KEAP_SANDBOX=1 $(PY) manage.py migrate --noinput
	KEAP_SANDBOX=1 $(PY) manage.py demo

## test: set up, then run every test (browser tests included)
test: $(VENV)/.dev
	$(PY) -m pytest $(PYTEST_ARGS)

## test-postgres: the whole suite on PostgreSQL (token locking is only real there)
test-postgres: $(VENV)/.dev
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/keapconnect} $(PY) -m pytest $(PYTEST_ARGS)

## lint: ruff (style and common mistakes)
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## bench: the benchmarks under bench/ (not tests); prints ratios measured in one run
bench: $(VENV)/.dev
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) staticfiles test-artifacts
