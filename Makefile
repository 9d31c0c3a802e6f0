# Two commands a newcomer needs: `make demo` and `make test`.
# Both create ./.venv themselves with $(PYTHON) (default python3).
PYTHON ?= python3
VENV ?= .venv
# pytest workers (pytest-xdist); JOBS=0 runs the suite in one process
JOBS ?= 2
BIN := $(VENV)/bin

.PHONY: demo test bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[plot]"
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/jaxreg demo --force

# The tests solve small problems, so XLA compilation dominates their time: turning
# XLA's optimizations off cuts it by about a third, and two workers overlap the
# compiles, work-stealing keeping both busy to the end (on the 2-core CPU: 568 s in
# one process, 431 s in two, 331 s in two with work-stealing; tests/conftest.py
# also turns XLA's CPU fusion emitters off where the flag exists: 404-479 s -> 259 s
# with today's suite). Numerics are unchanged; the benchmarks run fully optimized
# and validate every result they time.
test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	JAX_DISABLE_MOST_OPTIMIZATIONS=1 $(BIN)/python -m pytest -q -n $(JOBS) --dist worksteal

bench-smoke: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks run --preset smoke --devices cpu --out benchmarks/out/smoke

clean:
	rm -rf $(VENV) jaxreg-demo benchmarks/out
