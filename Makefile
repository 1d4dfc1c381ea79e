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

.PHONY: demo test lint unit functional e2e bench clean

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

test: lint  ## lint, type-check, then every test
	$(BIN)/pytest -q

lint: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/ruff check functions tests benchmarks
	$(BIN)/ruff format --check functions tests benchmarks
	$(BIN)/mypy
	$(TOOLS)/bin/cfn-lint template.yaml docs/iam-event-forwarder.yaml
	$(TOOLS)/bin/sam validate --lint --region us-east-1 --template template.yaml

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

functional: $(STAMP)
	$(BIN)/pytest -q tests/functional

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

bench: $(STAMP) $(TOOLS_STAMP) $(BENCH_STAMP)  ## sweep cost at scale, events, cold start, policy engine -> docs/benchmarks.md
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache
