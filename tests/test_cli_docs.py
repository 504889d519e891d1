"""The user guide's command-line synopsis and `musiczoo --help` describe the same commands and flags.

The full reference (docs/cli.md on the site) is generated from the parsers; this synopsis is written by hand.
"""

import argparse
import re

from fixtures import ROOT
from zoo.cli import parser

# Sub-commands whose every flag the synopsis lists; the training commands point to their --help instead.
FULLY_DOCUMENTED = ("list", "card", "tag", "extract", "predict", "export")


def _subcommands():
    (group,) = [action for action in parser()._actions if isinstance(action, argparse._SubParsersAction)]
    return group.choices


def _guide_commands():
    text = (ROOT / "docs" / "guide" / "tagging.md").read_text(encoding="utf-8")
    section = text.split("## Command line", 1)[1].split("\n## ", 1)[0]
    return section


def test_every_subcommand_is_in_the_guide():
    section = _guide_commands()
    documented = set(re.findall(r"^musiczoo ([a-z]+)", section, flags=re.MULTILINE))
    assert documented == {name for name, sub in _subcommands().items() if name == sub.prog.split()[-1]}


def test_every_flag_of_the_main_commands_is_in_the_guide():
    section = _guide_commands()
    for name in FULLY_DOCUMENTED:
        flags = [option for action in _subcommands()[name]._actions for option in action.option_strings
                 if option.startswith("--") and option != "--help"]
        missing = [flag for flag in flags if not re.search(re.escape(flag) + r"\b", section)]
        assert not missing, f"musiczoo {name}: {missing} missing from the command-line section of docs/guide/tagging.md"
