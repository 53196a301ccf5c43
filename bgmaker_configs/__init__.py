"""BGMaker's configs, registered into Magenta's `configs.CONFIG_MAP` on import.

Importing this package first applies every runtime shim (bgmaker.compat), so
`import bgmaker_configs` is all a tool needs before using Magenta.
"""
from bgmaker import compat as _compat

_compat.apply()

from bgmaker_configs import models, runs  # noqa: E402  (must follow the shims)
from bgmaker_configs.runs import RUNS, Run, UnknownRunError, get_run  # noqa: E402

models.register()
runs.register()

from magenta.models.music_vae.configs import CONFIG_MAP  # noqa: E402

__all__ = ["CONFIG_MAP", "RUNS", "Run", "UnknownRunError", "get_run", "models", "runs"]
