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

CHECK_FILE = "check.json"
CHECK = dict(max_windows=32, n_samples=32, n_interpolations=4, interpolation_steps=5, seed=0, plots=False)
FIGURES = ("accuracy_teacher_forced", "accuracy_free_running", "accuracy_decoded", "onset_f1_free_running",
           "sample_overlap", "sample_rhythm_overlap", "bar_repetition_samples", "kick_on_one_samples",
           "interp_overlap")
# Same machine, same packages: the figures repeat exactly. Another CPU may round a logit differently and
# flip a sampled step, which moves a figure over 32 windows by a few thousandths; a changed model or
# sampler moves it by far more.
TOLERANCE = 0.02


def _model_run(model_dir):
    """The named run a model folder was trained as (its bgmaker_run.json)."""
    from bgmaker_configs.runs import get_run
    record = Path(model_dir) / "bgmaker_run.json"
    if not record.is_file():
        raise FileNotFoundError(f"{model_dir} has no bgmaker_run.json: not a shipped model folder")
    return get_run(json.loads(record.read_text())["run"])


def convert_test_split(run, folder):
    """Convert `run`'s GMD test split into `folder`; return its test.tfrecord."""
    from bgmaker.data.convert import convert_run
    convert_run(run, out_dir=folder, select={**run.select, "split": "test"}, every_window=True,
                log=lambda *_: None)
    return Path(folder) / "test.tfrecord"


def measure(model_dir, workdir=None, log=print):
    """Run the CHECK evaluation of the model in `model_dir`; return {figure: value} for FIGURES."""
    from bgmaker.evaluation import evaluate
    run = _model_run(model_dir)
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        examples = convert_test_split(run, Path(scratch) / "data")
        report = evaluate.evaluate(run, str(model_dir), "test", examples_path=examples, reference_path=False,
                                   output_dir=Path(scratch) / "report", log=lambda *_: None, **CHECK)
    from bgmaker.evaluation.report import jsonable
    summary = jsonable(report["summary"])
    return {key: summary[key] for key in FIGURES}


def record(model_dir, workdir=None, log=print):
    """Measure and write `model_dir`/check.json (settings, figures, the command that checks it)."""
    figures = measure(model_dir, workdir, log)
    out = dict(settings={k: v for k, v in CHECK.items() if k != "plots"}, split="test", figures=figures,
               tolerance=TOLERANCE, command=f"bgmaker evaluate --check {Path(model_dir).as_posix()}")
    path = Path(model_dir) / CHECK_FILE
    tmp = path.with_name("." + CHECK_FILE + ".tmp")
    tmp.write_text(json.dumps(out, indent=1) + "\n")
    tmp.replace(path)
    return figures


def recorded(model_dir):
    path = Path(model_dir) / CHECK_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{model_dir} has no {CHECK_FILE}; record it with: "
                                f"bgmaker evaluate --check {model_dir} --record")
    return json.loads(path.read_text())["figures"]


def compare(expected, measured):
    """[(figure, recorded, measured)] for every recorded figure further than TOLERANCE from the measured one."""
    off = []
    for key, want in expected.items():
        got = measured.get(key)
        if (want is None) != (got is None) or (want is not None and abs(want - got) > TOLERANCE):
            off.append((key, want, got))
    return off


def differences(model_dir, workdir=None, log=print):
    """compare() of check.json with a fresh measure() of the model (empty: the model reproduces)."""
    return compare(recorded(model_dir), measure(model_dir, workdir, log))
