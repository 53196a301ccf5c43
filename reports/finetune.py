"""Fine-tuning recipes at equal cost from v1_all's weights, on rock-beat validation: the campaign's trials.

  .venv/bin/python reports/finetune.py             # report the trials (scores any unscored milestone)
  .venv/bin/python reports/finetune.py --report-only   # rewrite the .md from the committed .json

Before `v2_rock_beat` trains, the campaign (`scripts/campaign.sh`,
bgmaker.training.campaign.TRIALS) trains each candidate recipe from the same
v1_all weights, plain fine-tuning for its CPU-hour and every other recipe to
the steps that hour gave it (campaign.trial_steps: a CPU-hour buys different
steps on different CPUs): plain fine-tuning (`windows-b64`), a lower
learning rate (`finetune-lr3e-4`), replay of v1_all's other windows as 25% of
the train split (`replay25`, bgmaker.data.replay) and both. Each trial keeps
milestones every 20 CPU-minutes, scored on the rock-beat validation split
with the campaign's quick validation; the recipe of the milestone that ranks
first (campaign.choose, the v1_all weights themselves among the candidates)
is the one v2_rock_beat then trains with.

This script reads those trials from the campaign's state
($BGMAKER_STATE_DIR/campaign/trials/v2_rock_beat) and writes
reports/finetune.md, .json and .png: each trial's validation figures at
each milestone beside the starting weights', and the choice.
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "reports"))

import recipes  # noqa: E402  (its table columns and learning-curve plot)

OUT = REPO / "reports"
STAGE = "v2_rock_beat"


def collect():
    from bgmaker.training import campaign
    from bgmaker.training.run_state import read_progress
    if not campaign.trials_dir(STAGE).is_dir():
        raise SystemExit(f"no trials yet in {campaign.trials_dir(STAGE)}: the campaign runs them before "
                         f"{STAGE} trains (scripts/campaign.sh)")
    scores = campaign.trial_scores(STAGE, log=lambda m: print(m, flush=True))
    start_file = campaign.trials_dir(STAGE) / "start_validation.json"
    from bgmaker_configs.recipes import RECIPES
    carried = campaign.carried_trials(STAGE)
    results = [dict(recipe=recipe, description=RECIPES[recipe].description,
                    progress=read_progress(campaign.trial_dir(STAGE, recipe)), validation=records,
                    machines=(campaign.trial_machines(campaign.trial_dir(STAGE, recipe))
                              or carried.get(recipe, {}).get("machines")))
               for recipe, records in scores.items()]
    return dict(stage=STAGE, trials=campaign.TRIALS[STAGE], machine=recipes.machine(), results=results,
                start=json.loads(start_file.read_text()) if start_file.is_file() else None,
                choice=campaign.trial_choice(STAGE))


def write(report):
    (OUT / "finetune.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    columns = recipes.COLUMNS
    lines = ["# Fine-tuning recipes at equal cost (v2_rock_beat from v1_all, rock-beat validation)", "",
             f"Plain fine-tuning trained {report['trials']['cpu_hours']:g} CPU-hours from the v1_all weights "
             f"(milestones every {report['trials']['milestone_minutes']:g} CPU-minutes); each other recipe, from "
             "the same weights, to the steps of those milestones (recipes trained before steps were matched: "
             "the same CPU-hours; milestone names give the steps); each scored with the quick "
             "validation (128 windows, seed 0). Made by the campaign before v2_rock_beat trains; this table: "
             "`.venv/bin/python reports/finetune.py`.", "",
             "| recipe | milestone | CPU-h | " + " | ".join(c[1] for c in columns) + " |",
             "|---|---|---|" + "---|" * len(columns)]
    if report["start"]:
        s = report["start"]["summary"]
        lines.append("| v1_all's weights (no fine-tuning) | start | 0 | "
                     + " | ".join(recipes._cell(s.get(k)) for k, *_ in columns) + " |")
    for r in report["results"]:
        for v in r["validation"]:
            lines.append(f"| {r['recipe']} | {Path(v['checkpoint']).name} | {v['cpu_s'] / 3600:.2f} | "
                         + " | ".join(recipes._cell(v["summary"].get(k)) for k, *_ in columns) + " |")
    if report["start"]:
        s = report["start"]["summary"]
        lines.append("| floor: real windows, steps shuffled (crossfade for interp.) | | | "
                     + " | ".join(recipes._cell(s.get(f)) if f else "" for _, _, f, _ in columns) + " |")
        lines.append("| ceiling: real drumming (train vs validation; validation windows) | | | "
                     + " | ".join(recipes._cell(s.get(c)) if c else "" for _, _, _, c in columns) + " |")
    choice = report["choice"]
    lines += ["", (f"**Chosen: `{choice['recipe']}`** (best mean rank over {', '.join(choice['figures'])}: "
                   f"{choice['best']} at {choice['best_cpu_hours']:g} CPU-hours"
                   + ("; no trial beat v1_all's own weights, so plain fine-tuning" if choice["parent_best"] else "")
                   + ").") if choice else "No choice yet: a trial is unfinished.", "",
              "Recipes, and where each one's CPU-hours were spent (a CPU-hour buys more steps on some CPUs than "
              "on others: the milestone names give the steps):", ""]
    lines += [f"- `{r['recipe']}`: {r['description'].rstrip('.')}. Trained on: "
              + ("; ".join(r.get("machines") or []) or "not recorded (carried before carries named the CPU)") + "."
              for r in report["results"]]
    (OUT / "finetune.md").write_text("\n".join(lines) + "\n")
    print((OUT / "finetune.md").read_text())


def committed_recipes():
    """The recipes of the committed reports/finetune.json (none if there is none yet)."""
    try:
        return [r["recipe"] for r in json.loads((OUT / "finetune.json").read_text())["results"]]
    except (OSError, ValueError, KeyError):
        return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md from the committed .json")
    args = parser.parse_args()
    report = json.loads((OUT / "finetune.json").read_text()) if args.report_only else collect()
    missing = sorted(set(committed_recipes()) - {r["recipe"] for r in report["results"]})
    if missing:  # trained on another machine and neither here nor carried: never drop them from the report
        print(f"reports/finetune.py: the trials {', '.join(missing)} are neither in "
              f"$BGMAKER_STATE_DIR/campaign/trials nor carried (models/carry/{STAGE}.trials.json); "
              "reports/finetune.* stay as committed", file=sys.stderr)
        return 1
    write(report)
    if not args.report_only:
        recipes.plot(report["results"], OUT / "finetune.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
