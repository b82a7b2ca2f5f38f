# The two set-up commands of the README (make demo, make test) create/refresh .venv themselves,
# from the lock file: requirements.lock pins every transitive dependency with its hashes.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
STAMP := $(VENV)/.installed
# What the lock covers: the project with these extras (dev includes ml = torch 2.13.0 CPU, SB3).
LOCK_EXTRAS := --extra dev --extra bench
TOOLS := .venv-tools
LATEST := .venv-latest

.PHONY: demo test test-latest install lock lint bench clean browser

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Exact versions and hashes from the lock (pip refuses anything unpinned or with another hash),
# then the project itself without touching its dependencies.
$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# Refresh the lock from pyproject.toml's ranges (pip-tools, in its own venv so .venv stays
# exactly the lock). Commit requirements.lock afterwards.
lock:
	test -x $(TOOLS)/bin/pip-compile || { $(PY) -m venv $(TOOLS) && $(TOOLS)/bin/pip install --quiet pip-tools; }
	$(TOOLS)/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras \
	  $(LOCK_EXTRAS) -o $(LOCK) pyproject.toml

# Headless Chromium (Debian's package) renders the HTML report in the browser tests.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: install Debian's 'chromium' package to run the browser tests"; fi; }

demo: install
	$(BIN)/runlab demo --out demo-output

test: install browser
	$(BIN)/python -m pytest -n 2 --timeout=900 tests

# Canary: the newest releases pyproject.toml allows, without the lock, on the fast tests.
# Red here means an upstream release broke runlab: fix it, then `make lock` (README).
test-latest: browser
	rm -rf $(LATEST)
	$(PY) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet torch==2.13.0
	$(LATEST)/bin/python -m pip install --quiet --upgrade -e '.[dev,bench]'
	$(LATEST)/bin/python -m pip freeze > $(LATEST)/freeze.txt
	$(LATEST)/bin/python -m pytest -n 2 --timeout=900 -m "not slow" -p no:cacheprovider tests

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
	$(BIN)/python benchmarks/bench_sweep.py --harness optuna --quick
	$(BIN)/python benchmarks/bench_rewards.py
	$(BIN)/python benchmarks/bench_envconfig.py
	$(BIN)/python benchmarks/bench_curves.py --out /tmp/runlab-bench-curves

clean:
	rm -rf $(VENV) $(LATEST) $(TOOLS) demo-output .pytest_cache
