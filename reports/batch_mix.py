"""How many performances and drummers a training batch mixes, before and after the input-order fix.

  .venv/bin/python reports/batch_mix.py [--run v2_rock_beat] [--batch-sizes 64,512] [--epochs 3]

Reads the run's converted train split (every 4-bar window) and feeds the
index of each window through TensorFlow's own `Dataset.shuffle(buffer).batch(b)`,
as Magenta's `get_dataset` does after its cache, for three input orders:

  before     windows in performance order (how convert.py wrote them before) and
             Magenta's buffer of 10 x batch: a batch comes from a few performances
  file only  windows written in a seeded random order, Magenta's buffer
  after      written shuffled and a buffer over the whole split
             (bgmaker_configs.recipes.FULL_SHUFFLE, bgmaker.compat.honour_shuffle_buffer)

and prints, per batch, the mean number of distinct performances and drummers
and the mean share of the batch taken by its most frequent drummer, next to
what batches drawn uniformly at random would give (the ceiling). Writes
reports/batch_mix-<run>.json. Seeded: the same numbers every run.
"""
import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def windows_of(path):
    """(performance, drummer, start bar) of each window in a TFRecord, in file order."""
    import note_seq
    from magenta.pipelines.pipeline import tf_record_iterator
    from bgmaker.data.windows import performance_of
    out = []
    for ns in tf_record_iterator(str(path), note_seq.NoteSequence):
        performance = performance_of(ns)
        bar = int(ns.id.rsplit("#bar", 1)[1]) if "#bar" in ns.id else 0
        out.append((performance, performance.split("/", 1)[0], bar))
    return out


def batch_stats(performances, drummers, order, buffer, batch, epochs, seed):
    """Mean distinct performances / drummers per batch, and the top drummer's mean share."""
    import tensorflow as tf
    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(order, np.int64))
    dataset = dataset.shuffle(buffer, seed=seed).repeat(epochs).batch(batch, drop_remainder=True)
    perf_counts, drummer_counts, shares = [], [], []
    for indices in dataset.as_numpy_iterator():
        perf_counts.append(len({performances[i] for i in indices}))
        counts = Counter(drummers[i] for i in indices)
        drummer_counts.append(len(counts))
        shares.append(max(counts.values()) / len(indices))
    return dict(performances=float(np.mean(perf_counts)), drummers=float(np.mean(drummer_counts)),
                top_drummer_share=float(np.mean(shares)), batches=len(perf_counts))


def main():
    import bgmaker_configs
    bgmaker_configs.register()  # compat shims + configs, before Magenta
    from bgmaker_configs import get_run
    from bgmaker_configs.recipes import FULL_SHUFFLE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="v2_rock_beat")
    parser.add_argument("--batch-sizes", default="64,512")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    path = get_run(args.run).examples_path("train")
    if not path.is_file():
        sys.exit(f"batch_mix.py: no train data at {path}; make it with: scripts/convert_gmd.sh --run {args.run}")
    found = windows_of(path)
    performances = [p for p, _, _ in found]
    drummers = [d for _, d, _ in found]
    performance_order = sorted(range(len(found)), key=lambda i: (found[i][0], found[i][2]))
    file_order = list(range(len(found)))
    print(f"{args.run} train: {len(found)} windows, {len(set(performances))} performances, "
          f"{len(set(drummers))} drummers ({path})")
    rows = []
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        settings = (("before", performance_order, 10 * batch), ("file only", file_order, 10 * batch),
                    ("after", file_order, max(FULL_SHUFFLE, len(found))))
        rng = np.random.default_rng(args.seed)
        uniform = [rng.choice(len(found), batch, replace=False) for _ in range(200)]
        ceiling = dict(performances=float(np.mean([len({performances[i] for i in u}) for u in uniform])),
                       drummers=float(np.mean([len({drummers[i] for i in u}) for u in uniform])),
                       top_drummer_share=float(np.mean([max(Counter(drummers[i] for i in u).values()) / batch
                                                        for u in uniform])))
        for name, order, buffer in settings:
            stats = batch_stats(performances, drummers, order, buffer, batch, args.epochs, args.seed)
            rows.append(dict(batch=batch, order=name, buffer=buffer, **stats))
        rows.append(dict(batch=batch, order="uniform random (ceiling)", buffer=None, **ceiling))
    print("\n| batch | input order | shuffle buffer | performances / batch | drummers / batch | "
          "top drummer's share |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['batch']} | {r['order']} | {r['buffer'] or '-'} | {r['performances']:.1f} | "
              f"{r['drummers']:.1f} | {r['top_drummer_share']:.2f} |")
    out = REPO / "reports" / f"batch_mix-{args.run}.json"
    out.write_text(json.dumps(dict(run=args.run, windows=len(found), performances=len(set(performances)),
                                   drummers=len(set(drummers)), epochs=args.epochs, seed=args.seed, rows=rows),
                              indent=1) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
