"""Named-run training through scripts/train.sh: record, resume after SIGKILL, NaN stop, eval."""
import json
import os
import signal
import subprocess
import time

import pytest

from bgmaker_configs.models import TINY_HPARAMS

from conftest import REPO, run_cli
from test_convert import mini_gmd

TRAIN_SH = str(REPO / "scripts" / "train.sh")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """v2_rock_beat converted from a synthetic mini-GMD into a private data dir."""
    root = tmp_path_factory.mktemp("train")
    gmd = mini_gmd(root / "groove")
    env = {"BGMAKER_DATA_DIR": str(root / "data"), "BGMAKER_RUNS_DIR": str(root / "runs"),
           "BGMAKER_GMD_DIR": str(gmd)}
    run_cli(str(REPO / "scripts" / "convert_gmd.sh"), "--run", "v2_rock_beat", env=env)
    return env


def run_dir(env):
    return os.path.join(env["BGMAKER_RUNS_DIR"], "v2_rock_beat")


def checkpoints(env):
    train = os.path.join(run_dir(env), "train")
    if not os.path.isdir(train):
        return []
    return sorted(int(f.split("-")[1].split(".")[0]) for f in os.listdir(train) if f.endswith(".index"))


def popen_train(env, log, *flags):
    return subprocess.Popen([TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}", *flags],
                            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **env),
                            start_new_session=True)


def test_resume_after_sigkill_then_nan_stop(env, tmp_path):
    log_path = tmp_path / "first.log"
    with open(log_path, "w") as log:
        proc = popen_train(env, log, "--num_steps=1000000")
        deadline = time.time() + 300
        while "global_step = 1," not in log_path.read_text() and time.time() < deadline:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.5)
        time.sleep(2)  # mid-training
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    saved = checkpoints(env)
    assert saved, "no checkpoint before the kill"
    last = saved[-1]

    record = json.loads(open(os.path.join(run_dir(env), "bgmaker_run.json")).read())
    assert record["run"] == "v2_rock_beat" and record["model"] == "hierdec-drum_4bar"
    assert record["select"] == {"style": "rock", "beat_type": "beat", "time_signature": "4-4"}
    assert record["hparams"]["z_size"] == 8 and record["hparams"]["free_bits"] == 48
    assert record["packages"]["magenta"] == "2.1.4" and record["packages"]["tensorflow"]

    resumed = run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}",
                      f"--num_steps={last + 3}", env=env)
    out = resumed.stdout + resumed.stderr
    assert f"resuming from model.ckpt-{last}" in out
    assert f"Restoring parameters from" in out and f"model.ckpt-{last}" in out
    assert checkpoints(env)[-1] == last + 3

    nan = run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS},learning_rate=1e12,"
                  "min_learning_rate=1e12", f"--num_steps={last + 50}", env=env, check=False)
    assert nan.returncode == 3, nan.stderr[-3000:]
    assert "loss became NaN or Inf; training stopped. Last good checkpoint:" in nan.stderr
    assert nan.stderr.count("Traceback") == 0
    assert checkpoints(env)[-1] == last + 3  # the bad weights were never saved


def test_eval_mode_writes_summaries(env, tmp_path):
    if not checkpoints(env):
        run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}", "--num_steps=2", env=env)
    eval_dir = os.path.join(run_dir(env), "eval")
    log_path = tmp_path / "eval.log"
    with open(log_path, "w") as log:
        # Magenta's eval job evaluates every new checkpoint forever; stop it after the first
        proc = popen_train(env, log, "--mode=eval")
        deadline = time.time() + 300
        try:
            while time.time() < deadline:
                if "Finished evaluation" in log_path.read_text() or "eval/" in log_path.read_text():
                    break
                assert proc.poll() is None, log_path.read_text()[-3000:]
                time.sleep(0.5)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(eval_dir))
    assert "Finished evaluation" in log_path.read_text()


def test_unknown_run_and_missing_data(env, tmp_path):
    bad = run_cli(TRAIN_SH, "--run", "v3_polka", env=env, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1] == (
        "bgmaker train: error: unknown run 'v3_polka'; known runs: v1_all, v2_rock_beat")
    empty = dict(env, BGMAKER_DATA_DIR=str(tmp_path))
    missing = run_cli(TRAIN_SH, "--run", "v1_all", env=empty, check=False)
    assert missing.returncode == 2
    assert "make it with: scripts/convert_gmd.sh --run v1_all" in missing.stderr


def test_hparams_merge_keeps_brackets():
    from bgmaker.train import split_hparams
    assert split_hparams("batch_size=4,enc_rnn_size=[16,16],z_size=8") == {
        "batch_size": "4", "enc_rnn_size": "[16,16]", "z_size": "8"}


def test_precision_option_reaches_the_graph_and_the_record(env, tmp_path):
    own = dict(env, BGMAKER_RUNS_DIR=str(tmp_path / "runs"))
    run_cli(TRAIN_SH, "--run", "v2_rock_beat", "--precision", "bf16", f"--hparams={TINY_HPARAMS}",
            "--num_steps=2", env=own)
    folder = tmp_path / "runs" / "v2_rock_beat"
    record = json.loads((folder / "bgmaker_run.json").read_text())
    assert record["hparams"]["lstm_precision"] == "bf16" and record["lstm_cell"] == "bf16"
    assert "lstm_precision=bf16" in (folder / "hparams.txt").read_text()
    from bgmaker.magenta_apps import recorded_hparams
    assert recorded_hparams(str(folder)) == TINY_HPARAMS, "generation picks its own precision"
    assert (folder / "train" / "model.ckpt-2.index").is_file()
    import tensorflow.compat.v1 as tf
    with tf.Graph().as_default() as graph:
        tf.train.import_meta_graph(str(folder / "train" / "model.ckpt-2.meta"), clear_devices=True)
        graph_def = graph.as_graph_def()
    ops = {n.op for n in graph_def.node} | {n.op for f in graph_def.library.function for n in f.node_def}
    bf16_matmuls = [n for n in graph_def.node if n.op == "MatMul" and n.attr["T"].type == tf.bfloat16.as_datatype_enum]
    assert "LSTMBlockCell" not in ops and bf16_matmuls, "the bf16 cell, not Magenta's fused one, was trained"

    bad = run_cli(TRAIN_SH, "--run", "v2_rock_beat", "--precision", "fp16", env=own, check=False)
    assert bad.returncode == 2 and "invalid choice: 'fp16'" in bad.stderr
