"""`python -m bgmaker.experiments ...`: the experiments' own entry point (bgmaker.experiments.command), the job
of `bgmaker experiments`."""
import sys

from bgmaker import console
from bgmaker.experiments import command

sys.exit(console.run(command))
