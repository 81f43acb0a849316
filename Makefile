# Two commands do everything on a fresh machine: `make run` and `make test`.
# Both create .venv and install what they need (from the package index) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit bench install clean browser-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start the whole product: embedded Temporal dev server + worker (Ctrl-C stops it).
run: $(STAMP)
	$(BIN)/purchasebot up --import-history sample-history.csv

## Lint, type-check and run every test against real Temporal servers.
test: $(STAMP) browser-deps lint typecheck
	$(BIN)/pytest -q

## Debian's Chromium for the browser test (tests/browser drives /usr/bin/chromium with
## Playwright, which downloads no browser). Installed when root or passwordless sudo can.
browser-deps:
	@if test -x /usr/bin/chromium; then :; \
	elif ! command -v apt-get >/dev/null; then \
	  echo "notice: no /usr/bin/chromium and no apt-get; the browser test will be skipped"; \
	elif test "$$(id -u)" = 0; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo -n apt-get update -qq && \
	  sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
	  echo "notice: no /usr/bin/chromium and no root to install it; the browser test will be"; \
	  echo "        skipped. Install it with: sudo apt-get install -y chromium"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

## Benchmarks against a real dev server; prints ratios to the floor measured in the same run.
bench: $(STAMP)
	$(BIN)/python -m bench.workflow_latency

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
