"""Regenerate the naive reconstruction experiments table (issue #14): the project's first autoencoders, in Keras.

  bgmaker experiments                 # the committed table: experiments/README.md, results.json, plots (~30 CPU-min)
  bgmaker experiments --quick         # smoke test into out/experiments-quick
  bgmaker experiments --only 02,03 --data drums

Trains each model (and its fixes) on Bach chorale piano rolls and v2_rock_beat drum grids, scores them on test
beside floors and MusicVAE's committed figures (bgmaker.experiments.table); the flags and the job are
bgmaker.experiments.command (also `python -m bgmaker.experiments`).
"""
from bgmaker.experiments import command

ACCEPTS_EXTRA_ARGS = command.ACCEPTS_EXTRA_ARGS
QUIET = command.QUIET
add_arguments = command.add_arguments  # one parser: the experiments' own (python -m bgmaker.experiments)


def main(args):
    return command.main(args)
