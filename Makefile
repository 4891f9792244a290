# Two commands matter: `make run` (the demo) and `make test` (the whole suite); `make lint` keeps the code in shape.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint venv sandbox-image bench clean screenshots

$(STAMP): pyproject.toml
	@sh tools/ensure-venv.sh "$(PYTHON)" "$(VENV)"
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,datasets]'
	@touch $(STAMP)

venv: $(STAMP)

# Start the platform with the shipped challenges on the embedded defaults (SQLite, in-process queue).
# First the sandbox's needs: as root, installs bubblewrap (no Docker engine) or debootstrap (Docker, but the
# image's base must be built) and builds the sandbox image; as another user, prints the command to run and stops.
run: $(STAMP)
	@$(BIN)/python -m heldout.runner.sandbox.prepare
	$(BIN)/heldout demo

# npm's axe-core, for the browser tests' accessibility checks, in a folder of the tests' own.
AXE := tests/browser/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/axe/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/browser/axe --no-audit --no-fund --silent; \
	 else echo "make: npm not found: the browser tests' accessibility checks need it (apt-get install npm)"; fi

# The whole test suite. CI runs it with HELDOUT_TEST_STRICT=1, which turns every skip into a failure.
# Two processes (pytest-xdist): the tests that use the Docker engine run in one of them, one after another; the
# slowest tests are listed at the end. PYTEST_ARGS=-p no:xdist runs everything in one process.
PYTEST_ARGS ?= -n 2 --dist loadgroup --durations=25
test: $(STAMP) $(AXE)
	HELDOUT_TEST_STRICT=$(HELDOUT_TEST_STRICT) $(BIN)/python -m pytest $(PYTEST_ARGS)

# Style and likely bugs (ruff), types of the scoring, ranking and runner code (mypy), and the import layering
# with no cycles (tools/check_imports.py). Their settings are in pyproject.toml. CI runs it before the tests.
lint: $(STAMP)
	$(BIN)/ruff check heldout tests tools bench
	$(BIN)/mypy
	$(BIN)/python tools/check_imports.py

# The README's two pictures (docs/screenshot-*.png), taken by the browser tests from the shipped challenges
# (HELDOUT_TEST_BROWSER_SANDBOX=bubblewrap scores them without Docker).
screenshots: $(STAMP) $(AXE)
	HELDOUT_TEST_SCREENSHOTS_TO=docs $(BIN)/python -m pytest tests/browser/test_every_page.py -k readme_screenshots

sandbox-image: $(STAMP)
	$(BIN)/python -m heldout.runner.sandbox.image build

# Every bench but the deadline rush, which takes most of an hour: run it on its own (see its --help).
bench: $(STAMP)
	@for script in bench/bench_*.py; do [ "$$script" = bench/bench_deadline_rush.py ] && continue; \
	 echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache test-output
