"""A shipped model's fingerprint: a small seeded evaluation, recorded when it ships and re-run by the tests.

Why: the weights, the code that restores and decodes them and the metrics
can each drift without anything failing loudly (a config that silently
changes a hparam, a sampler that changes its keys, a metric rewritten). A
full test-split evaluation takes minutes per model; this one takes seconds
(CHECK settings: a seeded subset of the run's test windows, a few samples and
interpolations, no real-vs-real references), so `tests/test_shipped_model.py`
can run it for every model in models/ and compare it with the figures
written beside the weights (check.json) when the model shipped.

  bgmaker evaluate --check models/v2_rock_beat            # re-run, compare with check.json
  bgmaker evaluate --check models/v2_rock_beat --record   # (re)write check.json

The test windows are converted from GMD afresh into a scratch folder with the
run's own selection (bgmaker.data.convert), so the check does not depend on
what a checkout has converted before.
"""
import json
import tempfile
from pathlib import Path

from bgmaker.paths import as_typed, write_text_atomically

CHECK_FILE = "check.json"
# fp32 LSTMs whatever the CPU: "auto" would pick bf16 on CPUs with hardware bf16, and move every figure.
# Refinement: the page's 25 steps (bgmaker.generation.refine.INTERACTIVE_STEPS), ~15 s here.
CHECK = dict(max_windows=32, n_samples=32, n_interpolations=4, interpolation_steps=5, seed=0, lstm_precision="fp32",
             refine_steps=25)
FIGURES = ("accuracy_teacher_forced", "accuracy_free_running", "accuracy_decoded", "accuracy_decoded_refined",
           "onset_f1_free_running",
           "sample_overlap", "sample_rhythm_overlap", "bar_repetition_samples", "kick_on_one_samples",
           "interp_overlap")
# Same machine, same packages: the figures repeat exactly. Another CPU may round a logit differently and
# flip a sampled step, which moves a figure over 32 windows by a few thousandths; a changed model or
# sampler moves it by far more.
TOLERANCE = 0.02


class CheckFileError(ValueError):
    """A check.json that cannot be compared with this code's check (missing, other settings or figures)."""


def _model_run(model_dir):
    """The named run a model folder was trained as (its bgmaker_run.json)."""
    from bgmaker.models import records
    from bgmaker_configs.runs import get_run
    if not records.has_record(model_dir):
        raise FileNotFoundError(f"{model_dir} has no {records.RUN_RECORD}: not a shipped model folder")
    return get_run(records.read_record(model_dir)["run"])


def convert_test_split(run, folder):
    """Convert `run`'s GMD test split into `folder`; return its test.tfrecord."""
    from bgmaker import paths
    from bgmaker.data.convert import convert_run
    if not (paths.gmd_dir() / "info.csv").is_file():
        raise FileNotFoundError(f"the check converts {run.name}'s test split from the Groove MIDI Dataset, which "
                                f"is not at {paths.gmd_dir()} (set BGMAKER_GMD_DIR)")
    convert_run(run, out_dir=folder, select={**run.select, "split": "test"}, every_window=True,
                log=lambda *_: None)
    return Path(folder) / "test.tfrecord"


def measure(model_dir, workdir=None):
    """Run the CHECK evaluation of the model in `model_dir`; return {figure: value} for FIGURES."""
    from bgmaker.evaluation import evaluate
    from bgmaker.evaluation.report import jsonable
    run = _model_run(model_dir)
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        examples = convert_test_split(run, Path(scratch) / "data")
        report = evaluate.evaluate(run, str(model_dir), "test", examples_path=examples, reference_path=False,
                                   output_dir=Path(scratch) / "report", plots=False, log=lambda *_: None,
                                   **CHECK)
    summary = jsonable(report["summary"])
    return {key: summary[key] for key in FIGURES}


def record(model_dir, workdir=None):
    """Measure and write `model_dir`/check.json (settings, figures, the command that checks it)."""
    figures = measure(model_dir, workdir)
    out = dict(settings=CHECK, split="test", figures=figures, tolerance=TOLERANCE,
               command=f"bgmaker evaluate --check {as_typed(model_dir)}")
    write_text_atomically(Path(model_dir) / CHECK_FILE, json.dumps(out, indent=1) + "\n")
    return figures


def recorded(model_dir):
    """The figures of `model_dir`/check.json; CheckFileError when it is missing or was made with other settings."""
    path = Path(model_dir) / CHECK_FILE
    again = f"record it again with: bgmaker evaluate --check {as_typed(model_dir)} --record"
    if not path.is_file():
        raise CheckFileError(f"{model_dir} has no {CHECK_FILE}; {again.replace(' again', '')}")
    saved = json.loads(path.read_text())
    if saved.get("settings") != CHECK:
        raise CheckFileError(f"{path} was recorded with other settings ({saved.get('settings')}, now {CHECK}); "
                             + again)
    if set(saved.get("figures", {})) != set(FIGURES):
        raise CheckFileError(f"{path} holds other figures than this check measures; " + again)
    return saved["figures"]


def compare(expected, measured):
    """[(figure, recorded, measured)] for every recorded figure further than TOLERANCE from the measured one."""
    off = []
    for key, want in expected.items():
        got = measured.get(key)
        if (want is None) != (got is None) or (want is not None and abs(want - got) > TOLERANCE):
            off.append((key, want, got))
    return off


def differences(model_dir, workdir=None):
    """compare() of check.json with a fresh measure() of the model (empty: the model reproduces)."""
    return compare(recorded(model_dir), measure(model_dir, workdir))
