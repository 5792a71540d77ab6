# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install install-test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

## demo: build var/backoffice.db with sample data and run the main job end to end
demo: install
	$(BIN)/backoffice demo

## test: install what the tests need and run them
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check engine addin tests benchmarks

bench: install-test
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_sync.py

clean:
	rm -rf var/ .pytest_cache build *.egg-info
