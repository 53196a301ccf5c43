"""The models table of docs/evaluation.md: the shipped models beside baselines trained for equal CPU, on the test split.

  .venv/bin/python reports/models.py             # evaluate what has no report yet (or one of a checkpoint
                                                    # that no longer ships), write the table
  .venv/bin/python reports/models.py --refresh   # re-evaluate every row whose checkpoint is here
                                                    # (same seed: same figures)
  .venv/bin/python reports/models.py --refresh --retrain   # also train the baselines this machine lacks
                                                    # (80 CPU-minutes each): every cell made again here

Rows (every figure on GMD's test split, seeded, bgmaker.evaluation.evaluate at its defaults):

- the shipped models, models/v2_rock_beat and models/v1_all (each chosen on
  validation by `scripts/campaign.sh --ship`); their reports are the
  committed models/<run>/evaluation.json. v1_all is also scored on the
  rock-beat test split, the data v2_rock_beat is judged on;
- the baselines of reports/recipes.py on v2_rock_beat, each trained for
  the same CPU budget (80 CPU-minutes) from scratch: Magenta's stock
  pipeline, our default recipe (windows-b64: the from-scratch side of the
  warm-start comparison) and the flat `cat-drums_4bar` model with that
  recipe. Each one's best milestone on validation (reports/recipes.py
  score, cached) is evaluated here; the reports are committed under
  reports/models/<row>/ because the checkpoints are not (they live in
  $BGMAKER_STATE_DIR/recipes). A baseline with no checkpoint and no report is
  trained first (`reports/recipes.py train --recipes NAME`: 80 CPU-minutes);
- the floor (real windows with their steps shuffled; the crossfade for
  interpolation) and the ceiling (real drumming: train vs test) of the
  rock-beat test split, and the gate v2_rock_beat is held to (#26: GATE, AHEAD), with the
  earlier models it must lead (EARLIER: v1_all at 8 CPU-hours).

Writes reports/models.md and models.json and replaces docs/evaluation.md's block
between `<!-- models:begin -->` and `<!-- models:end -->` (and the shipped rock-beat model's
report between `<!-- v2-report:begin -->` and `<!-- v2-report:end -->`).
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "reports"))

import recipes  # noqa: E402  (reports/recipes.py: the baselines' runs and the table's columns)
from bgmaker import paths  # noqa: E402

OUT = REPO / "reports"
PAGE = REPO / "docs" / "evaluation.md"  # "How good is it": where the generated blocks stand
REPORTS = OUT / "models"
ROCK, ALL = "v2_rock_beat", "v1_all"
BASELINES = (("stock", "Magenta's stock pipeline (5 slices per performance, its shuffle, batch 512)"),
             ("windows-b64", "our recipe (windows-b64) from scratch"),
             ("flat-windows-b64", "flat cat-drums_4bar, our recipe"))
BUDGET_CPU_MINUTES = 80.0  # each baseline's training, as in reports/recipes.md
BEGIN, END = "<!-- models:begin -->", "<!-- models:end -->"
SHIPPED_REPORT = ("<!-- v2-report:begin -->", "<!-- v2-report:end -->")

# The gate of #26, rebased on what real drumming scores on this evaluation (the #11 lines "sample overlap
# >= 0.85" and "interp. realism >= the crossfade's" sat above real drumming itself), per column key:
# (text, test(value, summary) -> passed, or None where a figure it needs is missing from the report).
def _within_real(real, train):
    def test(v, s):
        low, high = sorted((s[real], s[train]))
        return low <= v <= high
    return test


def _no_copies_and(limit):
    def test(v, s):
        if v > limit:
            return False
        if s.get("copies_samples") is None:
            return None  # a report made before the evaluation counted copies
        return s["copies_samples"] == 0
    return test


GATE = {
    "accuracy_free_running": ("≥ 0.55", lambda v, s: v >= 0.55),
    "sample_overlap": ("≥ train vs test (ceiling)", lambda v, s: v >= s["train_vs_real_overlap"]),
    "classifier_samples_vs_real": ("≤ 0.58, no copied train window", _no_copies_and(0.58)),
    "bar_repetition_samples": ("within real test … train", _within_real("bar_repetition_real", "bar_repetition_train")),
    "kick_on_one_samples": ("within real test … train", _within_real("kick_on_one_real", "kick_on_one_train")),
    "interp_overlap": ("≥ real vs real (ceiling)", lambda v, s: v >= s["real_vs_real_overlap"]),
}
# The numbers each gate line compares with, on the rock test split (summary -> text).
GATE_VALUES = {
    "accuracy_free_running": lambda s: "0.550",
    "sample_overlap": lambda s: f"{s['train_vs_real_overlap']:.3f}",
    "classifier_samples_vs_real": lambda s: "0.580, copies " + (
        "not counted" if s.get("copies_samples") is None else f"{s['copies_samples']:.0f}"),
    "bar_repetition_samples": lambda s: "{:.3f} … {:.3f}".format(*sorted((s["bar_repetition_real"],
                                                                         s["bar_repetition_train"]))),
    "kick_on_one_samples": lambda s: "{:.3f} … {:.3f}".format(*sorted((s["kick_on_one_real"], s["kick_on_one_train"]))),
    "interp_overlap": lambda s: f"{s['real_vs_real_overlap']:.3f}",
}
# The gate's comparisons between models: (title, the model, the one it must lead, the figures it must lead on).
AHEAD = (("gate: v2_rock_beat ahead of its parent v1_all (rock test split)", ROCK, "v1_all-on-rock",
          ("accuracy_free_running", "classifier_samples_vs_real")),
         ("gate: v1_all ahead of its 8-CPU-hour self (all-GMD test split)", ALL, "v1_all-8h",
          ("accuracy_free_running", "classifier_samples_vs_real")))
# Reports of models that shipped before, kept as rows the gate compares with (committed under REPORTS).
EARLIER = (("v1_all-8h", "v1_all at 8 CPU-hours (shipped before #26's continuation)", ALL),)


def data_dir():
    """The runs' converted windows where `scripts/convert_gmd.sh` writes them (made when missing), so that each
    report's command is the one a fresh clone runs after that script. Evaluation reads windows in a canonical
    order (bgmaker.data.windows.read_windows), so any conversion of the same selection gives the same report."""
    return paths.data_dir()


def evaluate(model_run, checkpoint, data_run, output_dir, refresh):
    """The test-split report of `checkpoint` (trained as `model_run`) on `data_run`'s windows, made if needed."""
    report = Path(output_dir) / "evaluation.json"
    if report.is_file() and not refresh:
        return json.loads(report.read_text())
    from bgmaker.evaluation import evaluate as ev
    from bgmaker.data.convert import converted
    folder = converted(data_run, data_dir())
    print(f"evaluating {checkpoint} on the {data_run} test split -> {output_dir}", flush=True)
    return ev.evaluate(model_run, str(checkpoint), "test", examples_path=folder / "test.tfrecord",
                       reference_path=folder / "train.tfrecord", output_dir=output_dir, plots=False,
                       log=lambda m: print(f"  {m}", flush=True))


def shipped_rows(refresh):
    rows = []
    for run, label in ((ROCK, "**v2_rock_beat** (shipped)"), (ALL, "**v1_all** (shipped)")):
        model = REPO / "models" / run
        if not (model / "checkpoint").is_file():
            rows.append(dict(key=run, name=label, data=run, missing=f"not shipped yet (`scripts/campaign.sh --ship {run}`)"))
            continue
        record = json.loads((model / "bgmaker_run.json").read_text())
        shipped = record.get("shipped", {})
        training = dict(step=shipped.get("step"), examples=shipped.get("examples"),
                        cpu_hours=shipped.get("cpu_hours"), init_from=record.get("init_from"))
        if refresh or not (model / "evaluation.json").is_file():
            evaluate(run, model, run, model, True)
        report = json.loads((model / "evaluation.json").read_text())
        if training["step"] is None:
            training["step"] = report["summary"]["step"]
        rows.append(dict(key=run, name=label, data=run, training=training, summary=report["summary"],
                         report=str((model / "evaluation.json").relative_to(REPO))))
        if run == ALL:  # the pre-trained model on the data v2 is judged on
            out = REPORTS / "v1_all-on-rock"
            # made again whenever v1_all ships another checkpoint (a row must describe what ships)
            stale = (out / "evaluation.json").is_file() and json.loads(
                (out / "evaluation.json").read_text())["summary"].get("step") != report["summary"].get("step")
            report = evaluate(run, model, ROCK, out, refresh or stale)
            rows.append(dict(key="v1_all-on-rock", name="v1_all (shipped), on the rock-beat test split", data=ROCK, training=training,
                             summary=report["summary"], report=str((out / "evaluation.json").relative_to(REPO))))
    return rows


def earlier_rows():
    """The committed reports of models shipped before (EARLIER): what the gate's AHEAD lines compare with."""
    rows = []
    for key, label, data in EARLIER:
        path = REPORTS / key / "evaluation.json"
        if path.is_file():
            report = json.loads(path.read_text())
            training = path.parent / "training.json"  # step, examples, CPU-hours as it shipped
            rows.append(dict(key=key, name=label, data=data, summary=report["summary"],
                             training=json.loads(training.read_text()) if training.is_file() else None,
                             report=str(path.relative_to(REPO))))
    return rows


def training_now(folder, minutes=10):
    """True when a run's progress.jsonl moved in the last `minutes` (a trainer is writing to it)."""
    import time
    progress = Path(folder) / "progress.jsonl"
    return progress.is_file() and time.time() - progress.stat().st_mtime < minutes * 60


def baseline_rows(refresh, train=True, retrain=False):
    """One row per baseline: its committed report, or (missing, or --refresh where its checkpoints are
    here, or --retrain where they are not) a new one of its best milestone on validation, trained first
    when it has not had its budget."""
    from bgmaker.training.campaign import choose, validation_scores
    from bgmaker.training.run_state import read_milestones, spent
    os.environ["BGMAKER_DATA_DIR"] = str(data_dir())
    rows = []
    for arm, label in BASELINES:
        out = REPORTS / arm
        folder = recipes.run_dir(arm)
        have_report = (out / "evaluation.json").is_file()
        if refresh and have_report and not read_milestones(folder) and not retrain:
            print(f"{arm}: no checkpoints in {folder}; kept the committed report (--retrain trains it)", flush=True)
        if not have_report or (refresh and read_milestones(folder)) or (retrain and not read_milestones(folder)):
            done = spent(folder)[0] / 60
            if done < BUDGET_CPU_MINUTES:
                busy = training_now(folder)
                if busy or not train:
                    rows.append(dict(key=arm, name=label, data=ROCK, missing=(
                        f"training now: {done:.0f} of {BUDGET_CPU_MINUTES:g} CPU-minutes" if busy else
                        f"trained {done:.0f} of {BUDGET_CPU_MINUTES:g} CPU-minutes "
                        f"(`reports/recipes.py train --recipes {arm}`)")))
                    continue
                print(f"{arm}: trained {done:.0f} of {BUDGET_CPU_MINUTES:g} CPU-minutes in {folder}; training the "
                      f"rest first", flush=True)
                subprocess.run([sys.executable, str(OUT / "recipes.py"), "train", "--recipes", arm,
                                "--cpu-minutes", str(BUDGET_CPU_MINUTES)], check=True)
            best = choose(validation_scores(ROCK, folder, log=lambda m: print(f"{arm}: {m}", flush=True)))
            evaluate(ROCK, best["checkpoint"], ROCK, out, True)
            (out / "chosen.json").write_text(json.dumps(
                {k: best[k] for k in ("step", "examples", "cpu_s")} | dict(
                    checkpoint=Path(best["checkpoint"]).name, chosen_on="validation (campaign.choose)"),
                indent=1) + "\n")
        report = json.loads((out / "evaluation.json").read_text())
        chosen = json.loads((out / "chosen.json").read_text())
        rows.append(dict(key=arm, name=label, data=ROCK, summary=report["summary"],
                         training=dict(step=chosen["step"], examples=chosen["examples"],
                                       cpu_hours=round(chosen["cpu_s"] / 3600, 2)),
                         report=str((out / "evaluation.json").relative_to(REPO))))
    return rows


# After recipes.COLUMNS: the reconstruction a user gets, from the encoder's mean and from the refined code
# (bgmaker.generation.refine); "–" for a report made before the evaluation refined.
DECODED = ("accuracy_decoded", "acc. decoded: mean → refined", "accuracy_shuffle_floor", None)


def _fmt(value):
    return f"{value:.3f}" if isinstance(value, (int, float)) else "–"


def _cell(summary, key):
    if key == DECODED[0]:
        return f"{_fmt(summary.get(key))} → {_fmt(summary.get('accuracy_decoded_refined'))}"
    return _fmt(summary.get(key))


def _training(t):
    if not t:
        return ""
    parts = [f"{t['step']:,} steps" if t.get("step") else None,
             f"{t['examples'] / 1e3:.0f}k examples" if t.get("examples") else None,
             f"{t['cpu_hours']:g} CPU-h" if t.get("cpu_hours") else None,
             "warm start" if t.get("init_from") else None]
    return ", ".join(p for p in parts if p)


def table(rows):
    columns = recipes.COLUMNS + (DECODED,)
    lines = ["| model | test split | training | " + " | ".join(c[1] for c in columns) + " |",
             "|---|---|---|" + "---:|" * len(columns)]
    for row in rows:
        if "summary" not in row:
            lines.append(f"| {row['name']} | {row['data']} | {row['missing']} |" + " |" * len(columns))
            continue
        s = row["summary"]
        cells = []
        for key, *_ in columns:
            cell = _cell(s, key)
            if row["key"] == ROCK and key in GATE and s.get(key) is not None:
                passed = GATE[key][1](s[key], s)
                cell += " ?" if passed is None else " ✓" if passed else " ✗"
            cells.append(cell)
        lines.append(f"| {row['name']} | {row['data']} | {_training(row.get('training'))} | "
                     + " | ".join(cells) + " |")
    rock = next((r["summary"] for r in rows if r["data"] == ROCK and "summary" in r), None)
    if rock:
        lines.append("| floor: real test windows, steps shuffled (crossfade for interp.) | v2_rock_beat | | "
                     + " | ".join(_fmt(rock.get(f)) if f else "" for _, _, f, _ in columns) + " |")
        lines.append("| ceiling: real drumming (train windows vs test; test windows) | v2_rock_beat | | "
                     + " | ".join(_fmt(rock.get(c)) if c else "" for _, _, _, c in columns) + " |")
        lines.append("| gate for v2_rock_beat (#26; ? = not measured in this report) | | | "
                     + " | ".join(GATE[k][0] if k in GATE else "" for k, *_ in columns) + " |")
        shipped = next((r["summary"] for r in rows if r["key"] == ROCK and "summary" in r), None)
        if shipped:
            lines.append("| the gate's lines on this test split (the shipped v2_rock_beat's report) | v2_rock_beat | | "
                         + " | ".join(GATE_VALUES[k](shipped) if k in GATE else "" for k, *_ in columns) + " |")
    summaries = {r["key"]: r["summary"] for r in rows if "summary" in r}
    for title, model, other, keys in AHEAD:
        if model in summaries and other in summaries:
            def ahead(key, a=summaries[model], b=summaries[other]):
                if key not in keys or a.get(key) is None or b.get(key) is None:
                    return ""
                better = abs(a[key] - 0.5) < abs(b[key] - 0.5) if key == "classifier_samples_vs_real" else a[key] > b[key]
                return "✓" if better else "✗"
            lines.append(f"| {title} | | | " + " | ".join(ahead(k) for k, *_ in columns) + " |")
    return "\n".join(lines) + "\n"


def table_text(rows):
    """The models table with its provenance line: reports/models.md's body and docs/evaluation.md's block."""
    return ("Every cell: GMD's test split (unseen performances), seeded, `bgmaker.evaluation.evaluate` at its "
            "defaults; regenerate with `.venv/bin/python reports/models.py --refresh` (`--retrain` also trains "
            "the baselines whose checkpoints a machine lacks, 80 CPU-minutes each; reports: "
            + ", ".join(f"`{r['report']}`" for r in rows if "report" in r) + ").\n\n" + table(rows))


def page_text(page, rows, shipped_report=None):
    """docs/evaluation.md with its generated blocks replaced: the models table, and the shipped rock-beat model's
    report "in full" (the summary tables of models/v2_rock_beat/evaluation.md, as committed)."""
    page = replace_block(page, BEGIN, END, table_text(rows))
    if shipped_report is not None:
        page = replace_block(page, *SHIPPED_REPORT, summary_tables(shipped_report))
    return page


def write(rows):
    text = table_text(rows)
    (OUT / "models.md").write_text("# Models on the test split\n\n" + text)
    (OUT / "models.json").write_text(json.dumps(rows, indent=1, default=float) + "\n")
    report = REPO / "models" / ROCK / "evaluation.md"
    PAGE.write_text(page_text(PAGE.read_text(), rows, report.read_text() if report.is_file() else None))
    print(text)


def replace_block(text, begin, end, body):
    """`text` with what lies between the markers `begin` and `end` replaced by `body` (unchanged without them)."""
    if begin not in text or end not in text:
        return text
    head, rest = text.split(begin, 1)
    return head + begin + "\n" + body + end + rest.split(end, 1)[1]


def summary_tables(report):
    """The tables of an evaluation.md's Summary section (bgmaker.evaluation.report), without its prose."""
    section = report.split("## Summary", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.strip().splitlines() if line.startswith("|") or not line) \
        .strip() + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true",
                        help="re-evaluate every row whose checkpoint is on this machine (the others keep their "
                             "committed reports)")
    parser.add_argument("--no-train", dest="train", action="store_false",
                        help="leave a baseline that has not trained its budget out, instead of training it")
    parser.add_argument("--retrain", action="store_true",
                        help="train each baseline whose checkpoints are not on this machine (80 CPU-minutes each, "
                             "from scratch) and evaluate it, instead of keeping its committed report")
    args = parser.parse_args()
    if args.retrain and not args.train:
        parser.error("--retrain and --no-train contradict each other")
    REPORTS.mkdir(parents=True, exist_ok=True)
    write(shipped_rows(args.refresh) + earlier_rows() + baseline_rows(args.refresh, args.train, args.retrain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
