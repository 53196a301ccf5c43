"""`python -m bgmaker.cli ...` is the `bgmaker` command (used by scripts and subprocess callers)."""
import sys

from bgmaker.cli import main

sys.exit(main())
