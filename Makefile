# The two commands of the README: `make demo` (tag the bundled clip) and `make test`; `make docs` builds the site.
# PYTHON picks the interpreter (default: the machine's python3), e.g. `PYTHON=python3.13 make demo`.
PYTHON ?= python3
SUPPORTED := 3.11 3.12 3.13
VENV ?= .venv
EXTRAS ?= test,beam,docs
BIN := $(VENV)/bin
EXAMPLE := examples/traveling_minstrels.ogg
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PY_VERSION = import sys; print("%d.%d" % sys.version_info[:2])
WANTED := $(shell $(PYTHON) -c '$(PY_VERSION)' 2>/dev/null)

.PHONY: demo test test-fast test-platform test-runtime graphs python browser web clean docs docs-serve gallery

demo: python $(VENV)/.installed
	$(BIN)/musiczoo list
	$(BIN)/musiczoo tag $(EXAMPLE) --top 5
	$(BIN)/musiczoo tag $(EXAMPLE) --weights msd --top 5

test: python $(VENV)/.installed-test browser web test-runtime
	$(BIN)/python -m pytest

test-fast: python $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not slow"

# What CI runs on the other supported Pythons: the fast tests and the slow ones that depend on the stack.
test-platform: python $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not slow or platform"

# musiczoo-runtime alone, in a fresh virtual environment per interpreter (so a TensorFlow import cannot hide):
# `pip install ./runtime`, pip list free of the heavy packages, then runtime/tests. The interpreters are
# RUNTIME_PYTHONS (default: PYTHON; the runtime takes Python 3.10 and newer), e.g.
# RUNTIME_PYTHONS="python3.10 python3.13" make test-runtime.
RUNTIME_PYTHONS ?= $(PYTHON)
RUNTIME_VENV ?= .venv-runtime
HEAVY := tensorflow|tensorflow-cpu|keras|kapre|librosa|scipy
test-runtime:
	@for python in $(RUNTIME_PYTHONS); do \
		echo "musiczoo-runtime on $$($$python --version)"; \
		rm -rf $(RUNTIME_VENV) && $$python -m venv $(RUNTIME_VENV) && \
		$(RUNTIME_VENV)/bin/python -m pip install --quiet --upgrade pip && \
		$(RUNTIME_VENV)/bin/python -m pip install --quiet ./runtime pytest || exit 1; \
		if $(RUNTIME_VENV)/bin/python -m pip list | grep -iE '^($(HEAVY)) '; then \
			echo "musiczoo-runtime pulled in a heavy package (above)"; exit 1; fi; \
		$(RUNTIME_VENV)/bin/python -m pytest runtime/tests -p no:cacheprovider || exit 1; \
	done

# The waveform-in graphs musiczoo-runtime ships, re-made from the full package (after a weight or front-end
# change; tests/test_runtime_graphs.py says when they are stale).
graphs: python $(VENV)/.installed
	$(BIN)/python runtime/make_graphs.py

# One clear line instead of pip's refusal when the interpreter is missing, unsupported, or not the venv's.
python:
	@case " $(SUPPORTED) " in *" $(WANTED) "*) ;; *) \
		echo "musiczoo needs Python 3.11, 3.12 or 3.13; '$(PYTHON)' is $(if $(WANTED),Python $(WANTED),not a working command): pick one with e.g. PYTHON=python3.12 make demo"; \
		exit 2;; esac
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c '$(PY_VERSION)')" != "$(WANTED)" ]; then \
		echo "$(VENV) holds Python $$($(BIN)/python -c '$(PY_VERSION)'), not $(WANTED) ('$(PYTHON)'): run make clean first, or pass VENV=.venv-$(WANTED)"; \
		exit 2; fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml setup.py | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml setup.py | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
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

# The browser page (web/): npm ci from the registry, then the page, ONNX Runtime Web's WebAssembly and
# the waveform-in graphs WEB_MODELS (<model>.<weights>) from WEB_GRAPHS copied into web/dist/.
# By default the graphs are the ones musiczoo-runtime ships (`make graphs` regenerates them); point WEB_GRAPHS
# at any folder of <model>.<weights>.onnx graphs instead: a missing one is exported there with the full install.
# All twelve weight sets by default; `make web WEB_MODELS="timbral_temporal.mtt"` builds a smaller page.
# Serve: .venv/bin/python -m http.server -d web/dist
WEB_GRAPHS ?= runtime/musiczoo_runtime/graphs
WEB_ALL := $(foreach m,timbral temporal timbral_temporal vgg crnn multiscale,$(m).mtt $(m).msd)
WEB_MODELS ?= all
ifeq ($(WEB_MODELS),all)
override WEB_MODELS := $(WEB_ALL)
endif
WEB_ORT := ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm

web: web/node_modules/.ci $(WEB_MODELS:%=$(WEB_GRAPHS)/%.onnx) | $(VENV)/.installed
	rm -rf web/dist.tmp && mkdir -p web/dist.tmp/ort web/dist.tmp/graphs
	cp web/src/* web/dist.tmp/
	cp $(WEB_ORT:%=web/node_modules/onnxruntime-web/dist/%) web/dist.tmp/ort/
	cp $(WEB_MODELS:%=$(WEB_GRAPHS)/%.onnx) web/dist.tmp/graphs/
	cp weights/manifest.json web/dist.tmp/ && cp -r weights/LICENSES web/dist.tmp/
	$(BIN)/python web/catalog.py web/dist.tmp/graphs weights/manifest.json web/dist.tmp
	rm -rf web/dist && mv web/dist.tmp web/dist

web/node_modules/.ci: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

$(WEB_GRAPHS)/%.onnx: | $(VENV)/.installed
	$(BIN)/musiczoo export $(word 1,$(subst ., ,$*)) --weights $(word 2,$(subst ., ,$*)) \
		--format onnx --input waveform --out $(WEB_GRAPHS) --force

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) build *.egg-info runtime/build runtime/*.egg-info web/dist web/node_modules
