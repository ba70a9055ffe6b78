# il6repro - every target bootstraps what it needs on a fresh machine (Python 3.11 + pip, nothing else).
#   make reproduce   build the environment, run every notebook (default profile), the what-if sweep (quick profile,
#                    local Dask cluster), the student build, and build the book (build/book/html: Sphinx, the paper
#                    printed to PDF) and check it in headless Chromium
#   make test        build the environment, install headless Chromium and pdftotext if missing, run pytest, then run every
#                    notebook on the quick profile in build/quick and `ledger --check` it against the baseline
#   make teach       the course: student + autograder versions of the teaching units (otter-grader) -> build/teaching/
#   make grade DIR=submissions/   grade a folder of submitted notebooks -> DIR/scores.csv (scores per exercise);
#                    TIMEOUT=600 (seconds a submission may take) CELL_TIMEOUT=120 (seconds a cell may take)
#   make sweep       the what-if sweep alone
# Variables: PYTHON (interpreter used to create the venv), VENV (its folder), PROFILE, ARGS (extra run args),
#            SWEEP (0 skips the sweep in `make reproduce`), WORKERS (Dask workers of the sweep).

PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= default
ARGS    ?=
SWEEP   ?= 1
WORKERS ?= 2
TIMEOUT ?= 600
CELL_TIMEOUT ?= 120
QUICK   := $(CURDIR)/build/quick
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.il6repro-installed

.PHONY: reproduce test env browser site ledger ledger-check sweep teach grade clean lint

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade "pip>=24"
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

env: $(STAMP)

reproduce: env browser
	$(BIN)/python -m il6repro run --profile $(PROFILE) $(ARGS)
	@if [ "$(SWEEP)" != "0" ]; then $(BIN)/python -m il6repro sweep --workers $(WORKERS); fi
	$(BIN)/python -m il6repro teach --profile $(PROFILE)
	@rc=0; $(BIN)/python -m il6repro site --check || rc=$$?; \
	if [ $$rc -eq 2 ]; then echo "site built; browser check skipped (no chromium)"; elif [ $$rc -ne 0 ]; then exit $$rc; fi

sweep: env
	$(BIN)/python -m il6repro sweep --workers $(WORKERS)

teach: env
	$(BIN)/python -m il6repro teach --profile $(PROFILE)

grade: env
	@test -n "$(DIR)" || { echo "usage: make grade DIR=folder-of-submitted-notebooks"; exit 2; }
	$(BIN)/python -m il6repro teach --grade "$(DIR)" --timeout $(TIMEOUT) --cell-timeout $(CELL_TIMEOUT)

site: env
	$(BIN)/python -m il6repro site --check

ledger: env
	$(BIN)/python -m il6repro ledger --check

# the CI regression check: every notebook on the quick profile in its own build folder, then the ledger baseline
ledger-check: env
	IL6REPRO_BUILD=$(QUICK) IL6REPRO_FIGURES_DIR=$(QUICK)/figures $(BIN)/python -m il6repro run --profile quick --no-progress
	IL6REPRO_BUILD=$(QUICK) IL6REPRO_FIGURES_DIR=$(QUICK)/figures $(BIN)/python -m il6repro ledger --check
	@# the quick run's book: every notebook page must show the figures its notebook saved, then the browser check
	@rc=0; IL6REPRO_BUILD=$(QUICK) IL6REPRO_FIGURES_DIR=$(QUICK)/figures $(BIN)/python -m il6repro site --check \
	  || rc=$$?; if [ $$rc -eq 2 ]; then echo "book built; browser check skipped (no chromium)"; \
	  elif [ $$rc -ne 0 ]; then exit $$rc; fi

# Debian's chromium (browser tests, the paper's PDF) and poppler-utils (pdftotext, to check the PDF); installed only
# when missing and when we may (root + apt-get). Waits for a busy dpkg lock; if they still cannot be installed,
# everything is built and the browser and PDF checks are reported as skipped.
browser:
	@sh tools/install_browser.sh

test: env browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory ledger-check

lint: env
	$(BIN)/python -m ruff check lib tests tools notebooks benchmarks

clean:
	rm -rf build figures/*.png figures/*.svg
