# Two commands matter: `make run` (the demo) and `make test` (the whole suite); `make lint` keeps the code in shape.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint venv sandbox-image bench clean

$(STAMP): pyproject.toml
	@sh tools/ensure-venv.sh "$(PYTHON)" "$(VENV)"
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,datasets]'
	@touch $(STAMP)

venv: $(STAMP)

# Start the platform with the shipped challenges on the embedded defaults (SQLite, in-process queue).
run: $(STAMP)
	@if docker info >/dev/null 2>&1; then $(BIN)/python -m heldout.runner.sandbox.image build; \
	 else echo "make run: no Docker engine answers; submissions will be scored under bubblewrap"; fi
	$(BIN)/heldout demo

# The whole test suite. CI runs it with HELDOUT_TEST_STRICT=1, which turns every skip into a failure.
test: $(STAMP)
	HELDOUT_TEST_STRICT=$(HELDOUT_TEST_STRICT) $(BIN)/python -m pytest $(PYTEST_ARGS)

# Style and likely bugs (ruff), types of the scoring, ranking and runner code (mypy), and the import layering
# with no cycles (tools/check_imports.py). Their settings are in pyproject.toml. CI runs it before the tests.
lint: $(STAMP)
	$(BIN)/ruff check heldout tests tools bench
	$(BIN)/mypy
	$(BIN)/python tools/check_imports.py

sandbox-image: $(STAMP)
	$(BIN)/python -m heldout.runner.sandbox.image build

# Every bench but the deadline rush, which takes most of an hour: run it on its own (see its --help).
bench: $(STAMP)
	@for script in bench/bench_*.py; do [ "$$script" = bench/bench_deadline_rush.py ] && continue; \
	 echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache test-output
