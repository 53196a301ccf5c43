"""`python -m bgmaker.data [flags]`: one conversion (bgmaker.data.command), as the library's child processes run it."""
import sys

from bgmaker import console
from bgmaker.data import command

sys.exit(console.run(command))
