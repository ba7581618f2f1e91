# The two commands of the README: `make run` (install + serve) and `make test` (install + test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
REFERENCE_VERSION := 2.26.2
# pytest-xdist: one worker (and one mockcvat server) per CPU; what workers share on disk is made
# under a file lock (the cvat-sdk 2.26 virtualenv). PARALLEL= runs the tests in one process.
PARALLEL ?= -n auto

.PHONY: run test test-postgres install install-test azurite postgresql schema coverage lint \
	bench wrk fuzz fuzz-cli browser clean migration

run: install
	$(BIN)/mockcvat serve

test: install-test browser
	$(BIN)/ruff check mockcvat tests bench fuzz
	$(BIN)/mockcvat schema check
	$(BIN)/python -m pytest $(PARALLEL)

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test azurite postgresql

# PostgreSQL (Debian's package) for the shared-instance tests and the PostgreSQL run of the
# suite; the tests start their own throwaway cluster with initdb/pg_ctl (mockcvat/pgcluster.py)
postgresql:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	    || echo "could not install postgresql: the PostgreSQL tests will fail and say why"; \
	else echo "PostgreSQL not found and not installable here (needs root and apt-get): the PostgreSQL tests will fail and say why"; fi

# The whole suite again with every server on PostgreSQL instead of in-memory SQLite (see
# README, "PostgreSQL in the tests"); the shared-instance tests run on PostgreSQL in `make test`
# already
test-postgres: install-test
	MOCKCVAT_TEST_POSTGRES=1 $(BIN)/python -m pytest $(PARALLEL) --ignore=tests/test_shared_instance.py

# Azurite, Azure's official storage emulator (npm), for the cloud-storage tests, into a local
# folder. Without npm the Azure tests skip and say why (.ci/run installs node and npm first).
AZURITE := .azurite/node_modules/.bin/azurite-blob
azurite:
	@if [ -x $(AZURITE) ]; then :; \
	elif command -v npm >/dev/null 2>&1; then \
	  npm install --silent --no-audit --no-fund --prefix .azurite azurite@3; \
	else echo "npm not found: Azurite not installed, the Azure cloud-storage tests will skip"; fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Regenerate the committed schema and the coverage checklist after changing operations
# (the checklist's second column reads the cvat-sdk of the test extras).
schema: install-test
	$(BIN)/mockcvat schema dump --cvat-version $(REFERENCE_VERSION) -o openapi/mockcvat-$(REFERENCE_VERSION).yml
	$(BIN)/mockcvat schema coverage -o COVERAGE.md

lint: install-test
	$(BIN)/ruff check mockcvat tests bench fuzz

# schemathesis and the read-cache property test with fresh random examples (CI runs a fixed,
# derandomized set)
fuzz: install-test
	MOCKCVAT_FUZZ=250 $(BIN)/python -m pytest tests/test_schemathesis.py tests/test_readcache.py -q $(PARALLEL)

# schemathesis's own CLI against `mockcvat serve` (the README's recipe): fuzz/fuzz_cli.py
fuzz-cli: install-test
	$(BIN)/python fuzz/fuzz_cli.py

# Debian's Chromium, which tests/test_pages.py drives with Playwright (Playwright's own browser
# download does not work offline); without it (no root, no apt) those tests skip, saying why
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
			>/dev/null 2>&1 || echo "make browser: could not install chromium;" \
			"tests/test_pages.py will be skipped"; }

# wrk (Debian's package) measures the read path; without root or apt, bench/read_path.py says
# so and uses its Python load generator
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) \
			>/dev/null 2>&1 || echo "make wrk: could not install wrk (apt-get install wrk);" \
			"bench/read_path.py will use its Python load generator"; }

bench: install-test wrk
	$(BIN)/python bench/read_path.py
	$(BIN)/python bench/foundation.py
	$(BIN)/python bench/tasks.py
	$(BIN)/python bench/datasets.py
	$(BIN)/python bench/cloud.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/shared.py

# The next Alembic revision from the models' changes (read what it wrote before committing)
migration: install-test
	$(BIN)/python -m mockcvat.migrations revision "$(MESSAGE)"

clean:
	rm -rf $(VENV) .mockcvat .pytest_cache .azurite
