# The two commands of the README: `make demo` (tag the bundled clip) and `make test`; `make docs` builds the site.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE := examples/traveling_minstrels.ogg
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-fast browser clean docs docs-serve gallery

demo: $(VENV)/.installed
	$(BIN)/musiczoo list
	$(BIN)/musiczoo tag $(EXAMPLE) --top 5
	$(BIN)/musiczoo tag $(EXAMPLE) --weights msd --top 5

test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest

test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not slow"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[test,beam,docs]"
	touch $(VENV)/.installed $@

# The documentation site (MkDocs Material) into site/; `make test` builds it too (tests/test_docs.py).
MKDOCS := NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs
docs: $(VENV)/.installed-test
	$(MKDOCS) build --strict

docs-serve: $(VENV)/.installed-test
	$(MKDOCS) serve

# Re-runs the real commands that draw the gallery's pictures and sounds into docs/gallery/ (minutes).
gallery: $(VENV)/.installed-test
	$(BIN)/python -m docsgen.gallery

# Headless Chromium and its driver from Debian's packages, for the HTML report's browser test
# (tests/test_explain_report.py drives them with Selenium; nothing is downloaded at run time).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium chromium-driver)

clean:
	rm -rf $(VENV) build *.egg-info
