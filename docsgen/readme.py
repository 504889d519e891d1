"""Writes the catalog table into README.md between its markers: `python -m docsgen.readme [--check]`."""

import sys
from pathlib import Path

from docsgen.catalog import README_BEGIN, README_END, catalog_table

README = Path(__file__).resolve().parent.parent / "README.md"


def with_table(text):
    """The README text with the generated catalog table between its markers."""
    if README_BEGIN not in text or README_END not in text:
        raise SystemExit(f"{README}: the catalog markers {README_BEGIN!r} and {README_END!r} are missing")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_BEGIN}\n{catalog_table()}{README_END}{tail}"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = README.read_text(encoding="utf-8")
    fresh = with_table(text)
    if "--check" in argv:
        if fresh != text:
            print(f"{README}: the catalog table is stale; run python -m docsgen.readme")
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
