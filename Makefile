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

# On a first run (no database yet) the example plan is imported, so there is something to see.
run: install
	@$(BIN)/deliverabot plan show --json >/dev/null 2>&1 || \
		$(BIN)/deliverabot plan import examples/opcc-plan-2021-24.yaml | tail -n 1
	$(BIN)/deliverabot serve

test: $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check ".[test]"
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-dovecot.sh
	$(BIN)/pytest

lint: $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check ".[test]"
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy --strict  # the four packages (pyproject.toml), strict as configured there too

format: $(BIN)/python
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/run.py

# The fault suite at full size (tests/reliability; `make test` runs its fast part): kill -9,
# store and Slack faults, two processes, SIGTERM, the backlog a crash leaves (7,000
# messages), 30 unfinished 9 MB DATA sessions, 10,000 mutated messages and fuzzed commands,
# replayed Slack requests, 10 s of garbage at 500/s, forms under board load, import bombs and
# a 5,000-row import under live mail, a 10-minute soak; then the mail corpus and property
# tests at length.
reliability: $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check ".[test]"
	RELIABILITY_FUZZ=10000 RELIABILITY_SOAK_SECONDS=600 RELIABILITY_LOAD_SECONDS=5 \
		RELIABILITY_GARBAGE_SECONDS=10 RELIABILITY_FORMS=40 RELIABILITY_REPLAYS=50 \
		RELIABILITY_IMPORT_ROWS=5000 RELIABILITY_BACKLOG=7000 RELIABILITY_DATA_SESSIONS=30 \
		RELIABILITY_DATA_MB=9 $(BIN)/pytest -s tests/reliability
	FUZZ_EXAMPLES=2000 HYPOTHESIS_PROFILE=reliability $(BIN)/pytest tests/handlers tests/store -k "corpus or broken or garbage or never or round_trip or ordering or contains"

clean:
	rm -rf $(VENV) build *.egg-info
