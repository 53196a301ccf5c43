"""BGMaker's named runs, recipes and model configs, and their registration into Magenta.

Importing this package is free: the run and recipe tables (`runs`, `recipes`)
are plain data and import neither TensorFlow nor Magenta, and nothing is
patched, so `bgmaker runs`, `--help` and an unknown run name answer in about
a second. Building a model needs Magenta's shims (bgmaker.compat.apply) and
the configs in Magenta's `configs.CONFIG_MAP`; that is the explicit
`register()`, called where a model is built or a Magenta app starts
(bgmaker.models, bgmaker.training.train, bgmaker.cli.magenta_apps,
bgmaker.humanize). `bgmaker_configs.architectures` imports Magenta, so it is
imported only after the shims (register, `Run.magenta_config`).
"""
from bgmaker import compat
from bgmaker_configs.recipes import RECIPES, Recipe, get_recipe
from bgmaker_configs.runs import RUNS, Run, UnknownRunError, get_run, user_run

# the model configs BGMaker defines (bgmaker_configs.architectures.MODELS), named here without importing Magenta:
# name -> (bars per stored window, expressive windows?) (bgmaker.data.windows.extract_windows)
MODEL_WINDOWS = {
    "hierdec-drum_4bar": (4, False),
    "cat-drums_4bar": (4, False),
    "groovae-humanize_2bar": (2, True),   # velocities and timing (bgmaker.humanize)
    "groovae-humanize_4bar": (4, True),
}
# the drum-pattern models (what generate, evaluate and the page load); the rest humanize
MODEL_NAMES = ("hierdec-drum_4bar", "cat-drums_4bar")
HUMANIZE_MODEL_NAMES = ("groovae-humanize_2bar", "groovae-humanize_4bar")

# Tiny hparams for tests and the notebook's quick mode: the same graph with
# 16-unit LSTMs and an 8-d latent, so a few steps train in seconds on a CPU.
TINY_HPARAMS = "batch_size=4,enc_rnn_size=[16],dec_rnn_size=[16,16],z_size=8"


def register():
    """Apply the compat shims, add BGMaker's models and runs to Magenta's CONFIG_MAP; return CONFIG_MAP.

    Idempotent. Imports TensorFlow and Magenta (seconds).
    """
    compat.apply()  # before Magenta is imported: it cannot load on TF 2.21 without them
    from bgmaker_configs import architectures, runs
    architectures.register()
    runs.register()
    from magenta.models.music_vae.configs import CONFIG_MAP
    return CONFIG_MAP


__all__ = ["HUMANIZE_MODEL_NAMES", "MODEL_NAMES", "MODEL_WINDOWS", "RECIPES", "RUNS", "Recipe", "Run", "TINY_HPARAMS",
           "UnknownRunError", "get_recipe", "get_run", "register", "user_run"]
