"""`python -m zoo` runs the `musiczoo` command."""

import sys

from zoo.cli import main

sys.exit(main())
