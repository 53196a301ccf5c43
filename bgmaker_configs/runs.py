"""Named training runs: a model config + a GMD selection + hparam overrides.

`--run v2_rock_beat` means the same thing in scripts/train.sh, the notebook
and the tests: this table. A run's converted data lives under
`paths.data_dir()/<run>/` (one NoteSequence TFRecord per split) and its
checkpoints and summaries under `paths.runs_dir()/<run>/` (bgmaker.models.records).

Each run is also registered in Magenta's CONFIG_MAP under its own name (its
model, its hparam overrides, its converter and its examples), so Magenta's
own tools accept it too: `music_vae_generate --config=v2_rock_beat ...`.
"""
from dataclasses import dataclass, field

import bgmaker.models.records as records  # the folders' layout; it imports no bgmaker_configs (no cycle)
from bgmaker import paths
from bgmaker.errors import UnknownNameError
from bgmaker_configs.recipes import DEFAULT_RECIPE, get_recipe


class UnknownRunError(UnknownNameError):
    """A run name that is neither a named run nor one of your own MIDI runs."""


@dataclass(frozen=True)
class Run:
    name: str
    config: str                 # a name in Magenta's CONFIG_MAP
    select: dict                # keyword arguments of bgmaker.data.gmd.select
    hparams: dict = field(default_factory=dict)  # overrides of the config's hparams
    description: str = ""
    recipe: str = DEFAULT_RECIPE  # how it is trained (bgmaker_configs.recipes): data pipeline, batch, schedule
    midi_dir: str = None        # a user's own MIDI folder (user_run) instead of a GMD selection

    @property
    def window(self):
        """(bars, expressive) of the windows this run's model reads (bgmaker_configs.MODEL_WINDOWS)."""
        from bgmaker_configs import MODEL_WINDOWS
        return MODEL_WINDOWS[self.config]

    @property
    def humanizes(self):
        """True for a humanize (GrooVAE) run: its model plays given hits; it does not write beats."""
        return self.window[1]

    @property
    def every_window(self):
        """True: train on every 4-bar window (bgmaker.data.windows); False: whole files, Magenta's 5 slices."""
        return get_recipe(self.recipe).every_window

    def examples_path(self, split, every_window=True, replay=()):
        """The split's NoteSequences: every window (data/<run>/), or whole files (data/<run>/whole_files/);
        with replay=(parent, share), the train split mixed with the parent's windows (bgmaker.data.replay)."""
        folder = paths.data_dir() / self.name
        if replay and split == "train":
            from bgmaker.data.replay import folder_name
            return folder / folder_name(*replay) / "train.tfrecord"
        return (folder if every_window else folder / "whole_files") / f"{split}.tfrecord"

    @property
    def run_dir(self):
        """The folder this run trains in (runs/<name>: bgmaker.models.records)."""
        return records.run_dir(self.name)

    @property
    def shipped_dir(self):
        """Where `bgmaker export` puts this run's weights-only model (committed when shipped)."""
        return records.shipped_dir(self.name)

    def magenta_config(self, recipe=None):
        """This run as a Magenta Config: model, hparams (recipe's, then the run's), converter and examples."""
        from bgmaker import compat
        compat.apply()  # builds a Magenta model: the shims first (idempotent)
        from magenta.models.music_vae import configs

        from bgmaker_configs import architectures
        recipe = get_recipe(recipe or self.recipe)
        base = architectures.MODELS[self.config]()
        hparams = base.hparams
        for overrides in (recipe.hparams, self.hparams):
            if overrides:
                hparams.override_from_dict(dict(overrides))
        if not recipe.every_window and self.humanizes:
            raise ValueError(f"run {self.name}: a humanize model trains on expressive windows only "
                             f"(recipe {recipe.name} reads whole files)")
        converter = architectures.window_converter(self.config) if recipe.every_window else architectures.drums_converter()
        return configs.update_config(base, dict(
            hparams=hparams, data_converter=converter,
            train_examples_path=str(self.examples_path("train", recipe.every_window, recipe.replay)),
            eval_examples_path=str(self.examples_path("validation", recipe.every_window))))


RUNS = {
    "v1_all": Run(
        name="v1_all",
        config="hierdec-drum_4bar",
        select=dict(time_signature="4-4"),
        description="all of GMD in 4/4, beats and fills",
    ),
    "v2_rock_beat": Run(
        name="v2_rock_beat",
        config="hierdec-drum_4bar",
        select=dict(style="rock", beat_type="beat", time_signature="4-4"),
        description="primary style rock, beats only, 4/4",
    ),
    "humanize": Run(
        name="humanize",
        config="groovae-humanize_2bar",
        select=dict(time_signature="4-4"),
        description="the humanizer: every 2-bar window of GMD in 4/4 with its velocities and timing",
    ),
}


def user_run(name, midi_dir=None, config="hierdec-drum_4bar"):
    """A run on a user's own MIDI folder, e.g. to fine-tune a shipped model on your own grooves.

    `midi_dir`: the folder given now, or the one an earlier start of this run
    recorded (bgmaker.training.train.resolve_run reads it from the run record),
    so a stopped run resumes by name. None: neither, an unknown run.
    """
    if name in RUNS:
        raise UnknownRunError(f"'{name}' is a named GMD run; give your own MIDI run another name")
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise UnknownRunError(f"run name '{name}': use letters, digits, '-', '_' or '.'")
    if midi_dir is None:
        raise UnknownRunError(f"unknown run '{name}'; known runs: {', '.join(sorted(RUNS))} "
                              f"(or train on your own MIDI with --midi DIR)")
    return Run(name=name, config=config, select={}, midi_dir=str(midi_dir),
               description=f"your own MIDI in {midi_dir}")


def get_run(name):
    """The run called `name`, or UnknownRunError listing the known runs."""
    try:
        return RUNS[name]
    except KeyError:
        raise UnknownRunError(f"unknown run '{name}'; known runs: {', '.join(sorted(RUNS))}") from None


def register():
    """Add every run to Magenta's CONFIG_MAP under its own name (idempotent; via bgmaker_configs.register)."""
    from magenta.models.music_vae import configs
    for run in RUNS.values():
        if run.name not in configs.CONFIG_MAP:
            configs.CONFIG_MAP[run.name] = run.magenta_config()
