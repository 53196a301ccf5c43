"""python -m bgmaker.experiments [--quick] [--only 02,03] [--data piano,drums|MIDI_DIR] [--output-dir DIR]."""
import sys

from bgmaker.experiments import main

sys.exit(main())
