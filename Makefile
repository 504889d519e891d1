# The two commands of the README: `make demo` (tag the bundled clip) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE := examples/traveling_minstrels.ogg
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-fast browser web clean

demo: $(VENV)/.installed
	$(BIN)/musiczoo list
	$(BIN)/musiczoo tag $(EXAMPLE) --top 5
	$(BIN)/musiczoo tag $(EXAMPLE) --weights msd --top 5

test: $(VENV)/.installed-test browser web
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

# Headless Chromium and its driver from Debian's packages, for the HTML report's browser test
# (tests/test_explain_report.py drives them with Selenium; nothing is downloaded at run time).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium chromium-driver)

# The browser page (web/): npm ci from the registry, then the page, ONNX Runtime Web's WebAssembly and
# the waveform-in graphs WEB_MODELS (<model>.<weights>) from WEB_GRAPHS copied into web/dist/.
# By default the graphs are exported with the full install into build/web-graphs (cached: later builds
# copy them); point WEB_GRAPHS at any folder of <model>.<weights>.onnx graphs instead, e.g. the runtime's.
# `make web WEB_MODELS=all` builds all twelve. Serve: .venv/bin/python -m http.server -d web/dist
WEB_GRAPHS ?= build/web-graphs
WEB_ALL := $(foreach m,timbral temporal timbral_temporal vgg crnn multiscale,$(m).mtt $(m).msd)
WEB_MODELS ?= timbral_temporal.mtt timbral_temporal.msd multiscale.mtt
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
	rm -rf $(VENV) build *.egg-info web/dist web/node_modules
