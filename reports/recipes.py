"""Training recipes at equal CPU time on v2_rock_beat, scored on the validation split.

  .venv/bin/python reports/recipes.py train [--recipes stock,windows-b64,...] [--cpu-minutes 80]
  .venv/bin/python reports/recipes.py score [--recipes ...]
  .venv/bin/python reports/recipes.py report

`train` trains `hierdec-drum_4bar` on v2_rock_beat once per recipe
(bgmaker_configs.recipes; ARMS adds `flat-windows-b64`, the flat
`cat-drums_4bar` model with the chosen recipe), one after another, each until the run has used
`--cpu-minutes` of process CPU time (user + system, all threads: 80 CPU-minutes
is 40 minutes of this 2-core machine), niced, through `bgmaker train` (Magenta's
own loop). Each run keeps its weights every `--milestone-every` CPU-minutes
(bgmaker.training.hooks) and its loss against CPU time. Runs live under
$BGMAKER_STATE_DIR/recipes/<recipe>/ (default ~/.local/state/bgmaker), outside
the checkout: a stopped `train` resumes each unfinished run where it stopped and
skips finished ones. Data: the state dir's data/ (made here if missing).

`score` evaluates every milestone of every run on the validation split with the
cheap validation mode of bgmaker.evaluation.evaluate (seeded; cached per milestone), and
`report` writes reports/recipes.json, recipes.md and recipes.png: the
learning curves (validation figures and training loss against CPU-hours) and
the table at the common budget. The recipe that leads on validation becomes
bgmaker_configs.recipes.DEFAULT_RECIPE (by hand, after reading the table).

Not part of the test suite: hours of CPU, and figures that depend on the machine.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bgmaker import paths  # noqa: E402
from bgmaker_configs.recipes import RECIPES  # noqa: E402

RUN = "v2_rock_beat"
MODEL = "hierdec-drum_4bar"
# What is trained, by folder name: a recipe of bgmaker_configs.recipes on the run's model, or (the
# flat baseline the models table of docs/evaluation.md asks for) the same recipe on the flat cat-drums_4bar model.
ARMS = {**{name: (name, MODEL) for name in RECIPES}, "flat-windows-b64": ("windows-b64", "cat-drums_4bar")}
DEFAULT_ORDER = ("windows-b64", "stock", "windows-b512", "flat-windows-b64", "windows-b128-lr2e-3")
OUT = REPO / "reports"


def recipe_root():
    return paths.state_dir() / "recipes"


def run_dir(recipe):
    return recipe_root() / recipe / RUN


def env_for(recipe):
    # TensorFlow's own thread pools ("0"), as every recipe run before bgmaker.training.train.TRAINING_THREADS
    # had them: the runs stay comparable with each other.
    return {**os.environ, "BGMAKER_RUNS_DIR": str(recipe_root() / recipe),
            "BGMAKER_DATA_DIR": str(paths.state_dir() / "data"), "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_NUM_INTRAOP_THREADS": "0", "TF_NUM_INTEROP_THREADS": "0"}


def ensure_data():
    """The run's windows and its whole-file windows (stock's input) in the state directory."""
    from bgmaker.data.convert import converted
    converted(RUN, paths.state_dir() / "data")
    converted(RUN, paths.state_dir() / "data", whole_files=True)


def train(args):
    from bgmaker.training.command import train_in_child
    from bgmaker.training.run_state import spent
    ensure_data()
    budget_s = args.cpu_minutes * 60
    for recipe in args.recipes:
        done = spent(run_dir(recipe))[0]
        if done >= budget_s:
            print(f"{recipe}: done ({done / 60:.0f} of {args.cpu_minutes:g} CPU-minutes)", flush=True)
            continue
        print(f"{recipe}: training from {done / 60:.0f} to {args.cpu_minutes:g} CPU-minutes "
              f"({time.strftime('%H:%M')})", flush=True)
        log = run_dir(recipe).parent / "train.log"
        name, model = ARMS[recipe]
        code = train_in_child(RUN, ["--recipe", name, "--config", model, "--cpu-hours", f"{args.cpu_minutes / 60:.6f}",
                                    "--milestone-every", str(args.milestone_every), "--checkpoints_to_keep=2"],
                              log, env=env_for(recipe), nice=args.nice)
        print(f"{recipe}: exit {code}, {spent(run_dir(recipe))[0] / 60:.0f} CPU-minutes spent "
              f"({time.strftime('%H:%M')}); log: {log}", flush=True)
        if code != 0:
            return code
    return 0


def score(args):
    """Validate every milestone of every run (bgmaker.training.campaign.validation_scores; cached per milestone)."""
    from bgmaker.training.campaign import validation_scores
    os.environ["BGMAKER_DATA_DIR"] = str(paths.state_dir() / "data")
    for recipe in args.recipes:
        if run_dir(recipe).is_dir():
            validation_scores(RUN, run_dir(recipe), seed=args.seed, log=lambda m: print(f"{recipe}: {m}", flush=True))
    return report(args)


def load(recipe):
    from bgmaker.training.run_state import read_progress
    cache = run_dir(recipe) / "validation.jsonl"
    scores = [json.loads(line) for line in cache.read_text().splitlines()] if cache.is_file() else []
    record = run_dir(recipe) / "bgmaker_run.json"
    name, model = ARMS[recipe]
    description = RECIPES[name].description + ("" if model == MODEL else f"; model {model} (flat baseline)")
    return dict(recipe=recipe, model=model, description=description, hparams=RECIPES[name].hparams,
                progress=read_progress(run_dir(recipe)), validation=sorted(scores, key=lambda r: r["cpu_s"]),
                run=json.loads(record.read_text()) if record.is_file() else None)


# The validation figures in the table: (summary key, title, the key of the floor, the key of the ceiling).
COLUMNS = (
    ("accuracy_free_running", "acc. free-running", "accuracy_shuffle_floor", None),
    ("onset_f1_free_running", "onset F1", "onset_f1_shuffle_floor", None),
    ("sample_overlap", "sample overlap (T=0.5)", None, "train_vs_real_overlap"),
    ("sample_rhythm_overlap", "rhythm overlap", "shuffle_rhythm_overlap", "train_vs_real_rhythm_overlap"),
    ("classifier_samples_vs_real", "classifier acc. (0.5 = real)", None, "classifier_real_vs_train"),
    ("bar_repetition_samples", "bar 3 = bar 1", "bar_repetition_shuffle", "bar_repetition_real"),
    ("kick_on_one_samples", "kick on one", "kick_on_one_shuffle", "kick_on_one_real"),
    ("interp_overlap", "interp. realism", "crossfade_overlap", None),
)


def reference_summary(seed):
    """The shipped model's validation summary (cached): a row to read the recipes against."""
    cache = recipe_root() / f"shipped-validation-seed{seed}.json"
    if not cache.is_file():
        from bgmaker.evaluation import evaluate
        os.environ["BGMAKER_DATA_DIR"] = str(paths.state_dir() / "data")
        summary = evaluate.validate(RUN, str(REPO / "models" / RUN), seed=seed,
                                    output_dir=recipe_root() / "shipped-validation")
        cache.write_text(json.dumps(summary, default=float) + "\n")
    return json.loads(cache.read_text())


def report(args):
    results = [load(r) for r in args.recipes if run_dir(r).is_dir()]
    shipped = reference_summary(args.seed) if (REPO / "models" / RUN / "checkpoint").is_file() else None
    OUT.mkdir(exist_ok=True)
    (OUT / "recipes.json").write_text(json.dumps(dict(
        run=RUN, cpu_minutes_budget=args.cpu_minutes, machine=machine(), results=results,
        shipped_model_validation=shipped), indent=1,
        default=float) + "\n")
    lines = ["# Training recipes at equal CPU time (v2_rock_beat, validation split)", "",
             f"Each run trained `hierdec-drum_4bar` (`flat-windows-b64`: the flat `cat-drums_4bar`, a baseline "
             f"model, not a recipe) for {args.cpu_minutes:g} CPU-minutes of process time "
             f"({args.cpu_minutes / 2:g} minutes of this {machine()['cores']}-core machine), one after another, "
             "and was scored on the validation split at its last milestone with `bgmaker.evaluation.evaluate.validate` "
             f"(seed {args.seed}). Regenerate: `.venv/bin/python reports/recipes.py train && "
             ".venv/bin/python reports/recipes.py score`.", "",
             "| recipe | steps | examples | CPU-min | last train loss | "
             + " | ".join(c[1] for c in COLUMNS) + " |",
             "|---|---|---|---|---|" + "---|" * len(COLUMNS)]
    for r in results:
        last = r["validation"][-1] if r["validation"] else None
        prog = r["progress"][-1] if r["progress"] else {}
        losses = [p["loss"] for p in r["progress"] if p.get("loss") is not None]
        cells = [r["recipe"], str(prog.get("step", "")), str(prog.get("examples", "")),
                 f"{prog.get('cpu_s', 0) / 60:.0f}", f"{losses[-1]:.1f}" if losses else ""]
        cells += [_cell(last["summary"].get(key) if last else None) for key, _, _, _ in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    if shipped:
        lines.append("| shipped model (2,025 steps at batch 64, windows in performance order) | 2025 | 129600 | "
                     "n/a (~70 min, shared CPU) | | " + " | ".join(_cell(shipped.get(k)) for k, _, _, _ in COLUMNS) + " |")
        lines.append("| floor: real windows, steps shuffled (crossfade for interp.) | | | | | "
                     + " | ".join(_cell(shipped.get(f)) if f else "" for _, _, f, _ in COLUMNS) + " |")
        lines.append("| ceiling: real drumming (train vs validation; validation windows) | | | | | "
                     + " | ".join(_cell(shipped.get(c)) if c else "" for _, _, _, c in COLUMNS) + " |")
    unfinished = [r for r in ARMS if (load(r)["progress"] or [{"cpu_s": 0}])[-1]["cpu_s"] < args.cpu_minutes * 60]
    if unfinished:
        lines += ["", "Not yet trained to the budget (resume: `.venv/bin/python reports/recipes.py train`): "
                  + ", ".join(f"`{r}`" for r in unfinished) + "."]
    lines += ["", "Validation here is the quick mode (128 windows, 128 samples, 8 interpolations): the "
              "interpolation figures rest on 8 paths and are the noisiest. Training "
              "losses are not comparable between `stock` (5 slices of whole performances) and the window "
              "recipes (every window).", "", "Recipes:", ""] + [f"- `{r['recipe']}`: {r['description']}"
                                                              for r in results]
    (OUT / "recipes.md").write_text("\n".join(lines) + "\n")
    plot(results)
    print((OUT / "recipes.md").read_text())
    return 0


def _cell(value):
    return f"{value:.3f}" if isinstance(value, (int, float)) else ""


def plot(results, path=None):
    """Learning curves against CPU-hours: training loss and each validation figure (one line per result)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [("train loss", None)] + [(title, key) for key, title, _, _ in COLUMNS]
    cols = (len(panels) + 1) // 2
    fig, axes = plt.subplots(2, cols, figsize=(3.2 * cols, 6.0))
    axes = axes.ravel()
    for ax in axes[len(panels):]:
        ax.axis("off")
    for ax, (title, key) in zip(axes, panels):
        for r in results:
            if key is None:
                points = [(p["cpu_s"] / 3600, p["loss"]) for p in r["progress"] if p.get("loss") is not None]
            else:
                points = [(v["cpu_s"] / 3600, v["summary"].get(key)) for v in r["validation"]
                          if isinstance(v["summary"].get(key), (int, float))]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="" if key is None else "o", label=r["recipe"], linewidth=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("CPU-hours", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path or OUT / "recipes.png", dpi=90)


def machine():
    from bgmaker.compat import cpu_model
    return dict(cores=os.cpu_count(), cpu=cpu_model())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("train", "score", "report"))
    parser.add_argument("--recipes", default=",".join(DEFAULT_ORDER))
    parser.add_argument("--cpu-minutes", type=float, default=80.0)
    parser.add_argument("--milestone-every", type=float, default=20.0, help="CPU-minutes between milestones")
    parser.add_argument("--nice", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    unknown = [r for r in args.recipes if r not in ARMS]
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(unknown)}; known: {', '.join(ARMS)}")
    return dict(train=train, score=score, report=report)[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
