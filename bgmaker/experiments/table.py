"""Regenerate the experiments table: train every row on every dataset, score on test, write the report.

`run(...)` trains the registry's rows (seeded), picks each model's threshold on validation, scores it on
the test split beside floors (always-silent, per-key frequency, a shuffled window), adds MusicVAE's
committed figures on the drum grids, and writes to `output_dir`:

- README.md: the tables (counts, reconstructions per dataset, samples), how it was made;
- results.json: every figure (no timings, so a rerun rewrites it identically);
- timing.json: CPU and wall seconds per row and in all;
- loss_curves.png, reconstructions-<dataset>.png.
"""
import json
import os
import time
from pathlib import Path

import numpy as np

from bgmaker.experiments import data as rolls_data
from bgmaker.experiments import scores
from bgmaker.experiments.networks import (EXPERIMENTS, ORIGINAL_ROWS, build, keras_counts, load_keras,
                                          pytorch_convention_count)

REPO = Path(__file__).resolve().parents[2]
SHARED_RUNS = {"03": ("04", 6)}   # 03 = the best of the first 6 epochs of 04's run (see train.py)
N_SAMPLES = 256
DATASET_TITLES = {"piano": "Bach chorales (music21 corpus), 88-key frame roll",
                  "drums": "v2_rock_beat drum grids (GMD rock beats), 9 drums x 64 sixteenths"}


def load_dataset(name, seed=0, quick=False):
    """{split: Rolls} and a description for 'piano' (Bach), 'drums' (v2_rock_beat) or a MIDI folder path."""
    if name == "piano":
        rolls = rolls_data.bach_chorale_rolls()
        if quick:
            rolls = {k: rolls[k] for k in sorted(rolls)[:30]}
        splits, frames = rolls_data.split_by_piece(rolls, seed), True
        about = (f"{len(rolls)} pieces of music21's Bach corpus (music21 {_version('music21')}), split by piece "
                 f"80/10/10 (seed {seed}); eighth-note steps, windows of {rolls_data.PIANO_WINDOW_STEPS} steps "
                 f"(4 bars of 4/4) every {rolls_data.PIANO_HOP_STEPS} steps; a cell is on while a note sounds")
    elif name == "drums":
        splits, frames = rolls_data.drum_grids(), False
        about = ("every 4-bar window of v2_rock_beat (GMD's rock beats, its official splits by performance); "
                 "16th-note steps, 64 x 9 onset grids (the windows module's to_grid)")
    else:
        rolls, skipped = rolls_data.midi_folder_rolls(name)
        splits, frames = rolls_data.split_by_piece(rolls, seed), True
        about = f"{len(rolls)} MIDI files under {name} ({len(skipped)} skipped), split by file 80/10/10"
    if quick:
        splits = {k: v.take(slice(0, 96 if k == "train" else 48)) for k, v in splits.items()}
    return splits, frames, about


def _version(package):
    from importlib.metadata import version
    return version(package)


# ----------------------------------------------------------------------------------------------------------
# Floors

def floors(splits, frames, seed=0):
    """Baselines on test, thresholds on validation: always silent, per-key training frequency, a shuffled window.

    silent: predicts 0 everywhere (L2 = the test density). key frequency: each key's training-split
    frequency at every step (the best constant-in-time guess). shuffle: each test window "reconstructed"
    as another test window of another piece (seeded): real music, the wrong music.
    """
    test, val, train = splits["test"].x, splits["validation"].x, splits["train"].x
    rng = np.random.default_rng(seed)
    out = {"silent": scores.reconstruction_scores(np.zeros_like(test), test, 0.5, frames)}
    freq = train.mean(axis=(0, 1))
    threshold, _ = scores.choose_threshold(np.broadcast_to(freq, val.shape), val)
    out["key frequency"] = scores.reconstruction_scores(np.broadcast_to(freq, test.shape), test, threshold, frames)
    pieces = splits["test"].pieces
    other = np.array([rng.choice(np.flatnonzero(pieces != p)) if np.any(pieces != p) else i
                      for i, p in enumerate(pieces)])
    out["shuffle"] = scores.reconstruction_scores(test[other], test, 0.5, frames)
    return out


# ----------------------------------------------------------------------------------------------------------
# Drum sample metrics (the evaluation's figures, on our samples)

def drum_sample_metrics(samples, real, real_pieces, seed=0):
    """The honest-evaluation sample figures of drum grids against the real test windows.

    overlap: mean over bgmaker.metrics' features of the KDE overlapping area with the real windows;
    rhythm: the same over syncopation and groove consistency; classifier: held-out balanced accuracy of
    the two-sample logistic regression (0.5 = indistinguishable; folds grouped by performance);
    bar repetition (bar 3 vs bar 1 Jaccard), kick on the downbeat, active instruments: means.
    """
    from bgmaker import metrics
    from bgmaker.metrics.structure import bar_repetition, kick_on_one

    samples, real = np.asarray(samples, bool), np.asarray(real, bool)
    rng = np.random.default_rng(seed)
    ref, table = metrics.feature_table(real), metrics.feature_table(samples)
    per = {f: metrics.overlap_and_kl(ref[f], table[f])["overlap"] for f in ref}
    two = metrics.classifier_two_sample_test(samples, real, [f"sample {i}" for i in range(len(samples))],
                                             list(real_pieces), rng)
    return dict(overlap=float(np.mean(list(per.values()))),
                rhythm_overlap=float(np.mean([per[f] for f in metrics.RHYTHM_FEATURES])),
                classifier=two["accuracy"], bar_repetition=float(bar_repetition(samples).mean()),
                kick_on_one=float(kick_on_one(samples).mean()),
                active_instruments=float(table["active instruments"].mean()),
                density=scores.density(samples), polyphony=scores.notes_per_sounding_step(samples))


def piano_sample_metrics(samples):
    """Density, polyphony and silent windows of sampled rolls (the piano roll has no drum features)."""
    return dict(density=scores.density(samples), polyphony=scores.notes_per_sounding_step(samples),
                silent_windows=scores.silent_windows(samples))


# ----------------------------------------------------------------------------------------------------------
# MusicVAE's committed figures

def musicvae_rows():
    """MusicVAE on v2_rock_beat from the committed reports (no model is run here).

    Shipped model: models/v2_rock_beat/evaluation.json (test split, all 316 windows): the decoded
    reconstruction (posterior mean, free-running at temperature 0.001), whose onset counts give the L2 of
    its 0/1 grid and its density; samples at T=0.5 and 1. Recipe runs: reports/recipes.json, the last
    milestone of each, scored on the validation split (quick mode: 128 windows) -- not the test split.
    The flat cat-drums_4bar baseline: reports/models/flat-windows-b64/evaluation.json (test split, its
    best milestone on validation), like the shipped model.
    """
    rows = []
    shipped = _test_split_row(REPO / "models/v2_rock_beat/evaluation.json", "MusicVAE hierdec-drum_4bar (shipped)",
                              8_048_128)
    if shipped:
        rows.append(shipped)
    recipes_path = REPO / "reports/recipes.json"
    if recipes_path.exists():
        for r in json.loads(recipes_path.read_text())["results"]:
            if not r.get("validation"):
                continue
            last = r["validation"][-1]
            s = last["summary"]
            rows.append(dict(
                id=f"MusicVAE hierdec-drum_4bar, recipe {r['recipe']}", split="validation (128 windows)",
                source=str(recipes_path.relative_to(REPO)), params=8_048_128, steps=last["step"],
                free_running=dict(f1=s["onset_f1_free_running"]),
                samples={"T=0.5": dict(overlap=s["sample_overlap"], rhythm_overlap=s["sample_rhythm_overlap"],
                                       classifier=s["classifier_samples_vs_real"],
                                       bar_repetition=s["bar_repetition_samples"],
                                       kick_on_one=s["kick_on_one_samples"],
                                       active_instruments=s["active_instruments_samples"])}))
    flat = _test_split_row(REPO / "reports/models/flat-windows-b64/evaluation.json",
                           "MusicVAE cat-drums_4bar, recipe windows-b64 (80 CPU-min; reports/models.py)", 5_685_760)
    rows.append(flat or dict(id="MusicVAE cat-drums_4bar", split=None, source=None, params=5_685_760,
                             status="not trained yet (reports/models.py trains it)"))
    return rows


def _test_split_row(report_path, name, params):
    """A MusicVAE row from a committed test-split evaluation report, or None when there is none."""
    if not report_path.exists():
        return None
    report = json.loads(report_path.read_text())
    s, rec = report["summary"], report["reconstruction"]
    cells = report["data"]["windows"] * 64 * 9

    def from_onsets(mode):
        a = rec[mode]["onsets"]["all"]
        tp = a["recall"] * a["support"]
        fp, fn = tp / a["precision"] - tp, a["support"] - tp
        return dict(l2=(fp + fn) / cells, f1=a["f1"], density_out=(tp + fp) / cells,
                    density_in=a["support"] / cells)
    return dict(
        id=name, split="test", source=str(report_path.relative_to(REPO)),
        params=params, steps=report["model"]["step"], decoded=from_onsets("decoded"),
        free_running=from_onsets("free_running"),
        samples={"T=0.5": dict(overlap=s["sample_overlap"], rhythm_overlap=s["sample_rhythm_overlap"],
                               classifier=s["classifier_samples_vs_real"],
                               bar_repetition=s["bar_repetition_samples"], kick_on_one=s["kick_on_one_samples"],
                               active_instruments=s["active_instruments_samples"]),
                 "T=1": dict(overlap=s["sample_overlap_t1"], rhythm_overlap=s["sample_rhythm_overlap_t1"],
                             classifier=s["classifier_samples_t1_vs_real"],
                             bar_repetition=s["bar_repetition_samples_t1"],
                             kick_on_one=s["kick_on_one_samples_t1"],
                             active_instruments=s["active_instruments_samples_t1"])},
        reference=dict(real_vs_train_overlap=s["train_vs_real_overlap"],
                       real_vs_train_rhythm_overlap=s["train_vs_real_rhythm_overlap"],
                       classifier_real_vs_train=s["classifier_real_vs_train"],
                       bar_repetition_real=s["bar_repetition_real"], kick_on_one_real=s["kick_on_one_real"],
                       active_instruments_real=s["active_instruments_real"],
                       shuffle_rhythm_overlap=s["shuffle_rhythm_overlap"]))


def refresh_musicvae_rows(output_dir=REPO / "experiments"):
    """Rewrite the MusicVAE rows of an experiments run (results.json, README.md) from today's committed
    reports, without training anything again: `python -c "from bgmaker.experiments.table import
    refresh_musicvae_rows as r; r()"`. A full `bgmaker experiments` gives the same rows."""
    from bgmaker.experiments.report import write_readme
    output_dir = Path(output_dir)
    results = json.loads((output_dir / "results.json").read_text())
    timing = json.loads((output_dir / "timing.json").read_text())
    results["datasets"]["drums"]["musicvae"] = musicvae_rows()
    results = _rounded(results)
    (output_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    write_readme(results, timing, output_dir / "README.md")


# ----------------------------------------------------------------------------------------------------------
# The run

def counts_table(names=None):
    """Keras and PyTorch-convention parameter counts of the registry's entries at 88 keys, 32 steps."""
    keras = load_keras()
    out = {}
    for name, e in EXPERIMENTS.items():
        if names is not None and name not in names:
            continue
        keras.backend.clear_session()
        built = build(e, rolls_data.KEYS, rolls_data.PIANO_WINDOW_STEPS)
        k = keras_counts(built)
        out[name] = dict(keras_trainable=k["trainable"], keras_non_trainable=k["non_trainable"],
                         pytorch_convention=pytorch_convention_count(built),
                         original=ORIGINAL_ROWS[name]["params"] if name in ORIGINAL_ROWS else None)
    return out


def run(output_dir, datasets=("piano", "drums"), only=None, quick=False, seed=0, log=print):
    """Train and score every row on every dataset, then write the report to output_dir (see the module doc)."""
    keras = load_keras()

    from bgmaker.experiments import plots
    from bgmaker.experiments.train import train

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    cpu0, wall0 = time.process_time(), time.time()
    names = [n for n in EXPERIMENTS if only is None or n in only]
    results = dict(settings=dict(seed=seed, quick=quick, datasets=list(datasets), rows=names),
                   counts=counts_table(names), datasets={})
    timing = dict(rows={})
    trained_by_dataset = {}
    for dataset in datasets:
        t_data = time.process_time()
        splits, frames, about = load_dataset(dataset, seed, quick)
        key = "piano" if dataset == "piano" else "drums" if dataset == "drums" else "midi"
        log(f"{dataset}: " + ", ".join(f"{k} {len(v)} windows" for k, v in splits.items())
            + f" ({time.process_time() - t_data:.0f} CPU-s to load)")
        entry = dict(about=about, frames=frames, windows={k: len(v) for k, v in splits.items()},
                     pieces={k: len(set(v.pieces)) for k, v in splits.items()},
                     shape=list(splits["test"].x.shape[1:]), floors=floors(splits, frames, seed), rows={})
        trained = {}
        runs_needed = []
        for n in names:
            base = SHARED_RUNS.get(n, (n, None))[0]
            if base not in runs_needed:
                runs_needed.append(base)
        for n in runs_needed:
            keras.backend.clear_session()
            snap = [k for m, (b, k) in SHARED_RUNS.items() if b == n and m in names]
            epochs = 1 if quick else None
            log(f"[{dataset}] training {n}")
            t0, w0 = time.process_time(), time.time()
            trained[n] = train(EXPERIMENTS[n], splits["train"], splits["validation"], seed=seed, epochs=epochs,
                               epoch_windows=64 if quick else None, snapshot_epochs=[1 if quick else k for k in snap],
                               log=log)
            timing["rows"][f"{dataset}/{n}"] = dict(cpu_s=round(time.process_time() - t0, 1),
                                                     wall_s=round(time.time() - w0, 1))
            for m, (b, k) in SHARED_RUNS.items():
                if b == n and m in names:
                    trained[m] = _snapshot(trained[n], EXPERIMENTS[m], 1 if quick else k)
            for m in [m for m in trained if m in names]:
                if m not in entry["rows"]:
                    entry["rows"][m] = score(trained[m], splits, frames, dataset, seed)
        trained_by_dataset[dataset] = (trained, splits)
        if dataset == "drums":
            entry["musicvae"] = musicvae_rows()
            entry["real_test"] = drum_sample_metrics(splits["test"].x, splits["test"].x, splits["test"].pieces, seed)
            rng = np.random.default_rng(seed)
            from bgmaker.metrics import shuffle_steps
            entry["shuffle_samples"] = drum_sample_metrics(shuffle_steps(splits["test"].x.astype(bool), rng),
                                                           splits["test"].x, splits["test"].pieces, seed)
        results["datasets"][key] = entry
    plots.loss_curves({d: t for d, (t, _) in trained_by_dataset.items()}, results, output_dir / "loss_curves.png")
    for dataset, (trained, splits) in trained_by_dataset.items():
        plots.reconstructions(trained, splits, results["datasets"]["piano" if dataset == "piano" else
                                                                 "drums" if dataset == "drums" else "midi"],
                              output_dir / f"reconstructions-{dataset if dataset in ('piano', 'drums') else 'midi'}.png",
                              seed=seed)
    timing.update(cpu_s=round(time.process_time() - cpu0, 1), wall_s=round(time.time() - wall0, 1),
                  load_average=os.getloadavg())
    (output_dir / "results.json").write_text(json.dumps(_rounded(results), indent=1) + "\n")
    (output_dir / "timing.json").write_text(json.dumps(timing, indent=1) + "\n")
    from bgmaker.experiments.report import write_readme
    write_readme(_rounded(results), timing, output_dir / "README.md")
    log(f"wrote {output_dir}/README.md, results.json, timing.json and plots "
        f"({timing['cpu_s'] / 60:.1f} CPU-min, {timing['wall_s'] / 60:.1f} min wall)")
    return results


def _snapshot(trained, experiment, k):
    """A TrainedNetwork of `experiment` holding the best weights within the first k epochs of `trained`'s run."""
    from dataclasses import replace
    best_epoch, weights = trained.snapshots[k]
    # weights are copied into a second model of the same shape, so both rows can be scored
    built = build(experiment, *reversed(trained.built.input_shape[1:])) if not experiment.is_vae else None
    built.set_weights(weights[0])
    return replace(trained, experiment=experiment, built=built, history=trained.history[:k], best_epoch=best_epoch,
                   snapshots={})


def score(trained, splits, frames, dataset, seed):
    """A trained row's figures: threshold on validation, everything else on test; samples for VAEs."""
    val, test = splits["validation"].x, splits["test"].x
    pred_val, pred_test = trained.predict(val), trained.predict(test)
    threshold, val_f1 = scores.choose_threshold(pred_val, val)
    history = [{k: v for k, v in h.items() if k != "seconds"} for h in trained.history]  # timings: timing.json
    row = dict(best_epoch=trained.best_epoch, epochs_run=len(trained.history), nan_at=trained.nan_at,
               history=history, val_f1=val_f1,
               test=scores.reconstruction_scores(pred_test, test, threshold, frames),
               best_val_objective=min([h["val_loss"] for h in trained.history if np.isfinite(h["val_loss"])],
                                      default=None))
    if trained.experiment.is_vae:
        samples = trained.sample(N_SAMPLES, seed=seed) > threshold
        row["samples"] = (drum_sample_metrics(samples, test, splits["test"].pieces, seed) if dataset == "drums"
                          else piano_sample_metrics(samples))
    return row


def _rounded(obj, digits=6):
    if isinstance(obj, float):
        return None if not np.isfinite(obj) else round(obj, digits)
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v, digits) for v in obj]
    if isinstance(obj, np.generic):
        return _rounded(obj.item(), digits)
    return obj
