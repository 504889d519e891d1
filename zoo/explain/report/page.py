"""HTML building blocks of the report pages: the page with its style, relative URLs, figures and audio players.

Every asset is referenced by a path relative to the page, so a report folder can be moved or
opened from disk with the network off.
"""

import html
import os
from pathlib import Path

from musiczoo_runtime.atomic import atomic_path

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1500px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin: 1.2em 0 0.3em; }
img.figure { max-width: 100%; border: 1px solid #ddd; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; }
figure.card { margin: 0; width: 260px; font-size: 0.8em; }
figure.card img { width: 260px; height: 96px; image-rendering: pixelated; display: block; }
figure.card audio { width: 260px; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; }
.note { color: #555; font-size: 0.9em; }
"""


def page(title, body):
    """The whole HTML document: `title` as heading, `body` HTML after it, the style inline."""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def write_page(out_dir, title, body):
    """Writes `out_dir/index.html` atomically; returns its path."""
    path = Path(out_dir) / "index.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page(title, body), encoding="utf-8")
    return path


def url(path, out_dir):
    """A relative URL from `out_dir` to `path`, quoted for an attribute."""
    return html.escape(Path(os.path.relpath(path, out_dir)).as_posix(), quote=True)


def image(path, out_dir, alt):
    """An <img> of `path` (relative to `out_dir`) with its alternative text."""
    return f'<img class="figure" src="{url(path, out_dir)}" alt="{html.escape(alt, quote=True)}">'


def audio_player(path, out_dir):
    """An <audio> player of `path` (relative to `out_dir`); only its metadata loads with the page."""
    return f'<audio controls preload="metadata" src="{url(path, out_dir)}"></audio>'
