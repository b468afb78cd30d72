# The two commands a newcomer needs: `make demo` and `make test`. Everything runs from the project's .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_STORE ?= data/demo
DEMO_REPORT ?= reports/demo

.PHONY: help install demo test test-races test-spark install-smoke lint format bench docs clean

help:
	@echo "make demo   - create .venv, install, write the demo store to $(DEMO_STORE), audit it into $(DEMO_REPORT)"
	@echo "make test   - lint and run the test suite"
	@echo "make test-races - the slow hostile-input cases (kills, full disks, races; CI runs them)"
	@echo "make test-spark - the DuckDB/Spark parity suite (needs pip install -e '.[spark]' and Java 17)"
	@echo "make install-smoke - build the wheel, install it in a fresh venv outside the checkout, run every command there"
	@echo "make bench  - run the benchmarks (writes numbers to stdout; record them in benchmarks/RESULTS.md)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/evalaudit demo --store $(DEMO_STORE)
	$(BIN)/evalaudit run --store $(DEMO_STORE) --out $(DEMO_REPORT) --fail-on never
	@echo "open $(DEMO_REPORT)/index.html"

lint: $(STAMP)
	$(BIN)/ruff check evalaudit tests benchmarks docs
	$(BIN)/marimo check --strict notebooks/*.py

format: $(STAMP)
	$(BIN)/ruff check --fix evalaudit tests benchmarks

# one worker per core; a test file stays on one worker, so its module-scoped fixtures are built once
test: lint
	$(BIN)/python -m pytest -q -m "not races" -n auto --dist loadfile

# issue 14's slow hostile cases: kills, interrupts, full disks, permissions and races, in real subprocesses
test-races: $(STAMP)
	$(BIN)/python -m pytest -q -m races tests/test_hostile.py

# Spark parity (tests/spark, deselected from `make test`): local mode, bound to 127.0.0.1, UTC, no UI
test-spark: $(STAMP)
	SPARK_LOCAL_IP=127.0.0.1 TZ=UTC $(BIN)/python -m pytest -q -m spark tests/spark

# the install path a user takes: the wheel in a fresh venv in a temporary directory (tests/install_smoke.sh)
install-smoke:
	PYTHON=$(PYTHON) tests/install_smoke.sh $(SMOKE_DIR)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

docs: $(STAMP)
	$(BIN)/python -m docs.generate

clean:
	rm -rf $(VENV) data/demo reports/demo benchmarks/_work .pytest_cache
