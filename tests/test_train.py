"""Named-run training through scripts/train.sh: record, resume after SIGKILL, NaN stop, eval."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from bgmaker_configs import TINY_HPARAMS

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
        "bgmaker train: error: unknown run 'v3_polka'; known runs: humanize, v1_all, v2_rock_beat "
        "(or train on your own MIDI with --midi DIR)")
    empty = dict(env, BGMAKER_DATA_DIR=str(tmp_path))
    missing = run_cli(TRAIN_SH, "--run", "v1_all", env=empty, check=False)
    assert missing.returncode == 2
    assert "make it with: scripts/convert_gmd.sh --run v1_all" in missing.stderr


def test_hparams_merge_keeps_brackets():
    from bgmaker.models import split_hparams
    assert split_hparams("batch_size=4,enc_rnn_size=[16,16],z_size=8") == {
        "batch_size": "4", "enc_rnn_size": "[16,16]", "z_size": "8"}


def test_precision_option_reaches_the_graph_and_the_record(env, tmp_path):
    own = dict(env, BGMAKER_RUNS_DIR=str(tmp_path / "runs"))
    run_cli(TRAIN_SH, "--run", "v2_rock_beat", "--precision", "bf16", f"--hparams={TINY_HPARAMS}",
            "--num_steps=2", env=own)
    folder = tmp_path / "runs" / "v2_rock_beat"
    record = json.loads((folder / "bgmaker_run.json").read_text())
    assert record["hparams"]["lstm_precision"] == "bf16" and record["lstm_cell"] == "bf16"
    from bgmaker.training.train import thread_pools
    assert record["thread_pools"] == thread_pools(4)  # TINY_HPARAMS: batch 4
    assert "lstm_precision=bf16" in (folder / "hparams.txt").read_text()
    from bgmaker.models import recorded_hparams
    from bgmaker.models import split_hparams
    assert "shuffle_buffer=16384" in (folder / "hparams.txt").read_text()  # the run's recipe
    assert split_hparams(recorded_hparams(str(folder))) == split_hparams(TINY_HPARAMS), \
        "generation picks its own precision and needs no training shuffle"
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


def test_shuffle_buffer_hparam_sizes_magentas_training_shuffle():
    """hparam shuffle_buffer replaces Magenta's 10 x batch buffer (and only that shuffle)."""
    import tensorflow as tf
    import bgmaker_configs
    bgmaker_configs.register()  # compat shims + configs, before Magenta
    from magenta.models.music_vae import data
    config = bgmaker_configs.RUNS["v2_rock_beat"].magenta_config()
    sizes = []
    shuffle = tf.data.Dataset.shuffle

    def spy(self, buffer_size, *a, **k):
        sizes.append(buffer_size if isinstance(buffer_size, int) else "tensor")
        return shuffle(self, buffer_size, *a, **k)

    tf.data.Dataset.shuffle = spy
    try:
        config.hparams.batch_size, config.hparams.shuffle_buffer = 4, 1000
        config = config._replace(train_examples_path=__file__)  # any existing file: nothing is read
        data.get_dataset(config, is_training=True)
        config.hparams.shuffle_buffer = 0
        data.get_dataset(config, is_training=True)
    finally:
        tf.data.Dataset.shuffle = shuffle
    assert [s for s in sizes if s != "tensor"] == [1000, 40]  # then Magenta's own 10 x batch


def own_midi(folder, n, variant=0):
    from drum_midi import rock_beat, write_midi
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_midi(rock_beat(bars=6, variant=variant + i), folder / f"groove_{i}.mid")
    return folder


def weights(checkpoint):
    import tensorflow.compat.v1 as tf
    reader = tf.train.load_checkpoint(str(checkpoint))
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(str(checkpoint))
            if "Adam" not in name and name not in ("global_step", "beta1_power", "beta2_power")}


def test_fine_tune_a_model_on_your_own_midi(tmp_path):
    """--midi DIR trains a run on your own grooves; --init-from starts it from another model's weights."""
    import numpy as np
    env = {"BGMAKER_RUNS_DIR": str(tmp_path / "runs"), "BGMAKER_DATA_DIR": str(tmp_path / "data")}
    base = run_cli(TRAIN_SH, "--run", "base", "--midi", own_midi(tmp_path / "gmd_like", 3),
                   f"--hparams={TINY_HPARAMS}", "--num_steps=3", env=env)
    assert "bgmaker train: base (" in base.stdout
    base_ckpt = tmp_path / "runs" / "base" / "train" / "model.ckpt-3"
    assert base_ckpt.with_suffix(".ckpt-3.index").is_file()

    mine = run_cli(TRAIN_SH, "--run", "mine", "--midi", own_midi(tmp_path / "my_grooves", 2, variant=5),
                   "--init-from", tmp_path / "runs" / "base", f"--hparams={TINY_HPARAMS}", "--num_steps=2",
                   env=env)
    assert "starting from the weights of" in mine.stdout and "model.ckpt-3" in mine.stdout
    folder = tmp_path / "runs" / "mine"
    start, base_weights = weights(folder / "train" / "model.ckpt-0"), weights(base_ckpt)
    assert start.keys() == base_weights.keys() and all(np.array_equal(start[k], base_weights[k]) for k in start)
    assert not all(np.array_equal(v, base_weights[k]) for k, v in weights(folder / "train" / "model.ckpt-2").items())
    record = json.loads((folder / "bgmaker_run.json").read_text())
    assert record["init_from"].endswith("base/train/model.ckpt-3") and not os.path.isabs(record["init_from"])
    assert record["midi_dir"] == "../../my_grooves" and record["data_sha256"]["train"]
    assert json.loads((tmp_path / "data" / "mine" / "report.json").read_text())["splits"]["train"]["files"] == 2

    # resumes by name, without --midi, and keeps the record's history
    again = run_cli(TRAIN_SH, "--run", "mine", f"--hparams={TINY_HPARAMS}", "--num_steps=4", env=env)
    assert "resuming from model.ckpt-2" in again.stdout
    record = json.loads((folder / "bgmaker_run.json").read_text())
    assert len(record["starts"]) == 2 and record["init_from"].endswith("model.ckpt-3")
    for start in record["starts"]:  # in a git checkout dirty or not is known; outside one, neither is recorded
        assert isinstance(start["git_dirty"], bool) if start["git_commit"] else start["git_dirty"] is None

    sample = run_cli("bgmaker", "generate", "sample", "--checkpoint", folder, "--num", "2", "--output-dir",
                     tmp_path / "out", env=env)
    assert len(list((tmp_path / "out").glob("*.mid"))) >= 2, sample.stdout

    bad = run_cli(TRAIN_SH, "--run", "other", "--midi", tmp_path / "my_grooves", "--init-from",
                  tmp_path / "runs" / "base", "--hparams=" + TINY_HPARAMS.replace("z_size=8", "z_size=16"),
                  "--num_steps=2", env=env, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("bgmaker train: error: --init-from:")
    assert "does not fit this model" in bad.stderr
    named = run_cli(TRAIN_SH, "--run", "v2_rock_beat", "--midi", tmp_path / "my_grooves", env=env, check=False)
    assert named.returncode == 2 and "is a named GMD run" in named.stderr


def test_cpu_budget_progress_and_milestones(env, tmp_path):
    """The run's CPU time adds up over restarts, stops at --cpu-hours, and milestones keep weights only."""
    from bgmaker.training.run_state import read_milestones, read_progress
    own = dict(env, BGMAKER_RUNS_DIR=str(tmp_path / "runs"))
    run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}", "--num_steps=3",
            "--milestone-every", "0.01", env=own)
    folder = tmp_path / "runs" / "v2_rock_beat"
    progress = read_progress(folder)
    assert progress and progress[-1]["step"] == 3 and progress[-1]["examples"] == 3 * 4
    assert progress[-1]["cpu_s"] > 0 and progress[-1]["wall_s"] > 0
    from bgmaker.compat import cpu_model, resolve_lstm_precision
    # each record says where its CPU time was spent: sessions land on different CPUs
    assert progress[-1]["cpu"] == cpu_model() and progress[-1]["cpu"]
    assert progress[-1]["precision"] == resolve_lstm_precision("auto")  # TINY_HPARAMS leave the run's "auto"
    milestones = read_milestones(folder)
    assert milestones and all(m["cpu_s"] > 0 for m in milestones)
    names = set(weights(milestones[-1]["checkpoint"]))
    assert names and not any("Adam" in n for n in names)

    spent_h = progress[-1]["cpu_s"] / 3600
    stopped = run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}", "--num_steps=100",
                      "--cpu-hours", f"{spent_h / 2:.6f}", env=own)
    assert "CPU-hours already spent" in stopped.stdout and "nothing to do" in stopped.stdout
    assert checkpoints(own)[-1] == 3
    assert read_progress(folder)[-1]["cpu_s"] > progress[-1]["cpu_s"], "a restart's CPU is charged too"

    sample = run_cli("bgmaker", "generate", "sample", "--checkpoint", milestones[-1]["checkpoint"], "--num", "1",
                     "--output-dir", tmp_path / "out", env=own)
    assert list((tmp_path / "out").glob("*.mid")), sample.stdout


def test_milestone_steps_keep_those_steps_and_stop_after_the_last(env, tmp_path):
    """--milestone-steps: runs compared at equal steps (the campaign's recipe trials on different CPUs)."""
    from bgmaker.training.run_state import read_milestones
    own = dict(env, BGMAKER_RUNS_DIR=str(tmp_path / "runs"))
    done = run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}", "--num_steps=100",
                   "--milestone-steps", "2,4", env=own)  # instead of the CPU-minute milestones, not beside them
    assert "last milestone step reached (step 4); stopping" in done.stdout
    folder = tmp_path / "runs" / "v2_rock_beat"
    assert [m["step"] for m in read_milestones(folder)] == [2, 4] and checkpoints(own)[-1] == 4
    again = run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}", "--num_steps=100",
                    "--milestone-steps", "2,4", env=own)
    assert "every milestone step already kept; nothing to do" in again.stdout and checkpoints(own)[-1] == 4
    bad = run_cli(TRAIN_SH, "--run", "v2_rock_beat", "--milestone-steps", "4,2", env=own, check=False)
    assert bad.returncode != 0 and "steps must be positive and increasing" in bad.stderr


def test_another_model_on_a_runs_data(env, tmp_path):
    """--config trains the run's data with the flat cat-drums_4bar baseline; what reads the checkpoint
    (evaluation, generation) builds the model its run record names; the run keeps that model."""
    from bgmaker.evaluation import evaluate
    from bgmaker.training.train import resolve_run
    own = dict(env, BGMAKER_RUNS_DIR=str(tmp_path / "runs"))
    run_cli(TRAIN_SH, "--run", "v2_rock_beat", "--config", "cat-drums_4bar", f"--hparams={TINY_HPARAMS}",
            "--num_steps=2", env=own)
    folder = tmp_path / "runs" / "v2_rock_beat"
    assert json.loads((folder / "bgmaker_run.json").read_text())["model"] == "cat-drums_4bar"

    old = {k: os.environ.get(k) for k in own}
    os.environ.update(own)
    try:
        summary = evaluate.validate("v2_rock_beat", str(folder / "train" / "model.ckpt-2"), max_windows=4,
                                    n_samples=4, n_interpolations=1, interpolation_steps=3, log=lambda *_: None,
                                    output_dir=tmp_path / "eval")
        assert 0 <= summary["accuracy_free_running"] <= 1
        with pytest.raises(Exception, match="was trained as 'cat-drums_4bar'.*--config cat-drums_4bar"):
            resolve_run("v2_rock_beat")
        with pytest.raises(Exception, match="not one of BGMaker's models"):
            resolve_run("v2_rock_beat", config="cat-drums_8bar")
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    out = tmp_path / "beats"
    run_cli("bgmaker", "generate", "sample", "--checkpoint", folder, "--num", "2", "--output-dir", out, env=own)
    assert (out / "sample_01.mid").is_file() and (out / "sample_02.mid").is_file()
    run_cli("bgmaker", "generate", "sample", "--run", "v2_rock_beat", "--checkpoint", folder, "--num", "1",
            "--output-dir", tmp_path / "beats_run", env=own)  # --run too: the checkpoint's own model
    assert (tmp_path / "beats_run" / "sample_01.mid").is_file()
    again = run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}", "--num_steps=3", env=own,
                    check=False)
    assert again.returncode == 2 and "resume it with --config cat-drums_4bar" in again.stderr


def test_training_sessions_get_the_thread_pools():
    """Magenta's loop builds its session without a ConfigProto: prepare()'s tf.config settings must reach it."""
    from bgmaker.training import train
    code = ("import sys, bgmaker_configs; bgmaker_configs.register()\n"
            "from bgmaker.training import train; train.prepare(threads=train.thread_pools(int(sys.argv[1])))\n"
            "import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()\n"
            "c = tf.Session()._config; print(c.intra_op_parallelism_threads, c.inter_op_parallelism_threads)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_NUM_")}

    def pools(batch, **extra):
        return subprocess.run([sys.executable, "-c", code, str(batch)], capture_output=True, text=True, check=True,
                              env=dict(env, **extra)).stdout.split()

    small_machine = (os.cpu_count() or 1) <= train.SMALL_MACHINE_CORES
    assert pools(64) == (["1", "2"] if small_machine else ["0", "0"])
    assert pools(512) == ["0", "0"], "measured at batch 64 only: a large batch keeps TensorFlow's pools"
    assert pools(64, TF_NUM_INTRAOP_THREADS="2") == ["0", "0"], "the environment's sizes are TensorFlow's to apply"
    old = {k: os.environ.pop(k, None) for k in train.THREAD_ENV}
    try:
        os.environ["TF_NUM_INTRAOP_THREADS"] = "two"
        with pytest.raises(Exception, match="TF_NUM_INTRAOP_THREADS='two': give a whole number"):
            train.thread_pools(64)
        os.environ["TF_NUM_INTRAOP_THREADS"] = "3"
        assert train.thread_pools(64) == dict(intra_op=3, inter_op=None, source="environment")
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def test_a_replay_recipe_trains_on_the_run_mixed_with_its_parent(env, tmp_path):
    """--recipe replay25: v1_all's windows are converted, mixed in as 25% of the train split, and trained on;
    validation stays the run's own."""
    import drum_midi
    gmd = mini_gmd(tmp_path / "groove")  # plus a funk performance in train: v1_all's window beyond rock beats
    rel = "drummer1/session2/9_funk_100_beat_4-4.mid"
    (gmd / rel).parent.mkdir(parents=True)
    drum_midi.write_midi(drum_midi.rock_beat(bars=8, variant=9), gmd / rel)
    with open(gmd / "info.csv", "a") as f:
        f.write(f"drummer1,drummer1/session2,drummer1/session2/9,funk,100,beat,4-4,{rel},,19.2,train\n")
    own = dict(env, BGMAKER_RUNS_DIR=str(tmp_path / "runs"), BGMAKER_DATA_DIR=str(tmp_path / "data"),
               BGMAKER_GMD_DIR=str(gmd))
    run_cli(str(REPO / "scripts" / "convert_gmd.sh"), "--run", "v2_rock_beat", env=own)
    run_cli(TRAIN_SH, "--run", "v2_rock_beat", "--recipe", "replay25", f"--hparams={TINY_HPARAMS}",
            "--num_steps=2", env=own)
    folder = tmp_path / "runs" / "v2_rock_beat"
    record = json.loads((folder / "bgmaker_run.json").read_text())
    assert record["recipe"]["name"] == "replay25" and record["recipe"]["replay"] == ["v1_all", 0.25]
    data = os.path.join(own["BGMAKER_DATA_DIR"], "v2_rock_beat")
    assert record["examples"]["train"].endswith("replay-v1_all-25/train.tfrecord")
    assert record["examples"]["validation"].endswith(os.path.join("v2_rock_beat", "validation.tfrecord"))
    mix = json.loads(open(os.path.join(data, "replay-v1_all-25", "report.json")).read())
    assert mix["replayed_windows"] > 0 and mix["run_windows"] + mix["replayed_windows"] == mix["windows"]
    assert (folder / "train" / "model.ckpt-2.index").is_file()


def test_init_step_goes_on_with_the_models_step_and_a_warm_start_begins_at_zero(env, tmp_path):
    """--init-from X --init-step continues X's global step (Magenta's learning-rate schedule with it); plain
    --init-from starts at 0. The campaign continues its own committed model so."""
    from bgmaker.training.run_state import read_progress
    first = dict(env, BGMAKER_RUNS_DIR=str(tmp_path / "first"))
    run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}", "--num_steps=3", env=first)
    source = str(tmp_path / "first" / "v2_rock_beat")
    go_on = dict(env, BGMAKER_RUNS_DIR=str(tmp_path / "go_on"))
    run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}", "--num_steps=5", "--init-from", source,
            "--init-step", env=go_on)
    assert (tmp_path / "go_on" / "v2_rock_beat" / "train" / "model.ckpt-5.index").is_file()
    steps = [r["step"] for r in read_progress(tmp_path / "go_on" / "v2_rock_beat")]
    assert steps[-1] == 5 and min(steps) >= 3, "it went on from step 3: two steps trained"
    fresh = dict(env, BGMAKER_RUNS_DIR=str(tmp_path / "fresh"))
    run_cli(TRAIN_SH, "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}", "--num_steps=2", "--init-from", source,
            env=fresh)
    assert (tmp_path / "fresh" / "v2_rock_beat" / "train" / "model.ckpt-2.index").is_file()
    bad = run_cli(TRAIN_SH, "--run", "v2_rock_beat", "--init-step", env=fresh, check=False)
    assert bad.returncode != 0 and "--init-step goes with --init-from" in bad.stderr
    assert "Traceback" not in bad.stderr, bad.stderr  # one line, not a crash
