"""Does the bf16 LSTM learn the same as fp32? Loss curves from the same weights and data, overlaid.

  .venv/bin/python reports/loss_curves.py [--run v2_rock_beat] [--steps 300] [--batch 64]
                                             [--out reports/loss_curves]

First one fp32 training step (graph seed 1) makes a common starting checkpoint
(weights and Adam slots). Then, with Magenta's own training loop resuming from
a copy of it, `hierdec-drum_4bar` trains --steps more steps on the run's train
split three times:
  fp32        Magenta's LSTMBlockCell, data order seed 1
  bf16        BGMaker's MatmulLSTMCell with bf16 matmuls, data order seed 1
  fp32 seed 2 LSTMBlockCell, data order seed 2: the spread that data order and
              the VAE's sampling noise alone give, the yardstick for "the same"
The input pipeline is built first in the graph with a fixed seed and made
deterministic, so runs of one seed see the same batches. The VAE's
reparameterization noise cannot be matched across the two cells (TensorFlow
derives op seeds from the op count, and the cells have different ops), which
is why the yardstick run matters. Records the training loss (Magenta's
`loss`: reconstruction + beta * KL) at every step; writes <out>.json and
<out>.png (raw losses faint, 25-step moving averages bold) and prints the
mean absolute gap between the smoothed curves.
"""
import argparse
import json
import os
import subprocess
import sys
import shutil
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = (("fp32", "fp32", 1), ("bf16", "bf16", 1), ("fp32 seed 2", "fp32", 2))


def child(args):
    sys.path.insert(0, REPO)
    import bgmaker_configs
    bgmaker_configs.register()  # compat shims + configs, before Magenta
    import tensorflow.compat.v1 as tf
    import tf_slim
    from magenta.models.music_vae import data, music_vae_train

    from bgmaker.training import train as bgmaker_train

    tf.disable_v2_behavior()
    tf.logging.set_verbosity(tf.logging.ERROR)
    config = bgmaker_configs.get_run(args.run).magenta_config()
    config.hparams.batch_size = args.batch
    config.hparams.lstm_precision = args.precision
    bgmaker_train.prepare()
    model = config.model
    build = model.build
    datasets = []

    def seeded_build(*a, **k):  # the first thing Magenta's train() does in its new graph
        tf.set_random_seed(args.seed)
        options = tf.data.Options()
        options.deterministic = True  # Magenta's pipeline allows reordering; not here
        datasets.append(data.get_dataset(config, is_training=True).with_options(options))
        return build(*a, **k)

    model.build = seeded_build
    record = []

    class Record(tf.train.SessionRunHook):
        def before_run(self, run_context):
            return tf.train.SessionRunArgs([model.loss, model.global_step])

        def after_run(self, run_context, run_values):
            loss, step = run_values.results
            record.append((int(step), float(loss)))

    magenta_train = tf_slim.training.train

    def train_with_record(*a, **k):
        k["hooks"] = list(k.get("hooks") or []) + [Record()]
        return magenta_train(*a, **k)

    tf_slim.training.train = train_with_record
    music_vae_train.train(args.workdir, config, lambda: datasets[-1], num_steps=args.steps)
    print(json.dumps(record))


def train(args, workdir, precision, seed, steps, env):
    out = subprocess.run([sys.executable, __file__, "--child", "--precision", precision, "--seed", str(seed),
                          "--steps", str(steps), "--batch", str(args.batch), "--run", args.run,
                          "--workdir", workdir], capture_output=True, text=True, env=env)
    lines = [line for line in out.stdout.splitlines() if line.startswith("[")]
    if out.returncode or not lines:
        sys.exit(f"loss_curves: {precision} seed {seed} failed (exit {out.returncode})\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def smooth(values, window=25):
    values = np.asarray(values, float)
    out = np.convolve(values, np.ones(window) / window, mode="valid")
    return np.concatenate([np.full(window - 1, np.nan), out])


def parent(args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    curves = {}
    with tempfile.TemporaryDirectory() as work:
        start = os.path.join(work, "start")
        print("one fp32 step from graph seed 1: the common starting checkpoint ...", flush=True)
        train(args, start, "fp32", 1, 1, env)
        for label, precision, seed in RUNS:
            print(f"training {label} ({args.steps} steps at batch {args.batch}) ...", flush=True)
            workdir = os.path.join(work, label.replace(" ", "_"))
            shutil.copytree(start, workdir)
            with open(os.path.join(workdir, "checkpoint"), "w") as f:  # relative: the copy's own step 1,
                f.write('model_checkpoint_path: "model.ckpt-1"\n'    # and the start checkpoint is never
                        'all_model_checkpoint_paths: "model.ckpt-1"\n')  # rotated away by the Saver
            curves[label] = train(args, workdir, precision, seed, 1 + args.steps, env)
    with open(args.out + ".json", "w") as f:
        json.dump(dict(run=args.run, batch=args.batch, steps=args.steps, curves=curves), f)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 5))
    colors = {"fp32": "tab:blue", "bf16": "tab:orange", "fp32 seed 2": "tab:gray"}
    smoothed = {}
    for label, points in curves.items():
        steps = [s for s, _ in points]
        losses = [v for _, v in points]
        smoothed[label] = smooth(losses)
        ax.plot(steps, losses, color=colors[label], alpha=0.2, linewidth=0.8)
        ax.plot(steps, smoothed[label], color=colors[label], linewidth=2, label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (reconstruction + beta KL)")
    ax.set_title(f"hierdec-drum_4bar on {args.run}, batch {args.batch}, from one starting checkpoint:\n"
                 "LSTM matmuls in fp32 vs bf16 (gray: fp32 with another data order)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out + ".png", dpi=110)

    def gap(a, b):
        n = min(len(smoothed[a]), len(smoothed[b]))
        return float(np.nanmean(np.abs(smoothed[a][:n] - smoothed[b][:n])))

    final = {k: float(np.nanmean([v for _, v in pts[-50:]])) for k, pts in curves.items()}
    print(f"mean |gap| of 25-step averages: bf16 vs fp32 {gap('bf16', 'fp32'):.2f}, "
          f"fp32 seed 2 vs fp32 {gap('fp32 seed 2', 'fp32'):.2f}")
    raw = {k: np.array([v for _, v in pts]) for k, pts in curves.items()}
    for other in ("bf16", "fp32 seed 2"):
        n = min(len(raw[other]), len(raw["fp32"]))
        a, b = raw["fp32"][:n], raw[other][:n]
        print(f"per step, {other} vs fp32: mean |difference| {np.abs(a - b).mean():.2f}, "
              f"correlation {np.corrcoef(a, b)[0, 1]:.4f}")
    print("mean loss over the last 50 steps: " + ", ".join(f"{k} {v:.2f}" for k, v in final.items()))
    print(f"wrote {args.out}.png and {args.out}.json")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="v2_rock_beat")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--out", default=os.path.join(REPO, "reports", "loss_curves"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--precision", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
