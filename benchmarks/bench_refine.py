"""What latent refinement costs: one beat and a batch of 64, refined and decoded warm, beside the encoder's mean.

  .venv/bin/python benchmarks/bench_refine.py [--run v2_rock_beat] [--repeats 5]

Times `BeatGenerator.reconstruct` (encode, refine, decode; warm: the graphs
are built and run once first) of one GMD-like beat with refinement at the
default steps, at the page's steps and at 0 (the encoder's mean), the median
of `--repeats`; a batch of 64 once each; and the seconds per refinement step
with the refinement graph's LSTMs in fp32 (what BeatGenerator uses) and in the
config's "auto" precision (bf16 on CPUs with hardware bf16), at batch 1 and 8.
Figures depend on the machine and on what else runs on it, so
benchmarks/bench_refine.json keeps one entry per CPU model, with the load
average beside it (sessions land on different CPUs), and the table printed is
this machine's.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default="v2_rock_beat")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import copy
    import os

    import numpy as np

    import drum_midi
    from bgmaker.compat import cpu_model, resolve_lstm_precision
    from bgmaker.generation import refine
    from bgmaker.generation.generator import BeatGenerator
    beats = [drum_midi.rock_beat(4, variant=i % 6) for i in range(64)]
    rows = {}
    for steps in (refine.DEFAULT_STEPS, refine.INTERACTIVE_STEPS, 0):
        one = BeatGenerator.load(run=args.run, batch_size=1, refine_steps=steps)
        one.reconstruct(beats[0], seed=0)  # warm
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            one.reconstruct(beats[1], seed=0)
            times.append(time.perf_counter() - t)
        one.close()
        many = BeatGenerator.load(run=args.run, batch_size=64, refine_steps=steps)
        many.reconstruct_many(beats[:2], seed=0)  # warm
        t = time.perf_counter()
        many.reconstruct_many(beats, seed=0)
        batch_s = time.perf_counter() - t
        many.close()
        rows[f"refine {steps} steps"] = dict(one_beat_s=statistics.median(times), batch_64_s=batch_s)
    generator = BeatGenerator.load(run=args.run, batch_size=1, refine_steps=0)
    targets = np.stack([generator.window(b)[1].outputs[0] for b in beats[:8]])
    mu = generator.encode(beats[:8])
    per_step = {}
    for precision in ("fp32", "auto"):
        config = copy.deepcopy(generator.config)
        config.hparams.lstm_precision = precision
        for batch in (1, 8):
            refiner = refine.Refiner(config, generator.checkpoint, batch)
            refiner.refine(targets[:batch], mu[:batch], 2)  # warm
            t = time.perf_counter()
            refiner.refine(targets[:batch], mu[:batch], 20)
            per_step[f"{precision} ({resolve_lstm_precision(precision)}), batch {batch}"] = (time.perf_counter() - t) / 20
            refiner.close()
    generator.close()
    path = REPO / "benchmarks" / "bench_refine.json"
    machines = json.loads(path.read_text()).get("machines", {}) if path.is_file() else {}
    machines[cpu_model()] = dict(
        load_average=[round(x, 1) for x in os.getloadavg()], cpus=os.cpu_count(), run=args.run,
        default_steps=refine.DEFAULT_STEPS, page_steps=refine.INTERACTIVE_STEPS, rows=rows,
        seconds_per_step=per_step)
    path.write_text(json.dumps(dict(machines=machines), indent=1) + "\n")
    print(f"{cpu_model()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("| reconstruct | one beat, warm (median) | 64 beats |\n|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['one_beat_s']:.2f} s | {r['batch_64_s']:.1f} s |")
    print("\n| refinement graph LSTMs | ms per step |\n|---|---|")
    for name, s in per_step.items():
        print(f"| {name} | {s * 1000:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
