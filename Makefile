# GridDesk: `make run` opens the app, `make test` runs the whole suite offscreen.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint deps test-deps clean

# What the app needs to run (Qt's libraries): checked only, apt is not touched when present.
deps:
	@bash scripts/install-system-deps.sh

# What the tests need as well (poppler, Xvfb, CUPS with a PDF printer, mtools...).
test-deps:
	@bash scripts/install-system-deps.sh --test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

run: deps $(STAMP)
	$(BIN)/griddesk

test: test-deps $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: test-deps $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
