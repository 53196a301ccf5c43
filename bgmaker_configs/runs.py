"""Named training runs: a model config + a GMD selection + hparam overrides.

`--run v2_rock_beat` means the same thing in scripts/train.sh, the notebook
and the tests: this table. A run's converted data lives under
`paths.data_dir()/<run>/` (one NoteSequence TFRecord per split) and its
checkpoints and summaries under `paths.runs_dir()/<run>/`.
"""
from dataclasses import dataclass, field

from bgmaker import paths


class UnknownRunError(KeyError):
    def __str__(self):
        return self.args[0]


@dataclass(frozen=True)
class Run:
    name: str
    config: str                 # a name in Magenta's CONFIG_MAP
    select: dict                # keyword arguments of bgmaker.gmd.select
    hparams: dict = field(default_factory=dict)  # overrides of the config's hparams
    description: str = ""

    def examples_path(self, split):
        return paths.data_dir() / self.name / f"{split}.tfrecord"

    @property
    def run_dir(self):
        return paths.runs_dir() / self.name


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
}


def get_run(name):
    """The run called `name`, or UnknownRunError listing the known runs."""
    try:
        return RUNS[name]
    except KeyError:
        raise UnknownRunError(f"unknown run '{name}'; known runs: {', '.join(sorted(RUNS))}") from None
