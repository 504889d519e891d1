"""The documentation: generated parts fresh, examples run, the site builds strictly, pages work in Chromium.

`mkdocs build --strict` fails on a broken link, a missing reference or a docstring mkdocstrings cannot
parse. The browser test serves the built site over localhost and opens every HTML page in Debian's headless
Chromium: no console errors, every image decodes, every audio element loads, search finds "timbral".
"""

import functools
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pytest_codeblocks.main import extract_from_file

from fixtures import ROOT
from test_explain_report import STATE, browser  # noqa: F401  (the fixture: headless Chromium, offline)

sys.path.insert(0, str(ROOT))
from docsgen import gallery, readme  # noqa: E402
from docsgen.catalog import model_pages  # noqa: E402

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md")) + [ROOT / "README.md"]
QUIET = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true", "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_the_generated_parts_of_the_readme_and_docs_are_fresh():
    """The catalog table, the layering sentence (zoo/layers.py) and the platforms table (docs/platforms.md)."""
    for path, fresh in readme.generated().items():
        assert path.read_text(encoding="utf-8") == fresh, f"{path} is stale: run python -m docsgen.readme"


def test_the_package_docstring_states_the_layers_of_zoo_layers():
    import zoo
    from zoo.layers import sentence

    assert sentence() in " ".join(zoo.__doc__.split()), "zoo/__init__.py's layering sentence differs from zoo/layers.py"


def test_every_weight_set_has_a_page_with_its_sha256_and_tags():
    import zoo

    pages = model_pages()
    for name in zoo.list_models(pretrained=True):
        for weights in zoo.card(name, None).available_weights:
            card = zoo.card(name, weights)
            page = pages[f"catalog/{name}-{weights}.md"]
            assert card.sha256 in page and all(f"`{tag}`" in page for tag in card.tags)


def test_the_committed_gallery_is_what_the_gallery_script_writes():
    committed = {str(path.relative_to(gallery.GALLERY)) for folder in gallery.owned_folders()
                 for path in (gallery.GALLERY / folder).rglob("*") if path.is_file()}
    assert committed == gallery.expected_files(), "run make gallery"


def _blocks():
    for page in PAGES:
        for block in extract_from_file(page):
            if block.syntax in ("python", "sh", "bash"):
                marks = [eval(mark, {"pytest": pytest, "sys": sys}) for mark in block.marks]
                yield pytest.param(block, marks=[*marks, pytest.mark.slow],
                                   id=f"{page.relative_to(ROOT)}:{block.lineno}")


@pytest.mark.parametrize("block", _blocks())
def test_the_documentation_example_runs(block, tmp_path, monkeypatch):
    """Each example runs in a scratch folder holding `examples/`, with this environment's `musiczoo` on PATH."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, **QUIET, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if block.syntax == "python":
        code = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + block.code
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    else:
        run = subprocess.run(block.code, shell=True, executable="/bin/bash", capture_output=True, text=True, env=env)
    assert run.returncode == 0, f"exit status {run.returncode}\n{run.stdout}\n{run.stderr[-3000:]}"
    if block.expected_output is not None:
        assert run.stdout == block.expected_output


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                           cwd=ROOT, capture_output=True, text=True, env={**os.environ, **QUIET})
    assert build.returncode == 0, build.stderr[-5000:]
    assert "WARNING" not in build.stderr, build.stderr
    return out


@pytest.mark.slow
def test_the_site_builds_strictly_with_a_page_per_weight_set(site):
    import zoo

    for name in zoo.list_models(pretrained=True):
        for weights in zoo.card(name, None).available_weights:
            html = (site / "catalog" / f"{name}-{weights}" / "index.html").read_text(encoding="utf-8")
            assert zoo.card(name, weights).sha256 in html
    assert "musiczoo explain scales" in (site / "cli" / "index.html").read_text(encoding="utf-8")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _settled(driver, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        state = driver.execute_script(STATE)
        if (all(complete for _, complete, _ in state["images"])
                and all(ready >= 1 or error is not None for _, ready, _, error in state["audio"])):
            return state
        if time.monotonic() > deadline:
            return state
        time.sleep(0.2)


@pytest.mark.slow
def test_every_page_of_the_site_works_in_chromium(site, served, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    pages = sorted(path.relative_to(site).as_posix() for path in site.rglob("*.html"))
    assert len(pages) > 20
    audio = {}
    for page in pages:
        browser.get(served + page)
        state = _settled(browser)
        errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")
                  and not (page == "404.html" and "404" in entry["message"])]
        assert not errors, (page, errors)
        broken = [src for src, complete, width in state["images"] if not complete or width <= 0]
        assert not broken, (page, broken)
        silent = [a for a in state["audio"] if a[1] < 1 or not a[2] > 0]
        assert not silent, (page, silent)
        audio[page] = len(state["audio"])
    assert audio["gallery/index.html"] == sum(path.endswith(".ogg") for path in gallery.expected_files())

    browser.get(served)
    box = browser.find_element(By.CSS_SELECTOR, "input.md-search__input")  # in the header at this width
    box.click()
    box.send_keys("timbral")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        hits = browser.find_elements(By.CSS_SELECTOR, "li.md-search-result__item")
        if hits:
            break
        time.sleep(0.3)
    assert hits, "the search box found nothing for 'timbral'"
