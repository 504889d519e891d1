"""The site's generated pages, written when mkdocs builds (the mkdocs-gen-files script named in mkdocs.yml).

Catalog and model pages from the manifest and the cards, the CLI reference from the parsers, and the
benchmark and reliability pages from the files in benchmarks/: nothing here is retyped, so nothing can
go stale.
"""

import re
import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # mkdocs-gen-files runs this file by path, not as part of the docsgen package

from docsgen.catalog import catalog_index, model_pages  # noqa: E402
from docsgen.cli_reference import cli_reference  # noqa: E402
BENCHMARKS = ROOT / "benchmarks"


def _write(path, text):
    with mkdocs_gen_files.open(path, "w") as page:
        page.write(text)
    mkdocs_gen_files.set_edit_path(path, None)


def _copy(source, path):
    with mkdocs_gen_files.open(path, "wb") as out:
        out.write(source.read_bytes())


def _demoted(markdown):
    """The Markdown with every heading one level lower (a file appended under another page's title)."""
    return re.sub(r"^(#+) ", r"#\1 ", markdown, flags=re.MULTILINE)


def _from_benchmarks(relative, path, note):
    source = BENCHMARKS / relative
    _write(path, source.read_text(encoding="utf-8") + f"\n\n---\n\n*{note} `benchmarks/{relative}`.*\n")


def generate():
    _write("catalog/index.md", catalog_index())
    for path, text in model_pages().items():
        _write(path, text)
    _write("cli.md", cli_reference())
    _from_benchmarks("RESULTS.md", "benchmarks/index.md", "This page is")
    _copy(BENCHMARKS / "faithfulness" / "deletion_curves.png", "benchmarks/faithfulness/deletion_curves.png")
    rationale = BENCHMARKS / "rationale"
    _write("benchmarks/rationale.md", (rationale / "README.md").read_text(encoding="utf-8")
           + "\n\n" + _demoted((rationale / "RESULTS.md").read_text(encoding="utf-8"))
           + "\n\n---\n\n*This page is `benchmarks/rationale/README.md` followed by `RESULTS.md`.*\n")
    _copy(rationale / "accuracy_vs_params.png", "benchmarks/accuracy_vs_params.png")
    _from_benchmarks("RELIABILITY.md", "reliability.md", "This page is")
    _from_benchmarks("downstream/RESULTS.md", "benchmarks/downstream.md", "This page is")
    for figure in sorted((BENCHMARKS / "downstream").glob("*.png")):
        _copy(figure, f"benchmarks/{figure.name}")


generate()
