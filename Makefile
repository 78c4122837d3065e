# Keystead: the two commands are `make serve` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint typecheck unit e2e clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/keystead demo
	$(BIN)/keystead serve

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)
	bash scripts/test.sh

clean:
	rm -rf $(VENV) .keystead keystead.db* test-artifacts
