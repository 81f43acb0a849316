# Two commands do everything on a fresh machine: `make run` and `make test`.
# Both create .venv and install what they need (from the package index) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit bench install clean browser-deps second-build histories controller-histories

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start the whole product: embedded Temporal dev server + worker (Ctrl-C stops it).
# The demo checks a rolled-out build every 10 s (production default: 30 s).
run: $(STAMP)
	PURCHASEBOT_MONITOR_INTERVAL_SECONDS=$${PURCHASEBOT_MONITOR_INTERVAL_SECONDS:-10} \
	$(BIN)/purchasebot up --import-history sample-history.csv

## Re-record the current code's replay corpus (tests/histories/current-*.json) for every path of
## tests/corpus/paths.py: new paths and changed commands are written, the rest left as they are.
## Refuses a history whose commands changed without a new patch id (RECORD_HISTORIES=force
## rewrites every file); one that predates a new patch is kept as before-<patch>-<path>.json.
histories: $(STAMP)
	RECORD_HISTORIES=$${RECORD_HISTORIES:-1} $(BIN)/pytest -q -s \
	  tests/test_replay_drift.py -k test_current_code_issues_the_recorded_commands

## Re-record the rollout controller's histories (tests/controller_histories/): the current code's
## scenarios, and the frozen generations not recorded yet. Commit the files.
controller-histories: $(STAMP)
	RECORD_CONTROLLER_HISTORIES=1 $(BIN)/pytest -q -s tests/test_controller_replay.py \
	  -k test_current_controller_issues_the_recorded_commands

## Lint, type-check and run every test against real Temporal servers.
# On TEST_WORKERS processes (pytest-xdist), each with its own session dev server; a test module
# stays on one process (--dist loadfile: its module-scoped servers and worlds start once), in
# collection order (the longest first: tests/conftest.py SLOW_FIRST).
# Most of the suite waits on servers and timers, so 2 processes nearly halve it on 2 cores.
# TEST_WORKERS=0: one process, as plain `pytest`.
TEST_WORKERS ?= 2
test: $(STAMP) browser-deps lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

## Debian's Chromium for the browser test (tests/browser drives /usr/bin/chromium with
## Playwright, which downloads no browser). Installed when root or passwordless sudo can.
browser-deps:
	@if test -x /usr/bin/chromium; then :; \
	elif ! command -v apt-get >/dev/null; then \
	  echo "notice: no /usr/bin/chromium and no apt-get; the browser test will be skipped (fails with CI=true)"; \
	elif test "$$(id -u)" = 0; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo -n apt-get update -qq && \
	  sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
	  echo "notice: no /usr/bin/chromium and no root to install it; the browser test will be"; \
	  echo "        skipped (it fails with CI=true). Install it with: sudo apt-get install -y chromium"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

## Benchmarks against a real dev server; prints ratios to the floor measured in the same run.
bench: $(STAMP)
	$(BIN)/python -m bench.workflow_latency
	$(BIN)/python -m bench.rollback_latency
	$(BIN)/python -m bench.slack_latency
	$(BIN)/python -m bench.sustained_load
	$(BIN)/python -m bench.rules_propagation

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache

## A second worker build beside `make run` (another terminal), to try /rollout locally:
##   make second-build BUILD=v2            a healthy new build
##   make second-build BUILD=v3 FAIL=1     a build whose orders all fail (the monitor rolls it back)
BUILD ?= v2
FAIL ?= 0
second-build: $(STAMP)
	set -a; . .data/local-slack.env; set +a; \
	TEMPORAL_ADDRESS=127.0.0.1:7233 PURCHASEBOT_BUILD_ID=$(BUILD) PURCHASEBOT_FAIL_ORDERS=$(FAIL) \
	PURCHASEBOT_MODE=demo \
	$(BIN)/purchasebot worker
