# The two set-up commands of the README. Both create/refresh .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean browser

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip setuptools wheel

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium (Debian's package) renders the HTML report in the browser tests.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: install Debian's 'chromium' package to run the browser tests"; fi; }

demo: install
	$(BIN)/runlab demo --out demo-output

test: install browser
	$(BIN)/python -m pytest -n 2 --timeout=900 tests

lint: install
	$(BIN)/ruff check src tests benchmarks

# Each script times runlab against an anchor in the same run; BENCHMARKS.md records the figures.
bench: install
	$(BIN)/python benchmarks/bench_ingest.py --repeat 3
	$(BIN)/python benchmarks/bench_stats.py --rliable-fraction 0.05 --repeat 3
	$(BIN)/python benchmarks/bench_frames.py --rows 2000000
	$(BIN)/python benchmarks/bench_samples.py
	$(BIN)/python benchmarks/bench_sweep_store.py 300
	$(BIN)/python benchmarks/bench_sweep.py --quick

clean:
	rm -rf $(VENV) demo-output .pytest_cache
