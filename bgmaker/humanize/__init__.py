"""Play a beat like a drummer: set each hit's velocity and timing, never add or drop one.

BGMaker's drum models write every hit on the 16th grid at one velocity.
A humanizer gives each hit a velocity and an offset from the grid, as GMD's
drummers play them:

- `groovae` (bgmaker.humanize.groovae): Magenta's GrooVAE trained by BGMaker
  on GMD (run `humanize`, shipped in models/humanize);
- `template` (bgmaker.humanize.template): no network; per style x drum x
  16th position, the train performances' (velocity, offset) pairs, drawn
  at random (seeded). The baseline the GrooVAE has to beat; shipped as
  models/humanize/template.npz;
- the floor, no humanization (template.NoHumanizer), for the evaluation.

`humanize(beats, humanizer, amount, seed, style)` is the one path every
caller takes (the CLI's `--humanize` and `bgmaker humanize`, the notebook,
the web page, the evaluation's listening pair): each beat is read on the grid
(bgmaker.data.groove), played by the humanizer, and written back by
`groove.perform`, which moves only velocities and start times. `amount`
scales the playing (0: the grid; 1: the humanizer's; up to MAX_AMOUNT,
exaggerated). The same seed gives the same bytes: the template's draws for a
beat are keyed by the seed and the beat's hits (so two equal beats, e.g. an
interpolation's end and the reconstruction it equals, are played alike),
and the GrooVAE draws nothing.
"""
from pathlib import Path

from bgmaker import paths
from bgmaker.models import records

HUMANIZE_RUN = "humanize"
TEMPLATE_FILE = "template.npz"
CHOICES = ("auto", "groovae", "template")
MAX_AMOUNT = 2.0


def shipped_dir():
    return records.shipped_dir(HUMANIZE_RUN)


def load(spec="auto"):
    """A humanizer: "groovae" (the shipped model), "template", "auto" (DEFAULT), or a
    model folder / checkpoint of a humanize run. FileNotFoundError, one line, when it is not there."""
    from bgmaker.humanize.template import TemplateHumanizer
    spec = spec or "auto"
    if spec == "auto":
        spec = "groovae" if (shipped_dir() / "checkpoint").is_file() else "template"
    if spec == "template":
        path = shipped_dir() / TEMPLATE_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no humanize template at {paths.as_typed(path)} "
                                    "(make it: bgmaker humanize --fit-template)")
        return TemplateHumanizer.load(path)
    from bgmaker.humanize.groovae import GrooveHumanizer
    if spec == "groovae":
        if not (shipped_dir() / "checkpoint").is_file():
            raise FileNotFoundError(f"no humanize model shipped in {paths.as_typed(shipped_dir())} yet "
                                    "(use --humanize template, or train it: scripts/campaign.sh)")
        spec = shipped_dir()
    if not Path(spec).exists() and not Path(f"{spec}.index").exists():
        raise FileNotFoundError(f"--humanize {spec}: not one of {', '.join(CHOICES)}, nor a humanize model "
                                "folder or checkpoint")
    return GrooveHumanizer(spec)


# What `--humanize` with no value ("auto") uses: the shipped GrooVAE, which beats the template on every figure
# it is chosen on (validation: reports/humanize_bars.md), else the template (docs/humanize.md).
DEFAULT = "auto: groovae when models/humanize has one, else template"


def default_on():
    """True when beats are humanized without asking: a GrooVAE is shipped and its test-split report passed
    the gate (bgmaker.humanize.report.gate: it beats the template, and both are far from the floor).

    Why on then: such a model plays the hits measurably more like GMD's drummers than the grid does
    (classifier, overlaps, velocity error) while keeping every hit; the grid stays one flag away
    (--no-humanize, or --amount 0). Until a model passes, a grid is the honest default.
    """
    import json

    from bgmaker.humanize.report import gate
    try:
        report = json.loads((shipped_dir() / "evaluation.json").read_text())
    except (OSError, ValueError):
        return False
    lines = gate(report) if (shipped_dir() / "checkpoint").is_file() else []
    return bool(lines) and all(ok for _, ok in lines)


def beat_seed(seed, hits):
    """The template's seed for one beat: from the job's seed and the beat's hits (bgmaker.generation's keys)."""
    from bgmaker.generation.generator import item_key
    return item_key("humanize", int(seed), hits.tobytes())


def humanize(beats, humanizer, amount=1.0, seed=0, style=None):
    """Each beat (a NoteSequence, its time 0 on a bar line) played by `humanizer`; same notes, new velocities
    and times. Raises UnusableMidiError naming the beat when it is not 4/4 drums at one tempo."""
    from bgmaker.data import groove, windows
    from bgmaker.errors import UnusableMidiError
    if not 0 <= amount <= MAX_AMOUNT:
        raise ValueError(f"humanize amount {amount:g} is out of range (0-{MAX_AMOUNT:g})")
    out = []
    for ns in beats:
        try:
            windows.quantize(ns)  # 4/4, one tempo, drums: the grid the humanizer reads
        except windows.UnusableSequenceError as e:
            raise UnusableMidiError(f"{ns.filename or ns.id or 'beat'}: cannot humanize: {e}") from None
        g = groove.groove_of(ns)
        velocity, offset = humanizer.play(g.hits[None], seed=beat_seed(seed, g.hits),
                                          styles=[style] if style else None)
        out.append(groove.perform(ns, velocity[0], offset[0], amount))
    return out
