# Two commands on a fresh machine with Python 3.11 and make: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.requirements-installed

.PHONY: run test lint format bench bench-quick bench-api fuzz load clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python initialize.py
	@echo "Oktopus docs: http://$(HOST):$(PORT)/api  (health: http://$(HOST):$(PORT)/health)"
	$(BIN)/python -m uvicorn fast:app --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m oktapi.bench --ceiling

bench-quick: $(STAMP)
	$(BIN)/python -m oktapi.bench --quick

# The holdout scenarios driven through the REST API; fails unless it hands out the engine's budgets.
bench-api: $(STAMP)
	$(BIN)/python scripts/api_bench.py --holdout

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Hardening: schema fuzzing (schemathesis, a few minutes) and the 20-plan load check.
fuzz: $(STAMP)
	$(BIN)/python -m pytest -m fuzz tests/fuzz

load: $(STAMP)
	$(BIN)/python scripts/load.py
