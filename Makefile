# The two commands of the README: `make demo` and `make test`. Both create the virtual
# environment when it is missing (or when pyproject.toml changed) and install what they need.
# `make docs` builds the documentation site into site/ (strict: any warning fails).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: demo test docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e ".[test,docs]"
	touch $(DOCS_STAMP)

demo: $(STAMP)
	$(BIN)/vsvrisk demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --clean

bench: $(STAMP)
	$(BIN)/python experiments/bench_synth.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis mlruns mlflow.db out site
