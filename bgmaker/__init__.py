"""BGMaker: 4-bar drum beats from Magenta's hierarchical MusicVAE, trained on GMD.

Importing this package is cheap (no TensorFlow); modules that run a model
import `bgmaker_configs`, which applies the compat shims and registers our
configs into Magenta.
"""
__version__ = "0.1.0"
