"""The generation jobs: sample, interpolate, reconstruct, vary, render. One library call each.

The command line (`bgmaker generate`), the notebook and the web page call
these; they only parse arguments and show results. A job returns a `Job`: the
beats it made (named and titled), the inputs' windows it read, the assembled
path of an interpolation (back to back, e.g. 8 steps = 32 bars), the seed, and
the inputs it could not use with their reasons. `write()` renders a Job into
a folder as MIDI, WAV and PNG.

Batch jobs (reconstruct, variations, render) go on past a bad input: every
good file is processed, every bad one is listed in `Job.failures` with its
reason, and the caller decides the exit status. `write()` never leaves a
half-written file or an empty folder behind: it renders into a hidden
temporary folder beside the output and moves finished files into place.
"""
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bgmaker.errors import UnusableMidiError, UserError
from bgmaker.generation.generator import DEFAULT_NOISE, DEFAULT_TEMPERATURE, cymbal_extremes, random_seed  # noqa: F401


@dataclass
class Beat:
    name: str               # file stem, e.g. sample_01
    sequence: object        # NoteSequence (4 bars from a model; any length for render)
    title: str = ""
    panels: list = None     # pictures: one panel per 4-bar piece (a path, a long file)
    panel_titles: list = None
    first_bars: list = None


@dataclass
class Job:
    mode: str
    beats: list = field(default_factory=list)     # [Beat] made by the model (or read, for render)
    inputs: list = field(default_factory=list)    # [Beat] the input windows, to compare
    path: Beat = None                              # the whole interpolation as one beat (32 bars)
    seed: int = None
    temperature: float = None
    failures: list = field(default_factory=list)  # [(input, reason)]
    journey_ends: tuple = None                     # sample: (most, least) cymbal-heavy indices
    humanized: dict = None                         # how the beats were humanized (jobs.humanize), else None


def read_inputs(inputs, start_bar=None):
    """[(input, Window)] of the inputs that give a 4-bar drum beat, and [(name, reason)] of those that do not.

    inputs: MIDI paths or NoteSequences. Needs no model, so a job checks its
    inputs before one loads; the jobs then encode these windows (each input is
    read and windowed once).
    """
    from bgmaker.data.midi import find_window
    usable, failures = [], []
    for item in inputs:
        try:
            usable.append((item, find_window(item, start_bar)))
        except (UnusableMidiError, FileNotFoundError) as e:
            failures.append((label(item), _reason(e, label(item))))
    return usable, failures


def label(item):
    """How an input is named in file names and messages: its path, or a NoteSequence's filename or id."""
    if isinstance(item, (str, os.PathLike)):
        return str(item)
    return item.filename or item.id or "beat"


def _reason(error, name):
    """The part of a one-line error after the input's name (the caller names the input)."""
    text = str(error)
    for prefix in (f"{Path(name).expanduser()}: ", f"{name}: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _input_beats(usable):
    beats = []
    for item, w in usable:
        found = re.search(r"#bar(\d+)", w.sequence.id or "")  # a window cut again keeps its first bar number
        first = int(found.group(1)) if found else w.start_bar
        stem = Path(label(item)).stem
        beats.append(Beat(f"input_{stem}", w.sequence, f"input {stem}, bars {first + 1}-{first + 4}"))
    return beats


def _path_beat(beats, name, first, last):
    """One Beat of a path of 4-bar beats back to back, one picture panel per step."""
    from bgmaker.render.midi import concatenate
    ends = {0: f" ({first})", len(beats) - 1: f" ({last})"}
    titles = [f"step {i + 1}/{len(beats)}{ends.get(i, '')}" for i in range(len(beats))]
    return Beat(name, concatenate(beats), panels=list(beats), panel_titles=titles)


def _titled(names, beats, seed, temperature):
    return [Beat(n, b, f"{n}  seed {seed}  T={temperature:g}") for n, b in zip(names, beats)]


def sample(generator, num=8, temperature=DEFAULT_TEMPERATURE, seed=None, journey_steps=8, prior=None, more=None):
    """`num` beats from the prior (BeatGenerator.prior's names: None = the model's default, "normal", "run", a
    GMD style, ...), pushed along attribute vectors by `more` ({attribute: amount}), and (journey_steps >= 2,
    num >= 2) the path from the most to the least cymbal-heavy of them (BeatGenerator.sample_with_journey)."""
    seed = random_seed() if seed is None else seed
    job = Job("sample", seed=seed, temperature=temperature)
    if journey_steps and num >= 2:
        beats, journey, ends = generator.sample_with_journey(num, journey_steps, temperature, seed, prior, more)
    else:
        beats, journey, ends = generator.sample(num, temperature, seed, prior, more), None, None
    names = [f"sample_{i + 1:02d}" for i in range(len(beats))]
    job.beats = _titled(names, beats, seed, temperature)
    if journey:
        job.journey_ends = ends
        job.path = _path_beat(journey, "interpolation", f"{names[ends[0]]}, most cymbals", f"{names[ends[1]]}, fewest")
    return job


def interpolate(generator, start, end, steps=8, temperature=DEFAULT_TEMPERATURE, seed=None, start_bar=None):
    """`steps` beats from `start` to `end` (MIDI paths or NoteSequences), ends included, and the whole path."""
    seed = random_seed() if seed is None else seed
    usable, failures = read_inputs([start, end], start_bar)
    if failures:
        raise UnusableMidiError("; ".join(f"{name}: {reason}" for name, reason in failures))
    beats = generator.interpolate(usable[0][1].sequence, usable[1][1].sequence, steps, temperature, seed)
    names = [f"interpolate_{i + 1:02d}" for i in range(len(beats))]
    job = Job("interpolate", _titled(names, beats, seed, temperature), _input_beats(usable), seed=seed,
              temperature=temperature)
    job.path = _path_beat(beats, "interpolation", "start", "end")
    return job


def reconstruct(generator, inputs, temperature=DEFAULT_TEMPERATURE, seed=None, start_bar=None, more=None):
    """The model's rendition of every usable input (MIDI paths or NoteSequences); the others go to `failures`."""
    seed = random_seed() if seed is None else seed
    usable, failures = read_inputs(inputs, start_bar)
    job = Job("reconstruct", seed=seed, temperature=temperature, failures=failures, inputs=_input_beats(usable))
    if usable:
        beats = generator.reconstruct_many([w.sequence for _, w in usable], temperature, seed, more=more)
        names = [f"reconstruct_{i + 1:02d}_{Path(label(item)).stem}" for i, (item, _) in enumerate(usable)]
        job.beats = _titled(names, beats, seed, temperature)
    return job


def variations(generator, inputs, num=4, noise=DEFAULT_NOISE, temperature=DEFAULT_TEMPERATURE, seed=None, start_bar=None,
               more=None):
    """`num` beats near each usable input (its code plus `noise` x N(0, I)); the others go to `failures`."""
    seed = random_seed() if seed is None else seed
    inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) or hasattr(inputs, "notes") else list(inputs)
    usable, failures = read_inputs(inputs, start_bar)
    job = Job("variations", seed=seed, temperature=temperature, failures=failures, inputs=_input_beats(usable))
    for item, w in usable:
        beats = generator.variations(w.sequence, num, noise, temperature, seed, more=more)
        stem = f"_{Path(label(item)).stem}" if len(inputs) > 1 else ""
        job.beats += _titled([f"variation{stem}_{i + 1:02d}" for i in range(len(beats))], beats, seed, temperature)
    return job


def render_files(paths):
    """Existing MIDI files as Beats to render, each cut into 4-bar panels of its own meter; no model."""
    import numpy as np

    from bgmaker.data.midi import read_midi
    from bgmaker.render import kit
    from bgmaker.render.midi import bar_seconds, excerpt
    job = Job("render")
    for path in paths:
        try:
            ns = read_midi(path)
            if not any(kit.drum_class(n) is not None for n in ns.notes):
                raise UnusableMidiError(f"{path}: no drum notes of the 9-piece kit to render")
            span = 4 * bar_seconds(ns)  # ValueError for a meter off the 16th grid
        except (UnusableMidiError, FileNotFoundError, ValueError) as e:
            job.failures.append((str(path), _reason(e, str(path))))
            continue
        ns.total_time = max(span, -(-ns.total_time // span) * span)  # whole 4-bar panels
        panels = [excerpt(ns, t, span) for t in np.arange(0.0, ns.total_time - 1e-6, span)]
        first_bars = [4 * i + 1 for i in range(len(panels))]
        titles = [f"{Path(path).name}  bars {b}-{b + 3}" for b in first_bars]
        job.beats.append(Beat(Path(path).stem, ns, panels=panels, panel_titles=titles, first_bars=first_bars))
    return job


def humanize(job, humanizer, amount=1.0, seed=0, style=None):
    """Play the job's beats (and its path, step by step) with `humanizer` (bgmaker.humanize); inputs stay as read.

    Hits stay hits: only velocities and timing change. A path is re-assembled
    from its humanized steps, so its ends sound as the beats they equal.
    """
    from bgmaker import humanize as humanizing
    from bgmaker.render.midi import concatenate
    for beat in job.beats:
        beat.sequence = humanizing.humanize([beat.sequence], humanizer, amount, seed, style)[0]
        if beat.panels:  # a long rendered file: played whole, its pictures cut again
            beat.panels = _panels_of(beat.sequence, len(beat.panels))
        beat.title = f"{beat.title}  humanized ({humanizer.name}" + (f", {amount:g}" if amount != 1 else "") + ")"
    if job.path:
        job.path.panels = humanizing.humanize(job.path.panels, humanizer, amount, seed, style)
        job.path.sequence = concatenate(job.path.panels)
    job.humanized = dict(humanizer=humanizer.name, amount=amount, style=style)
    return job


def humanize_files(paths, humanizer, amount=1.0, seed=0, style=None):
    """Existing drum MIDI files played by `humanizer` (render_files, then humanize), named <stem>_humanized.

    A file that cannot be humanized (not 4/4, tempo changes, no drums) goes to
    `failures` with its reason; the others are still played.
    """
    job = render_files(paths)
    job.mode = "humanize"
    kept = []
    for beat in job.beats:
        one = Job("humanize", beats=[beat])
        try:
            humanize(one, humanizer, amount, seed, style)
        except UnusableMidiError as e:
            job.failures.append((beat.sequence.filename, _reason(e, beat.sequence.filename).replace("cannot humanize: ", "")))
            continue
        beat.name = f"{beat.name}_humanized"
        kept.append(beat)
    job.beats = kept
    job.humanized = dict(humanizer=humanizer.name, amount=amount, style=style)
    return job


def _panels_of(ns, count):
    from bgmaker.render.midi import bar_seconds, excerpt
    span = 4 * bar_seconds(ns)
    return [excerpt(ns, i * span, span) for i in range(count)]


def tempo_of(job):
    """The one tempo of a render job's files (None if they differ or there are none)."""
    from bgmaker.drums import DEFAULT_BPM
    tempos = {b.sequence.tempos[0].qpm if b.sequence.tempos else DEFAULT_BPM for b in job.beats}
    return tempos.pop() if len(tempos) == 1 else None


def write(job, out_dir, bpm=None, drum_map="gm", audio=True, png=True, renderer="auto"):
    """Render every beat of `job` (its beats, input windows and path) into `out_dir`; return [render.Output].

    Files are rendered into a temporary folder beside `out_dir` and moved in
    when all are done, so a failure leaves neither half-written files nor an
    empty `out_dir` (nor parent folders made for it).
    """
    from bgmaker import render
    out = Path(out_dir)
    made = _missing_parents(out)  # deepest first
    try:
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bgmaker-", dir=out))
        try:
            items = job.beats + job.inputs + ([job.path] if job.path else [])
            outputs = [render.Output(b.sequence, str(tmp / b.name), title=b.panel_titles if b.panels else b.title,
                                     panels=b.panels, first_bars=b.first_bars) for b in items]
            render.render_beats(outputs, bpm=bpm or render.DEFAULT_BPM, drum_map_name=drum_map, audio=audio,
                                png=png, renderer=renderer)
            for o in outputs:
                for kind, (path, note) in list(o.written.items()):
                    final = out / Path(path).name
                    os.replace(path, final)
                    o.written[kind] = (str(final), note)
                o.stem = str(out / Path(o.stem).name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        for folder in made:
            try:
                folder.rmdir()  # only if empty: files an earlier run wrote stay
            except OSError:
                break
        raise
    return outputs


def _missing_parents(out):
    """The folders from `out` up that do not exist yet, deepest first."""
    missing, folder = [], Path(out)
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def check_output_dir(out):
    """UserError, one line, for an output folder that cannot be made or written to (before anything loads)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--output-dir {out}: is a file, not a folder")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"--output-dir {out}: {parent} is a file, so no folder can be made under it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--output-dir {out}: {parent} is not writable")
