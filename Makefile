# Two commands do everything on a fresh machine: `make run` and `make test`.
# Both create .venv and install what they need (from the package index) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start the whole product: embedded Temporal dev server + worker (Ctrl-C stops it).
run: $(STAMP)
	$(BIN)/purchasebot up --import-history sample-history.csv

## Lint, type-check and run every test against real Temporal servers.
test: $(STAMP) lint typecheck
	$(BIN)/pytest -q

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
