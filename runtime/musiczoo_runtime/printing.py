"""What `tag` prints, shared by `musiczoo` and `musiczoo-runtime`: one taggram per file as text, JSON lines or
CSV, failed files included, and the catalog table of `list`."""

import csv
import json
import sys

from musiczoo_runtime.cli_common import each_result, one_line
from musiczoo_runtime.errors import ZooError, file_error
from musiczoo_runtime.writers import error_record, taggram_record

FORMATS = ("text", "json", "csv")


class TaggramPrinter:
    """Prints one taggram per file to stdout as text, JSON lines or CSV.

    A failed file gets a JSON error record, or a CSV row with its path and empty tag cells (the
    reason is on its `error:` line); CSV rows stay in input order. Call `finish()` at the end.

    Args:
        output_format: "text", "json" or "csv".
        top: tags per file in text format.
        after: optional `after(path, taggram)` run once a file's tags are printed (e.g. drawing its
            image); returns None or that file's ZooError.
    """

    def __init__(self, output_format, top, after=None):
        self.format, self.top, self.after = output_format, top, after
        self.writer = csv.writer(sys.stdout) if output_format == "csv" else None
        self.header = None  # the CSV header, once the first taggram gives the tags
        self.failed_rows = []  # CSV rows of failed files waiting for the header

    def __call__(self, path, taggram):
        self.print(path, taggram)
        return self.after(path, taggram) if self.after else None

    def print(self, path, taggram):
        if self.format == "json":
            print(json.dumps(taggram_record(path, taggram)), flush=True)
        elif self.format == "csv":
            if self.header is None:
                self.header = ["file", *taggram.tags]
                self.writer.writerow(self.header)
                self._write_failed()
            self.writer.writerow([str(path), *(f"{p:.6f}" for p in taggram.clip_probabilities)])
            sys.stdout.flush()
        else:
            tags = ", ".join(f"{name} {p:.2f}" for name, p in taggram.top(self.top))
            print(f"{one_line(path)}\t{tags}", flush=True)

    def error(self, path, message):
        """Records a failed file: a JSON error record, or a CSV row with empty tag cells."""
        if self.format == "json":
            print(json.dumps(error_record(path, message)), flush=True)
        elif self.format == "csv":
            self.failed_rows.append(str(path))
            if self.header is not None:
                self._write_failed()

    def _write_failed(self):
        for path in self.failed_rows:
            self.writer.writerow([path, *[""] * (len(self.header) - 1)])
        self.failed_rows.clear()
        sys.stdout.flush()

    def finish(self):
        """Writes what is still waiting: when every file failed, a `file` header and their rows."""
        if self.format == "csv" and self.failed_rows:
            if self.header is None:
                self.header = ["file"]
                self.writer.writerow(self.header)
            self._write_failed()


def print_taggrams(results, files, printer, description):
    """The loop of `tag` (and `predict`): each taggram printed, failed files as error records or rows.

    Args:
        results: iterable of (path, Taggram or ZooError).
        files: the input files (for the progress bar).
        printer: a `TaggramPrinter`.
        description: what the progress bar says ("tagging").

    Returns:
        The exit status (`cli_common.OK` or `cli_common.SOME_FAILED`).
    """
    def reported(results):
        for path, result in results:
            if isinstance(result, ZooError):
                printer.error(path, str(file_error(path, result)))
            yield path, result

    status = each_result(reported(results), files, description, printer)
    printer.finish()
    return status


def print_catalog(rows):
    """Prints `list`'s table: one row per model, (name, parameters, weights, tag counts, description)."""
    rows = [("name", "parameters", "weights", "tags", "description"), *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
