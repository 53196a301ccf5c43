"""`python -m bgmaker.training --run NAME [flags]`: one training process (bgmaker.training.command)."""
import sys

from bgmaker import console
from bgmaker.training import command

sys.exit(console.run(command))
