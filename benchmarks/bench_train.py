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
  Grappler s   time spent in Grappler passes over the whole run (from TensorFlow's
               meta_optimizer log): once per distinct fetch signature
  warm-up s    process start -> end of step 2 (a second fetch signature costs
               a second Grappler pass), minus 2 steady steps: time lost before
               training runs at full speed
  s/step       median seconds per step over the steps after the first 3
  CPU s/step   median process CPU seconds (all threads) per step over the same steps:
               what a --cpu-hours budget pays
  examples/s   batch size / median s/step
and the ratio of each variant to stock at the same batch size.

Variants:
  stock      Magenta 2.1.4 as released, with only the shims it cannot run
             without (BGMAKER_STOCK=1: Keras 2, np.bool, the unbatch segfault)
  bgmaker    what `scripts/train.sh` runs by default (bgmaker.training.train.prepare)
  bgmaker-PRECISION, bgmaker-grappler-SETTING, bgmaker-PRECISION-grappler-SETTING
             the default path with the LSTM precision forced (fp32, fp32-matmul, bf16)
             and/or Grappler set to TensorFlow's default passes or none (default, off)
--threads repeats each bgmaker row with other thread pools: "bgmaker" (what
training picks, bgmaker.training.train.thread_pools: 1 intra-op and 2
inter-op threads on a small machine at a small batch), "tf" (TensorFlow's: one
thread per core in each pool) or "intra:inter" (TF_NUM_INTRAOP_THREADS /
TF_NUM_INTEROP_THREADS). Stock rows always run with TensorFlow's.

Not part of the test suite: it takes minutes and its figures depend on the machine.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

T0 = time.time()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


PRECISIONS = ("auto", "fp32", "fp32-matmul", "bf16")
GRAPPLER = ("lean", "default", "off")


def parse_variant(name):
    """'bgmaker[-PRECISION][-grappler-SETTING]' -> (precision, grappler); ValueError if not one."""
    rest = name[len("bgmaker"):] if name.startswith("bgmaker") else None
    for precision in ("",) + PRECISIONS:
        for grappler in ("",) + GRAPPLER:
            if rest == (f"-{precision}" if precision else "") + (f"-grappler-{grappler}" if grappler else ""):
                return precision or "auto", grappler or "lean"
    raise ValueError(f"unknown variant {name!r}: stock, or bgmaker[-{'|'.join(PRECISIONS)}]"
                     f"[-grappler-{'|'.join(GRAPPLER)}]")


def child(args):
    """One measurement in this process; prints a JSON line."""
    if args.variant == "stock":
        os.environ["BGMAKER_STOCK"] = "1"
    sys.path.insert(0, REPO)
    import bgmaker_configs
    bgmaker_configs.register()  # compat shims + configs, before Magenta
    import tensorflow.compat.v1 as tf
    import tf_slim
    from magenta.models.music_vae import base_model, configs, data, music_vae_train

    from bgmaker.training import train as bgmaker_train

    tf.disable_v2_behavior()
    tf.logging.set_verbosity(tf.logging.ERROR)
    run = bgmaker_configs.get_run(args.run)
    config = run.magenta_config()
    config.hparams.batch_size = args.batch
    if args.variant == "stock":
        model = base_model.MusicVAE(config.model.encoder, config.model.decoder)
        config = configs.update_config(config, dict(model=model))
    else:
        precision, grappler = parse_variant(args.variant)
        config.hparams.lstm_precision = precision
        pools = bgmaker_train.thread_pools(args.batch)  # the environment's for an I:E row
        bgmaker_train.prepare(grappler=grappler, threads=None if args.threads == "tf" else pools)

    marks = {}
    steps = []
    cpu = []  # process CPU time (all threads) after each step

    profile = {}
    traced = []  # index of the traced step: tracing slows it, so it is left out of s/step

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
            cpu.append(time.process_time())
            if run_values.run_metadata is not None and run_values.run_metadata.step_stats.dev_stats:
                traced.append(len(steps) - 1)
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
    durations = [b - a for i, (a, b) in enumerate(zip(steps, steps[1:])) if i + 1 not in traced]
    cpu_durations = [b - a for i, (a, b) in enumerate(zip(cpu, cpu[1:])) if i + 1 not in traced]
    if profile:
        total = sum(profile.values())
        print(f"op time in one traced step (summed over threads): {total:.2f} s", file=sys.stderr)
        for op, seconds in sorted(profile.items(), key=lambda kv: -kv[1])[:25]:
            print(f"  {op:40s} {seconds:7.3f} s {100 * seconds / total:5.1f}%", file=sys.stderr)
    print(json.dumps(dict(variant=args.variant, batch=args.batch, marks=marks, steps=steps,
                          durations=durations, cpu_durations=cpu_durations,
                          threads=args.threads, env_threads={k: os.environ.get(k) for k in
                                                             ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")},
                          precision=getattr(config.model, "lstm_precision", "fp32"))))


def grappler_seconds(log):
    """Total time of every Grappler pass in a TF_CPP_VMODULE=meta_optimizer=1 log."""
    return sum(float(m) for m in re.findall(r"meta_optimizer\.cc:\d+\] .*?time = ([\d.]+)ms", log)) / 1000


def summarize(result):
    steady = statistics.median(result["durations"][2:]) if len(result["durations"]) > 2 else float("nan")
    marks, steps = result["marks"], result["steps"]
    cpu = result.get("cpu_durations") or []
    cpu_step = statistics.median(cpu[2:]) if len(cpu) > 2 else float("nan")
    return dict(graph=marks["graph"], first=steps[0] - marks["graph"], grappler=result.get("grappler", float("nan")),
                warmup=steps[1] - 2 * steady, step=steady, cpu_step=cpu_step, eps=result["batch"] / steady)


def parent(args):
    batches = [int(b) for b in args.batch_sizes.split(",")]
    steps = dict((int(k), int(v)) for k, v in (p.split(":") for p in args.steps.split(",")))
    variants = args.variants.split(",")
    for variant in variants:
        if variant != "stock":
            try:
                parse_variant(variant)
            except ValueError as e:
                sys.exit(f"bench_train: {e}")
    # meta_optimizer's log gives each Grappler pass's time (summed into "Grappler s").
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", TF_CPP_VMODULE="meta_optimizer=1", PYTHONWARNINGS="ignore")
    env.pop("TF_DUMP_GRAPH_PREFIX", None)  # the VLOG would dump every optimized graph there
    rows = []
    print(f"bench_train: run {args.run}, variants {', '.join(variants)}, batch sizes {batches}; "
          f"each row is a fresh process", flush=True)
    threads = [t.strip() for t in args.threads.split(",") if t.strip()]
    for thread in threads:
        if thread not in ("bgmaker", "tf") and not re.fullmatch(r"\d+:\d+", thread):
            sys.exit(f"bench_train: --threads {thread!r}: bgmaker, tf or intra:inter (e.g. 1:2)")
    for batch in batches:
        for variant in variants:
            for thread in (threads if variant != "stock" else ["tf"]):
                label = variant if thread == "bgmaker" or variant == "stock" else f"{variant}@{thread}"
                child_env = {k: v for k, v in env.items() if not k.startswith("TF_NUM_")}
                if thread not in ("bgmaker", "tf"):
                    intra, inter = thread.split(":")
                    child_env.update(TF_NUM_INTRAOP_THREADS=intra, TF_NUM_INTEROP_THREADS=inter)
                n = steps.get(batch, 10)
                started = time.time()
                out = subprocess.run([sys.executable, __file__, "--child", "--variant", variant, "--batch",
                                      str(batch), "--steps", str(n), "--run", args.run, "--threads", thread]
                                     + (["--profile"] if args.profile else []),
                                     capture_output=True, text=True, env=child_env)
                lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
                if out.returncode or not lines:
                    print(f"  {label} batch {batch}: failed (exit {out.returncode})\n{out.stderr[-3000:]}", flush=True)
                    continue
                result = json.loads(lines[-1])
                result["grappler"] = grappler_seconds(out.stderr)
                if args.profile:
                    start = out.stderr.find("op time in one traced step")
                    print(f"  {label} batch {batch}: " + out.stderr[start:].rstrip() if start >= 0 else "no trace")
                rows.append((label, batch, summarize(result), result))
                print(f"  {label:20s} batch {batch:4d}: {n} steps in {time.time() - started:.0f} s", flush=True)
    print()
    head = (f"{'variant':20s} {'batch':>5s} {'graph s':>8s} {'first step s':>12s} {'Grappler s':>10s} {'warm-up s':>9s} "
            f"{'s/step':>7s} {'CPU s/step':>10s} {'examples/s':>10s} {'x stock':>8s} {'warm-up x':>9s}")
    print(head)
    print("-" * len(head))
    stock = {b: s for v, b, s, _ in rows if v == "stock"}
    for variant, batch, s, _ in rows:
        base = stock.get(batch)
        speed = f"{s['eps'] / base['eps']:.2f}" if base else "-"
        warm = f"{base['warmup'] / s['warmup']:.1f}" if base and s["warmup"] > 0 else "-"
        print(f"{variant:20s} {batch:5d} {s['graph']:8.1f} {s['first']:12.1f} {s['grappler']:10.1f} {s['warmup']:9.1f} "
              f"{s['step']:7.2f} {s['cpu_step']:10.2f} {s['eps']:10.1f} {speed:>8s} {warm:>9s}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([dict(variant=v, batch=b, summary=s, raw=r) for v, b, s, r in rows], f, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="v2_rock_beat", help="named run whose converted train split is used")
    parser.add_argument("--batch-sizes", default="64,512")
    parser.add_argument("--steps", default="64:24,512:8", help="steps per batch size, as batch:steps,...")
    parser.add_argument("--variants", default="stock,bgmaker")
    parser.add_argument("--threads", default="bgmaker",
                        help="thread pools to try, comma-separated: bgmaker (what training picks: "
                             "bgmaker.training.train.thread_pools), tf (TensorFlow's), or intra:inter "
                             "(e.g. tf,1:2,1:1,bgmaker)")
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
