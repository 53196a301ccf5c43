"""End-to-end evaluation of the tiny trained model on a windows TFRecord built here."""
import contextlib
import io
import json

import numpy as np
import pytest

import bgmaker_configs

bgmaker_configs.register()  # compat shims + configs, before Magenta
from bgmaker import cli, metrics
from bgmaker.evaluation import comparison, evaluate
from bgmaker.data import windows
from bgmaker_configs.runs import Run

import drum_midi

TINY_RUN = Run(name="tiny_eval", config="hierdec-drum_4bar", select={}, description="test run")


@pytest.fixture(scope="module")
def windows_tfrecord(tmp_path_factory):
    """Every 4-bar window of three 6-bar synthetic beats, stored as BGMaker's converter stores them."""
    import tensorflow as tf
    path = tmp_path_factory.mktemp("windows") / "test.tfrecord"
    performances = []
    for v in range(3):
        ns = drum_midi.rock_beat(bars=6, variant=v)
        ns.filename = f"performance_{v}.mid"  # windows know their performance, as GMD's do (convert.py)
        performances.append(ns)
    found = [w for ns in performances for w in windows.extract_windows(ns)]
    with tf.io.TFRecordWriter(str(path)) as writer:
        for w in found:
            writer.write(w.sequence.SerializeToString())
    return path, found


def evaluate_args(tiny_model, windows_tfrecord, out):
    """`bgmaker evaluate` arguments of a small evaluation; the reference "train" windows are the tiny
    model's own training performances (6 synthetic beats, none of them in the evaluated windows)."""
    return ["evaluate", "--run", "hierdec-drum_4bar", "--checkpoint", str(tiny_model["checkpoint"]),
            "--examples", str(windows_tfrecord[0]), "--reference", str(tiny_model["examples"]),
            "--output-dir", str(out), "--samples", "6", "--interpolations", "3", "--interpolation-steps", "4",
            "--batch-size", "5"]  # 5 does not divide the window count: the last batch is padded


@pytest.fixture(scope="module")
def report(tiny_model, windows_tfrecord, tmp_path_factory):
    """`bgmaker evaluate` as a user types it, in this process (the CLI over the library), small settings."""
    out = tmp_path_factory.mktemp("evaluation")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rc = cli.main(evaluate_args(tiny_model, windows_tfrecord, out))
    assert rc == 0, printed.getvalue()
    return json.loads((out / "evaluation.json").read_text()), out, printed.getvalue().splitlines()


def test_read_windows_gives_stored_windows_back_and_cuts_whole_performances(windows_tfrecord, tiny_model):
    path, stored = windows_tfrecord
    found, skipped = evaluate.read_windows(path)
    assert skipped == {}
    assert [w.grid.tobytes() for w in found] == [w.grid.tobytes() for w in stored]
    # the fixture's examples are whole 8-bar performances: 5 windows each, fewer where windows repeat
    whole, _ = evaluate.read_windows(tiny_model["examples"])
    assert 6 <= len(whole) <= 6 * 5
    subset, _ = evaluate.read_windows(path, max_windows=4, rng=np.random.default_rng(0))
    assert len(subset) == 4


def test_windows_are_read_in_one_order_whatever_the_files_order(windows_tfrecord, tmp_path):
    """Two conversions of one selection store the same windows in different orders; the evaluation
    reads both the same way, so its seeded choices (subset, pairs, halves) and its report agree."""
    import tensorflow as tf
    path, found = windows_tfrecord
    reversed_path = tmp_path / "reversed.tfrecord"
    with tf.io.TFRecordWriter(str(reversed_path)) as writer:
        for w in reversed(found):
            writer.write(w.sequence.SerializeToString())
    ids = lambda ws: [w.sequence.id for w in ws]  # noqa: E731
    assert ids(evaluate.read_windows(path)[0]) == ids(evaluate.read_windows(reversed_path)[0])
    subset = lambda p: ids(evaluate.read_windows(p, 5, np.random.default_rng(3))[0])  # noqa: E731
    assert subset(path) == subset(reversed_path)


def test_reconstruction_numbers_agree_with_magentas_own_metric(report, windows_tfrecord):
    result, _, _ = report
    n = len(windows_tfrecord[1])
    assert result["data"]["windows"] == n and n % 5 != 0
    for mode in ("teacher_forced", "free_running"):
        r = result["reconstruction"][mode]
        # our grid-based step accuracy is Magenta's tf.metrics accuracy over the same steps,
        # including the zero-length windows that pad the last batch
        assert r["accuracy"] == pytest.approx(r["magenta_accuracy"], abs=1e-6)
        assert 0 <= r["accuracy"] <= 1 and r["r_loss"] > 0
        assert set(r["onsets"]) == set(windows.DRUM_NAMES) | {"all"}
        assert r["onsets"]["all"]["support"] == sum(int(w.grid.sum()) for w in windows_tfrecord[1])
    assert result["reconstruction"]["kl_bits"] >= 0
    decoded = result["reconstruction"]["decoded"]
    assert 0 <= decoded["accuracy"] <= 1 and decoded["onsets"]["all"]["support"] == r["onsets"]["all"]["support"]
    assert result["summary"]["accuracy_decoded"] == decoded["accuracy"]


def test_windows_survive_magentas_encoding_unchanged(windows_tfrecord):
    """Scoring on grids is scoring Magenta's 512 classes: window -> tensors -> classes -> grid is lossless."""
    from bgmaker.evaluation import scoring as reconstruction
    from bgmaker_configs import architectures
    converter = architectures.windows_converter()
    stored = windows_tfrecord[1]
    _, outputs = reconstruction.window_tensors(converter, [w.sequence for w in stored])
    assert outputs.shape == (len(stored), 64, 512)
    grids = reconstruction.classes_to_grids(converter, outputs.argmax(-1))
    assert np.array_equal(grids, np.stack([w.grid for w in stored]))


def test_feature_and_interpolation_sections(report):
    result, _, _ = report
    vs_real = result["features"]["vs_real"]
    # samples at the user's temperature and at 1.0; "real half" became "real vs real" (split by performance)
    # and "train vs real" joined it as a second ceiling
    # interpolations and variations from the encoder means and from the refined codes (generate's default)
    assert set(vs_real) == {"samples T=0.5", "samples T=1", "shuffle", "real vs real", "train vs real",
                            "interpolation", "interpolation refined", "crossfade", "variations",
                            "variations refined"}
    for name, table in vs_real.items():
        assert set(table) == set(metrics.FEATURES), name
        for row in table.values():
            assert 0 <= row["overlap"] <= 1 and row["kl"] >= 0
    # shuffling steps keeps every density exactly
    assert vs_real["shuffle"]["kick density"]["overlap"] == pytest.approx(1.0)
    interp = result["interpolation"]
    assert interp["pairs"] == 3 and len(interp["alphas"]) == 4
    assert interp["crossfade"]["monotonicity"] == 1.0 and interp["crossfade"]["endpoint_error"] == 0
    assert 0 <= interp["model"]["monotonicity"] <= 1
    assert len(interp["model"]["d_start"]) == 4
    assert result["summary"]["model"] == "hierdec-drum_4bar" and result["summary"]["step"] == 2


def test_refined_reconstructions_beside_the_encoder_means_overall_per_drum_and_per_style(report):
    result, out, _ = report
    rec, summary = result["reconstruction"], result["summary"]
    assert result["settings"]["refine_steps"] == evaluate.REFINE_STEPS == summary["refine_steps"]
    assert set(rec["decoded_refined"]["onsets"]) == set(rec["decoded"]["onsets"])
    assert summary["accuracy_decoded_refined"] == rec["decoded_refined"]["accuracy"]
    # the synthetic windows are not GMD files: one style, "other", holding every window
    assert list(rec["by_style"]) == ["other"] and rec["by_style"]["other"]["windows"] == result["data"]["windows"]
    assert rec["by_style"]["other"]["decoded_refined"] == pytest.approx(summary["accuracy_decoded_refined"])
    for key in ("interp_overlap_refined", "interp_smoothness_refined", "interp_endpoint_error_refined",
                "variation_overlap", "variation_overlap_refined"):
        assert summary[key] is not None, key
    md = (out / "evaluation.md").read_text()
    assert "| decoded-refined |" in md and "| other | " in md and "latent, between refined codes" in md


def test_refine_steps_zero_leaves_the_encoder_mean_figures_as_they_were(report, tiny_model, windows_tfrecord,
                                                                        tmp_path):
    """Refinement adds figures and changes none: the encoder-mean ones are those of an evaluation without it."""
    first, _, _ = report
    evaluate.evaluate("hierdec-drum_4bar", tiny_model["checkpoint"], examples_path=windows_tfrecord[0],
                      reference_path=tiny_model["examples"], output_dir=tmp_path, n_samples=6, n_interpolations=3,
                      interpolation_steps=4, batch_size=5, plots=False, refine_steps=0, log=lambda m: None)
    second = json.loads((tmp_path / "evaluation.json").read_text())
    assert "decoded_refined" not in second["reconstruction"] and "refined" not in second["interpolation"]
    assert second["summary"]["accuracy_decoded_refined"] is None
    refined_keys = {k for k in first["summary"] if "refined" in k or k in ("refine_steps", "accuracy_by_style")}
    assert not differences({k: v for k, v in first["summary"].items() if k not in refined_keys},
                           {k: v for k, v in second["summary"].items() if k not in refined_keys})
    assert "--refine-steps 0" in second["command"]


def test_report_files(report):
    result, out, lines = report
    names = {p.name for p in out.iterdir()}
    assert {"evaluation.json", "evaluation.md", "features.png", "interpolation.png",
            "interpolation_example.png"} <= names
    md = (out / "evaluation.md").read_text()
    row = f"| hierdec-drum_4bar | 2 | test | {result['data']['windows']} |"
    # the summary in evaluation.md is now the figure | model | floor | ceiling table (compare() keeps the row)
    assert "## 1. Reconstruction" in md and "![feature histograms]" in md
    assert "| figure | model | floor / baseline | ceiling / reference |" in md
    assert "GMD's test split (unseen performances)" in md and "held-out drummers" not in md
    assert any(line.endswith("windows") and "/" in line for line in lines)  # progress was printed
    assert any(line.startswith(row) for line in lines)  # and the summary row


def test_compare_tabulates_one_row_per_model(report):
    _, out, _ = report
    table = comparison.compare([out, out / "evaluation.json"])
    rows = [line for line in table.splitlines() if line.startswith("| hierdec-drum_4bar")]
    assert len(rows) == 2 and table.splitlines()[0].startswith("| model | step |")


def test_cli_compare_writes_the_table(report, tmp_path, capsys):
    _, out, _ = report
    assert cli.main(["evaluate", "--compare", str(out), "--output-dir", str(tmp_path)]) == 0
    assert "| hierdec-drum_4bar | 2 | test |" in capsys.readouterr().out
    assert (tmp_path / "comparison.md").read_text().count("| hierdec-drum_4bar") == 1


def test_clear_errors_for_missing_data_checkpoint_and_run(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BGMAKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BGMAKER_RUNS_DIR", str(tmp_path / "runs"))
    with pytest.raises(FileNotFoundError, match="scripts/convert_gmd.sh --run v2_rock_beat"):
        evaluate.evaluate("v2_rock_beat", tiny_model["checkpoint"])
    with pytest.raises(FileNotFoundError, match="bgmaker train --run v2_rock_beat"):
        evaluate.evaluate("v2_rock_beat")
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        evaluate.evaluate("v2_rock_beat", tmp_path / "model.ckpt-7")
    with pytest.raises(FileNotFoundError, match="no test evaluation"):
        comparison.compare(["v2_rock_beat"])
    assert cli.main(["evaluate", "--run", "no_such_run"]) == 2
    assert capsys.readouterr().err.startswith("bgmaker evaluate: error: unknown run or model 'no_such_run'")
    assert cli.main(["evaluate", "--run", "v2_rock_beat", "--checkpoint", str(tiny_model["checkpoint"])]) == 2
    assert "scripts/convert_gmd.sh --run v2_rock_beat" in capsys.readouterr().err


def test_reference_must_be_other_windows(tiny_model, windows_tfrecord):
    with pytest.raises(ValueError, match="are the windows being evaluated"):
        evaluate.evaluate("hierdec-drum_4bar", tiny_model["checkpoint"], examples_path=windows_tfrecord[0],
                          reference_path=windows_tfrecord[0])
    with pytest.raises(FileNotFoundError, match="reference windows .* do not exist"):
        evaluate.evaluate("hierdec-drum_4bar", tiny_model["checkpoint"], examples_path=windows_tfrecord[0],
                          reference_path=windows_tfrecord[0].parent / "nothing.tfrecord")
    with pytest.raises(ValueError, match="n_samples must be at least 2"):
        evaluate.evaluate("hierdec-drum_4bar", tiny_model["checkpoint"], examples_path=windows_tfrecord[0],
                          n_samples=1)


def test_latest_checkpoint_of_a_folder(tiny_model):
    found = evaluate.find_checkpoint(TINY_RUN, tiny_model["run_dir"])
    assert found.name == "model.ckpt-2"
    assert evaluate.default_output_dir(found, "validation") == tiny_model["run_dir"] / "evaluation" / "validation-model.ckpt-2"


def test_a_shipped_models_evaluation_goes_to_its_run_folder_not_the_committed_one(tmp_path, monkeypatch):
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("BGMAKER_RUNS_DIR", str(tmp_path / "runs"))
    (tmp_path / "models" / "v2_rock_beat").mkdir(parents=True)
    shipped = tmp_path / "models" / "v2_rock_beat" / "model.ckpt-9"
    assert evaluate.default_output_dir(shipped, "test") == (
        tmp_path / "runs" / "v2_rock_beat" / "evaluation" / "test-shipped-model.ckpt-9")


def test_report_says_how_to_repeat_it(report, windows_tfrecord, tiny_model):
    result, _, _ = report
    assert result["command"] == (
        f"bgmaker evaluate --run hierdec-drum_4bar --checkpoint {tiny_model['checkpoint']} --split test "
        f"--examples {windows_tfrecord[0]} --reference {tiny_model['examples']} --samples 6 --interpolations 3 "
        f"--interpolation-steps 4 --batch-size 5")


def test_cli_defaults_are_the_library_defaults():
    import argparse
    import inspect
    from bgmaker.cli import evaluate as evaluate_cli
    parser = argparse.ArgumentParser()
    evaluate_cli.add_arguments(parser)
    cli_defaults = vars(parser.parse_args([]))
    library = {k: p.default for k, p in inspect.signature(evaluate.evaluate).parameters.items()}
    names = dict(samples="n_samples", interpolations="n_interpolations")
    for flag in evaluate_cli.DEFAULTS:
        assert cli_defaults[flag] == library[names.get(flag, flag)], flag


# The figures the models issue gates on: present, under these keys, in every summary.
GATE_KEYS = (
    "accuracy_free_running", "accuracy_shuffle_floor",
    "sample_overlap", "sample_overlap_t1", "sample_rhythm_overlap", "sample_rhythm_overlap_t1",
    "shuffle_rhythm_overlap", "real_vs_real_rhythm_overlap", "train_vs_real_rhythm_overlap",
    "classifier_samples_vs_real", "classifier_samples_t1_vs_real", "classifier_real_vs_train",
    "interp_overlap", "crossfade_overlap", "interp_smoothness", "crossfade_smoothness",
    "interp_endpoint_error", "crossfade_endpoint_error", "endpoint_distance",
    "bar_repetition_samples", "bar_repetition_samples_t1", "bar_repetition_real", "bar_repetition_shuffle",
    "bar_repetition_train", "kick_on_one_samples", "kick_on_one_real", "kick_on_one_shuffle", "kick_on_one_train",
    "real_vs_real_overlap", "train_vs_real_overlap",
)
NOVELTY_KEYS = ("copies_samples", "copies_samples_t1", "nearest_train_samples", "nearest_train_real")  # not in --quick


def test_every_summary_figure_is_declared_once_with_what_it_is_read_against():
    """summary_row, compare()'s columns and evaluation.md's summary table all read bgmaker.evaluation.summary."""
    from bgmaker.evaluation import summary
    keys = [f.key for f in summary.FIGURES]
    assert len(keys) == len(set(keys)) and set(GATE_KEYS + NOVELTY_KEYS) <= set(keys)
    assert {k for h in summary.HEADLINES for k in h.model + h.floor + h.ceiling} <= set(keys)
    assert [k for k, _, _ in summary.COMPARE_COLUMNS][:4] == ["model", "step", "split", "windows"]
    assert set(metrics.RHYTHM_FEATURES) < set(metrics.FEATURES)


def test_markdown_tables_keep_their_cells_as_given():
    from bgmaker.evaluation.markdown import table
    assert table(["a", "b"], [["x", "1.0"], ["y", ""], ["z", None]], "lr") == [
        "| a | b |", "|---|---:|", "| x | 1.0 |", "| y |  |", "| z | |"]


def test_summary_holds_every_gate_figure_with_its_floor_and_ceiling(report):
    result, out, _ = report
    summary = result["summary"]
    missing = [k for k in GATE_KEYS + NOVELTY_KEYS if summary.get(k) is None]
    assert not missing
    assert summary["sample_temperature"] == 0.5 and result["settings"]["temperatures"] == [0.5, 1.0]
    assert set(summary["onset_f1_free_running_by_drum"]) == set(windows.DRUM_NAMES)
    for key in ("classifier_samples_vs_real", "classifier_real_vs_train"):
        assert 0 <= summary[key] <= 1
    # shuffling steps keeps each window's drums: the floor's density overlap is exact, rhythm is not
    assert summary["shuffle_overlap"] > summary["shuffle_rhythm_overlap"]
    assert summary["crossfade_endpoint_error"] == 0
    # novelty is measured against every train window, not the sampled reference subset
    assert result["novelty"]["reference_windows"] >= result["data"]["reference_windows"]
    assert 0 <= summary["copies_samples"] <= result["settings"]["n_samples"] and summary["nearest_train_samples"] >= 0
    # the synthetic beats repeat every bar and land on one; shuffled steps do neither as often
    assert summary["bar_repetition_real"] > summary["bar_repetition_shuffle"]
    assert summary["kick_on_one_real"] >= summary["kick_on_one_shuffle"]
    md = (out / "evaluation.md").read_text()
    assert "bar 3 repeats bar 1" in md and "kick on the downbeat" in md
    assert "## 3. Classifier two-sample test" in md and "| real vs train |" in md


def test_two_sample_folds_and_halves_never_split_a_performance(report, windows_tfrecord):
    result, _, _ = report
    assert result["data"]["performances"] == 3 and result["data"]["reference_performances"] >= 2
    real_vs_train = result["two_sample"]["real vs train"]
    assert real_vs_train["groups_a"] == 3 and real_vs_train["folds"] == 3  # at most one fold per real performance
    samples = result["two_sample"]["samples T=0.5 vs real"]
    assert samples["n_a"] == 6 and samples["groups_a"] == 6  # every sample its own group


def test_same_seed_gives_the_same_report_in_a_fresh_process(report, tiny_model, windows_tfrecord, tmp_path):
    """Two evaluations with one seed agree to the last digit: every decode goes through the seeded
    BeatGenerator, and the reconstruction graph is seeded. Only the timing and the output folder differ."""
    from conftest import run_cli
    first, _, _ = report
    run_cli("bgmaker", *evaluate_args(tiny_model, windows_tfrecord, tmp_path))
    second = json.loads((tmp_path / "evaluation.json").read_text())
    for r in (first, second):
        r.pop("seconds"), r.pop("output_dir")
    assert not differences(first, second)


def differences(a, b, where=""):
    """The paths at which two JSON values differ (for a readable failure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{where}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def test_validation_mode_returns_the_summary_and_writes_its_report(tiny_model, windows_tfrecord, tmp_path):
    summary = evaluate.validate("hierdec-drum_4bar", tiny_model["checkpoint"], examples_path=windows_tfrecord[0],
                                reference_path=tiny_model["examples"], output_dir=tmp_path, batch_size=8,
                                log=lambda m: None)
    assert all(summary.get(k) is not None for k in GATE_KEYS) and summary["split"] == "validation"
    assert all(summary[k] is None for k in NOVELTY_KEYS)  # the quick mode reads no whole train split
    result = json.loads((tmp_path / "evaluation.json").read_text())
    assert result["summary"] == summary and result["data"]["max_windows"] == evaluate.QUICK["max_windows"]
    assert result["settings"]["n_samples"] == evaluate.QUICK["n_samples"]
    assert {p.name for p in tmp_path.iterdir()} == {"evaluation.json", "evaluation.md"}  # no plots
    assert "--split validation" in result["command"] and "--no-plots" in result["command"]


def test_cli_quick_refuses_the_flags_it_sets(capsys):
    assert cli.main(["evaluate", "--run", "v2_rock_beat", "--quick", "--samples", "64"]) == 2
    assert "--quick sets --samples itself" in capsys.readouterr().err
    assert cli.main(["evaluate", "--run", "v2_rock_beat", "--samples", "1"]) == 2
    assert "--samples must be at least 2" in capsys.readouterr().err


def test_report_paths_are_portable(tmp_path, monkeypatch):
    """Committed reports name the checkout's files relative to it and the state directory under ~."""
    from bgmaker import paths
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.portable(paths.REPO_ROOT / "models" / "v1_all" / "model.ckpt-9") == "models/v1_all/model.ckpt-9"
    state = tmp_path / "home" / ".local" / "state" / "bgmaker" / "data" / "v1_all" / "test.tfrecord"
    assert paths.portable(state) == "~/.local/state/bgmaker/data/v1_all/test.tfrecord"
    assert paths.portable(tmp_path / "elsewhere") == (tmp_path / "elsewhere").as_posix()
    assert evaluate.report_dir(dict(output_dir="~/x")) == tmp_path / "home" / "x"
