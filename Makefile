# pollwatch: `make demo` serves a realistic election on http://127.0.0.1:8000; `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
export POLLWATCH_HOME ?= $(CURDIR)/var
export POLLWATCH_DATA_DIR ?= $(abspath $(CURDIR)/../shared/data)

.PHONY: demo serve test lint fix bench system vendor docs clean help cluster-up cluster-down
VENDOR := src/pollwatch/web/static/vendor

help:
	@echo "make demo   - set up, load a realistic election into SQLite, serve http://127.0.0.1:8000"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make lint / fix / bench / serve / docs / clean"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Browser assets (htmx, the Urdu font, Swagger UI) come pinned from npm (package-lock.json) and are
# copied into the git-ignored static/vendor/, which pollwatch serves itself: never a CDN at run time.
vendor: $(VENDOR)/.stamp

$(VENDOR)/.stamp: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/fonts $(VENDOR)/swagger-ui
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/htmx.org/LICENSE $(VENDOR)/htmx.LICENSE
	cp node_modules/htmx-ext-sse/dist/sse.min.js $(VENDOR)/htmx-ext-sse.min.js
	cp node_modules/htmx-ext-sse/LICENSE $(VENDOR)/htmx-ext-sse.LICENSE
	cp node_modules/@fontsource/noto-nastaliq-urdu/files/noto-nastaliq-urdu-arabic-400-normal.woff2 $(VENDOR)/fonts/
	cp node_modules/@fontsource/noto-nastaliq-urdu/LICENSE $(VENDOR)/fonts/OFL.txt
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR)/swagger-ui/
	cp node_modules/swagger-ui-dist/LICENSE $(VENDOR)/swagger-ui/LICENSE
	touch $@

# Debian packages the tests drive for real, never downloaded by other means: chromium (the dashboard,
# through Playwright), poppler-utils and pango (PDF packs and reports: WeasyPrint renders, pdftoppm and
# pdftotext read back; the fonts are vendored in src/pollwatch/reports/fonts), kannel (the SMS gateway).
# pgbouncer and nginx-light: the local cluster (deploy/cluster.py, tests/deploy), beside the PostgreSQL 15
# binaries of postgresql-15.
DEBS := chromium poppler-utils libpango-1.0-0 libpangoft2-1.0-0 kannel kannel-extras pgbouncer nginx-light postgresql-15 patroni etcd-server
system:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq $$missing >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; }; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    sudo apt-get install -y -qq $$missing; \
	  else echo "not installed and no root: $$missing (the tests that need them will be skipped)"; fi; fi

demo: $(STAMP) vendor
	$(BIN)/pollwatch demo

serve: $(STAMP) vendor
	$(BIN)/pollwatch serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench deploy
	$(BIN)/ruff format --check src tests bench deploy
	$(BIN)/mypy

fix: $(STAMP)
	$(BIN)/ruff check --fix src tests bench deploy
	$(BIN)/ruff format src tests bench deploy

test: $(STAMP) vendor system lint
	$(BIN)/pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench

# A local cluster on loopback (docs/deployment.md): PostgreSQL primary + synchronous standby, pgbouncer,
# SeaweedFS, two API nodes behind nginx, two publishers electing one signer.
cluster-up: $(STAMP) system
	$(BIN)/python deploy/cluster.py up --dir var/cluster

cluster-down: $(STAMP)
	$(BIN)/python deploy/cluster.py down --dir var/cluster

docs: $(STAMP)
	$(BIN)/python -m pollwatch.cli.reference > docs/cli.md

clean:
	rm -rf $(VENV) var node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache
