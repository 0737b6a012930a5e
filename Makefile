# The two commands of the README: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest

.PHONY: demo test test-slow down setup-env services-up browser lint

# Re-install when the dependencies change; otherwise the venv is reused.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup-env: $(STAMP)

services-up: $(STAMP)
	$(BIN)/newsflow services up

## make demo: services up, worker running, sample articles ingested, a search shown.
demo: services-up
	$(BIN)/newsflow demo

## make test: unit and integration tests against the real Kafka broker and Elasticsearch node.
# pytest's exit code 5 (no tests collected) must fail the run, never pass as green.
# Debian's chromium for the search page test: installed when missing and run as root; otherwise that test skips.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium not installed: the browser test will skip"

test: services-up browser
	$(PYTEST); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

## make test-slow: the long soak and fault runs.
test-slow: services-up
	$(PYTEST) -m slow; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

## make down: stop the worker and the services this checkout started (by their recorded pids).
down:
	-$(BIN)/newsflow worker --stop
	$(BIN)/newsflow services down
