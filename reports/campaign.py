"""The campaign's learning curves: each stage's milestones on validation, against CPU-hours.

  .venv/bin/python reports/campaign.py

Scores every milestone of the campaign's stages (v1_all, v2_rock_beat) on
its run's validation split (bgmaker.training.campaign.validation_scores: the
quick validation mode, seeded, cached per milestone, so a rerun only scores
new milestones) and writes reports/campaign.md, .json and .png. Beside
v2_rock_beat (warm-started from v1_all) it puts the from-scratch run of the
same recipe (reports/recipes.py's windows-b64, 80 CPU-minutes): the
warm start against training from scratch at equal CPU on v2_rock_beat.
v1_all is scored on its own validation split (all of GMD in 4/4), so its
figures are not comparable with v2_rock_beat's.
"""
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "reports"))

import recipes  # noqa: E402  (the table's columns, the plot, the from-scratch run)
from bgmaker.training import campaign  # noqa: E402

OUT = REPO / "reports"


def stage(name):
    folder = campaign.run_dir(name)
    campaign.use_campaign_dirs()
    # Its curves in CPU of the whole stage (a stage resumed from a carried milestone begins with its curves).
    history = campaign.stage_history(name, score=True, log=lambda m: print(m, flush=True))
    # A warm-started stage's curve begins at the weights it started from, scored on its own validation split.
    start = campaign.start_score(name, log=lambda m: print(m, flush=True)) if folder.is_dir() else None
    validation = history["validation"]
    if start:  # at the CPU the stage had spent when it started from them (a carried milestone's own score: once)
        start = dict(start, cpu_s=start["cpu_s"] + campaign.credit(name)[0])
        validation = sorted([v for v in validation if abs(v["cpu_s"] - start["cpu_s"]) > 1] + [start],
                            key=lambda v: v["cpu_s"])
    return dict(history, recipe=name, validation=validation)


def cost_per_step(result):
    """One row per start of a stage's training: its CPU-hours, steps, CPU seconds a step and thread pools.

    What a step costs under each start's settings (thread pools, load from other work on the machine).
    """
    progress, starts = result["progress"], result.get("starts", [])
    rows = []
    for i, start in enumerate(starts):
        end = starts[i + 1]["cpu_s_before"] if i + 1 < len(starts) else float("inf")
        inside = [p for p in progress if start["cpu_s_before"] <= p["cpu_s"] < end]
        if len(inside) < 2 or inside[-1]["step"] == inside[0]["step"]:
            continue
        steps, cpu = inside[-1]["step"] - inside[0]["step"], inside[-1]["cpu_s"] - inside[0]["cpu_s"]
        pools = start.get("thread_pools")
        rows.append(dict(started=start["time"][:16], commit=(start.get("git_commit") or "")[:7],
                         dirty=start.get("git_dirty"), cpu_h=(inside[0]["cpu_s"] / 3600, inside[-1]["cpu_s"] / 3600),
                         steps=steps, cpu_s_per_step=cpu / steps,
                         pools=f"{pools['intra_op']}:{pools['inter_op']}" if pools else None))
    return rows


def from_scratch():
    """The from-scratch run beside v2_rock_beat: reports/recipes.py's windows-b64 run in the state directory, or,
    on a machine that lacks it (it trained on another), the record the committed campaign.json keeps of it, so
    a rerun elsewhere does not drop the comparison."""
    os.environ["BGMAKER_DATA_DIR"] = str(recipes.paths.state_dir() / "data")
    if recipes.run_dir("windows-b64").is_dir():
        result = recipes.load("windows-b64")
        if result:
            result["recipe"] = "v2_rock_beat from scratch (windows-b64)"
        return result
    committed = OUT / "campaign.json"
    return json.loads(committed.read_text()).get("from_scratch") if committed.is_file() else None


def start_name(checkpoint):
    """(what, checkpoint) a warm start began from: a campaign milestone by its run's name, a model
    folder (a stage resumed from its committed model) by its path as committed reports name it."""
    from bgmaker.paths import portable
    path = Path(checkpoint)
    if path.parent.name == "milestones":
        return path.parent.parent.name, path.name
    return portable(path), None


def rows(result):
    out = []
    for v in result["validation"]:
        run = (f"{result['recipe']} (its start: " + " ".join(filter(None, start_name(v["checkpoint"]))) + ")"
               if v.get("start") else result["recipe"])
        cells = [run, f"{v['cpu_s'] / 3600:.2f}", f"{v['step']:,}" if v["step"] is not None else "",
                 f"{v['examples']:,}" if v["examples"] is not None else ""]
        cells += [recipes._cell(v["summary"].get(key)) for key, *_ in recipes.COLUMNS]
        out.append("| " + " | ".join(cells) + " |")
    return out


WARM_START = ("<!-- warm-start:begin -->", "<!-- warm-start:end -->")
WARM_COLUMNS = [c for c in recipes.COLUMNS if c[0] != "onset_f1_free_running"]


def warm_start_table(warm, scratch):
    """docs/training.md's table: v2_rock_beat warm-started against the same recipe from scratch, at equal v2 CPU.

    warm, scratch: the stages' results (their `validation` records, as in campaign.json). A row per warm
    milestone (its start at 0 CPU-hours first); a from-scratch milestone within 0.05 CPU-hours sits beside it.
    """
    lines = ["| v2 CPU-hours | " + " | ".join(c[1] for c in WARM_COLUMNS) + " |",
             "|---:|" + "---:|" * len(WARM_COLUMNS)]
    others = (scratch or {}).get("validation", [])
    for v in warm["validation"]:
        near = [o for o in others if abs(o["cpu_s"] - v["cpu_s"]) < 180]
        cells = []
        for key, *_ in WARM_COLUMNS:
            cell = recipes._cell(v["summary"].get(key))
            cells.append(f"{cell} vs {recipes._cell(near[0]['summary'].get(key))}" if near else cell)
        label = f"{v['cpu_s'] / 3600:.2f}" + (f" (its start, {start_name(v['checkpoint'])[0]})" if v.get("start") else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    results = [stage("v1_all"), stage("v2_rock_beat")]
    scratch = from_scratch()
    if not any(r["progress"] or r["validation"] for r in results):
        # A machine where the campaign never trained: keep the committed curves instead of blanking them.
        print(f"reports/campaign.py: no campaign state in {campaign.root()} (the campaign trained elsewhere); "
              f"reports/campaign.md, .json, .png and docs/training.md's warm-start table stay as committed",
              file=sys.stderr)
        return 1
    lines = ["# The campaign's learning curves (validation split, quick mode, seed 0)", "",
             "Regenerate: `.venv/bin/python reports/campaign.py`. Each row is a milestone (weights kept every "
             + ", ".join(f"{m:g} CPU-minutes in {name}" for name, _, _, m in campaign.STAGES if name != "humanize")
             + "; every 20 in the recipe runs) scored on its run's validation split. v1_all's "
             "rows are on all-GMD validation windows, the others on rock-beat ones. A warm-started stage's first "
             "row (0 CPU-h) is the weights it started from, scored on its validation split: the point its "
             "fine-tuning has to beat.", "",
             "| run | CPU-h | step | examples | " + " | ".join(c[1] for c in recipes.COLUMNS) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(recipes.COLUMNS)]
    for result in results + ([scratch] if scratch else []):
        lines += rows(result)
    for result in results:
        table = cost_per_step(result)
        if table:
            history = (" v1_all's first starts predate that record: the three before 1.3 CPU-hours ran "
                       "TensorFlow's pools, those from 1.3 on the 1:2 pools;" if result["recipe"] == "v1_all" else "")
            lines += ["", f"What a step of {result['recipe']} cost, per start of its training (thread pools as "
                      f"recorded by each start;{history} the load from other work on the machine varies):", "",
                      "| started | commit | CPU-h | steps | CPU s / step | thread pools |", "|---|---|---|---:|---:|---|"]
            for row in table:
                lines.append(f"| {row['started']} | {row['commit']}{' (uncommitted changes)' if row['dirty'] else ''}"
                             f" | {row['cpu_h'][0]:.2f}–{row['cpu_h'][1]:.2f} | {row['steps']:,} | "
                             f"{row['cpu_s_per_step']:.2f} | {row['pools'] or 'not recorded'} |")
    for result in results:
        if result["progress"]:
            last = result["progress"][-1]
            lines.append(f"\n{result['recipe']}: {last['cpu_s'] / 3600:.2f} CPU-hours, step {last['step']:,}, "
                         f"{last['examples']:,} examples so far.")
    (OUT / "campaign.md").write_text("\n".join(lines) + "\n")
    from bgmaker.paths import portable

    def shareable(result):  # checkpoints in the state directory, named as on any machine
        return result and dict(result, validation=[dict(v, checkpoint=portable(v["checkpoint"]))
                                                    for v in result["validation"]])
    (OUT / "campaign.json").write_text(json.dumps(dict(stages=[shareable(r) for r in results],
                                                       from_scratch=shareable(scratch)), indent=1,
                                                  default=float) + "\n")
    recipes.plot([r for r in results + [scratch] if r and (r["progress"] or r["validation"])],
                 OUT / "campaign.png")
    import models  # reports/models.py: replace_block, shared by the generated blocks of docs/
    page = REPO / "docs" / "training.md"
    page.write_text(models.replace_block(page.read_text(), *WARM_START, warm_start_table(results[1], scratch)))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
