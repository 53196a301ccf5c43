"""Train (or evaluate) a named run, or your own MIDI, with Magenta's own music_vae_train.

  bgmaker train --run v2_rock_beat [music_vae_train flags...]
  bgmaker train --run v2_rock_beat --mode=eval
  bgmaker train --run mine --midi ~/grooves --init-from models/v2_rock_beat

Any flag not listed below goes to music_vae_train unchanged (a later flag
wins; `--hparams` values are merged over the run's). How a run is trained,
recorded, budgeted and resumed is bgmaker.training.train; the flags and the
job are bgmaker.training.command (also `python -m bgmaker.training`).
"""
from bgmaker.cli import own_flags
from bgmaker.training import command

ACCEPTS_EXTRA_ARGS = command.ACCEPTS_EXTRA_ARGS
QUIET = command.QUIET
add_arguments = command.add_arguments  # one parser: the training process's own (python -m bgmaker.training)


def main(args):
    return command.main(args, argv=own_flags("train"))  # a stock recipe restarts with these flags
