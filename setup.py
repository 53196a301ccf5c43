"""BGMaker: 4-bar drum beats from Magenta's hierarchical MusicVAE, trained on GMD.

Install with scripts/install.sh, not bare pip: Magenta 2.1.4 must be installed
without its obsolete pins (see requirements.txt). The console scripts named
like Magenta's replace Magenta's own in the venv so that they see the configs
registered by bgmaker_configs; the originals are called unchanged.
"""
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
pins = [line.strip() for line in (here / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith("magenta==")]

setup(
    name="bgmaker",
    version="0.1.0",
    description="Drum-beat generator: Magenta MusicVAE (hierdec-drum_4bar) on the Groove MIDI Dataset",
    long_description=(here / "README.md").read_text() if (here / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["bgmaker", "bgmaker.*", "bgmaker_configs", "bgmaker_configs.*"]),
    package_data={"bgmaker.metrics": ["fill_detector.json"]},  # the fill detector's weights (bgmaker.metrics.fills)
    install_requires=pins,
    entry_points={
        "console_scripts": [
            "bgmaker = bgmaker.cli:main",
            "music_vae_train = bgmaker.cli.magenta_apps:music_vae_train",
            "music_vae_generate = bgmaker.cli.magenta_apps:music_vae_generate",
            "convert_dir_to_note_sequences = bgmaker.cli.magenta_apps:convert_dir_to_note_sequences",
        ],
    },
)
