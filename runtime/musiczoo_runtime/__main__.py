"""`python -m musiczoo_runtime`: the `musiczoo-runtime` command."""

import sys

from musiczoo_runtime.cli import main

sys.exit(main())
