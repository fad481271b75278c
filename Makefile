# Two commands do all the set-up on a fresh machine (Python >= 3.11):
#   make demo   installs papers-bot into .venv and prints today's digest in the terminal
#   make test   installs the dev tools into .venv and runs lint, type checks and the tests
#   make test-quick   the same without the slow tests (real processes, real timers)
#   make test-semantic   adds the semantic extra to .venv and runs its tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Test processes: most tests wait on sockets and subprocesses, so 4 pay off even on 2 cores.
WORKERS ?= 4

.PHONY: demo test test-quick test-semantic lint bench

$(BIN)/papers-bot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/papers-bot
	$(BIN)/papers-bot digest

lint: $(BIN)/papers-bot
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -n $(WORKERS)

test-quick: $(BIN)/papers-bot
	$(BIN)/python -m pytest -n $(WORKERS) -m "not slow"

test-semantic: $(BIN)/papers-bot
	$(BIN)/python -m pip install --quiet -e '.[dev,semantic]'
	$(BIN)/python -m pytest tests/test_semantic.py
