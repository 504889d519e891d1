"""Deprecated alias of `musiczoo agreement`: warns on import; `python -m zoo.agreement ARGS` runs the command."""

from zoo.__main__ import alias

alias("agreement", __name__)
