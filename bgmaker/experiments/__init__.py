"""The naive reconstruction experiments (issue #14): the early models, reproduced in Keras, fixed, and set
beside MusicVAE in one table.

The folders are the data flow: `data` (piano rolls from music21's Bach chorales or a MIDI folder, drum
grids of v2_rock_beat) -> `networks` (the registry EXPERIMENTS, the Keras networks, parameter counts) ->
`train` (one seeded loop) -> `scores` (plain numpy metrics) -> `table` (run everything, floors, MusicVAE's
committed figures) -> `report` / `plots` (experiments/README.md and its pictures).

The command is `python -m bgmaker.experiments` (`command`; also `bgmaker experiments`);
importing this package, or any of its modules, imports no TensorFlow and chooses no Keras: building a
network does (`networks.load_keras`).
"""
