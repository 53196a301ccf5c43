"""`python -m bgmaker.experiments ...` is `bgmaker experiments ...` (bgmaker.cli.experiments)."""
import sys

from bgmaker.cli import main

sys.exit(main(["experiments", *sys.argv[1:]]))
