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


def _joined(folder, names, path):
    """One page: the first of `folder`'s files `names`, then each next one with its headings a level lower."""
    first, *rest = [(folder / name).read_text(encoding="utf-8") for name in names]
    sources = ", then ".join(f"`{folder.relative_to(ROOT)}/{name}`" for name in names)
    _write(path, "\n\n".join([first, *map(_demoted, rest)]) + f"\n\n---\n\n*This page is {sources}.*\n")


def generate():
    _write("catalog/index.md", catalog_index())
    for path, text in model_pages().items():
        _write(path, text)
    _write("cli.md", cli_reference())
    _from_benchmarks("RESULTS.md", "benchmarks/index.md", "This page is")
    _copy(BENCHMARKS / "faithfulness" / "deletion_curves.png", "benchmarks/faithfulness/deletion_curves.png")
    rationale = BENCHMARKS / "rationale"
    _joined(rationale, ("README.md", "RESULTS.md"), "benchmarks/rationale.md")
    _copy(rationale / "accuracy_vs_params.png", "benchmarks/accuracy_vs_params.png")
    _from_benchmarks("RELIABILITY.md", "reliability.md", "This page is")
    downstream = BENCHMARKS / "downstream"
    _joined(downstream, ("README.md", "RESULTS.md", "SCRATCH.md"), "benchmarks/downstream.md")
    for figure in sorted(downstream.glob("*.png")):
        _copy(figure, f"benchmarks/{figure.name}")


generate()
