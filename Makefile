# crewchief: every target installs what it needs into .venv by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DATA ?= $(shell mktemp -d /tmp/crewchief-demo.XXXXXX)
FAULT_TRIALS ?= 50
FUZZ_EXAMPLES ?= 2000
SOAK_SECONDS ?= 600

.PHONY: install demo test lint typecheck unit browser bench faults soak soak-short clean

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
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy src/crewchief

# the dashboard's browser tests drive Debian's chromium (never a downloaded browser)
browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

unit: $(STAMP) browser
	$(BIN)/python -m pytest -q

# the one-minute soak fails on any error or on server memory growth >= 10% after warm-up
test: lint typecheck unit soak-short

bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_serve.py
	$(BIN)/python bench/bench_deploy.py
	$(BIN)/python bench/bench_backup.py
	$(BIN)/python bench/bench_grpc.py

# the long fault run: kill -9 trials per operation (summary as JSON and markdown on stdout),
# then the fuzzers with many more examples, and the full-disk tests (docs/reliability.md)
faults: $(STAMP)
	$(BIN)/python -m tests.faults.run --trials $(FAULT_TRIALS)
	CREWCHIEF_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q --timeout 3600 \
		tests/server/test_fuzz_api.py tests/server/test_fuzz_snapshots.py tests/faults/test_full_disk.py

# mixed load from several client processes against crewchief serve (SOAK_SECONDS, default 600)
soak: $(STAMP)
	$(BIN)/python bench/soak.py --seconds $(SOAK_SECONDS)

soak-short: $(STAMP)
	$(BIN)/python bench/soak.py --seconds 60

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
