"""The summary of an evaluation: every headline figure, declared once, with what it should be read against.

FIGURES lists every figure of a report's summary in the order evaluation.json stores them: its key, how it
is read from the report's sections (bgmaker.evaluation.sections), and, for the figures of the comparison
across models (bgmaker.evaluation.comparison), its column title; each with the format every table prints
it in. HEADLINES groups them into the rows of evaluation.md's summary table: a figure beside its floor
(or baseline) and its ceiling (or reference), so that no number is read alone. summary_row,
COMPARE_COLUMNS and the summary table (bgmaker.evaluation.report) are all read off these two.

A figure that could not be computed is None (e.g. no train split for the reference) or NaN (an F1 of a
drum neither played nor predicted; None in evaluation.json and in validate()'s summary).
"""
from collections import namedtuple
from dataclasses import dataclass
from typing import Callable

import numpy as np

from bgmaker.metrics import RHYTHM_FEATURES

# Samples are scored at the user's temperature (DEFAULT_TEMPERATURE) and at
# this one: the decoder's own distribution, what the model learned.
MODEL_TEMPERATURE = 1.0


def sample_set_name(temperature):
    """The feature / two-sample set name of prior samples at `temperature`, e.g. "samples T=0.5"."""
    return f"samples T={temperature:g}"


class ReportView:
    """A report as the figures read it; a part that the report leaves out reads as None.

    A set named "samples" is the prior samples at the user's temperature, "samples_t1" those at
    MODEL_TEMPERATURE; any other name is the set of that name in the report.
    """

    def __init__(self, report):
        self.report = report
        self.settings = report["settings"]
        self.rec = report["reconstruction"]
        self.vs_real = report["features"]["vs_real"]
        self.interpolation = report["interpolation"]
        self.names = dict(samples=sample_set_name(self.settings["user_temperature"]),
                          samples_t1=sample_set_name(MODEL_TEMPERATURE))

    def set(self, name):
        return self.names.get(name, name)

    def mean_of(self, set_name, key="overlap", features=None):
        """The mean over features (all, or `features`) of `key` for one set against the real windows."""
        values = [v[key] for f, v in self.vs_real.get(self.set(set_name), {}).items()
                  if features is None or f in features]
        return float(np.mean(values)) if values else None

    def feature_mean(self, set_name, feature):
        set_name = self.set(set_name)
        return self.vs_real[set_name][feature]["mean"] if set_name in self.vs_real else None

    def classifier(self, a, b):
        """The two-sample accuracy of set a against set b."""
        return self.report["two_sample"].get(f"{self.set(a)} vs {b}", {}).get("accuracy")

    def novelty(self, set_name, key):
        novel, set_name = self.report.get("novelty", {}), self.set(set_name)
        return novel[set_name][key] if set_name in novel else None

    def structure(self, figure, set_name):
        return self.report.get("structure", {}).get(self.set(set_name), {}).get(figure)

    def path(self, method, key):
        """A figure of one interpolation method ("model", "refined", "crossfade")."""
        return self.interpolation.get(method, {}).get(key)

    def f1_by_drum(self, mode):
        return {drum: row["f1"] for drum, row in self.rec[mode]["onsets"].items() if drum != "all"}


@dataclass(frozen=True)
class Figure:
    key: str  # in report["summary"]
    value: Callable  # how it is read: a function of a ReportView
    column: str = None  # its title in compare()'s one row per model; None: not a column there
    fmt: str = "{:.3f}"  # how every table prints it (None: a dict of its own, printed by its own table)


FIGURES = (
    Figure("model", lambda r: r.report["model"]["run"], "model", "{}"),
    Figure("step", lambda r: r.report["model"]["step"], "step", "{}"),
    Figure("split", lambda r: r.report["data"]["split"], "split", "{}"),
    Figure("windows", lambda r: r.report["data"]["windows"], "windows", "{}"),
    Figure("performances", lambda r: r.report["data"]["performances"], fmt="{}"),
    # Reconstruction: step accuracy teacher-forced, free-running, decoded from the encoder mean and from the
    # code refined refine_steps steps (None without), beside the shuffle floor; per GMD style
    # {style: {windows, decoded, decoded_refined, shuffle}}.
    Figure("accuracy_teacher_forced", lambda r: r.rec["teacher_forced"]["accuracy"], "acc. TF"),
    Figure("accuracy_free_running", lambda r: r.rec["free_running"]["accuracy"], "acc. free"),
    Figure("accuracy_decoded", lambda r: r.rec["decoded"]["accuracy"], "acc. decoded"),
    Figure("accuracy_decoded_refined", lambda r: r.rec.get("decoded_refined", {}).get("accuracy"), "acc. refined"),
    Figure("refine_steps", lambda r: r.settings.get("refine_steps", 0), fmt="{}"),
    Figure("variation_noise", lambda r: r.settings.get("variation_noise"), fmt="{:g}"),
    Figure("accuracy_by_style", lambda r: r.rec.get("by_style", {}), fmt=None),
    Figure("accuracy_shuffle_floor", lambda r: r.rec["shuffle"]["accuracy"], "acc. shuffle"),
    # Onset F1, overall and per drum (..._by_drum), free-running and its shuffle floor; KL in bits.
    Figure("onset_f1_free_running", lambda r: r.rec["free_running"]["onsets"]["all"]["f1"], "onset F1 free"),
    Figure("onset_f1_shuffle_floor", lambda r: r.rec["shuffle"]["onsets"]["all"]["f1"]),
    Figure("onset_f1_free_running_by_drum", lambda r: r.f1_by_drum("free_running"), fmt="{:.2f}"),
    Figure("onset_f1_shuffle_floor_by_drum", lambda r: r.f1_by_drum("shuffle"), fmt="{:.2f}"),
    Figure("kl_bits", lambda r: r.rec["kl_bits"], "KL bits", "{:.1f}"),
    # Samples (suffix _t1: at temperature 1.0; none: at the user's temperature, sample_temperature): feature
    # overlap and KL with the real windows, over all features and over the rhythm features only. Floor:
    # shuffle_...; ceilings: real_vs_real_... (halves by performance) and train_vs_real_....
    Figure("sample_temperature", lambda r: r.settings["user_temperature"], fmt="{:g}"),
    Figure("sample_overlap", lambda r: r.mean_of("samples"), "overlap T=user"),
    Figure("sample_overlap_t1", lambda r: r.mean_of("samples_t1"), "overlap T=1"),
    Figure("sample_kl", lambda r: r.mean_of("samples", "kl")),
    Figure("sample_kl_t1", lambda r: r.mean_of("samples_t1", "kl")),
    Figure("sample_rhythm_overlap", lambda r: r.mean_of("samples", features=RHYTHM_FEATURES), "rhythm T=user"),
    Figure("sample_rhythm_overlap_t1", lambda r: r.mean_of("samples_t1", features=RHYTHM_FEATURES), "rhythm T=1"),
    Figure("shuffle_overlap", lambda r: r.mean_of("shuffle")),
    Figure("shuffle_rhythm_overlap", lambda r: r.mean_of("shuffle", features=RHYTHM_FEATURES), "rhythm shuffle"),
    Figure("real_vs_real_overlap", lambda r: r.mean_of("real vs real")),
    Figure("real_vs_real_rhythm_overlap", lambda r: r.mean_of("real vs real", features=RHYTHM_FEATURES),
           "rhythm real/real"),
    Figure("train_vs_real_overlap", lambda r: r.mean_of("train vs real")),
    Figure("train_vs_real_rhythm_overlap", lambda r: r.mean_of("train vs real", features=RHYTHM_FEATURES)),
    # What a drummer hears first (sections.summarize_structure): bar_repetition_ and kick_on_one_ of the
    # samples (_t1) and the real windows, floor _shuffle, ceiling _train.
    *(Figure(f"{figure}_{group}", lambda r, figure=figure, group=group: r.structure(figure, group))
      for figure in ("bar_repetition", "kick_on_one")
      for group in ("samples", "samples_t1", "real", "shuffle", "train")),
    Figure("active_instruments_real", lambda r: r.report["features"]["real"]["active instruments"]["mean"],
           fmt="{:.2f}"),
    Figure("active_instruments_samples", lambda r: r.feature_mean("samples", "active instruments"), fmt="{:.2f}"),
    Figure("active_instruments_samples_t1", lambda r: r.feature_mean("samples_t1", "active instruments"),
           fmt="{:.2f}"),
    # Two-sample accuracy (0.5 = indistinguishable); reference: the split's real windows against train windows.
    Figure("classifier_samples_vs_real", lambda r: r.classifier("samples", "real"), "C2ST T=user"),
    Figure("classifier_samples_t1_vs_real", lambda r: r.classifier("samples_t1", "real"), "C2ST T=1"),
    Figure("classifier_real_vs_train", lambda r: r.classifier("real", "train"), "C2ST real/train"),
    # Novelty (None without it): mean cells to the nearest train window, and train windows copied exactly.
    Figure("nearest_train_samples", lambda r: r.novelty("samples", "nearest"), fmt="{:.1f}"),
    Figure("nearest_train_samples_t1", lambda r: r.novelty("samples_t1", "nearest"), fmt="{:.1f}"),
    Figure("nearest_train_real", lambda r: r.novelty("real", "nearest"), fmt="{:.1f}"),
    Figure("copies_samples", lambda r: r.novelty("samples", "copies"), "copies T=user", "{:.0f}"),
    Figure("copies_samples_t1", lambda r: r.novelty("samples_t1", "copies"), fmt="{:.0f}"),
    # Interpolation, latent (between encoder means; suffix _refined: between refined codes) against the
    # data-space crossfade: realism of the in-between beats (overlap), smoothness, detour, endpoint error
    # next to endpoint_distance, monotonicity. Variations: realism of a beat's variations at generate's
    # default noise, from its mean and from its refined code.
    Figure("interp_overlap", lambda r: r.mean_of("interpolation"), "interp. realism"),
    Figure("interp_overlap_refined", lambda r: r.mean_of("interpolation refined"), "interp. realism refined"),
    Figure("variation_overlap", lambda r: r.mean_of("variations")),
    Figure("variation_overlap_refined", lambda r: r.mean_of("variations refined")),
    Figure("interp_smoothness_refined", lambda r: r.path("refined", "smoothness")),
    Figure("interp_detour", lambda r: r.path("model", "detour")),
    Figure("interp_detour_refined", lambda r: r.path("refined", "detour")),
    Figure("crossfade_detour", lambda r: r.path("crossfade", "detour")),
    Figure("interp_endpoint_error_refined", lambda r: r.path("refined", "endpoint_error")),
    Figure("interp_monotonicity_refined", lambda r: r.path("refined", "monotonicity")),
    Figure("crossfade_overlap", lambda r: r.mean_of("crossfade"), "crossfade realism"),
    Figure("interp_smoothness", lambda r: r.path("model", "smoothness"), "interp. smooth"),
    Figure("crossfade_smoothness", lambda r: r.path("crossfade", "smoothness"), "crossfade smooth"),
    Figure("interp_endpoint_error", lambda r: r.path("model", "endpoint_error"), "interp. end err."),
    Figure("crossfade_endpoint_error", lambda r: r.path("crossfade", "endpoint_error")),
    Figure("endpoint_distance", lambda r: r.interpolation.get("endpoint_distance"), "A-B dist."),
    Figure("interp_monotonicity", lambda r: r.path("model", "monotonicity")),
    Figure("crossfade_monotonicity", lambda r: r.path("crossfade", "monotonicity")),
)
FORMATS = {f.key: f.fmt for f in FIGURES}
# compare()'s columns: (key, title, format)
COMPARE_COLUMNS = tuple((f.key, f.column, f.fmt) for f in FIGURES if f.column)


def summary_row(report):
    """The report's summary: every figure of FIGURES, under its key, in its order."""
    view = ReportView(report)
    return {figure.key: figure.value(view) for figure in FIGURES}


# A row of the summary table: its title (placeholders {t}: the user's temperature, {split}, {refine}: the
# refinement steps, {noise}: the variation noise) and the keys of the model's figures, of the floor /
# baseline and of the ceiling / reference; a cell with several keys shows them in the order the title names
# them, separated by " / ".
Headline = namedtuple("Headline", "title model floor ceiling")

HEADLINES = (
    Headline("step accuracy (512 classes), free-running / teacher-forced / decoded · floor: steps shuffled",
             ("accuracy_free_running", "accuracy_teacher_forced", "accuracy_decoded"), ("accuracy_shuffle_floor",),
             ()),
    Headline("the reconstruction a user gets, step accuracy: decoded from the encoder mean / from the code refined "
             "{refine} steps · floor: steps shuffled", ("accuracy_decoded", "accuracy_decoded_refined"),
             ("accuracy_shuffle_floor",), ()),
    Headline("onset F1, free-running · floor: steps shuffled", ("onset_f1_free_running",),
             ("onset_f1_shuffle_floor",), ()),
    Headline("KL(q(z|x) ‖ N(0, I)), bits per window", ("kl_bits",), (), ()),
    # no shuffle floor here: shuffling keeps every density, so over all features it scores near 1
    Headline("feature overlap, samples at T={t} / T=1 · ceiling: real vs real (halves by performance) / train vs "
             "{split}", ("sample_overlap", "sample_overlap_t1"), (), ("real_vs_real_overlap", "train_vs_real_overlap")),
    Headline("rhythm-feature overlap, samples at T={t} / T=1 · floor: shuffle · ceiling: real vs real / train vs "
             "{split}", ("sample_rhythm_overlap", "sample_rhythm_overlap_t1"), ("shuffle_rhythm_overlap",),
             ("real_vs_real_rhythm_overlap", "train_vs_real_rhythm_overlap")),
    Headline("active instruments per beat, samples at T={t} / T=1 · real windows",
             ("active_instruments_samples", "active_instruments_samples_t1"), (), ("active_instruments_real",)),
    Headline("bar 3 repeats bar 1 (onset Jaccard), samples at T={t} / T=1 · floor: steps shuffled · real {split} / "
             "train", ("bar_repetition_samples", "bar_repetition_samples_t1"), ("bar_repetition_shuffle",),
             ("bar_repetition_real", "bar_repetition_train")),
    Headline("bars with a kick on the downbeat, samples at T={t} / T=1 · floor: steps shuffled · real {split} / "
             "train", ("kick_on_one_samples", "kick_on_one_samples_t1"), ("kick_on_one_shuffle",),
             ("kick_on_one_real", "kick_on_one_train")),
    Headline("classifier two-sample accuracy, samples at T={t} / T=1 vs real (0.5 = indistinguishable) · "
             "reference: {split} vs train windows", ("classifier_samples_vs_real", "classifier_samples_t1_vs_real"),
             (), ("classifier_real_vs_train",)),
    Headline("nearest train window (cells of 64 x 9 that differ), samples at T={t} / T=1 · real {split} windows",
             ("nearest_train_samples", "nearest_train_samples_t1"), (), ("nearest_train_real",)),
    Headline("train windows copied exactly, samples at T={t} / T=1", ("copies_samples", "copies_samples_t1"), (),
             ()),
    Headline("interpolation realism (in-between feature overlap), between encoder means / refined codes · "
             "baseline: crossfade · ceiling: real vs real", ("interp_overlap", "interp_overlap_refined"),
             ("crossfade_overlap",), ("real_vs_real_overlap",)),
    Headline("interpolation smoothness (lower is smoother), between encoder means / refined codes · baseline: "
             "crossfade", ("interp_smoothness", "interp_smoothness_refined"), ("crossfade_smoothness",), ()),
    Headline("interpolation detour (path travelled / distance between its own ends; 1 = straight), between encoder "
             "means / refined codes · baseline: crossfade", ("interp_detour", "interp_detour_refined"),
             ("crossfade_detour",), ()),
    Headline("interpolation endpoint error, between encoder means / refined codes · baseline: crossfade · "
             "reference: distance A–B", ("interp_endpoint_error", "interp_endpoint_error_refined"),
             ("crossfade_endpoint_error",), ("endpoint_distance",)),
    Headline("interpolation monotonicity, between encoder means / refined codes · baseline: crossfade",
             ("interp_monotonicity", "interp_monotonicity_refined"), ("crossfade_monotonicity",), ()),
    Headline("variation realism (feature overlap of one variation per window at noise {noise}), from encoder means / "
             "refined codes · ceiling: real vs real", ("variation_overlap", "variation_overlap_refined"), (),
             ("real_vs_real_overlap",)),
)
