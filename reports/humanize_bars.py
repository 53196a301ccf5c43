"""The humanize model on 2-bar or 4-bar windows, at equal CPU time, scored on the validation split.

  .venv/bin/python reports/humanize_bars.py train [--cpu-minutes 30]
  .venv/bin/python reports/humanize_bars.py score

Magenta's GrooVAE humanizer reads 2 bars (`groovae_2bar_humanize`); BGMaker's
beats are 4 bars. `train` trains run `humanize` once with each of
`groovae-humanize_2bar` and `groovae-humanize_4bar` (bgmaker_configs.architectures),
one after another, each until it has used `--cpu-minutes` of process CPU
time, niced, through `bgmaker train` with the run's recipe, keeping milestone
weights every `--milestone-every` CPU-minutes. Each arm has its own data (2- or
4-bar expressive windows of GMD's 4/4 performances) and runs under
$BGMAKER_STATE_DIR/humanize_bars/<model>/; a stopped `train` resumes.

`score` humanizes the same validation hits with every milestone of both arms
(bgmaker.humanize.evaluate.score_checkpoint: quantized 4-bar windows, hits
kept, velocity and timing set by the model; a 2-bar model reads each half) and
writes reports/humanize_bars.json and .md with the template baseline and
the floor beside them. The arm that leads at the common budget becomes run
`humanize`'s model (bgmaker_configs.runs, by hand after reading the table).

Not part of the test suite: an hour of CPU, and figures that depend on the machine.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bgmaker import paths  # noqa: E402
from bgmaker_configs import HUMANIZE_MODEL_NAMES  # noqa: E402

RUN = "humanize"
OUT = REPO / "reports"


def arm_root(model):
    return paths.state_dir() / "humanize_bars" / model


def run_dir(model):
    return arm_root(model) / "runs" / RUN


def env_for(model):
    return {**os.environ, "BGMAKER_RUNS_DIR": str(arm_root(model) / "runs"),
            "BGMAKER_DATA_DIR": str(arm_root(model) / "data"), "TF_CPP_MIN_LOG_LEVEL": "2"}


def ensure_data(model):
    if not (arm_root(model) / "data" / RUN / "report.json").is_file():
        subprocess.run([sys.executable, "-m", "bgmaker.cli", "convert", "--run", RUN, "--config", model],
                       env=env_for(model), check=True, stdout=subprocess.DEVNULL)


def train(args):
    from bgmaker.training.command import train_in_child
    from bgmaker.training.run_state import spent
    for model in args.models:
        ensure_data(model)
        done = spent(run_dir(model))[0]
        if done >= args.cpu_minutes * 60:
            print(f"{model}: done ({done / 60:.0f} of {args.cpu_minutes:g} CPU-minutes)", flush=True)
            continue
        print(f"{model}: training from {done / 60:.0f} to {args.cpu_minutes:g} CPU-minutes "
              f"({time.strftime('%H:%M')})", flush=True)
        log = arm_root(model) / "train.log"
        code = train_in_child(RUN, ["--config", model, "--cpu-hours", f"{args.cpu_minutes / 60:.6f}",
                                    "--milestone-every", f"{args.milestone_every:g}", "--checkpoints_to_keep=2"],
                              log, env=env_for(model), nice=args.nice)
        print(f"{model}: exit {code}, {spent(run_dir(model))[0] / 60:.0f} CPU-minutes spent "
              f"({time.strftime('%H:%M')}); log: {log}", flush=True)
        if code != 0:
            return code
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("train", "score"))
    parser.add_argument("--models", type=lambda s: s.split(","), default=list(HUMANIZE_MODEL_NAMES))
    parser.add_argument("--cpu-minutes", type=float, default=20.0)
    parser.add_argument("--milestone-every", type=float, default=10.0, metavar="CPU_MINUTES")
    parser.add_argument("--nice", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return train(args) if args.action == "train" else score(args)


def score(args):
    """Score every milestone of both arms on validation (cached), then write the table and the curves."""
    from bgmaker.humanize import evaluate
    from bgmaker.humanize.template import NoHumanizer, fit_gmd_template
    from bgmaker.training.campaign import validation_scores
    results = {}
    for model in args.models:
        if run_dir(model).is_dir():
            results[model] = validation_scores(RUN, run_dir(model), seed=args.seed,
                                               log=lambda m, model=model: print(f"{model}: {m}", flush=True))
    data = evaluate.cached_split("validation")
    baselines = {}
    for name, humanizer in (("template", fit_gmd_template(log=lambda *_: None)), ("floor", NoHumanizer())):
        baselines[name] = evaluate.score_humanizer(humanizer, data, args.seed)["summary"]
    ceiling = evaluate.ceilings(data, evaluate.split_windows("train"), args.seed)
    report(args, results, baselines, ceiling)
    return 0


COLUMNS = ("velocity_mae", "velocity_r", "timing_mae_ms", "timing_r", "velocity_overlap", "timing_overlap",
           "classifier", "own_hits_dropped", "own_hits_added_per_bar")


def _cell(value):
    return "n/a" if value is None or value != value else f"{value:.3f}"


def report(args, results, baselines, ceiling):
    from bgmaker.humanize.report import TITLES
    from bgmaker.training.run_state import read_progress
    titles = dict(TITLES, own_hits_dropped="own hits: dropped", own_hits_added_per_bar="own hits: added/bar")
    (OUT / "humanize_bars.json").write_text(json.dumps(dict(
        cpu_minutes_budget=args.cpu_minutes, seed=args.seed, results=results, baselines=baselines,
        ceiling=ceiling, progress={m: read_progress(run_dir(m)) for m in results}), indent=1, default=float) + "\n")
    lines = ["# The humanize model on 2 or 4 bars, at equal CPU time (validation split)", "",
             f"Run `humanize` trained with each model for {args.cpu_minutes:g} CPU-minutes of process time, niced, "
             "one after the other, milestones every "
             f"{args.milestone_every:g} CPU-minutes, each scored on GMD's validation split by "
             "`bgmaker.humanize.evaluate` (the same 4-bar windows and hits for every row; a 2-bar model plays each "
             "half; seed " f"{args.seed}). Regenerate: `.venv/bin/python reports/humanize_bars.py train && "
             ".venv/bin/python reports/humanize_bars.py score`.", "",
             "| model | milestone | steps | CPU-min | " + " | ".join(titles[c] for c in COLUMNS) + " |",
             "|---|---|---|---|" + "---|" * len(COLUMNS)]
    for model, scores in results.items():
        for r in scores:
            lines.append(f"| {model} | {Path(r['checkpoint']).name} | {r['step']} | {r['cpu_s'] / 60:.0f} | "
                         + " | ".join(_cell(r["summary"].get(c)) for c in COLUMNS) + " |")
    for name, summary in baselines.items():
        lines.append(f"| {name} | | | | " + " | ".join(_cell(summary.get(c)) for c in COLUMNS) + " |")
    lines.append("| ceiling: real vs real | | | | " + " | ".join(_cell(ceiling.get(c)) for c in COLUMNS) + " |")
    from bgmaker.training.campaign import HUMANIZE_CHOICE_FIGURES, choose
    at_budget = {m: max((r for r in scores if r["cpu_s"] <= args.cpu_minutes * 60 + 60), key=lambda r: r["cpu_s"],
                        default=None) for m, scores in results.items()}
    at_budget = {m: r for m, r in at_budget.items() if r is not None}
    if len(at_budget) > 1:
        best = choose([dict(r, model=m) for m, r in at_budget.items()], HUMANIZE_CHOICE_FIGURES)
        lines += ["", f"At the common budget ({args.cpu_minutes:g} CPU-minutes) the best mean rank over "
                      f"{', '.join(HUMANIZE_CHOICE_FIGURES)} is **{best['model']}**: run `humanize`'s model "
                      "(bgmaker_configs.runs)."]
    (OUT / "humanize_bars.md").write_text("\n".join(lines) + "\n")
    print((OUT / "humanize_bars.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
