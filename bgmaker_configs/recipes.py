"""Training recipes: how a run is trained, apart from what is trained.

The model (`hierdec-drum_4bar`: architecture, KL settings) is fixed by the
model config; a recipe says what a run may change about training: the input
pipeline (every shuffled 4-bar window, or Magenta's stock converter on whole
performances), the batch size, the learning-rate schedule and the training
shuffle. reports/recipes.py trains each recipe for equal CPU time on
v2_rock_beat and scores it on the validation split; the winner is
DEFAULT_RECIPE, the recipe of the named runs unless `--recipe` says another.

Magenta's learning rate is lr(step) = (learning_rate - min_learning_rate) *
decay_rate**step + min_learning_rate (MusicVAE.train).
"""
from dataclasses import dataclass, field

from bgmaker.errors import UnknownNameError

# Larger than any named run's train split (v1_all: 15,641 windows), so the
# training shuffle reorders the whole split every epoch (bgmaker.compat.honour_shuffle_buffer).
# A user's MIDI folder with more windows is shuffled within a 16,384-window buffer;
# its windows are written in a seeded random order (bgmaker.data.convert), so a
# batch still mixes files.
FULL_SHUFFLE = 16384


class UnknownRecipeError(UnknownNameError):
    """A recipe name not in RECIPES."""


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    hparams: dict = field(default_factory=dict)  # training hparams (never the architecture or KL)
    every_window: bool = True   # every 4-bar window (bgmaker.data.windows), else whole files + Magenta's 5 slices
    stock: bool = False         # Magenta as released (BGMAKER_STOCK=1: no speed patches, its own shuffle)
    # (parent run, share): the train split mixed with that share of the parent run's windows (bgmaker.data.replay),
    # for fine-tuning without forgetting; validation and test stay the run's own.
    replay: tuple = ()


RECIPES = {r.name: r for r in (
    Recipe("stock", "Magenta as released: its converter (at most 5 slices per performance) and its "
                    "shuffle (10 x batch), batch 512",
           hparams=dict(batch_size=512), every_window=False, stock=True),
    Recipe("windows-b512", "every 4-bar window, written shuffled, full-split shuffle, batch 512",
           hparams=dict(batch_size=512, shuffle_buffer=FULL_SHUFFLE)),
    Recipe("windows-b64", "every 4-bar window, written shuffled, full-split shuffle, batch 64",
           hparams=dict(batch_size=64, shuffle_buffer=FULL_SHUFFLE)),
    Recipe("windows-b128-lr2e-3", "every 4-bar window, written shuffled, full-split shuffle, batch 128, "
                                  "learning rate 2e-3 decaying 0.9998/step",
           hparams=dict(batch_size=128, shuffle_buffer=FULL_SHUFFLE, learning_rate=2e-3, decay_rate=0.9998)),
    # Fine-tuning recipes (#26), for a run warm-started from a parent (v2_rock_beat from v1_all): a warm
    # start begins a new optimizer at step 0, so Magenta's schedule starts again at its 1e-3.
    Recipe("finetune-lr3e-4", "windows-b64 with the learning rate starting at 3e-4 (a third of the default)",
           hparams=dict(batch_size=64, shuffle_buffer=FULL_SHUFFLE, learning_rate=3e-4)),
    Recipe("replay25", "windows-b64 on the run's windows mixed with v1_all's others as 25% of the split",
           hparams=dict(batch_size=64, shuffle_buffer=FULL_SHUFFLE), replay=("v1_all", 0.25)),
    Recipe("replay25-lr3e-4", "replay25 with the learning rate starting at 3e-4",
           hparams=dict(batch_size=64, shuffle_buffer=FULL_SHUFFLE, learning_rate=3e-4), replay=("v1_all", 0.25)),
)}

# The leader of reports/recipes.md (80 CPU-minutes each on v2_rock_beat, validation): ahead of stock
# and windows-b512 on free-running accuracy, sample and rhythm overlap, bar repetition, kick on one and
# interpolation realism (windows-b128-lr2e-3 not yet run).
DEFAULT_RECIPE = "windows-b64"

# hparams a recipe may not change: the architecture and the KL settings are the model's.
FIXED_HPARAMS = ("max_seq_len", "z_size", "enc_rnn_size", "dec_rnn_size", "free_bits", "max_beta",
                 "beta_rate", "conditional")


def get_recipe(name):
    """The recipe called `name`, or UnknownRecipeError listing the known ones."""
    try:
        return RECIPES[name]
    except KeyError:
        raise UnknownRecipeError(f"unknown recipe '{name}'; known recipes: {', '.join(RECIPES)}") from None
