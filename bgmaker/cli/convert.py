"""Convert GMD (or your own MIDI folder) into NoteSequence TFRecords for a run.

  bgmaker convert                          # every named run, from $BGMAKER_GMD_DIR
  bgmaker convert --run v2_rock_beat       # one run -> data/v2_rock_beat/
  bgmaker convert --input ~/grooves        # your own MIDI folder -> data/grooves/
  bgmaker convert --style jazz --output-dir data/jazz   # a custom GMD selection
  bgmaker convert --run v1_all --beam      # as an Apache Beam pipeline (DirectRunner, or --runner=...)

The conversion itself (selection, windows, shuffle, split, report) is
bgmaker.data.convert; its flags and job are bgmaker.data.command (also `python -m bgmaker.data`).
"""
from bgmaker.cli import own_flags
from bgmaker.data import command

ACCEPTS_EXTRA_ARGS = command.ACCEPTS_EXTRA_ARGS
add_arguments = command.add_arguments  # one parser: the conversion's own (python -m bgmaker.data)


def main(args):
    return command.main(args, argv=own_flags("convert"))  # --beam may restart with these flags
