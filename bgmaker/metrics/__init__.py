"""Metrics of 4-bar drum grids: plain numpy/scipy functions, no TensorFlow.

Every function takes drum grids from `bgmaker.data.windows.to_grid` (bool
[64 steps, 9 classes], or a stack [..., 64, 9]) and states its formula in its
docstring. The modules follow the evaluation's three questions:

- `onsets`: does a reconstruction hit the right drums at the right steps
  (step accuracy, onset precision/recall/F1);
- `features` + `distributions`: do samples drum like the held-out drummers
  (MGEval-style features, KDE overlap and KL, the shuffle baseline);
- `interpolation`: does a latent path move smoothly from one groove to the
  other (Hamming-distance curves, monotonicity, the data-space crossfade);
- `novelty`: does a sample copy a train window (nearest Hamming distance);
- `two_sample`: can a classifier tell generated grids from real ones
  (grouped cross-validation, so one performance never straddles folds);
  its multinomial sibling `fit_softmax` names a grid's style (and, on
  latent codes, steers sampling toward one: bgmaker.generation.priors).
"""
from bgmaker.drums import DRUM_NAMES, STEPS_PER_BAR
from bgmaker.metrics.distributions import kde_on_shared_grid, overlap_and_kl, shuffle_steps
from bgmaker.metrics.features import (FEATURES, RHYTHM_FEATURES, active_instruments, feature_table,
                                      groove_consistency, onset_density, position_profile, step_density,
                                      syncopation)
from bgmaker.metrics.interpolation import (crossfade, detour, distance_curves, hamming, monotonicity,
                                           smoothness)
from bgmaker.metrics.novelty import nearest_hamming, novelty
from bgmaker.metrics.onsets import onset_prf, step_accuracy
from bgmaker.metrics.two_sample import (Softmax, classifier_two_sample_test, fit_logistic, fit_softmax,
                                        grid_statistics, group_halves, grouped_folds)

__all__ = [
    "DRUM_NAMES", "STEPS_PER_BAR",
    "FEATURES", "RHYTHM_FEATURES", "active_instruments", "classifier_two_sample_test", "crossfade", "detour",
    "distance_curves",
    "Softmax", "feature_table", "fit_logistic", "fit_softmax", "grid_statistics", "groove_consistency", "group_halves", "grouped_folds",
    "hamming", "kde_on_shared_grid", "monotonicity", "nearest_hamming", "novelty", "onset_density", "onset_prf", "overlap_and_kl",
    "position_profile", "shuffle_steps", "smoothness", "step_accuracy", "step_density", "syncopation",
]
