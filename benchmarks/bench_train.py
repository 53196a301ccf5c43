"""Training throughput: stock Magenta and BGMaker's training path, side by side, in one run.

  .venv/bin/python benchmarks/bench_train.py [--run v2_rock_beat] [--batch-sizes 64,512]
                                             [--steps 64:24,512:8] [--variants stock,bgmaker]

Each (variant, batch size) trains `hierdec-drum_4bar` on the same data (the
run's converted train split, every 4-bar window) with Magenta's own training
loop (`music_vae_train.train`: checkpoints, summaries, logging as in real
training) in a fresh process, so every start-up cost is paid again. A
SessionRunHook records wall-clock times. Printed per row:

  graph s      process start -> graph built (imports + Python graph construction)
  first step s graph built -> first training step done (session, variable init,
               Grappler, executor creation, shuffle-buffer fill, the step)
  warm-up s    process start -> end of step 2 (a second fetch signature costs
               a second Grappler pass), minus 2 steady steps: time lost before
               training runs at full speed
  s/step       median seconds per step over the steps after the first 3
  examples/s   batch size / median s/step
and the ratio of each variant to stock at the same batch size.

Variants:
  stock      Magenta 2.1.4 as released, with only the shims it cannot run
             without (BGMAKER_STOCK=1: Keras 2, np.bool, the unbatch segfault)
  bgmaker    what `scripts/train.sh` runs by default (bgmaker.train.prepare)
  bgmaker-fp32, bgmaker-bf16, bgmaker-fp32-matmul
             the default path with that LSTM precision forced
  bgmaker-grappler-default, bgmaker-grappler-off
             the default path with all of TensorFlow's Grappler passes / none
Not part of the test suite: it takes minutes and its figures depend on the machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

T0 = time.time()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child(args):
    """One measurement in this process; prints a JSON line."""
    if args.variant == "stock":
        os.environ["BGMAKER_STOCK"] = "1"
    sys.path.insert(0, REPO)
    import bgmaker_configs
    import tensorflow.compat.v1 as tf
    import tf_slim
    from magenta.models.music_vae import base_model, configs, data, music_vae_train

    from bgmaker import compat, train as bgmaker_train

    tf.disable_v2_behavior()
    tf.logging.set_verbosity(tf.logging.ERROR)
    run = bgmaker_configs.get_run(args.run)
    config = run.magenta_config()
    config.hparams.batch_size = args.batch
    if args.variant == "stock":
        model = base_model.MusicVAE(config.model.encoder, config.model.decoder)
        config = configs.update_config(config, dict(model=model))
    else:
        precision, grappler = "auto", "lean"
        for part in args.variant.split("-", 1)[1:]:
            if part.startswith("grappler-"):
                grappler = part.split("-", 1)[1]
            else:
                precision = part
        config.hparams.lstm_precision = precision
        bgmaker_train.prepare(grappler=grappler)

    marks = {}
    steps = []

    profile = {}

    class Timer(tf.train.SessionRunHook):
        def begin(self):
            marks["graph"] = time.time() - T0

        def after_create_session(self, session, coord):
            marks["session"] = time.time() - T0

        def before_run(self, run_context):
            if args.profile and len(steps) == args.steps - 2:  # a steady step, traced
                return tf.train.SessionRunArgs(None, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE))
            return None

        def after_run(self, run_context, run_values):
            steps.append(time.time() - T0)
            if run_values.run_metadata is not None and run_values.run_metadata.step_stats.dev_stats:
                for dev in run_values.run_metadata.step_stats.dev_stats:
                    for node in dev.node_stats:
                        label = node.timeline_label.split(" = ", 1)[-1].split("(", 1)[0] or node.node_name
                        profile[label] = profile.get(label, 0) + node.all_end_rel_micros / 1e6

    magenta_train = tf_slim.training.train

    def train_with_timer(*a, **k):
        k["hooks"] = list(k.get("hooks") or []) + [Timer()]
        return magenta_train(*a, **k)

    tf_slim.training.train = train_with_timer
    with tempfile.TemporaryDirectory() as work:
        music_vae_train.train(work, config, lambda: data.get_dataset(config, is_training=True),
                              num_steps=args.steps)
    durations = [b - a for a, b in zip(steps, steps[1:])]
    if profile:
        total = sum(profile.values())
        print(f"op time in one traced step (summed over threads): {total:.2f} s", file=sys.stderr)
        for op, seconds in sorted(profile.items(), key=lambda kv: -kv[1])[:25]:
            print(f"  {op:40s} {seconds:7.3f} s {100 * seconds / total:5.1f}%", file=sys.stderr)
    print(json.dumps(dict(variant=args.variant, batch=args.batch, marks=marks, steps=steps,
                          durations=durations, precision=compat.get_lstm_precision())))


def summarize(result):
    steady = statistics.median(result["durations"][2:]) if len(result["durations"]) > 2 else float("nan")
    marks, steps = result["marks"], result["steps"]
    return dict(graph=marks["graph"], first=steps[0] - marks["graph"],
                warmup=steps[1] - 2 * steady, step=steady, eps=result["batch"] / steady)


def parent(args):
    batches = [int(b) for b in args.batch_sizes.split(",")]
    steps = dict((int(k), int(v)) for k, v in (p.split(":") for p in args.steps.split(",")))
    variants = args.variants.split(",")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    rows = []
    print(f"bench_train: run {args.run}, variants {', '.join(variants)}, batch sizes {batches}; "
          f"each row is a fresh process", flush=True)
    for batch in batches:
        for variant in variants:
            n = steps.get(batch, 10)
            started = time.time()
            out = subprocess.run([sys.executable, __file__, "--child", "--variant", variant, "--batch", str(batch),
                                  "--steps", str(n), "--run", args.run] + (["--profile"] if args.profile else []),
                                 capture_output=True, text=True, env=env)
            lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
            if out.returncode or not lines:
                print(f"  {variant} batch {batch}: failed (exit {out.returncode})\n{out.stderr[-3000:]}", flush=True)
                continue
            result = json.loads(lines[-1])
            if args.profile:
                start = out.stderr.find("op time in one traced step")
                print(f"  {variant} batch {batch}: " + out.stderr[start:].rstrip() if start >= 0 else "no trace")
            rows.append((variant, batch, summarize(result), result))
            print(f"  {variant:20s} batch {batch:4d}: {n} steps in {time.time() - started:.0f} s", flush=True)
    print()
    head = (f"{'variant':20s} {'batch':>5s} {'graph s':>8s} {'first step s':>12s} {'warm-up s':>9s} "
            f"{'s/step':>7s} {'examples/s':>10s} {'x stock':>8s} {'warm-up x':>9s}")
    print(head)
    print("-" * len(head))
    stock = {b: s for v, b, s, _ in rows if v == "stock"}
    for variant, batch, s, _ in rows:
        base = stock.get(batch)
        speed = f"{s['eps'] / base['eps']:.2f}" if base else "-"
        warm = f"{base['warmup'] / s['warmup']:.1f}" if base and s["warmup"] > 0 else "-"
        print(f"{variant:20s} {batch:5d} {s['graph']:8.1f} {s['first']:12.1f} {s['warmup']:9.1f} "
              f"{s['step']:7.2f} {s['eps']:10.1f} {speed:>8s} {warm:>9s}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([dict(variant=v, batch=b, summary=s, raw=r) for v, b, s, r in rows], f, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="v2_rock_beat", help="named run whose converted train split is used")
    parser.add_argument("--batch-sizes", default="64,512")
    parser.add_argument("--steps", default="64:24,512:8", help="steps per batch size, as batch:steps,...")
    parser.add_argument("--variants", default="stock,bgmaker")
    parser.add_argument("--json", help="also write every measurement here")
    parser.add_argument("--profile", action="store_true",
                        help="also trace one steady step of each row and print the time per op type")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.steps = int(args.steps)
        return child(args)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
