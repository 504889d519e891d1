# The two commands of the README: `make demo` (tag the bundled clip) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE := examples/traveling_minstrels.ogg

.PHONY: demo test test-fast clean

demo: $(VENV)/.installed
	$(BIN)/musiczoo list
	$(BIN)/musiczoo tag $(EXAMPLE) --top 5
	$(BIN)/musiczoo tag $(EXAMPLE) --weights msd --top 5

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not slow"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[test,beam]"
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) build *.egg-info
