# pollwatch: `make demo` serves a realistic election on http://127.0.0.1:8000; `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
export POLLWATCH_HOME ?= $(CURDIR)/var
export POLLWATCH_DATA_DIR ?= $(abspath $(CURDIR)/../shared/data)

.PHONY: demo serve test lint fix bench browser kannel docs clean help

help:
	@echo "make demo   - set up, load a realistic election into SQLite, serve http://127.0.0.1:8000"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make lint / fix / bench / serve / docs / clean"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# The dashboard tests drive Debian's chromium through Playwright; never a downloaded browser.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    sudo apt-get install -y -qq chromium; \
	  else echo "chromium not installed and no root: the browser tests will be skipped"; fi; }

# The SMS gateway tests run a real Kannel (bearerbox, smsbox, fakesmsc) from Debian's packages.
kannel:
	@test -x /usr/sbin/bearerbox -a -x /usr/lib/kannel/test/fakesmsc || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq kannel kannel-extras >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kannel kannel-extras; }; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    sudo apt-get install -y -qq kannel kannel-extras; \
	  else echo "kannel not installed and no root: the Kannel tests will be skipped"; fi; }

demo: $(STAMP)
	$(BIN)/pollwatch demo

serve: $(STAMP)
	$(BIN)/pollwatch serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

fix: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

test: $(STAMP) browser kannel lint
	$(BIN)/pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench

docs: $(STAMP)
	$(BIN)/python -m pollwatch.cli.reference > docs/cli.md

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
