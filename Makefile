PYTHON ?= python3

.PHONY: install test test-quick bench

install:
	$(PYTHON) -m pip install -e ".[test]"

test:
	$(PYTHON) -m pytest -q

test-quick:
	$(PYTHON) -m pytest -q -m "not slow"

bench:
	$(PYTHON) scripts/bench.py
