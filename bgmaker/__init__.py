"""BGMaker: 4-bar drum beats from Magenta's hierarchical MusicVAE, trained on GMD.

Importing this package, or any module in it, is cheap and patches nothing.
Magenta's shims (bgmaker.compat.apply) and the registration of our configs
into Magenta (bgmaker_configs.register, which applies the shims first) are
explicit calls, made where a model is built or a Magenta app starts.
"""
__version__ = "0.1.0"
