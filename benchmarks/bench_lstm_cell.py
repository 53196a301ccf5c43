"""LSTM cell speed: Magenta's LSTMBlockCell against BGMaker's MatmulLSTMCell (fp32 and bf16), one run.

  .venv/bin/python benchmarks/bench_lstm_cell.py [--batch 512] [--steps 16] [--repeats 5]

For each of MusicVAE's two LSTM shapes (the encoder's 512 units on 9 inputs
per direction; the core decoder's 2 x 256 units on 768 inputs: 512 previous
output classes + 256 from the conductor), runs `dynamic_rnn` forward and
backward (gradients of a sum of outputs w.r.t. inputs and weights) and
prints the median seconds per call, examples per second and the speed
relative to LSTMBlockCell. Also times a bare [batch, k] x [k, n] matmul in
fp32 and bf16, which says whether this CPU has hardware bf16 (AMX-BF16 /
AVX512-BF16): without it TensorFlow emulates bf16 and the bf16 cell loses.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bgmaker import compat  # noqa: E402

compat.apply()
import tensorflow.compat.v1 as tf  # noqa: E402
from magenta.contrib import rnn as contrib_rnn  # noqa: E402

tf.disable_v2_behavior()

SHAPES = {  # name: (layer sizes, input depth)
    "encoder (1 x 512, 9 in)": ([512], 9),
    "core decoder (2 x 256, 768 in)": ([256, 256], 768),
}
CELLS = ("LSTMBlockCell fp32", "MatmulLSTMCell fp32", "MatmulLSTMCell bf16")


def make_cell(kind, units):
    if kind == "LSTMBlockCell fp32":
        return contrib_rnn.LSTMBlockCell(units)
    return compat.matmul_lstm_cell(units, "bfloat16" if kind.endswith("bf16") else "float32")


def time_call(sess, fetch, repeats):
    sess.run(fetch)  # warm-up: oneDNN primitive creation, allocator
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(fetch)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_rnn(kind, sizes, depth, batch, steps, repeats):
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        x = tf.random.normal([batch, steps, depth])
        cell = tf.nn.rnn_cell.MultiRNNCell([make_cell(kind, n) for n in sizes])
        out, _ = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        loss = tf.reduce_sum(out)
        grads = tf.gradients(loss, [x] + tf.trainable_variables())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return time_call(sess, grads, repeats)


def bench_matmul(dtype, m, k, n, repeats):
    """The bare matmul: operands already in `dtype` (cast once at init), a tiny fp32 reduction after."""
    with tf.Graph().as_default():
        a = tf.Variable(tf.cast(tf.random.normal([m, k]), dtype))
        b = tf.Variable(tf.cast(tf.random.normal([k, n]), dtype))
        prod = tf.reduce_sum(tf.cast(tf.matmul(a, b)[:1], tf.float32))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return time_call(sess, prod, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=16, help="time steps per dynamic_rnn call")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(f"CPU hardware bf16 (AMX-BF16 or AVX512-BF16 in /proc/cpuinfo): {compat.cpu_has_fast_bf16()}")
    m, k, n = args.batch, 768 + 256, 1024
    fp32 = bench_matmul(tf.float32, m, k, n, args.repeats)
    bf16 = bench_matmul(tf.bfloat16, m, k, n, args.repeats)
    print(f"matmul [{m}x{k}] x [{k}x{n}]: fp32 {fp32 * 1e3:.2f} ms, bf16 {bf16 * 1e3:.2f} ms, "
          f"bf16 speed-up x{fp32 / bf16:.2f}\n")
    print(f"dynamic_rnn forward + backward, batch {args.batch}, {args.steps} steps, median of {args.repeats}")
    print(f"{'shape':32s} {'cell':22s} {'s/call':>8s} {'examples/s':>11s} {'vs block':>9s}")
    for name, (sizes, depth) in SHAPES.items():
        base = None
        for kind in CELLS:
            seconds = bench_rnn(kind, sizes, depth, args.batch, args.steps, args.repeats)
            base = base or seconds
            print(f"{name:32s} {kind:22s} {seconds:8.3f} {args.batch / seconds:11.0f} {base / seconds:8.2f}x",
                  flush=True)


if __name__ == "__main__":
    main()
