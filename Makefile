PYTHON ?= python3

.PHONY: install test test-quick lint bench figures

install:
	$(PYTHON) -m pip install -e ".[test,lint]"

test:
	$(PYTHON) -m pytest -q

test-quick:
	$(PYTHON) -m pytest -q -m "not slow"

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

bench:
	$(PYTHON) scripts/bench.py
	$(PYTHON) scripts/bench_master.py

figures:
	$(PYTHON) scripts/positivity_map.py --out figures/positivity_map.png
	$(PYTHON) scripts/figures.py --out figures/
