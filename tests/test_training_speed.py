"""The training speed-ups are exact or close, and change no checkpoint.

- MatmulLSTMCell (fp32 and bf16 matmul) against Magenta's LSTMBlockCell on the
  same variables: outputs, final state and gradients;
- a checkpoint trained with one LSTM precision loads and samples with the other;
- the vectorized per-sequence loss sum equals Magenta's Python loop, with far
  fewer graph ops;
- `auto` precision follows the CPU's bf16 flags; BGMAKER_STOCK=1 leaves Magenta
  as released; `bgmaker.training.train.prepare` sets the Grappler options.
Speed itself is measured by benchmarks/bench_train.py and bench_lstm_cell.py, not here.
"""
import json
import numpy as np
import pytest

from conftest import run_cli
from test_compat import python

import bgmaker_configs

bgmaker_configs.register()  # compat shims + configs, before Magenta
from bgmaker import compat


def run_cells(kinds, batch=8, steps=12, depth=20, units=32, seed=0):
    """Outputs, final c and gradients of each cell kind on one shared set of variables."""
    import tensorflow.compat.v1 as tf
    from magenta.contrib import rnn as contrib_rnn

    results = {}
    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        x = tf.constant(np.random.RandomState(seed).uniform(-1, 1, (batch, steps, depth)), tf.float32)
        lengths = tf.constant(np.arange(batch) % steps + 1, tf.int32)  # ragged: padding must be respected
        fetches = {}
        for i, kind in enumerate(kinds):
            with tf.variable_scope("shared", reuse=tf.AUTO_REUSE):
                if kind == "block":
                    cell = contrib_rnn.LSTMBlockCell(units)
                else:
                    cell = compat.matmul_lstm_cell(units, kind)
                out, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32,
                                               scope="rnn")
            variables = tf.trainable_variables()
            grads = tf.gradients(tf.reduce_sum(out * out) + tf.reduce_sum(state.c), [x] + variables)
            fetches[kind] = dict(out=out, c=state.c, grads=grads, names=[v.name for v in variables])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for kind, f in fetches.items():
                names = f.pop("names")
                results[kind] = sess.run(f)
                results[kind]["names"] = names
    return results


def test_matmul_cells_match_lstm_block_cell_on_the_same_weights():
    r = run_cells(["block", "float32", "bfloat16"])
    assert r["block"]["names"] == r["float32"]["names"] == r["bfloat16"]["names"] == [
        "shared/rnn/lstm_cell/kernel:0", "shared/rnn/lstm_cell/bias:0"], "one set of variables, same names"
    block, fp32, bf16 = r["block"], r["float32"], r["bfloat16"]
    assert np.abs(block["out"]).max() > 0.05, "a non-trivial output"
    # fp32 matmul: the same function up to summation order.
    np.testing.assert_allclose(fp32["out"], block["out"], atol=1e-5)
    np.testing.assert_allclose(fp32["c"], block["c"], atol=1e-5)
    for g_fp32, g_block in zip(fp32["grads"], block["grads"]):
        np.testing.assert_allclose(g_fp32, g_block, atol=1e-4, rtol=1e-4)
    # bf16 matmul operands (8-bit mantissa): close, and clearly not the same numbers.
    np.testing.assert_allclose(bf16["out"], block["out"], atol=3e-2)
    np.testing.assert_allclose(bf16["c"], block["c"], atol=5e-2)
    assert np.abs(bf16["out"] - block["out"]).max() > 1e-6, "the bf16 path really ran in bf16"
    for g_bf16, g_block in zip(bf16["grads"], block["grads"]):
        scale = np.abs(g_block).max()
        assert np.abs(g_bf16 - g_block).max() <= 0.05 * scale
        cosine = (g_bf16 * g_block).sum() / (np.linalg.norm(g_bf16) * np.linalg.norm(g_block))
        assert cosine > 0.999


def test_precision_switch_builds_the_chosen_cell_everywhere_with_the_same_variables():
    import tensorflow.compat.v1 as tf
    from magenta.models.music_vae import lstm_utils
    from bgmaker_configs import architectures

    def build(precision):
        hparams = architectures.hparams()
        hparams.parse(architectures.TINY_HPARAMS + f",lstm_precision={precision}")
        config = architectures.hierdec_drum_4bar()
        with tf.Graph().as_default() as graph:
            config.model.build(hparams, config.data_converter.output_depth, is_training=True)
            config.model.train(
                input_sequence=tf.zeros([4, 64, 10]), output_sequence=tf.zeros([4, 64, 512]),
                sequence_length=tf.fill([4], 64))
            variables = sorted((v.name, tuple(v.shape.as_list())) for v in tf.global_variables())
        return variables, op_types(graph)

    fp32_vars, fp32_ops = build("fp32")
    bf16_vars, bf16_ops = build("bf16")
    assert fp32_vars == bf16_vars
    assert "LSTMBlockCell" in fp32_ops and "LSTMBlockCell" not in bf16_ops
    assert "LSTMBlockCell" in build_plain_magenta_cell_types(lstm_utils), "outside a build, Magenta's own cell"


def build_plain_magenta_cell_types(lstm_utils):
    import tensorflow.compat.v1 as tf
    with tf.Graph().as_default() as graph:
        x = tf.zeros([2, 3, 4])
        tf.nn.dynamic_rnn(lstm_utils.rnn_cell([5], 1.0, False), x, dtype=tf.float32)
    return op_types(graph)


def op_types(graph):
    """Op types in a graph and its function library (while-loop bodies under control flow v2)."""
    graph_def = graph.as_graph_def()
    return {n.op for n in graph_def.node} | {n.op for f in graph_def.library.function for n in f.node_def}


@pytest.mark.parametrize("train_in,sample_in", [("bf16", "fp32"), ("fp32", "bf16")])
def test_checkpoint_trained_in_one_precision_samples_in_the_other(tiny_model, tmp_path, train_in, sample_in):
    from bgmaker.generation.generator import BeatGenerator
    from bgmaker_configs.architectures import TINY_HPARAMS

    run_dir = tmp_path / "run"
    run_cli("music_vae_train", "--config=hierdec-drum_4bar", f"--run_dir={run_dir}", "--mode=train",
            f"--examples_path={tiny_model['examples']}", "--num_steps=2",
            f"--hparams={TINY_HPARAMS},lstm_precision={train_in}")
    beats = {}
    for precision in (train_in, sample_in):
        g = BeatGenerator("hierdec-drum_4bar", run_dir, hparams=f"{TINY_HPARAMS},lstm_precision={precision}")
        try:
            assert ("LSTMBlockCell" in op_types(g._session.graph)) == (precision == "fp32")
            z = g.encode([tiny_model["midi_dir"] / "beat_1.mid"])
            beats[precision] = (z, g.sample(2, temperature=0.5, seed=11))
        finally:
            g.close()
    (z_a, a), (z_b, b) = beats[train_in], beats[sample_in]
    np.testing.assert_allclose(z_a, z_b, atol=0.05 * np.abs(z_a).max())  # same weights, other matmul precision
    assert all(len(x.notes) > 0 for x in a + b)
    assert all(n.is_drum for x in a + b for n in x.notes)


def test_vectorized_sequence_loss_equals_magentas_loop():
    import tensorflow.compat.v1 as tf
    from magenta.models.music_vae import lstm_models
    from bgmaker_configs import architectures

    new = lstm_models.BaseLstmDecoder.reconstruction_loss
    original = new._bgmaker_original
    batch, length, depth = 6, 16, 512
    rng = np.random.RandomState(0)
    target = np.eye(depth, dtype=np.float32)[rng.randint(0, depth, (batch, length))]
    lengths = np.array([16, 3, 0, 9, 16, 1], np.int32)
    z_value = rng.normal(size=(batch, 8)).astype(np.float32)
    results, op_counts = {}, {}
    control = rng.uniform(size=(batch, length, 2)).astype(np.float32)
    cases = ("teacher", "scheduled", "teacher + controls", "scheduled + controls")
    for name, method in (("magenta", original), ("bgmaker", new)):
        for sampling in cases:
            hparams = architectures.hparams()
            hparams.parse("batch_size=6,dec_rnn_size=[16],z_size=8,sampling_schedule=constant")
            # Scheduled sampling at rate 1 with an argmax "sampler": every step feeds back
            # the model's own output, deterministically, so both versions see the same inputs.
            hparams.sampling_rate = 0.0 if sampling.startswith("teacher") else 1.0  # an int hparam in the config
            with tf.Graph().as_default() as graph:
                tf.set_random_seed(1)
                tf.train.get_or_create_global_step()  # read by Magenta's sampling schedule
                decoder = lstm_models.CategoricalLstmDecoder()
                decoder.build(hparams, depth, is_training=True)
                decoder._sample = lambda rnn_output, temperature=1.0: tf.one_hot(tf.argmax(rnn_output, -1), depth)
                z = tf.constant(z_value)
                before = len(graph.get_operations())
                with tf.variable_scope("d"):
                    extra = "controls" in sampling
                    r_loss, _, _ = method(decoder, tf.constant(target), tf.constant(target),
                                          tf.constant(lengths), z,
                                          tf.constant(control) if extra else None)
                op_counts[name, sampling] = len(graph.get_operations()) - before
                with tf.Session() as sess:
                    sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
                    for i, v in enumerate(sorted(tf.trainable_variables(), key=lambda v: v.name)):
                        v.load(np.random.RandomState(i).uniform(-0.2, 0.2, v.shape.as_list()), sess)
                    results[name, sampling] = sess.run(r_loss)
    for sampling in cases:
        np.testing.assert_allclose(results["bgmaker", sampling], results["magenta", sampling], rtol=1e-5)
        assert results["magenta", sampling][2] == 0.0 and results["magenta", sampling][0] > 0
        assert op_counts["magenta", sampling] - op_counts["bgmaker", sampling] > 4 * batch, op_counts  # ~8 per sequence


def test_auto_precision_follows_the_cpu_flags(tmp_path):
    amx = tmp_path / "amx"
    amx.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile\n")
    plain = tmp_path / "plain"
    plain.write_text("processor\t: 0\nflags\t\t: fpu avx2 fma\n")
    assert compat.cpu_has_fast_bf16(str(amx)) is True
    assert compat.cpu_has_fast_bf16(str(plain)) is False
    assert compat.cpu_has_fast_bf16(str(tmp_path / "missing")) is False
    assert compat.bf16_hardware(str(amx)) == "amx_bf16" and compat.bf16_hardware(str(plain)) is None
    assert compat.resolve_lstm_precision("auto") == ("bf16" if compat.cpu_has_fast_bf16() else "fp32")
    with pytest.raises(ValueError, match="unknown LSTM precision 'fp16'"):
        compat.resolve_lstm_precision("fp16")
    named = tmp_path / "named"
    named.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu avx2\n")
    assert compat.cpu_model(str(named)) == "AMD EPYC 9R14"
    assert compat.cpu_model(str(tmp_path / "missing")) == "unknown"


def test_the_campaign_trains_drum_models_in_bf16_only_once_the_paired_check_passed(tmp_path, monkeypatch):
    """reports/bf16_training.json decides; fp32 while it is missing, unreadable or failed; humanize keeps its own."""
    from bgmaker.training import campaign
    check = tmp_path / "bf16_training.json"
    monkeypatch.setattr(compat, "resolve_lstm_precision", lambda precision: "bf16")  # a CPU with hardware bf16
    assert campaign.training_precision("v1_all", check) == "fp32"  # no check yet
    check.write_text("{not json")
    assert campaign.training_precision("v1_all", check) == "fp32"
    monkeypatch.setattr(compat, "bf16_hardware", lambda: "amx_bf16")
    check.write_text(json.dumps(dict(checks=dict(amx_bf16=dict(passed=False), avx512_bf16=dict(passed=True)))))
    assert campaign.training_precision("v2_rock_beat", check) == "fp32"  # passed on the other kind only
    check.write_text(json.dumps(dict(checks=dict(amx_bf16=dict(passed=True)))))
    assert campaign.training_precision("v1_all", check) is None  # the run's own "auto": bf16 here
    monkeypatch.setattr(compat, "bf16_hardware", lambda: "avx512_bf16")
    assert campaign.training_precision("v1_all", check) == "fp32"
    # a report from before the kinds were told apart: one check at its top level, made on an AMD EPYC
    check.write_text(json.dumps(dict(passed=True, machine=dict(cpu="AMD EPYC", hardware_bf16=True))))
    assert campaign.training_precision("v1_all", check) is None
    monkeypatch.setattr(compat, "bf16_hardware", lambda: "amx_bf16")
    assert campaign.training_precision("v1_all", check) == "fp32"
    assert campaign.training_precision("humanize", tmp_path / "missing.json") is None
    monkeypatch.setattr(compat, "resolve_lstm_precision", lambda precision: "fp32")  # no hardware bf16
    assert campaign.training_precision("v1_all", tmp_path / "missing.json") is None


def test_stock_mode_leaves_magenta_as_released():
    code = """
        import bgmaker_configs
        bgmaker_configs.register()  # compat shims + configs, before Magenta
        from magenta.models.music_vae import lstm_models, data
        from bgmaker import compat
        with compat.lstm_precision("bf16") as precision:
            pass
        print(getattr(lstm_models.BaseLstmDecoder.reconstruction_loss, "_bgmaker_shim", False),
              getattr(data.convert_to_tensors_op, "_bgmaker_shim", False), precision)
    """
    assert python(code, BGMAKER_STOCK="1").stdout.split() == ["False", "True", "fp32"]
    assert python(code).stdout.split() == ["True", "True", "bf16"]


def test_prepare_sets_grappler_options():
    code = """
        import tensorflow as tf
        from bgmaker.training import train
        train.prepare(grappler="{}")
        print(sorted(k for k, v in tf.config.optimizer.get_experimental_options().items() if v is True),
              sorted(k for k, v in tf.config.optimizer.get_experimental_options().items() if v is False))
    """
    off = python(code.format("off"))
    assert off.stdout.startswith("['disable_meta_optimizer']"), off.stderr[-2000:]
    lean = python(code.format("lean"))
    assert lean.stdout.startswith("[] ") and "'constant_folding'" in lean.stdout, lean.stderr[-2000:]
    assert "'layout_optimizer'" in lean.stdout
    default = python(code.format("default")).stdout
    assert default.startswith("[] ") and "constant_folding" not in default  # TensorFlow's own choices
    bad = python(code.format("fast"))
    assert bad.returncode != 0 and "unknown grappler setting 'fast'" in bad.stderr
