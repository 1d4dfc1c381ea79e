# Every target creates .venv and installs pinned versions itself (Python 3.11+ and make only).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := -c layers/dependencies/requirements.txt -c tests/requirements.txt
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
# SAM CLI phones home unless told not to; it has nothing to report here.
export SAM_CLI_TELEMETRY := 0
# pytest-xdist workers: one per core (CI has 2); PYTEST_WORKERS=0 runs in this process.
# Each test file runs whole on one worker (--dist loadfile in pyproject.toml).
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -q -n $(PYTEST_WORKERS)

.PHONY: demo test lint format build pytest unit functional e2e bench clean

$(STAMP): pyproject.toml layers/dependencies/requirements.txt tests/requirements.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "RoleWarden needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(CONSTRAINTS) -e '.[dev]'
	touch $(STAMP)

$(TOOLS_STAMP): tests/tools-requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet -c tests/tools-requirements.txt aws-sam-cli cfn-lint
	touch $(TOOLS_STAMP)

$(BENCH_STAMP): $(STAMP) benchmarks/requirements.txt
	$(BIN)/python -m pip install --quiet -c tests/requirements.txt -r benchmarks/requirements.txt
	touch $(BENCH_STAMP)

demo: $(STAMP)  ## the product end to end on the embedded AWS emulator
	$(BIN)/rolewarden demo

# Lint runs beside the tests, not before them: it is one process (mypy the longest), so
# alone it leaves a core idle. --output-sync prints each target's output whole when it
# ends: lint's block first (it ends long before the tests), pytest's summary last.
test:  ## lint and type-check while every test runs; fails if either fails
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint pytest

# The template tools too: tests/e2e/test_sam_build.py runs the venv's SAM CLI.
pytest: $(STAMP) $(TOOLS_STAMP)
	$(PYTEST)

lint: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/ruff check functions tests benchmarks
	$(BIN)/ruff format --check functions tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(TOOLS)/bin/cfn-lint template.yaml docs/iam-event-forwarder.yaml
	$(TOOLS)/bin/sam validate --lint --region us-east-1 --template template.yaml

format: $(STAMP)  ## rewrite the code as lint wants it (imports sorted, formatted)
	$(BIN)/ruff check --fix-only functions tests benchmarks
	$(BIN)/ruff format functions tests benchmarks

# sam build needs the runtime's own Python on PATH: pyenv's, or one already there.
RUNTIME_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
	$(shell command -v python3.13))

build: $(TOOLS_STAMP)  ## sam build into .aws-sam/build (samconfig.toml), as `sam deploy` takes it
	@test -n "$(RUNTIME_PYTHON)" || { echo "sam build needs python3.13 (the runtime) on PATH"; exit 1; }
	PATH="$(dir $(RUNTIME_PYTHON)):$$PATH" $(TOOLS)/bin/sam build

unit: $(STAMP)
	$(PYTEST) tests/unit

functional: $(STAMP)
	$(PYTEST) tests/functional

e2e: $(STAMP)
	$(PYTEST) tests/e2e

bench: $(STAMP) $(TOOLS_STAMP) $(BENCH_STAMP)  ## sweep cost at scale, events, cold start, policy engine -> docs/benchmarks.md
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache
