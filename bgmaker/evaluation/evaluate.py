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
Each use of randomness draws from its own stream of the seed (_rng), so
changing one setting does not reshuffle the rest.

`validate(run, checkpoint)` is the cheap version for choosing a checkpoint
(validation split, a subset, fewer samples: about a minute on 2 CPU cores);
the test split is for the shipped report. `compare(sources)` puts the
summaries of several evaluations in one Markdown table, one row per model.
The CLI (bgmaker.cli.evaluate), training and the notebook call these.
"""
import inspect
import json
import time
import zlib
from pathlib import Path

import numpy as np

from bgmaker import metrics, models
from bgmaker.data.windows import read_windows, subset  # noqa: F401  (the evaluation's windows; re-exported)
from bgmaker.generation.generator import DEFAULT_NOISE, DEFAULT_TEMPERATURE
from bgmaker.generation.priors import NORMAL as NORMAL_PRIOR
from bgmaker.generation.refine import DEFAULT_STEPS as REFINE_STEPS
from bgmaker.paths import REPO_ROOT, models_dir, portable, runs_dir

# Decoding temperature of the "decoded" reconstructions: near-greedy, so the
# number measures the model rather than sampling noise.
RECONSTRUCTION_TEMPERATURE = 1e-3
# Samples are scored at the user's temperature (DEFAULT_TEMPERATURE) and at
# this one: the decoder's own distribution, what the model learned.
MODEL_TEMPERATURE = 1.0

# The features that depend on time order: the shuffle baseline keeps every
# other feature exactly, so only these can tell a model from shuffled drumming.
RHYTHM_FEATURES = ("syncopation", "groove consistency")

# Validation mode (validate, `bgmaker evaluate --quick`): a subset of the
# windows and fewer samples, so a checkpoint is scored in minutes.
# No refinement there: it would cost minutes per checkpoint and does not rank checkpoints differently.
QUICK = dict(max_windows=128, n_samples=128, n_interpolations=8, refine_steps=0, novelty=False)

# Windows refined per TensorFlow run: 256 refine ~2x more windows a second than 64 on these CPUs
# (6 vs 12 ms per window and step); a code does not depend on its batch (bgmaker.generation.refine).
REFINE_BATCH_SIZE = 256

SUMMARY_COLUMNS = (  # key in report["summary"], column title, format: compare()'s one row per model
    ("model", "model", "{}"),
    ("step", "step", "{}"),
    ("split", "split", "{}"),
    ("windows", "windows", "{}"),
    ("accuracy_teacher_forced", "acc. TF", "{:.3f}"),
    ("accuracy_free_running", "acc. free", "{:.3f}"),
    ("accuracy_decoded", "acc. decoded", "{:.3f}"),
    ("accuracy_decoded_refined", "acc. refined", "{:.3f}"),
    ("accuracy_shuffle_floor", "acc. shuffle", "{:.3f}"),
    ("onset_f1_free_running", "onset F1 free", "{:.3f}"),
    ("kl_bits", "KL bits", "{:.1f}"),
    ("sample_overlap", "overlap T=user", "{:.3f}"),
    ("sample_overlap_t1", "overlap T=1", "{:.3f}"),
    ("sample_rhythm_overlap", "rhythm T=user", "{:.3f}"),
    ("sample_rhythm_overlap_t1", "rhythm T=1", "{:.3f}"),
    ("shuffle_rhythm_overlap", "rhythm shuffle", "{:.3f}"),
    ("real_vs_real_rhythm_overlap", "rhythm real/real", "{:.3f}"),
    ("classifier_samples_vs_real", "C2ST T=user", "{:.3f}"),
    ("classifier_samples_t1_vs_real", "C2ST T=1", "{:.3f}"),
    ("classifier_real_vs_train", "C2ST real/train", "{:.3f}"),
    ("copies_samples", "copies T=user", "{}"),
    ("interp_overlap", "interp. realism", "{:.3f}"),
    ("interp_overlap_refined", "interp. realism refined", "{:.3f}"),
    ("crossfade_overlap", "crossfade realism", "{:.3f}"),
    ("interp_smoothness", "interp. smooth", "{:.3f}"),
    ("crossfade_smoothness", "crossfade smooth", "{:.3f}"),
    ("interp_endpoint_error", "interp. end err.", "{:.3f}"),
    ("endpoint_distance", "A-B dist.", "{:.3f}"),
)


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
    examples_path = Path(examples_path) if examples_path else run.examples_path(split)
    if not examples_path.is_file():
        raise FileNotFoundError(
            f"no {split} data for run {run.name}: {examples_path} does not exist; "
            + (f"make it with: scripts/convert_gmd.sh --run {run.name}" if _is_named_run(run)
               else "give the windows to evaluate on (examples_path, --examples)"))
    reference_path = find_reference(run, split, reference_path)
    if reference_path and reference_path.resolve() == examples_path.resolve():
        raise ValueError(f"the reference windows {reference_path} are the windows being evaluated; "
                         "give windows of other performances (--reference), e.g. the train split")
    _check_settings(n_samples, n_interpolations, interpolation_steps, max_windows, batch_size,
                    temperature, interpolation_temperature)
    if refine_steps < 0:
        raise ValueError(f"refine_steps must be 0 or more, got {refine_steps}")
    output_dir = Path(output_dir) if output_dir else default_output_dir(checkpoint, split)

    windows, skipped = read_windows(examples_path, max_windows, _rng(seed, "windows"))
    if not windows:
        raise ValueError(f"{examples_path} holds no usable 4-bar window")
    real = np.stack([w.grid for w in windows])
    performances = [performance(w) for w in windows]
    reference, every_reference = [], []
    if reference_path:  # read once: a subset for the real-vs-real figures, all of them for novelty
        every_reference, _ = read_windows(reference_path)
        reference = subset(every_reference, len(windows), _rng(seed, "reference"))
    log(f"evaluating {run.name} {checkpoint} on {len(windows)} {split} windows of {examples_path} "
        f"({len(set(performances))} performances)")

    from bgmaker.evaluation import scoring as reconstruction
    config = reconstruction.model_config(run, checkpoint, lstm_precision)
    recon = {}
    for mode, teacher_forced in (("teacher_forced", True), ("free_running", False)):
        log(f"reconstruction, {mode.replace('_', '-')}:")
        recon[mode] = reconstruction.reconstruct(config, checkpoint, [w.sequence for w in windows],
                                                 teacher_forced, batch_size=batch_size, seed=seed,
                                                 progress=_progress(log, len(windows)))
    temperatures = list(dict.fromkeys([temperature, MODEL_TEMPERATURE]))
    log(f"decoding {len(windows)} reconstructions, {n_samples} samples at temperature "
        f"{' and '.join(f'{t:g}' for t in temperatures)} and {n_interpolations} interpolations")
    decoded = decode_with_generator(config, checkpoint, windows, n_samples, temperatures, n_interpolations,
                                    interpolation_steps, interpolation_temperature, batch_size, seed,
                                    refine_steps, log)
    samples, pairs, paths = decoded["samples"], decoded["pairs"], decoded["paths"]
    styles = [window_style(w) for w in windows]
    crossfades = crossfade_paths(real, pairs, interpolation_steps, _rng(seed, "crossfade"))
    shuffled = metrics.shuffle_steps(real, _rng(seed, "shuffle"))
    reference_grids = np.stack([w.grid for w in reference]) if reference else None

    log("comparing feature distributions and running the two-sample tests")
    sample_sets = {sample_set_name(t): grids for t, grids in samples.items()}
    report = dict(
        model=dict(run=run.name, config=run.config, checkpoint=portable(checkpoint),
                   step=models.step_of(checkpoint), hparams=str(config.hparams.values())),
        data=dict(split=split, examples_path=portable(examples_path), windows=len(windows),
                  performances=len(set(performances)), skipped=skipped, max_windows=max_windows,
                  reference_path=portable(reference_path) if reference_path else None,
                  reference_windows=len(reference),
                  reference_performances=len({performance(w) for w in reference})),
        settings=dict(n_samples=n_samples, temperatures=temperatures, user_temperature=temperature,
                      user_sample_set=sample_set_name(temperature),
                      n_interpolations=len(pairs), interpolation_steps=interpolation_steps,
                      interpolation_temperature=interpolation_temperature, seed=seed,
                      decoder="bgmaker.generation.generator.BeatGenerator (seeded sampling)",
                      z="posterior sample (as Magenta's eval job) for teacher-forced/free-running; "
                        "posterior mean, and the code refined from it, for decoded reconstructions, "
                        "interpolations and variations",
                      refine_steps=refine_steps, variation_noise=DEFAULT_NOISE,
                      classifier=dict(model="L2 logistic regression on metrics.grid_statistics",
                                      l2=metrics.two_sample.L2, folds=metrics.two_sample.FOLDS,
                                      groups="performance (a model sample: its own group)")),
        reconstruction=summarize_reconstruction(recon, real, decoded["reconstructions"], shuffled, styles,
                                                decoded.get("reconstructions_refined")),
        features=compare_features(real, performances, sample_sets, shuffled, reference_grids,
                                  {"interpolation": paths, "crossfade": crossfades,
                                   **({"interpolation refined": decoded["paths_refined"]}
                                      if "paths_refined" in decoded else {})},
                                  _rng(seed, "halves"), decoded["variations"]),
        two_sample=two_sample_tests(real, performances, sample_sets, reference, _rng(seed, "classifier")),
        structure=summarize_structure(dict(real=real, shuffle=shuffled, train=reference_grids, **sample_sets)),
        interpolation=summarize_interpolation(real, pairs, {"model": paths, "crossfade": crossfades, **(
            {"refined": decoded["paths_refined"]} if "paths_refined" in decoded else {})}),
    )
    if novelty and reference_path:
        log("novelty: each sample's nearest window of the whole reference split")
        report["novelty"] = summarize_novelty(dict(real=real, **sample_sets), every_reference)
    report["summary"] = summary_row(report)
    report["command"] = command_line(run, checkpoint, split, examples_path, reference_path, dict(
        max_windows=max_windows, n_samples=n_samples, n_interpolations=n_interpolations,
        interpolation_steps=interpolation_steps, temperature=temperature,
        interpolation_temperature=interpolation_temperature, batch_size=batch_size, seed=seed,
        lstm_precision=lstm_precision, plots=plots, refine_steps=refine_steps, novelty=novelty))
    report["seconds"] = round(time.time() - started, 1)
    report["output_dir"] = portable(output_dir)

    from bgmaker.evaluation import report as evaluation_report
    written = evaluation_report.write(
        report, output_dir, plots=plots, real=real, samples=samples[temperature], shuffled=shuffled,
        example_paths=dict(latent=paths[0], crossfade=crossfades[0]) if pairs else None)
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
    every figure of a full evaluation under the keys summary_row lists, e.g.
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


def report_dir(report):
    """The folder an evaluation was written to (its output_dir; shown relative to the checkout when inside it)."""
    return REPO_ROOT / Path(report["output_dir"]).expanduser()  # an absolute output_dir (or ~/...) stays so


def _check_settings(n_samples, n_interpolations, interpolation_steps, max_windows, batch_size, *temperatures):
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


def sample_set_name(temperature):
    """The feature / two-sample set name of prior samples at `temperature`, e.g. "samples T=0.5"."""
    return f"samples T={temperature:g}"


def _rng(seed, purpose):
    """The random stream of `seed` for one purpose ("windows", "pairs", ...): independent of the others."""
    return np.random.default_rng([seed, zlib.crc32(purpose.encode())])


# --- inputs -------------------------------------------------------------------

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



def default_output_dir(checkpoint, split):
    """<run dir>/evaluation/<split>-<checkpoint name>, the run dir being the one holding train/.

    A shipped model's folder (models/NAME) is committed, so its evaluations go to
    the run's own folder instead (runs/NAME/evaluation/<split>-shipped-<checkpoint
    name>), where `--compare NAME` finds them; its committed evaluation.json is
    written only when asked (--output-dir models/NAME), as `campaign --ship` does.
    """
    checkpoint = Path(checkpoint)
    run_dir = checkpoint.parent.parent if checkpoint.parent.name == "train" else checkpoint.parent
    if run_dir.resolve().parent == models_dir().resolve():
        return runs_dir() / run_dir.name / "evaluation" / f"{split}-shipped-{checkpoint.name}"
    return run_dir / "evaluation" / f"{split}-{checkpoint.name}"


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


def performance(window):
    """The performance a Window comes from (bgmaker.data.windows.performance_of), the evaluation's group."""
    from bgmaker.data.windows import performance_of
    return performance_of(window.sequence)


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


def _progress(log, total, every=0.1):
    marks = {max(1, round(total * k * every)) for k in range(1, int(1 / every) + 1)}

    def report(done, total=total):
        if done in marks or done == total:
            log(f"  {done}/{total} windows")
    return report


# --- model outputs ------------------------------------------------------------

def decode_with_generator(config, checkpoint, windows, n_samples, temperatures, n_pairs, steps,
                          interpolation_temperature, batch_size, seed, refine_steps=0, log=print):
    """What a user of the model gets, through `bgmaker generate`'s BeatGenerator. Returns a dict of grids:

    samples {temperature: [n, 64, 9]}: BeatGenerator.sample(n, temperature,
      seed) from N(0, I), the same z at every temperature;
    reconstructions [windows, 64, 9]: each window encoded to its posterior
      mean and decoded fully free-running at RECONSTRUCTION_TEMPERATURE
      (near-greedy); reconstructions_refined: the same from the code refined
      `refine_steps` steps (bgmaker.generation.refine), the reconstruction a
      user of `generate` hears (left out when refine_steps is 0);
    pairs [(i, j)] and paths [pairs, steps, 64, 9]: the points of
      generate.interpolation_z between the posterior means of windows i and
      j (BeatGenerator.interpolate's path), decoded in one batch; paths_refined
      between the refined codes. Pairs come from different performances where
      the split has more than one, so an interpolation has somewhere to go.
    variations {"variations": [m, 64, 9], "variations refined": ...}: one
      variation (generator.vary at DEFAULT_NOISE, decoded at the first
      temperature) of each of m = min(n_samples, windows) windows, the same
      noise added to the mean and to the refined code.
    Every decode is seeded (bgmaker.generation.seeded_sampling): a beat is a function of
    (z, temperature, seed), whatever the batch size or order.
    """
    from bgmaker.generation.generator import BeatGenerator, interpolation_z, vary
    from bgmaker.generation.seeded_sampling import row_keys
    from bgmaker.data.windows import STEPS, to_grid

    def grids(sequences):
        return np.stack([to_grid(ns) for ns in sequences]) if sequences else np.zeros((0, STEPS, 9), bool)

    generator = BeatGenerator(config, checkpoint, batch_size=batch_size,
                              refine_batch_size=min(REFINE_BATCH_SIZE, len(windows)))
    try:
        # From N(0, I), whatever default prior the model's priors name: these figures are the model's own and stay
        # comparable across models and reports; the priors are scored by bgmaker.evaluation.priors.
        out = dict(samples={t: grids(generator.sample(n_samples, t, seed, prior=NORMAL_PRIOR)) for t in temperatures})
        sequences = [w.sequence for w in windows]
        codes = {"": generator.encode(sequences, refine_steps=0)}
        if refine_steps:
            log(f"refining {len(windows)} codes, {refine_steps} steps each:")
            started = time.time()
            codes["_refined"] = generator.encode(
                sequences, refine_steps=refine_steps,
                progress=lambda done, total, step, steps: step == steps and log(f"  {done}/{total} windows"))
            log(f"  refined in {time.time() - started:.0f} s")
        out["pairs"] = choose_pairs(windows, n_pairs, _rng(seed, "pairs"))
        varied = _rng(seed, "variations")
        chosen = np.sort(varied.choice(len(windows), min(n_samples, len(windows)), replace=False))
        noise_seeds = varied.integers(0, 2**31, len(chosen))
        out["variations"] = {}
        # Every decode's sampling keys come from the encoder-mean version of its code (row_keys: the CRC of its
        # bits): a refined code moves by ~1e-7 from run to run (bgmaker.generation.refine), and keys read from
        # its own bits would turn that into different samples and figures.
        points = {suffix: np.stack([vary(z[i], 1, DEFAULT_NOISE, int(k))[0] for i, k in zip(chosen, noise_seeds)])
                  for suffix, z in codes.items()}
        paths = {suffix: np.concatenate([interpolation_z(z[i], z[j], steps) for i, j in out["pairs"]])
                 for suffix, z in codes.items()} if out["pairs"] else {}
        for suffix, z in codes.items():
            out["reconstructions" + suffix] = grids(generator.decode(z, RECONSTRUCTION_TEMPERATURE, seed,
                                                                     keys=row_keys(codes[""])))
            out["variations"]["variations" + suffix.replace("_", " ")] = grids(
                generator.decode(points[suffix], temperatures[0], seed, keys=row_keys(points[""])))
            if out["pairs"]:
                decoded = generator.decode(paths[suffix], interpolation_temperature, seed, keys=row_keys(paths[""]))
                out["paths" + suffix] = grids(decoded).reshape(len(out["pairs"]), steps, STEPS, -1)
            else:
                out["paths" + suffix] = np.zeros((0, steps, STEPS, 9), bool)
        return out
    finally:
        generator.close()


def window_style(window):
    """A window's GMD primary style from the file it was cut from (bgmaker.data.gmd.style_of); "other" if not GMD's."""
    from bgmaker.data.gmd import style_of
    return style_of(window.sequence.filename) or "other"


def choose_pairs(windows, n_pairs, rng):
    """Up to n_pairs distinct (i, j) window index pairs, from different performances when possible."""
    n = len(windows)
    if n < 2 or n_pairs <= 0:
        return []
    sources = [performance(w) for w in windows]
    mixed = len(set(sources)) > 1
    pairs, seen = [], set()
    for _ in range(50 * n_pairs):
        i, j = (int(k) for k in rng.choice(n, 2, replace=False))
        if (i, j) in seen or (mixed and sources[i] == sources[j]):
            continue
        seen.add((i, j))
        pairs.append((i, j))
        if len(pairs) == n_pairs:
            break
    return pairs


# --- summaries ----------------------------------------------------------------

def summarize_reconstruction(recon, real, decoded, shuffled, styles=None, refined=None):
    """Accuracy, onset P/R/F1, loss and KL for each decoding mode, the decoded reconstructions, and the floor.

    recon: {mode: reconstruction.reconstruct output}; real: the windows'
    grids; decoded: their reconstructions from decode_with_generator (from the
    encoder's means) and refined (from the refined codes, "decoded_refined";
    None: left out); shuffled: each real window with its steps shuffled
    (metrics.shuffle_steps), scored against the original as "shuffle": a
    reconstruction that knows which drums play and how often, but not when.
    styles: each window's style; "by_style" then holds, per style (most
    windows first), its window count and the decoded, refined and shuffle
    step accuracies.
    """
    from bgmaker.data.windows import DRUM_NAMES
    out = {}
    for mode, r in recon.items():
        out[mode] = dict(
            accuracy=metrics.step_accuracy(r["predicted_grids"], r["target_grids"]),
            magenta_accuracy=r["magenta_accuracy"],
            onsets=metrics.onset_prf(r["predicted_grids"], r["target_grids"], names=DRUM_NAMES),
            r_loss=float(r["r_loss"].mean()),
        )
    out["decoded"] = dict(accuracy=metrics.step_accuracy(decoded, real),
                          onsets=metrics.onset_prf(decoded, real, names=DRUM_NAMES),
                          temperature=RECONSTRUCTION_TEMPERATURE)
    out["shuffle"] = dict(accuracy=metrics.step_accuracy(shuffled, real),
                          onsets=metrics.onset_prf(shuffled, real, names=DRUM_NAMES))
    decodings = dict(decoded=decoded, shuffle=shuffled)
    if refined is not None:
        out["decoded_refined"] = dict(accuracy=metrics.step_accuracy(refined, real),
                                      onsets=metrics.onset_prf(refined, real, names=DRUM_NAMES),
                                      temperature=RECONSTRUCTION_TEMPERATURE)
        decodings["decoded_refined"] = refined
    if styles is not None:
        names, counts = np.unique(np.asarray(styles), return_counts=True)
        out["by_style"] = {}
        for style in names[np.argsort(-counts, kind="stable")]:
            m = np.asarray(styles) == style
            out["by_style"][str(style)] = dict(windows=int(m.sum()), **{
                k: metrics.step_accuracy(grids[m], real[m]) for k, grids in decodings.items()})
    # KL depends only on the encoder: the same in both modes up to the posterior sample
    out["kl_bits"] = float(recon["teacher_forced"]["kl_bits"].mean())
    out["kl_bits_std"] = float(recon["teacher_forced"]["kl_bits"].std())
    return out


def compare_features(real, performances, sample_sets, shuffled, reference, path_sets, rng, other_sets=None):
    """Per feature: real mean/std, and for each comparison set its mean/std, KDE overlap and KL vs real.

    Sets: sample_sets ({name: prior samples}); "shuffle" (real windows,
    steps shuffled: a floor on temporal features); "real vs real" (the
    split's performances cut into two halves by metrics.group_halves, one
    half's windows against the other's: what drawing a finite set of real
    drumming costs, a ceiling; each half has half the windows, so KDE noise
    makes it a slightly low ceiling); "train vs real" (as many train windows
    as the split has, against the split: the ceiling at the samples' set
    size, when reference windows are given); and for each interpolation
    method in `path_sets` ({name: paths [pairs, K, 64, 9]}) the in-between
    points k = 1..K-2: are the beats on the way drumming? other_sets: any
    other {name: grids} to score the same way (the variations).
    """
    real_table = metrics.feature_table(real)
    sets = dict(sample_sets, **(other_sets or {}))
    sets["shuffle"] = shuffled
    out = {"real": _moments(real_table), "vs_real": {}}
    if len(set(performances)) >= 2:
        a, b = metrics.group_halves(performances, rng)
        out["vs_real"]["real vs real"] = _compare_tables(metrics.feature_table(real[a]),
                                                         metrics.feature_table(real[b]))
    if reference is not None:
        sets["train vs real"] = reference
    for name, paths in path_sets.items():
        if len(paths) and paths.shape[1] > 2:
            sets[name] = paths[:, 1:-1].reshape(-1, *real.shape[1:])
    for name, grids in sets.items():
        if len(grids):
            out["vs_real"][name] = _compare_tables(real_table, metrics.feature_table(grids))
    return out


def _moments(table):
    return {f: dict(mean=float(v.mean()), std=float(v.std())) for f, v in table.items()}


def _compare_tables(reference, other):
    return {f: dict(mean=float(other[f].mean()), std=float(other[f].std()),
                    **metrics.overlap_and_kl(reference[f], other[f]))
            for f in reference}


def summarize_novelty(sets, reference):
    """metrics.novelty of each set of grids against every reference window (the whole train split)."""
    pool = np.stack([w.grid for w in reference])
    return dict(reference_windows=len(pool), **{name: metrics.novelty(grids, pool) for name, grids in sets.items()})


def summarize_structure(sets):
    """What a drummer hears first, per set of grids: mean bar repetition and kick on the downbeat.

    bar_repetition: Jaccard of bar 3's onsets with bar 1's; kick_on_one: the
    share of bars with a kick on their first sixteenth (bgmaker.metrics.structure).
    Real windows of a groove repeat and land on one; steps shuffled (the
    floor) do neither; train windows are the ceiling from other performances.
    """
    from bgmaker.metrics.structure import bar_repetition, kick_on_one
    return {name: dict(bar_repetition=float(bar_repetition(grids).mean()), kick_on_one=float(kick_on_one(grids).mean()))
            for name, grids in sets.items() if grids is not None and len(grids)}


def two_sample_tests(real, performances, sample_sets, reference, rng):
    """metrics.classifier_two_sample_test of each sample set against the real windows, and the reference.

    {name: result}: "<samples> vs real" per sample set (each sample its own
    group, real windows grouped by performance), and "real vs train" (the
    split's windows against as many train windows; both grouped by
    performance) when reference windows are given: the accuracy that real
    drumming reaches against real drumming with this classifier.
    """
    out = {}
    for name, samples in sample_sets.items():
        out[f"{name} vs real"] = metrics.classifier_two_sample_test(
            samples, real, [f"sample {i}" for i in range(len(samples))], performances, rng)
    if reference:
        out["real vs train"] = metrics.classifier_two_sample_test(
            real, np.stack([w.grid for w in reference]), [f"real {p}" for p in performances],
            [f"train {performance(w)}" for w in reference], rng)
    return out


def crossfade_paths(real, pairs, steps, rng):
    """The data-space baseline path for every pair: metrics.crossfade(A, B) [pairs, steps, 64, 9]."""
    if not pairs:
        return np.zeros((0, steps) + real.shape[1:], bool)
    return np.stack([metrics.crossfade(real[i], real[j], steps, rng) for i, j in pairs])


def summarize_interpolation(real, pairs, path_sets):
    """Distance-to-endpoint curves, monotonicity and smoothness of each method's paths.

    For pair (A, B) and path points k = 0..K-1 (alpha = k/(K-1)):
    d_A[k] = H(path[k], A), d_B[k] = H(path[k], B) with A, B the real
    windows; reported as the mean (and std) curve over pairs, with the
    mean of metrics.monotonicity and metrics.smoothness per path, and the
    endpoint error (d_A[0] + d_B[K-1]) / 2: how far a path's ends are from
    the real windows it should start and end on (0 for the crossfade; the
    mean H(A, B), endpoint_distance, is what a path that ends at the wrong
    window would score).
    """
    if not pairs:
        return dict(pairs=0)
    steps = next(iter(path_sets.values())).shape[1]
    out = dict(pairs=len(pairs), alphas=np.linspace(0, 1, steps).tolist(),
               endpoint_distance=float(np.mean([metrics.hamming(real[i], real[j]) for i, j in pairs])))
    for name, paths in path_sets.items():
        curves = [metrics.distance_curves(p, real[i], real[j]) for p, (i, j) in zip(paths, pairs)]
        d_a = np.array([c[0] for c in curves])
        d_b = np.array([c[1] for c in curves])
        out[name] = dict(
            d_start=d_a.mean(0).tolist(), d_start_std=d_a.std(0).tolist(),
            d_end=d_b.mean(0).tolist(), d_end_std=d_b.std(0).tolist(),
            monotonicity=float(np.mean([metrics.monotonicity(a, b) for a, b in zip(d_a, d_b)])),
            smoothness=float(np.mean([metrics.smoothness(p) for p in paths])),
            detour=float(np.nanmean([metrics.detour(p) for p in paths])) if len(paths) else None,
            endpoint_error=float(np.mean((d_a[:, 0] + d_b[:, -1]) / 2)),
        )
    return out


def structure_figures(structure, user_set, model_set):
    """bar_repetition_* and kick_on_one_* for samples (user temperature, _t1), real, shuffle, train windows."""
    out = {}
    for figure in ("bar_repetition", "kick_on_one"):
        for suffix, name in (("samples", user_set), ("samples_t1", model_set), ("real", "real"),
                             ("shuffle", "shuffle"), ("train", "train")):
            out[f"{figure}_{suffix}"] = structure.get(name, {}).get(figure)
    return out


def summary_row(report):
    """The report's summary: every headline figure with its floor and ceiling, under stable keys.

    Reconstruction: accuracy_teacher_forced, accuracy_free_running,
      accuracy_decoded (encoder mean), accuracy_decoded_refined (refined
      code, refine_steps steps; None without), accuracy_shuffle_floor and
      accuracy_by_style {style: {windows, decoded, decoded_refined, shuffle}};
      onset_f1_free_running, onset_f1_shuffle_floor and the same per drum
      (..._by_drum); kl_bits.
    Samples (suffix _t1: at temperature 1.0; none: at the user's
      temperature, sample_temperature): sample_overlap, sample_kl,
      sample_rhythm_overlap; active_instruments_samples(_t1) vs
      active_instruments_real; bar_repetition_ and kick_on_one_ samples(_t1) vs
      _real, floor _shuffle, ceiling _train (summarize_structure).
      Floor: shuffle_overlap, shuffle_rhythm_overlap.
      Ceilings: real_vs_real_overlap, real_vs_real_rhythm_overlap (halves by
      performance), train_vs_real_overlap, train_vs_real_rhythm_overlap.
    Novelty (None without it): nearest_train_samples(_t1), nearest_train_real
      (mean cells to the nearest train window) and copies_samples(_t1) (train
      windows copied exactly).
    Two-sample accuracy (0.5 = indistinguishable): classifier_samples_vs_real,
      classifier_samples_t1_vs_real; reference classifier_real_vs_train.
    Interpolation, latent vs crossfade: interp_overlap / crossfade_overlap
      (realism of the in-between beats), interp_smoothness /
      crossfade_smoothness, interp_endpoint_error / crossfade_endpoint_error
      next to endpoint_distance, interp_monotonicity / crossfade_monotonicity;
      the same between refined codes (suffix _refined). Variations:
      variation_overlap, variation_overlap_refined (realism of a beat's
      variations at generate's default noise, from its mean / refined code).
    A figure that could not be computed is None (e.g. no train split for the
    reference) or NaN (an F1 of a drum neither played nor predicted; None in
    evaluation.json and in validate()'s summary).
    """
    rec, feats, interp = report["reconstruction"], report["features"], report["interpolation"]
    vs_real, two = feats["vs_real"], report["two_sample"]
    settings = report["settings"]
    user_set, model_set = sample_set_name(settings["user_temperature"]), sample_set_name(MODEL_TEMPERATURE)

    def mean_of(set_name, key, features=None):
        values = [v[key] for f, v in vs_real.get(set_name, {}).items() if features is None or f in features]
        return float(np.mean(values)) if values else None

    def mean_feature(set_name, feature):
        return vs_real[set_name][feature]["mean"] if set_name in vs_real else None

    def accuracy(name):
        return two.get(name, {}).get("accuracy")

    novel = report.get("novelty", {})

    def novelty(set_name, key):
        return novel[set_name][key] if set_name in novel else None

    def f1_by_drum(mode):
        return {drum: row["f1"] for drum, row in rec[mode]["onsets"].items() if drum != "all"}

    return dict(
        model=report["model"]["run"], step=report["model"]["step"], split=report["data"]["split"],
        windows=report["data"]["windows"], performances=report["data"]["performances"],
        accuracy_teacher_forced=rec["teacher_forced"]["accuracy"],
        accuracy_free_running=rec["free_running"]["accuracy"],
        accuracy_decoded=rec["decoded"]["accuracy"],
        accuracy_decoded_refined=rec.get("decoded_refined", {}).get("accuracy"),
        refine_steps=settings.get("refine_steps", 0), variation_noise=settings.get("variation_noise"),
        accuracy_by_style=rec.get("by_style", {}),
        accuracy_shuffle_floor=rec["shuffle"]["accuracy"],
        onset_f1_free_running=rec["free_running"]["onsets"]["all"]["f1"],
        onset_f1_shuffle_floor=rec["shuffle"]["onsets"]["all"]["f1"],
        onset_f1_free_running_by_drum=f1_by_drum("free_running"),
        onset_f1_shuffle_floor_by_drum=f1_by_drum("shuffle"),
        kl_bits=rec["kl_bits"],
        sample_temperature=settings["user_temperature"],
        sample_overlap=mean_of(user_set, "overlap"), sample_overlap_t1=mean_of(model_set, "overlap"),
        sample_kl=mean_of(user_set, "kl"), sample_kl_t1=mean_of(model_set, "kl"),
        sample_rhythm_overlap=mean_of(user_set, "overlap", RHYTHM_FEATURES),
        sample_rhythm_overlap_t1=mean_of(model_set, "overlap", RHYTHM_FEATURES),
        shuffle_overlap=mean_of("shuffle", "overlap"),
        shuffle_rhythm_overlap=mean_of("shuffle", "overlap", RHYTHM_FEATURES),
        real_vs_real_overlap=mean_of("real vs real", "overlap"),
        real_vs_real_rhythm_overlap=mean_of("real vs real", "overlap", RHYTHM_FEATURES),
        train_vs_real_overlap=mean_of("train vs real", "overlap"),
        train_vs_real_rhythm_overlap=mean_of("train vs real", "overlap", RHYTHM_FEATURES),
        **structure_figures(report.get("structure", {}), user_set, model_set),
        active_instruments_real=feats["real"]["active instruments"]["mean"],
        active_instruments_samples=mean_feature(user_set, "active instruments"),
        active_instruments_samples_t1=mean_feature(model_set, "active instruments"),
        classifier_samples_vs_real=accuracy(f"{user_set} vs real"),
        classifier_samples_t1_vs_real=accuracy(f"{model_set} vs real"),
        classifier_real_vs_train=accuracy("real vs train"),
        nearest_train_samples=novelty(user_set, "nearest"), nearest_train_samples_t1=novelty(model_set, "nearest"),
        nearest_train_real=novelty("real", "nearest"),
        copies_samples=novelty(user_set, "copies"), copies_samples_t1=novelty(model_set, "copies"),
        interp_overlap=mean_of("interpolation", "overlap"),
        interp_overlap_refined=mean_of("interpolation refined", "overlap"),
        variation_overlap=mean_of("variations", "overlap"),
        variation_overlap_refined=mean_of("variations refined", "overlap"),
        interp_smoothness_refined=interp.get("refined", {}).get("smoothness"),
        interp_detour=interp.get("model", {}).get("detour"),
        interp_detour_refined=interp.get("refined", {}).get("detour"),
        crossfade_detour=interp.get("crossfade", {}).get("detour"),
        interp_endpoint_error_refined=interp.get("refined", {}).get("endpoint_error"),
        interp_monotonicity_refined=interp.get("refined", {}).get("monotonicity"),
        crossfade_overlap=mean_of("crossfade", "overlap"),
        interp_smoothness=interp.get("model", {}).get("smoothness"),
        crossfade_smoothness=interp.get("crossfade", {}).get("smoothness"),
        interp_endpoint_error=interp.get("model", {}).get("endpoint_error"),
        crossfade_endpoint_error=interp.get("crossfade", {}).get("endpoint_error"),
        endpoint_distance=interp.get("endpoint_distance"),
        interp_monotonicity=interp.get("model", {}).get("monotonicity"),
        crossfade_monotonicity=interp.get("crossfade", {}).get("monotonicity"),
    )


# --- comparison ---------------------------------------------------------------

def load_evaluation(source, split="test"):
    """The evaluation report of a run name, a run dir, an evaluation dir or an evaluation.json.

    For a run (name or dir), its most recent evaluation on `split`.
    """
    from bgmaker_configs import runs
    path = Path(source)
    if not path.exists() and str(source) in runs.RUNS:
        path = runs.get_run(str(source)).run_dir
    if path.is_file():
        return json.loads(path.read_text())
    if (path / "evaluation.json").is_file():
        return json.loads((path / "evaluation.json").read_text())
    found = sorted((path / "evaluation").glob(f"{split}-*/evaluation.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(f"no {split} evaluation for {source} (looked in {path}); "
                                f"make one with: bgmaker evaluate --run NAME")
    return json.loads(found[-1].read_text())


def compare(sources, split="test"):
    """A Markdown table with one row per evaluated model (run names, dirs or evaluation.json paths)."""
    rows = [load_evaluation(s, split)["summary"] for s in sources]
    return comparison_table(rows)


def comparison_table(rows):
    head = "| " + " | ".join(title for _, title, _ in SUMMARY_COLUMNS) + " |"
    rule = "|" + "|".join("---" if i < 3 else "---:" for i in range(len(SUMMARY_COLUMNS))) + "|"
    lines = [head, rule]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key), fmt) for key, _, fmt in SUMMARY_COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def _cell(value, fmt):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return fmt.format(value)
