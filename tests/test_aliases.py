"""The deprecated `python -m zoo.distill` / `python -m zoo.agreement`: they warn, naming the command, and still run it."""

import importlib
import subprocess
import sys

import pytest

from fixtures import ROOT


@pytest.mark.parametrize("command", ["distill", "agreement"])
def test_importing_an_alias_warns_with_the_command_to_use(command):
    sys.modules.pop(f"zoo.{command}", None)
    with pytest.warns(DeprecationWarning, match=f"run `musiczoo {command}`"):
        importlib.import_module(f"zoo.{command}")


@pytest.mark.parametrize("command", ["distill", "agreement"])
def test_running_an_alias_warns_then_runs_the_command(command):
    done = subprocess.run([sys.executable, "-m", f"zoo.{command}", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"usage: musiczoo {command}" in done.stdout
    assert f"DeprecationWarning: `python -m zoo.{command}` is deprecated" in done.stderr
