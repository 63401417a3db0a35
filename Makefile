# Qualipref: `make run` starts the embedded system, `make test` runs every check.
# Only Python 3.11+ with venv and pip is assumed: the targets build .venv themselves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
# Debian packages the tests need: a real IMAP server, Pango and fonts for WeasyPrint's PDFs,
# poppler-utils to read them back (pdftotext, pdftoppm), Node.js (with npm) for the web pages'
# assets and the test OpenID Connect provider, Chromium for the browser tests.
SYSTEM_PACKAGES := dovecot-imapd libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
	fonts-dejavu-core poppler-utils nodejs chromium

.PHONY: run test lint pytest install install-dev system-deps constraints clean oidc-provider \
	frontend screenshots

run: $(VENV)/.installed-run frontend
	$(BIN)/qualipref run

test: $(VENV)/.installed-dev system-deps lint pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The whole suite once on SQLite (the embedded default) and once on PostgreSQL, both at once:
# each run has its own database, data directory, Dovecot, ports and queues, and much of a run
# waits on I/O. The SQLite run's report is printed after the PostgreSQL one's.
pytest: $(VENV)/.installed-dev oidc-provider frontend
	@sqlite_log="$$(mktemp)"; \
	QUALIPREF_TEST_DATABASE=sqlite $(BIN)/pytest > "$$sqlite_log" 2>&1 & sqlite_run=$$!; \
	QUALIPREF_TEST_DATABASE=postgresql $(BIN)/pytest; postgresql_status=$$?; \
	wait $$sqlite_run; sqlite_status=$$?; \
	echo "== The same suite on SQLite"; cat "$$sqlite_log"; rm -f "$$sqlite_log"; \
	test $$postgresql_status -eq 0 -a $$sqlite_status -eq 0

# The OpenID Connect provider the sign-in tests run (npm oidc-provider), from its lock file.
oidc-provider: tests/fixtures/oidc_provider/node_modules/.package-lock.json
tests/fixtures/oidc_provider/node_modules/.package-lock.json: tests/fixtures/oidc_provider/package-lock.json
	cd tests/fixtures/oidc_provider && npm ci --no-audit --no-fund --loglevel=error

# The DSFR, htmx and Chart.js the pages load, and axe-core for the tests, from the lock file.
# Their install scripts are not run: the DSFR's asks for a project file the built files need not.
frontend: frontend/node_modules/.package-lock.json
frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# Refresh the screenshots in docs/screenshots from the browser tests.
screenshots: $(VENV)/.installed-dev frontend
	QUALIPREF_TEST_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/web -q

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Qualipref needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(VENV)/.installed-run: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e '.[dev]'
	touch $@ $(VENV)/.installed-run

# Installs missing Debian packages when run as root; otherwise says what to install.
system-deps:
	@missing="$$(for package in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q 'ok installed' || echo $$package; \
	done)"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
		echo "Missing Debian packages: $$missing (run: sudo apt-get install $$missing)" >&2; exit 1; \
	fi; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing

constraints: $(VENV)/.installed-dev
	{ echo "# Exact versions the project was last tested with: pip install -c constraints.txt -e '.[dev]'"; \
	  echo "# Regenerate after changing dependencies: make constraints"; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
