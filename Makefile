PYTHON ?= python3

.PHONY: install test test-quick lint docs bench figures

install:
	$(PYTHON) -m pip install -e ".[test,lint,docs]"

# Two workers (pytest-xdist), one test file each at a time: compilation is single-threaded, and a
# file's tests share their compiled kernels within one worker. --no-loadscope-reorder hands the files
# out in collection order, which tests/conftest.py sorts longest first.
PYTEST_XDIST = -n 2 --dist loadfile --no-loadscope-reorder

test:
	$(PYTHON) -m pytest -q $(PYTEST_XDIST)

test-quick:
	$(PYTHON) -m pytest -q $(PYTEST_XDIST) -m "not slow"

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

# The documentation site (mkdocs + mkdocstrings), warnings as errors; it builds offline into site/.
docs:
	NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs build --strict

bench:
	$(PYTHON) scripts/bench.py
	$(PYTHON) scripts/bench_master.py

figures:
	$(PYTHON) scripts/positivity_map.py --out figures/positivity_map.png
	$(PYTHON) scripts/figures.py --out figures/
