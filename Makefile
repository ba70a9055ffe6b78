# il6repro - every target bootstraps what it needs on a fresh machine (Python 3.11 + pip, nothing else).
#   make reproduce   build the environment, run every notebook (default profile), render build/site
#   make test        build the environment, install headless Chromium if missing, run pytest
# Variables: PYTHON (interpreter used to create the venv), VENV (its folder), PROFILE, ARGS (extra run args).

PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= default
ARGS    ?=
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.il6repro-installed

.PHONY: reproduce test env browser site ledger clean lint

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade "pip>=24"
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

env: $(STAMP)

reproduce: env
	$(BIN)/python -m il6repro run --profile $(PROFILE) $(ARGS)
	$(BIN)/python -m il6repro site

site: env
	$(BIN)/python -m il6repro site --check

ledger: env
	$(BIN)/python -m il6repro ledger --check

# Debian's chromium for the browser tests; installed only when missing and when we may (root + apt-get).
browser:
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$IL6REPRO_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not found and cannot install it (not root): browser tests will be skipped"; fi

test: env browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: env
	$(BIN)/python -m ruff check lib tests tools

clean:
	rm -rf build figures/*.png figures/*.svg
