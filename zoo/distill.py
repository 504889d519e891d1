"""`python -m zoo.distill ...`: an alias of `musiczoo distill ...`, kept for earlier recipes."""

import sys

from zoo.cli import main

if __name__ == "__main__":
    sys.exit(main(["distill", *sys.argv[1:]]))
