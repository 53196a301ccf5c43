"""Every report that describes the shipped drum models, regenerated in order after a model is shipped.

  .venv/bin/python reports/shipped.py                      # all of them, in ORDER
  .venv/bin/python reports/shipped.py --only models,campaign
  .venv/bin/python reports/shipped.py --list

Why one command: `scripts/campaign.sh --ship RUN` replaces a model of
models/ (its weights, test report, priors and their evaluation), and the
figures of docs/ that describe it live in several reports, some of which read
others' output: the models table first (it evaluates what has no report
yet), the refinement gate (reads both models' reports), the campaign and
fine-tuning curves, then the refinement settings sweep and paths (straight and not), the
attribute vectors, docs/steer.md's picture, the style clusters, the styles
on fresh draws, the sampling temperature and the experiments page's MusicVAE
rows (tests/test_experiments.py checks they match
the reports). Each report stays runnable alone; this runs them one after
another in this process's Python, prints each one's output and time, goes on
past a report that fails, and exits non-zero naming the ones that failed. Reports that train something of
their own (recipes, humanize_bars, bf16_training, loss_curves) or need an old
checkout (fp16) are not in it: their records do not change with a ship.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (report, what it regenerates), in the order the later ones read the earlier ones' output.
ORDER = (
    ("models", "the models table and the shipped models' test reports (docs/evaluation.md)"),
    ("refine_gate", "the refinement gate on the test split (docs/refine.md)"),
    ("campaign", "the campaign's learning curves (reports/campaign.md, .png)"),
    ("finetune", "the fine-tuning trials of v2_rock_beat (reports/finetune.md, .png)"),
    ("refine", "the refinement settings swept on validation (reports/refine.md, .png)"),
    ("refine_paths", "the paths between refined codes compared on validation (reports/refine_paths.md)"),
    ("refine_paths_coupled", "paths between refined codes that are not straight (reports/refine_paths_coupled.md)"),
    ("attribute_vectors", "attribute vectors: difference of means vs others held fixed"),
    ("steer_picture", "docs/steer.md's picture (docs/priors/steer.png)"),
    ("style_clusters", "one Gaussian per style against tied mixtures of clusters (reports/style_clusters.md)"),
    ("style_fresh_draws", "every style on samples its settings were not chosen on (reports/style_fresh_draws.md)"),
    ("default_prior_margin", "the default prior against N(0, I) over 3 draws and decoding settings"),
    ("temperature", "the sampling temperature of the shipped rock model on validation (reports/temperature.md)"),
    ("experiments", "the MusicVAE rows of the experiments page (experiments/results.json, README.md)"),
)
NAMES = [name for name, _ in ORDER]
# Reports that are a function of the package rather than a script of reports/: the Python arguments that run them.
COMMANDS = {"experiments": ["-c", "from bgmaker.experiments.table import refresh_musicvae_rows; refresh_musicvae_rows()"]}


def command(name):
    """The argv (after the Python interpreter) that regenerates report `name`."""
    return COMMANDS.get(name) or [str(REPO / "reports" / f"{name}.py")]


def names_of(text):
    """The reports a comma-separated --only names, in ORDER; ValueError naming any unknown one."""
    wanted = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in NAMES]
    if unknown or not wanted:
        raise ValueError(f"unknown report {', '.join(unknown) or repr(text)} (choose from {', '.join(NAMES)})")
    return [n for n in NAMES if n in wanted]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", metavar="NAMES", help=f"comma-separated, from: {', '.join(NAMES)}")
    parser.add_argument("--list", action="store_true", help="list the reports in order and what each writes")
    args = parser.parse_args(argv)
    if args.list:
        for name, what in ORDER:
            print(f"{name:18} {what}")
        return 0
    try:
        chosen = names_of(args.only) if args.only else NAMES
    except ValueError as e:
        print(f"reports/shipped.py: {e}", file=sys.stderr)
        return 2
    failed, start = [], time.perf_counter()
    for i, (name, what) in enumerate((o for o in ORDER if o[0] in chosen), 1):
        print(f"[{i}/{len(chosen)}] {name}: {what}", flush=True)
        began = time.perf_counter()
        rc = subprocess.call([sys.executable, *command(name)], cwd=REPO)
        print(f"[{i}/{len(chosen)}] {name} {'done' if rc == 0 else f'FAILED (exit {rc})'} "
              f"in {(time.perf_counter() - began) / 60:.1f} min", flush=True)
        if rc:
            failed.append(name)
    print(f"reports/shipped.py: {len(chosen) - len(failed)} of {len(chosen)} reports written in "
          f"{(time.perf_counter() - start) / 60:.1f} min" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
