"""How good is a drum model: numbers on GMD's held-out windows, for a paper's reviewer.

`evaluate(run, checkpoint, split)` answers three questions on every 4-bar
window of the run's split (bgmaker.windows; a split stored as whole
performances is cut into windows here) and writes evaluation.json,
evaluation.md and plots into `<run dir>/evaluation/<split>-<checkpoint>/`:

1. Reconstruction (bgmaker.reconstruction): 512-class step accuracy,
   teacher-forced and free-running, as in the MusicVAE paper and Magenta's
   eval job; onset P/R/F1 per drum; reconstruction loss and KL per window;
   and the reconstruction a user gets (posterior mean, decoded).
2. Samples against real drumming (MGEval-style, bgmaker.metrics): feature
   distributions of N prior samples vs the real windows, as KDE overlap and
   KL, next to two references: the shuffle baseline (real windows, steps
   shuffled: a floor) and one random half of the real windows against the
   other (a ceiling).
3. Interpolation: slerp paths between pairs of real windows, decoded; the
   Hamming distance to each endpoint along the path, monotonicity,
   smoothness and how real the in-between beats are, against the naive
   data-space crossfade.

`compare(sources)` puts the summaries of several evaluations in one Markdown
table, one row per model. The CLI (bgmaker.evaluate_cli) and the notebook
call these two functions.
"""
import inspect
import json
import time
from pathlib import Path

import numpy as np

from bgmaker import metrics

# Decoding temperature of the "decoded" reconstructions: near-greedy, so the
# number measures the model rather than sampling noise.
RECONSTRUCTION_TEMPERATURE = 1e-3

# The features that depend on time order: the shuffle baseline keeps every
# other feature exactly, so only these can tell a model from shuffled drumming.
RHYTHM_FEATURES = ("syncopation", "groove consistency")

SUMMARY_COLUMNS = (  # key in report["summary"], column title, format
    ("model", "model", "{}"),
    ("step", "step", "{}"),
    ("split", "split", "{}"),
    ("windows", "windows", "{}"),
    ("accuracy_teacher_forced", "acc. TF", "{:.3f}"),
    ("accuracy_free_running", "acc. free", "{:.3f}"),
    ("accuracy_decoded", "acc. decoded", "{:.3f}"),
    ("onset_f1_free_running", "onset F1 free", "{:.3f}"),
    ("kl_bits", "KL bits", "{:.1f}"),
    ("sample_overlap", "sample overlap", "{:.3f}"),
    ("sample_kl", "sample KL", "{:.3f}"),
    ("sample_rhythm_overlap", "sample rhythm overlap", "{:.3f}"),
    ("shuffle_rhythm_overlap", "shuffle rhythm overlap", "{:.3f}"),
    ("interp_monotonicity", "interp. monotone", "{:.3f}"),
    ("crossfade_monotonicity", "crossfade monotone", "{:.3f}"),
    ("interp_overlap", "interp. realism", "{:.3f}"),
    ("crossfade_overlap", "crossfade realism", "{:.3f}"),
)


def evaluate(run, checkpoint=None, split="test", *, examples_path=None, output_dir=None,
             n_samples=256, n_interpolations=32, interpolation_steps=9, temperature=1.0,
             interpolation_temperature=0.5, max_windows=None, batch_size=64, seed=0, log=print):
    """Evaluate `checkpoint` of `run` on the run's `split`; write and return the report dict.

    run: a Run, a run name (bgmaker_configs.RUNS) or a model config name
      (then give checkpoint and examples_path). checkpoint: a checkpoint path,
      a directory (its latest checkpoint, or its train/ folder's), or None for
      the latest in the run's train/ folder. examples_path: the NoteSequence
      TFRecord to evaluate on (default: the run's `split` file).
    n_samples: prior samples at `temperature` for the feature comparison.
    n_interpolations pairs of real windows, each decoded at
      `interpolation_steps` points at `interpolation_temperature` (lower than
      the samples' so the curve shows the latent path, not sampling noise).
    max_windows: evaluate a random subset of at most this many windows.
    """
    started = time.time()
    run = resolve_run(run)
    checkpoint = find_checkpoint(run, checkpoint)
    examples_path = Path(examples_path) if examples_path else run.examples_path(split)
    if not examples_path.is_file():
        raise FileNotFoundError(
            f"no {split} data for run {run.name}: {examples_path} does not exist; "
            + (f"make it with: scripts/convert_gmd.sh --run {run.name}" if _is_named_run(run)
               else "give the windows to evaluate on (examples_path, --examples)"))
    output_dir = Path(output_dir) if output_dir else default_output_dir(checkpoint, split)
    rng = np.random.default_rng(seed)

    windows, skipped = read_windows(examples_path, max_windows, rng)
    if not windows:
        raise ValueError(f"{examples_path} holds no usable 4-bar window")
    real = np.stack([w.grid for w in windows])
    log(f"evaluating {run.name} {checkpoint} on {len(windows)} {split} windows of {examples_path}")

    from bgmaker import reconstruction
    config = reconstruction.model_config(run, checkpoint)
    recon = {}
    for mode, teacher_forced in (("teacher_forced", True), ("free_running", False)):
        log(f"reconstruction, {mode.replace('_', '-')}:")
        recon[mode] = reconstruction.reconstruct(config, checkpoint, [w.sequence for w in windows],
                                                 teacher_forced, batch_size=batch_size, seed=seed,
                                                 progress=_progress(log, len(windows)))
    log(f"decoding {len(windows)} reconstructions, {n_samples} samples and {n_interpolations} interpolations")
    decoded = decode_with_trained_model(
        config, checkpoint, windows, n_samples, n_interpolations, interpolation_steps,
        temperature, interpolation_temperature, batch_size, rng)
    samples, pairs, paths = decoded["samples"], decoded["pairs"], decoded["paths"]

    crossfades = crossfade_paths(real, pairs, interpolation_steps, rng)

    log("comparing feature distributions")
    report = dict(
        model=dict(run=run.name, config=run.config, checkpoint=str(checkpoint),
                   step=checkpoint_step(checkpoint), hparams=str(config.hparams.values())),
        data=dict(split=split, examples_path=str(examples_path), windows=len(windows),
                  skipped=skipped, max_windows=max_windows),
        settings=dict(n_samples=n_samples, temperature=temperature, n_interpolations=len(pairs),
                      interpolation_steps=interpolation_steps,
                      interpolation_temperature=interpolation_temperature, seed=seed,
                      z="posterior sample (as Magenta's eval job)"),
        reconstruction=summarize_reconstruction(recon, real, decoded["reconstructions"]),
        features=compare_features(real, samples, {"interpolation": paths, "crossfade": crossfades}, rng),
        interpolation=summarize_interpolation(real, pairs, {"model": paths, "crossfade": crossfades}),
    )
    report["summary"] = summary_row(report)
    report["command"] = command_line(run, checkpoint, split, examples_path, dict(
        max_windows=max_windows, n_samples=n_samples, n_interpolations=n_interpolations,
        interpolation_steps=interpolation_steps, temperature=temperature,
        interpolation_temperature=interpolation_temperature, batch_size=batch_size, seed=seed))
    report["seconds"] = round(time.time() - started, 1)
    report["output_dir"] = str(output_dir)

    from bgmaker import evaluation_report
    examples = dict(latent=paths[0], crossfade=crossfades[0]) if pairs else None
    written = evaluation_report.write(report, output_dir, real=real, samples=samples,
                                      shuffled=metrics.shuffle_steps(real, rng), example_paths=examples)
    log(f"wrote {', '.join(str(p) for p in written)} ({report['seconds']} s)")
    return report


# --- inputs -------------------------------------------------------------------

def resolve_run(run):
    """A Run from a Run, a run name, or a model config name (a Run named after the model)."""
    from bgmaker_configs import models, runs
    if isinstance(run, runs.Run):
        return run
    if run in runs.RUNS:
        return runs.get_run(run)
    if run in models.MODELS:
        return runs.Run(name=run, config=run, select={}, description=f"model config {run}")
    raise runs.UnknownRunError(
        f"unknown run or model '{run}'; runs: {', '.join(sorted(runs.RUNS))}; "
        f"models: {', '.join(sorted(models.MODELS))}")


def find_checkpoint(run, checkpoint=None):
    """The checkpoint path prefix to evaluate (FileNotFoundError naming the command that makes one)."""
    if checkpoint is None:
        folder = run.run_dir / "train"
        found = run.checkpoint()  # newest in <run>/train, else the shipped model
        if not found:
            raise FileNotFoundError(
                f"no checkpoint for run {run.name} in {folder}; "
                + (f"train it first: bgmaker train --run {run.name}" if _is_named_run(run)
                   else "give the checkpoint to evaluate (checkpoint, --checkpoint)"))
        return Path(found)
    from bgmaker.generate import resolve_checkpoint
    return Path(resolve_checkpoint(checkpoint))


def _is_named_run(run):
    from bgmaker_configs import runs
    return runs.RUNS.get(run.name) == run


def checkpoint_step(checkpoint):
    tail = Path(checkpoint).name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def default_output_dir(checkpoint, split):
    """<run dir>/evaluation/<split>-<checkpoint name>, the run dir being the one holding train/."""
    checkpoint = Path(checkpoint)
    run_dir = checkpoint.parent.parent if checkpoint.parent.name == "train" else checkpoint.parent
    return run_dir / "evaluation" / f"{split}-{checkpoint.name}"


def read_windows(examples_path, max_windows=None, rng=None):
    """Every 4-bar window (bgmaker.windows.Window) of the NoteSequences in a TFRecord.

    A stored window gives itself back; a whole performance gives all its
    windows. Returns (windows, skipped): skipped maps each reason a record
    gave no window (e.g. "tempo changes") to how many did. With max_windows,
    a random subset (rng) in file order.
    """
    import note_seq
    from magenta.pipelines.pipeline import tf_record_iterator
    from bgmaker import windows as windows_lib

    found, skipped = [], {}
    for ns in tf_record_iterator(str(examples_path), note_seq.NoteSequence):
        try:
            found.extend(windows_lib.extract_windows(ns))
        except windows_lib.UnusableSequenceError as e:
            skipped[str(e)] = skipped.get(str(e), 0) + 1
    if max_windows is not None and len(found) > max_windows:
        keep = np.sort((rng or np.random.default_rng(0)).choice(len(found), max_windows, replace=False))
        found = [found[i] for i in keep]
    return found, skipped


def command_line(run, checkpoint, split, examples_path, options):
    """The `bgmaker evaluate` command that repeats this evaluation (options at evaluate()'s defaults left out)."""
    defaults = {k: p.default for k, p in inspect.signature(evaluate).parameters.items()}
    flags = dict(n_samples="samples", n_interpolations="interpolations")
    words = ["bgmaker evaluate", f"--run {run.name}", f"--checkpoint {checkpoint}", f"--split {split}"]
    if not _is_named_run(run) or Path(examples_path) != run.examples_path(split):
        words.append(f"--examples {examples_path}")
    words += [f"--{flags.get(k, k).replace('_', '-')} {v}" for k, v in options.items() if v != defaults[k]]
    return " ".join(words)


def _progress(log, total, every=0.1):
    marks = {max(1, round(total * k * every)) for k in range(1, int(1 / every) + 1)}

    def report(done, total=total):
        if done in marks or done == total:
            log(f"  {done}/{total} windows")
    return report


# --- model outputs ------------------------------------------------------------

def decode_with_trained_model(config, checkpoint, windows, n_samples, n_pairs, steps, temperature,
                              interpolation_temperature, batch_size, rng):
    """What a user of the model gets, through Magenta's TrainedModel. Returns a dict of grids:

    samples [n, 64, 9]: decoded from z ~ N(0, I) at `temperature`;
    reconstructions [windows, 64, 9]: each window encoded to its posterior
      mean and decoded fully free-running at RECONSTRUCTION_TEMPERATURE
      (near-greedy), the reconstruction a user hears;
    pairs [(i, j)] and paths [pairs, steps, 64, 9]: `steps` points decoded
      on the slerp between the posterior means of windows i and j, as
      TrainedModel.interpolate does, batched over all pairs. Pairs come from
      different performances where the split has more than one, so an
      interpolation has somewhere to go.
    """
    from magenta.models.music_vae.trained_model import TrainedModel
    from bgmaker.windows import STEPS, to_grid

    def grids(sequences):
        return np.stack([to_grid(ns) for ns in sequences]) if sequences else np.zeros((0, STEPS, 9), bool)

    np.random.seed(int(rng.integers(2**31)))  # TrainedModel.sample draws z with np.random
    model = TrainedModel(config, batch_size=batch_size, checkpoint_dir_or_path=str(checkpoint))
    out = dict(samples=grids(model.sample(n_samples, length=STEPS, temperature=temperature) if n_samples else []))
    _, mu, _ = model.encode([w.sequence for w in windows])
    out["reconstructions"] = grids(model.decode(mu, length=STEPS, temperature=RECONSTRUCTION_TEMPERATURE))
    out["pairs"] = choose_pairs(windows, n_pairs, rng)
    if not out["pairs"]:
        out["paths"] = np.zeros((0, steps, STEPS, 9), bool)
        return out
    z = np.concatenate([slerp(mu[i], mu[j], np.linspace(0, 1, steps)) for i, j in out["pairs"]])
    decoded = model.decode(z, length=STEPS, temperature=interpolation_temperature)
    out["paths"] = grids(decoded).reshape(len(out["pairs"]), steps, STEPS, -1)
    return out


def choose_pairs(windows, n_pairs, rng):
    """Up to n_pairs distinct (i, j) window index pairs, from different performances when possible."""
    n = len(windows)
    if n < 2 or n_pairs <= 0:
        return []
    sources = [w.sequence.filename or w.sequence.id for w in windows]
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


def slerp(p0, p1, t):
    """Spherical interpolation between latent vectors, TrainedModel.interpolate's formula, for t in [0, 1]."""
    t = np.asarray(t, float)[:, None]
    omega = np.arccos(np.clip(np.dot(p0 / np.linalg.norm(p0), p1 / np.linalg.norm(p1)), -1, 1))
    if np.isclose(np.sin(omega), 0):
        return (1 - t) * p0 + t * p1
    return (np.sin((1 - t) * omega) * p0 + np.sin(t * omega) * p1) / np.sin(omega)


# --- summaries ----------------------------------------------------------------

def summarize_reconstruction(recon, real, decoded):
    """Accuracy, onset P/R/F1, loss and KL for each decoding mode, and for the decoded reconstructions.

    recon: {mode: reconstruction.reconstruct output}; real: the windows'
    grids; decoded: their reconstructions from decode_with_trained_model.
    """
    from bgmaker.windows import DRUM_NAMES
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
    # KL depends only on the encoder: the same in both modes up to the posterior sample
    out["kl_bits"] = float(recon["teacher_forced"]["kl_bits"].mean())
    out["kl_bits_std"] = float(recon["teacher_forced"]["kl_bits"].std())
    return out


def compare_features(real, samples, path_sets, rng):
    """Per feature: real mean/std, and for each comparison set its mean/std, KDE overlap and KL vs real.

    Sets: "samples" (prior samples); "shuffle" (real windows, steps
    shuffled: a floor on temporal features); "real half" (one random half
    of the real windows against the other half: what drawing a finite set
    alone costs, a ceiling); and for each interpolation method in
    `path_sets` ({name: paths [pairs, K, 64, 9]}) the in-between points
    k = 1..K-2: are the beats on the way drumming?
    """
    real_table = metrics.feature_table(real)
    sets = {"samples": samples, "shuffle": metrics.shuffle_steps(real, rng)}
    for name, paths in path_sets.items():
        if len(paths) and paths.shape[1] > 2:
            sets[name] = paths[:, 1:-1].reshape(-1, *real.shape[1:])
    out = {"real": _moments(real_table), "vs_real": {}}
    if len(real) >= 4:
        order = rng.permutation(len(real))
        a, b = order[: len(real) // 2], order[len(real) // 2:]
        out["vs_real"]["real half"] = _compare_tables(metrics.feature_table(real[a]),
                                                      metrics.feature_table(real[b]))
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
    the real windows it should start and end on (0 for the crossfade).
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
            endpoint_error=float(np.mean((d_a[:, 0] + d_b[:, -1]) / 2)),
        )
    return out


def summary_row(report):
    """The report's one row of the comparison table (see SUMMARY_COLUMNS)."""
    rec, feats, interp = report["reconstruction"], report["features"]["vs_real"], report["interpolation"]

    def mean_of(set_name, key, features=None):
        values = [v[key] for f, v in feats.get(set_name, {}).items() if features is None or f in features]
        return float(np.mean(values)) if values else None

    return dict(
        model=report["model"]["run"], step=report["model"]["step"], split=report["data"]["split"],
        windows=report["data"]["windows"],
        accuracy_teacher_forced=rec["teacher_forced"]["accuracy"],
        accuracy_free_running=rec["free_running"]["accuracy"],
        accuracy_decoded=rec["decoded"]["accuracy"],
        onset_f1_free_running=rec["free_running"]["onsets"]["all"]["f1"],
        kl_bits=rec["kl_bits"],
        sample_overlap=mean_of("samples", "overlap"), sample_kl=mean_of("samples", "kl"),
        sample_rhythm_overlap=mean_of("samples", "overlap", RHYTHM_FEATURES),
        shuffle_rhythm_overlap=mean_of("shuffle", "overlap", RHYTHM_FEATURES),
        interp_monotonicity=interp.get("model", {}).get("monotonicity"),
        crossfade_monotonicity=interp.get("crossfade", {}).get("monotonicity"),
        interp_overlap=mean_of("interpolation", "overlap"),
        crossfade_overlap=mean_of("crossfade", "overlap"),
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
