"""BGMaker's named runs, recipes and model configs, and their registration into Magenta.

Importing this package is free: the run and recipe tables (`runs`, `recipes`)
are plain data and import neither TensorFlow nor Magenta, so `bgmaker runs`,
`--help` and an unknown run name answer in about a second. Building a model
needs the configs in Magenta's `configs.CONFIG_MAP`; that is the explicit
`register()`, called where a model is built or a Magenta app starts
(bgmaker.models, bgmaker.training.train, bgmaker.cli.magenta_apps).
"""
from bgmaker_configs.recipes import RECIPES, Recipe, get_recipe
from bgmaker_configs.runs import RUNS, Run, UnknownRunError, get_run, user_run

# the model configs BGMaker defines (bgmaker_configs.models.MODELS), named here without importing Magenta:
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


def register():
    """Apply the compat shims, add BGMaker's models and runs to Magenta's CONFIG_MAP; return CONFIG_MAP.

    Idempotent. Imports TensorFlow and Magenta (seconds).
    """
    from bgmaker_configs import models, runs
    models.register()
    runs.register()
    from magenta.models.music_vae.configs import CONFIG_MAP
    return CONFIG_MAP


__all__ = ["HUMANIZE_MODEL_NAMES", "MODEL_NAMES", "MODEL_WINDOWS", "RECIPES", "RUNS", "Recipe", "Run", "UnknownRunError", "get_recipe", "get_run",
           "register", "user_run"]
