# Deliverabot: the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint format bench reliability install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# A plain (non-editable) install, so package data is exercised exactly as users get it.
install: $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check .

run: install
	$(BIN)/deliverabot serve

test: $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check ".[test]"
	$(BIN)/pytest

lint: $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check ".[test]"
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(BIN)/python
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/run.py

reliability: test

clean:
	rm -rf $(VENV) build *.egg-info
