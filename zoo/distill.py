"""Deprecated alias of `musiczoo distill`: warns on import; `python -m zoo.distill ARGS` runs the command."""

from zoo.__main__ import alias

alias("distill", __name__)
