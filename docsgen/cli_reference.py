"""The command-line reference, from the argument parsers of `musiczoo` (zoo/cli/)."""

import argparse
import os

from zoo.cli import parser

WIDTH = "100"  # argparse wraps help text at $COLUMNS; fixed so the page does not depend on the terminal


def _subcommands(command):
    """`{name: parser}` of a parser's sub-commands (aliases left out), or {} for a leaf command."""
    groups = [action for action in command._actions if isinstance(action, argparse._SubParsersAction)]
    if not groups:
        return {}
    return {name: sub for name, sub in groups[0].choices.items() if sub.prog.split()[-1] == name}


def _aliases(command):
    groups = [action for action in command._actions if isinstance(action, argparse._SubParsersAction)]
    aliases = {}
    for group in groups:
        for name, sub in group.choices.items():
            if sub.prog.split()[-1] != name:
                aliases.setdefault(sub.prog.split()[-1], []).append(name)
    return aliases


def _section(command, level, aliases):
    name = command.prog
    lines = [f"{'#' * level} `{name}`", ""]
    also = aliases.get(name.split()[-1], [])
    if also:
        lines += ["Also spelled " + ", ".join(f"`{alias}`" for alias in also) + ".", ""]
    lines += ["```text", command.format_help().rstrip(), "```", ""]
    children = _subcommands(command)
    child_aliases = _aliases(command)
    for child in children.values():
        lines += _section(child, min(level + 1, 4), child_aliases)
    return lines


def cli_reference():
    """The Markdown page: every command's `--help`, as argparse prints it, nested by sub-command."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        root = parser()
        lines = ["# Command-line reference", "",
                 "`musiczoo` (also `python -m zoo`) has one sub-command per API name. This page is generated "
                 "from the argument parsers in `zoo/cli/` when the site is built, so it lists exactly the flags "
                 "the installed command accepts. Exit status, for every sub-command: 0 when every input "
                 "succeeded, 1 when some input failed (each reported), 2 for a usage error.", ""]
        lines += ["```text", root.format_help().rstrip(), "```", ""]
        aliases = _aliases(root)
        for child in _subcommands(root).values():
            lines += _section(child, 2, aliases)
        return "\n".join(lines)
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
