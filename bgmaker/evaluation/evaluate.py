"""How good is a drum model: numbers on GMD's unseen performances, each beside its floor and ceiling.

`evaluate(run, checkpoint, split)` answers four questions on every 4-bar
window of the run's split (bgmaker.data.windows; a split stored as whole
performances is cut into windows here) and writes evaluation.json,
evaluation.md and plots into `<run dir>/evaluation/<split>-<checkpoint>/`.
GMD's validation and test splits hold performances that are not in train,
by drummers who are (every GMD drummer plays in train): "unseen
performances", not unseen drummers.

1. Reconstruction (bgmaker.evaluation.scoring): 512-class step accuracy,
   teacher-forced and free-running, as in the MusicVAE paper and Magenta's
   eval job; onset P/R/F1 per drum; reconstruction loss and KL per window;
   the reconstruction a user gets, decoded from the encoder's mean and from
   the code refined against the decoder (bgmaker.generation.refine, what
   `generate` does with a user's beat), overall, per drum and per GMD style;
   and as the floor, each window against its own steps shuffled.
2. Samples against real drumming (MGEval-style, bgmaker.metrics): feature
   distributions of N samples of N(0, I) (the model itself; its latent priors
   are scored by bgmaker.evaluation.priors), at the user's default temperature and
   at 1.0, vs the real windows, as KDE overlap and KL, next to the shuffle
   floor (real windows, steps shuffled) and two real-vs-real ceilings: one
   half of the split's performances against the other half, and as many
   train-split windows as the split has.
3. A classifier two-sample test (bgmaker.metrics.two_sample): held-out
   accuracy of a logistic regression telling samples from real windows,
   folds grouped by performance; the same test of the split's windows
   against train windows is the reference (real drumming vs real drumming).
4. Interpolation: slerp paths between pairs of real windows, decoded; the
   Hamming distance to each endpoint along the path, monotonicity,
   smoothness, endpoint error and how real the in-between beats are, against
   the naive data-space crossfade; between encoder means and between refined
   codes. Variations (a code plus noise at generate's default) are scored
   for realism from both codes too.

Everything a user would hear is decoded through bgmaker.generation.generator.BeatGenerator,
the generator of `bgmaker generate`, with its seeded sampler and its slerp:
the same seed gives the same report to the last digit on one machine.
Each use of randomness draws from its own stream of the seed
(inputs.random_stream), so changing one setting does not reshuffle the rest.

`validate(run, checkpoint)` is the cheap version for choosing a checkpoint
(validation split, a subset, fewer samples: about a minute on 2 CPU cores);
the test split is for the shipped report. The CLI (bgmaker.cli.evaluate),
training and the notebook call these.

This module is the evaluation read top to bottom; each step lives in a module
of its own job: inputs (a window's performance and style, seeded streams),
scoring (teacher-forced and free-running reconstruction), decode (the model's
beats through BeatGenerator), sections (each report section from grids),
summary (every headline figure, declared once), report (evaluation.json,
evaluation.md, plots) and comparison (several evaluations in one table).
"""
import inspect
import time
from pathlib import Path

import numpy as np

from bgmaker import metrics, models
from bgmaker.models import records
from bgmaker.data.windows import read_windows, subset  # noqa: F401  (the evaluation's windows; re-exported)
from bgmaker.evaluation.decode import decode_with_generator
from bgmaker.evaluation.inputs import performance, random_stream, window_style
from bgmaker.evaluation.sections import (compare_features, crossfade_paths, summarize_interpolation,
                                         summarize_novelty, summarize_reconstruction, summarize_structure,
                                         two_sample_tests)
from bgmaker.evaluation.summary import MODEL_TEMPERATURE, sample_set_name, summary_row
from bgmaker.generation.generator import DEFAULT_NOISE, DEFAULT_TEMPERATURE, PATH_KEYS
from bgmaker.generation.refine import DEFAULT_STEPS as REFINE_STEPS
from bgmaker.paths import REPO_ROOT, portable

# Validation mode (validate, `bgmaker evaluate --quick`): a subset of the
# windows and fewer samples, so a checkpoint is scored in minutes.
# No refinement there: it would cost minutes per checkpoint and does not rank checkpoints differently.
QUICK = dict(max_windows=128, n_samples=128, n_interpolations=8, refine_steps=0, novelty=False)


def evaluate(run, checkpoint=None, split="test", *, examples_path=None, reference_path=None, output_dir=None,
             n_samples=256, temperature=DEFAULT_TEMPERATURE, n_interpolations=32, interpolation_steps=9,
             interpolation_temperature=DEFAULT_TEMPERATURE, max_windows=None, batch_size=64, seed=0,
             lstm_precision="fp32", plots=True, refine_steps=REFINE_STEPS, novelty=True, log=print):
    """Evaluate `checkpoint` of `run` on the run's `split`; write and return the report dict.

    run: a Run, a run name (bgmaker_configs.RUNS) or a model config name
      (then give checkpoint and examples_path). checkpoint: a checkpoint path,
      a directory (its latest checkpoint, or its train/ folder's), or None for
      the run's newest (else its shipped model). examples_path: the
      NoteSequence TFRecord to evaluate on (default: the run's `split` file).
    reference_path: real windows from other performances for the real-vs-real
      references (default: the run's train split, when it exists and
      `split` is not train; False: none); as many as the evaluated windows are drawn.
    n_samples: prior samples, decoded at `temperature` (default: the one
      `bgmaker generate` uses) and at MODEL_TEMPERATURE, from the same z.
    n_interpolations pairs of real windows, each decoded at
      `interpolation_steps` points at `interpolation_temperature`.
    max_windows: evaluate a random subset of at most this many windows.
    lstm_precision: how the LSTM matmuls run (default fp32 on every CPU, so
      that a report is the same on any machine up to rounding; "auto" would
      pick bf16 on CPUs with hardware bf16 and move every sampled figure by a
      few thousandths from one machine to the next; None: the model's own).
    plots: also write the PNG plots.
    refine_steps: refinement steps of the refined reconstructions,
      interpolations and variations (bgmaker.generation.refine; default:
      generate's); 0 leaves them out (the encoder-mean figures stay).
    novelty: each sample's distance to its nearest window among *all* the
      reference windows (copies: distance 0), beside the real windows' own;
      reads the whole reference split, so the quick validation leaves it out.
    """
    started = time.time()
    run = resolve_run(run)
    checkpoint = find_checkpoint(run, checkpoint, log)
    run = models.as_trained(run, str(checkpoint))  # e.g. the flat baseline trained on a run's data
    examples_path, reference_path = find_data(run, split, examples_path, reference_path)
    _check_settings(n_samples, n_interpolations, interpolation_steps, max_windows, batch_size, refine_steps,
                    temperature, interpolation_temperature)
    output_dir = Path(output_dir) if output_dir else default_output_dir(checkpoint, split)

    windows, skipped, reference, every_reference = read_split(examples_path, reference_path, max_windows, seed)
    performances = [performance(w) for w in windows]
    log(f"evaluating {run.name} {checkpoint} on {len(windows)} {split} windows of {examples_path} "
        f"({len(set(performances))} performances)")

    from bgmaker.evaluation import scoring  # Magenta and TensorFlow: only once a model is evaluated
    config = scoring.model_config(run, checkpoint, lstm_precision)
    recon = reconstruct(config, checkpoint, windows, batch_size, seed, log)
    temperatures = list(dict.fromkeys([temperature, MODEL_TEMPERATURE]))
    log(f"decoding {len(windows)} reconstructions, {n_samples} samples at temperature "
        f"{' and '.join(f'{t:g}' for t in temperatures)} and {n_interpolations} interpolations")
    decoded = decode_with_generator(config, checkpoint, windows, n_samples, temperatures, n_interpolations,
                                    interpolation_steps, interpolation_temperature, batch_size, seed,
                                    refine_steps, log)

    log("comparing feature distributions and running the two-sample tests")
    grids = grids_to_compare(windows, reference, decoded, interpolation_steps, seed)
    report = dict(
        model=dict(run=run.name, config=run.config, checkpoint=portable(checkpoint),
                   step=models.step_of(checkpoint), hparams=str(config.hparams.values())),
        data=data_record(split, examples_path, windows, skipped, max_windows, reference_path, reference),
        settings=settings_record(n_samples, temperatures, temperature, len(decoded["pairs"]), interpolation_steps,
                                 interpolation_temperature, seed, refine_steps),
        **measure(windows, performances, reference, recon, decoded, grids, seed))
    if novelty and reference_path:
        log("novelty: each sample's nearest window of the whole reference split")
        report["novelty"] = summarize_novelty(dict(real=grids["real"], **grids["samples"]), every_reference)
    report["summary"] = summary_row(report)
    report["command"] = command_line(run, checkpoint, split, examples_path, reference_path, dict(
        max_windows=max_windows, n_samples=n_samples, n_interpolations=n_interpolations,
        interpolation_steps=interpolation_steps, temperature=temperature,
        interpolation_temperature=interpolation_temperature, batch_size=batch_size, seed=seed,
        lstm_precision=lstm_precision, plots=plots, refine_steps=refine_steps, novelty=novelty))
    report["seconds"] = round(time.time() - started, 1)
    report["output_dir"] = portable(output_dir)

    from bgmaker.evaluation import report as report_files  # matplotlib: only once a report is written
    written = report_files.write(
        report, output_dir, plots=plots, real=grids["real"], samples=decoded["samples"][temperature],
        shuffled=grids["shuffle"],
        example_paths=dict(latent=decoded["paths"][0], crossfade=grids["crossfade"][0]) if decoded["pairs"] else None)
    log(f"wrote {', '.join(str(p) for p in written)} ({report['seconds']} s)")
    return report


def validate(run, checkpoint=None, *, split="validation", seed=0, examples_path=None, output_dir=None,
             log=print, **settings):
    """Score a checkpoint cheaply, to choose between checkpoints; return the report's summary.

    evaluate() with the QUICK settings (a random subset of the split's
    windows, fewer samples and interpolations, no plots) on the validation
    split, so that training can call it at every checkpoint without touching
    the test split. The report is written too, by default into
    `<run dir>/evaluation/<split>-quick-<checkpoint>/`. The summary holds
    every figure of a full evaluation under the keys summary.FIGURES lists, e.g.
    accuracy_free_running, sample_overlap, classifier_samples_vs_real.
    settings: any other evaluate() keyword (reference_path, batch_size, ...).
    """
    run = resolve_run(run)
    checkpoint = find_checkpoint(run, checkpoint, log)
    output_dir = output_dir or default_output_dir(checkpoint, f"{split}-quick")
    report = evaluate(run, checkpoint, split, examples_path=examples_path, output_dir=output_dir, seed=seed,
                      log=log, **{**QUICK, "plots": False, **settings})
    from bgmaker.evaluation.report import jsonable
    return jsonable(report["summary"])  # as in evaluation.json: an undefined figure (NaN) is None


# --- the steps of evaluate() ----------------------------------------------------

def _check_settings(n_samples, n_interpolations, interpolation_steps, max_windows, batch_size, refine_steps,
                    *temperatures):
    """One-line errors for settings that would fail deep inside TensorFlow or give an empty report."""
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2 (the feature comparison needs a spread), got {n_samples}")
    if n_interpolations < 0:
        raise ValueError(f"n_interpolations must be 0 or more, got {n_interpolations}")
    if interpolation_steps < 2:
        raise ValueError(f"interpolation_steps must be at least 2, got {interpolation_steps}")
    if max_windows is not None and max_windows < 2:
        raise ValueError(f"max_windows must be at least 2, got {max_windows}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    for t in temperatures:
        if not t > 0:
            raise ValueError(f"temperatures must be positive, got {t}")
    if refine_steps < 0:
        raise ValueError(f"refine_steps must be 0 or more, got {refine_steps}")


def read_split(examples_path, reference_path, max_windows, seed):
    """The windows to evaluate (a seeded subset of at most max_windows), and the reference windows.

    Returns (windows, records skipped, reference, every reference window): the reference file is read once,
    as many of its windows as are evaluated for the real-vs-real figures, all of them for novelty.
    """
    windows, skipped = read_windows(examples_path, max_windows, random_stream(seed, "windows"))
    if not windows:
        raise ValueError(f"{examples_path} holds no usable 4-bar window")
    reference, every_reference = [], []
    if reference_path:
        every_reference, _ = read_windows(reference_path)
        reference = subset(every_reference, len(windows), random_stream(seed, "reference"))
    return windows, skipped, reference, every_reference


def reconstruct(config, checkpoint, windows, batch_size, seed, log):
    """{mode: scoring.reconstruct output} for teacher-forced and free-running decoding, as Magenta's eval job."""
    from bgmaker.evaluation import scoring
    recon = {}
    for mode, teacher_forced in (("teacher_forced", True), ("free_running", False)):
        log(f"reconstruction, {mode.replace('_', '-')}:")
        recon[mode] = scoring.reconstruct(config, checkpoint, [w.sequence for w in windows], teacher_forced,
                                          batch_size=batch_size, seed=seed, progress=_progress(log, len(windows)))
    return recon


def _progress(log, total, every=0.1):
    marks = {max(1, round(total * k * every)) for k in range(1, int(1 / every) + 1)}

    def report(done, total=total):
        if done in marks or done == total:
            log(f"  {done}/{total} windows")
    return report


def grids_to_compare(windows, reference, decoded, interpolation_steps, seed):
    """The grids every section reads, by name.

    real: the evaluated windows; shuffle: each with its steps shuffled (the
    floor); train: the reference windows (None without); crossfade: the
    data-space path between each interpolation pair (the baseline);
    samples: the prior samples by set name (sample_set_name).
    """
    real = np.stack([w.grid for w in windows])
    return dict(real=real, shuffle=metrics.shuffle_steps(real, random_stream(seed, "shuffle")),
                train=np.stack([w.grid for w in reference]) if reference else None,
                crossfade=crossfade_paths(real, decoded["pairs"], interpolation_steps,
                                          random_stream(seed, "crossfade")),
                samples={sample_set_name(t): samples for t, samples in decoded["samples"].items()})


def data_record(split, examples_path, windows, skipped, max_windows, reference_path, reference):
    """The report's "data": which windows were evaluated and which real windows they were read against."""
    return dict(split=split, examples_path=portable(examples_path), windows=len(windows),
                performances=len({performance(w) for w in windows}), skipped=skipped, max_windows=max_windows,
                reference_path=portable(reference_path) if reference_path else None,
                reference_windows=len(reference), reference_performances=len({performance(w) for w in reference}))


def settings_record(n_samples, temperatures, temperature, n_pairs, interpolation_steps, interpolation_temperature,
                    seed, refine_steps):
    """The report's "settings": what was decoded, how, and how the two-sample classifier was set up."""
    return dict(n_samples=n_samples, temperatures=temperatures, user_temperature=temperature,
                user_sample_set=sample_set_name(temperature),
                n_interpolations=n_pairs, interpolation_steps=interpolation_steps,
                interpolation_temperature=interpolation_temperature, interpolation_keys=PATH_KEYS, seed=seed,
                decoder="bgmaker.generation.generator.BeatGenerator (seeded sampling)",
                z="posterior sample (as Magenta's eval job) for teacher-forced/free-running; "
                  "posterior mean, and the code refined from it, for decoded reconstructions, "
                  "interpolations and variations",
                refine_steps=refine_steps, variation_noise=DEFAULT_NOISE,
                classifier=dict(model="L2 logistic regression on metrics.grid_statistics",
                                l2=metrics.two_sample.L2, folds=metrics.two_sample.FOLDS,
                                groups="performance (a model sample: its own group)"))


def measure(windows, performances, reference, recon, decoded, grids, seed):
    """The report's sections (bgmaker.evaluation.sections): the model's beats against the real windows."""
    real, shuffled, crossfades, sample_sets = grids["real"], grids["shuffle"], grids["crossfade"], grids["samples"]
    refined = "paths_refined" in decoded
    return dict(
        reconstruction=summarize_reconstruction(recon, real, decoded["reconstructions"], shuffled,
                                                [window_style(w) for w in windows],
                                                decoded.get("reconstructions_refined")),
        features=compare_features(real, performances, sample_sets, shuffled, grids["train"],
                                  {"interpolation": decoded["paths"], "crossfade": crossfades,
                                   **({"interpolation refined": decoded["paths_refined"]} if refined else {})},
                                  random_stream(seed, "halves"), decoded["variations"]),
        two_sample=two_sample_tests(real, performances, sample_sets, reference, random_stream(seed, "classifier")),
        structure=summarize_structure(dict(real=real, shuffle=shuffled, train=grids["train"], **sample_sets)),
        interpolation=summarize_interpolation(real, decoded["pairs"], {
            "model": decoded["paths"], "crossfade": crossfades,
            **({"refined": decoded["paths_refined"]} if refined else {})}),
    )


# --- which run, which checkpoint, which data, where the report goes, how to repeat it ----------------------
# (the folders' layout itself is bgmaker.models.records')

def resolve_run(run):
    """A Run from a Run, a run name, or a model config name (a Run named after the model)."""
    from bgmaker_configs import MODEL_NAMES, runs
    if isinstance(run, runs.Run):
        return run
    if run in runs.RUNS:
        return runs.get_run(run)
    if run in MODEL_NAMES:
        return runs.Run(name=run, config=run, select={}, description=f"model config {run}")
    raise runs.UnknownRunError(
        f"unknown run or model '{run}'; runs: {', '.join(sorted(runs.RUNS))}; "
        f"models: {', '.join(sorted(MODEL_NAMES))}")


def find_checkpoint(run, checkpoint=None, log=None):
    """The checkpoint path prefix to evaluate: `checkpoint`, else the run's model as bgmaker.models.locate picks it."""
    try:
        choice = models.locate(run, checkpoint)
    except FileNotFoundError:
        if checkpoint is not None or _is_named_run(run):
            raise
        raise FileNotFoundError(f"no checkpoint for {run.name}: give the checkpoint to evaluate "
                                f"(checkpoint, --checkpoint)") from None
    if log and checkpoint is None:
        log(f"model: {choice.why}")
    return Path(choice.checkpoint)


def _is_named_run(run):
    """True for a named run (also when its data was trained with another model: bgmaker.models.as_trained)."""
    from bgmaker_configs import runs
    named = runs.RUNS.get(run.name)
    return named is not None and (named.select, named.midi_dir) == (run.select, run.midi_dir)


def find_data(run, split, examples_path=None, reference_path=None):
    """The windows to evaluate (examples_path, else the run's `split` file) and the reference windows' file.

    Errors say how to make what is missing; the reference must hold other windows than the evaluated ones.
    """
    examples_path = Path(examples_path) if examples_path else run.examples_path(split)
    from bgmaker.data.convert import single_file_needed
    sharded = single_file_needed(examples_path, "the evaluation")
    if sharded:
        raise FileNotFoundError(sharded)
    if not examples_path.is_file():
        raise FileNotFoundError(
            f"no {split} data for run {run.name}: {examples_path} does not exist; "
            + (f"make it with: scripts/convert_gmd.sh --run {run.name}" if _is_named_run(run)
               else "give the windows to evaluate on (examples_path, --examples)"))
    reference_path = find_reference(run, split, reference_path)
    if reference_path and reference_path.resolve() == examples_path.resolve():
        raise ValueError(f"the reference windows {reference_path} are the windows being evaluated; "
                         "give windows of other performances (--reference), e.g. the train split")
    return examples_path, reference_path


def find_reference(run, split, reference_path=None):
    """The TFRecord of real windows for the real-vs-real references, or None when there is none.

    Given: it must exist. Default: the run's train split (other
    performances of the same drummers), unless `split` is train itself.
    False or "none": none (the real-vs-real figures are left out).
    """
    if reference_path is False or reference_path == "none":
        return None
    if reference_path:
        if not Path(reference_path).is_file():
            raise FileNotFoundError(f"reference windows {reference_path} do not exist")
        return Path(reference_path)
    found = run.examples_path("train")
    return found if split != "train" and found.is_file() else None


def default_output_dir(checkpoint, split):
    """<run dir>/evaluation/<split>-<checkpoint name>, the run dir being the one holding train/.

    A shipped model's folder (models/NAME) is committed, so its evaluations go to
    the run's own folder instead (runs/NAME/evaluation/<split>-shipped-<checkpoint
    name>), where `--compare NAME` finds them; its committed evaluation.json is
    written only when asked (--output-dir models/NAME), as `campaign --ship` does.
    """
    checkpoint = Path(checkpoint)
    folder = records.folder_of(checkpoint)
    if records.is_shipped_dir(folder):
        return records.run_dir(folder.name) / "evaluation" / f"{split}-shipped-{checkpoint.name}"
    return folder / "evaluation" / f"{split}-{checkpoint.name}"


def report_dir(report):
    """The folder an evaluation was written to (its output_dir; shown relative to the checkout when inside it)."""
    return REPO_ROOT / Path(report["output_dir"]).expanduser()  # an absolute output_dir (or ~/...) stays so


def command_line(run, checkpoint, split, examples_path, reference_path, options):
    """The `bgmaker evaluate` command that repeats this evaluation (options at evaluate()'s defaults left out)."""
    defaults = {k: p.default for k, p in inspect.signature(evaluate).parameters.items()}
    flags = dict(n_samples="samples", n_interpolations="interpolations")
    words = ["bgmaker evaluate", f"--run {run.name}", f"--checkpoint {portable(checkpoint)}", f"--split {split}"]
    if not _is_named_run(run) or Path(examples_path) != run.examples_path(split):
        words.append(f"--examples {portable(examples_path)}")
    default_reference = find_reference(run, split)
    if reference_path and reference_path != default_reference:
        words.append(f"--reference {portable(reference_path)}")
    elif not reference_path and default_reference:
        words.append("--reference none")
    for k, v in options.items():
        if v != defaults[k]:
            words.append(f"--no-{k}" if isinstance(v, bool) else f"--{flags.get(k, k).replace('_', '-')} {v}")
    return " ".join(words)
