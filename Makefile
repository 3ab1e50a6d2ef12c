# creditsheet: the two-command quick start is `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit setup clean bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## A demo workbook in ./demo/, synced for real: no account, no network.
demo: $(STAMP)
	rm -rf demo && mkdir -p demo
	printf '[workbook]\npath = "practice.xlsx"\n\n[sync]\ntimezone = "Europe/London"\n\n[email]\nto = ["you@example.com"]\n\n[calendar]\nfeeds = ["bookings.ics"]\n' > demo/config.toml
	$(BIN)/creditsheet init --demo --config demo/config.toml
	@echo
	$(BIN)/creditsheet sync --config demo/config.toml
	@echo
	@echo "The demo workbook is demo/practice.xlsx: open it in LibreOffice or Excel."
	@echo "The alert email it sent is in demo/outbox/ (one .eml file per email)."
	@echo "The bookings it logged into Sessions came from demo/bookings.ics ([calendar] feeds)."
	@echo "Run 'make demo' again for a fresh copy; '.venv/bin/creditsheet --help' for the commands."

## Lint, type-check and run every test (the browser test needs Debian's chromium, the
## corpus test LibreOffice).
test: browser libreoffice lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache .hypothesis

## Debian's chromium, for the balance page's browser test (installed only when missing).
.PHONY: browser
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium; }
	@chromium --version 2>/dev/null

## Debian's LibreOffice Calc without its desktop parts, for the corpus test that asks whether
## LibreOffice opens every workbook the sync wrote (installed only when missing).
.PHONY: libreoffice
libreoffice:
	@command -v soffice >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends \
	    libreoffice-calc-nogui; }
	@soffice --version 2>/dev/null

## The benchmark (both backends): every case at 1k, 10k and 100k sessions; results
## go to docs/performance.md. SIZES=20000,100000,1000000 BACKENDS=xlsx for the xlsx
## targets (about 5 minutes); SIZES=ceiling for the 10-million-cell limit.
SIZES ?= 1000,10000,100000
BACKENDS ?= xlsx,google
bench: $(STAMP)
	$(BIN)/python -m bench --sizes $(SIZES) --backends $(BACKENDS) --out docs/performance.md

## The full-size safety runs behind docs/reliability.md: >= 30 crash runs, 10,000+ hostile
## examples, every xlsx fault, 100+ Google races and 200+ fault cycles; figures go to
## test-artifacts/reliability/*-full.json.
.PHONY: reliability
reliability: $(STAMP)
	CREDITSHEET_FULL=1 $(BIN)/python -m pytest -q tests/test_safety_crash.py \
	  tests/test_safety_xlsx.py tests/test_safety_input.py tests/test_safety_security.py \
	  tests/test_safety_google.py
