"""The layout of a drum grid, restated so metrics import without TensorFlow.

bgmaker.windows owns the grid (it imports Magenta's data module, hence
TensorFlow); metrics only need its column names and bar length, and
tests/test_metrics.py checks these equal bgmaker.windows' own.
"""
STEPS_PER_BAR = 16  # sixteenths in a 4/4 bar
DRUM_NAMES = ("kick", "snare", "closed hi-hat", "open hi-hat", "low tom", "mid tom",
              "high tom", "crash", "ride")  # Magenta's REDUCED_DRUM_PITCH_CLASSES order
