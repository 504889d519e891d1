"""`python -m zoo.agreement ...`: an alias of `musiczoo agreement ...`, kept for earlier recipes."""

import sys

from zoo.cli import main

if __name__ == "__main__":
    sys.exit(main(["agreement", *sys.argv[1:]]))
