# Two commands on a fresh machine with Python 3.11 and make: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.requirements-installed
E2E_STAMP := $(VENV)/.e2e-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck requirements format bench bench-quick bench-api bench-cost fuzz load clean e2e screenshots

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python initialize.py
	@echo "Oktopus docs: http://$(HOST):$(PORT)/api  (health: http://$(HOST):$(PORT)/health)"
	$(BIN)/python -m oktapi.serve --host $(HOST) --port $(PORT)

# Coverage of oktapi/ is measured on every run; below the floor in pyproject.toml
# ([tool.coverage.report] fail_under) the run fails.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered

# What .pre-commit-config.yaml runs too: lint, formatting, types, pins in step with pyproject.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/requirements.py --check
	$(BIN)/python -m mypy

typecheck: $(STAMP)
	$(BIN)/python -m mypy

# Rewrites requirements*.txt from pyproject.toml with the versions installed in the venv.
requirements: $(STAMP)
	$(BIN)/python scripts/requirements.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench --ceiling --lag --changes --cost --forecast --warm-start

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

# The holdout scenarios driven through the REST API; fails unless it hands out the engine's budgets.
bench-api: $(STAMP)
	$(BIN)/python scripts/api_bench.py --holdout

# What a post and a history page cost early and late in a 2,500 x 10 plan (issue 12's bars).
bench-cost: $(STAMP)
	$(BIN)/python scripts/cost.py
	$(BIN)/python scripts/import_cost.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .coverage

# Hardening: schema fuzzing (schemathesis, a few minutes) and the 20-plan load check.
fuzz: $(STAMP)
	$(BIN)/python -m pytest -m fuzz tests/fuzz

load: $(STAMP)
	$(BIN)/python scripts/load.py

# The dashboard in a real browser: Debian's chromium + chromium-driver (apt) driven by selenium.
$(E2E_STAMP): $(STAMP) requirements-e2e.txt
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium chromium-driver; }
	$(BIN)/python -m pip install --quiet -r requirements-e2e.txt
	touch $(E2E_STAMP)

e2e: $(E2E_STAMP)
	$(BIN)/python -m pytest -m e2e tests/e2e

# Regenerates docs/screenshots/*.png (shown in the README) from a demo plan.
screenshots: $(E2E_STAMP)
	$(BIN)/python scripts/screenshots.py

# A consistent copy of the embedded store, safe while the server runs (restore: see README).
.PHONY: backup
BACKUP_DIR ?= backups/oktopus-$(shell date -u +%Y%m%dT%H%M%SZ)
backup: $(STAMP)
	$(BIN)/python -m oktapi.backup $(BACKUP_DIR)
