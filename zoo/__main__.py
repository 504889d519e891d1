"""`python -m zoo` runs the `musiczoo` command; `alias` serves the deprecated `python -m zoo.<command>` modules."""

import sys
import warnings

from zoo.cli import main


def alias(command, module_name):
    """Warns that `zoo.<command>` is deprecated; run as the program, it then runs `musiczoo <command> ARGS`.

    Args:
        command: the sub-command the alias module stands for, e.g. "distill".
        module_name: the alias module's `__name__` ("__main__" when run with `python -m`).
    """
    warnings.warn(f"`python -m zoo.{command}` is deprecated and will be removed: run `musiczoo {command}` "
                  f"(or `python -m zoo {command}`)", DeprecationWarning, stacklevel=2)
    if module_name == "__main__":
        sys.exit(main([command, *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
