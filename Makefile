# crewchief: every target installs what it needs into .venv by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DATA ?= $(shell mktemp -d /tmp/crewchief-demo.XXXXXX)

.PHONY: install demo test lint typecheck unit browser bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/crewchief demo --data $(DEMO_DATA)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy src/crewchief

# the dashboard's browser tests drive Debian's chromium (never a downloaded browser)
browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

unit: $(STAMP) browser
	$(BIN)/python -m pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_serve.py
	$(BIN)/python bench/bench_deploy.py
	$(BIN)/python bench/bench_backup.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
