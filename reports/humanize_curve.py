"""The humanize model's learning curve: every campaign milestone on the validation split, against CPU-hours.

  .venv/bin/python reports/humanize_curve.py            # scores any unscored milestone (cached), writes the table
  .venv/bin/python reports/humanize_curve.py --report-only

Reads the campaign's humanize run ($BGMAKER_STATE_DIR/campaign/runs/humanize:
bgmaker.training.campaign.validation_scores, the figures the campaign chooses
on, bgmaker.humanize.evaluate on validation, seeded) and writes
reports/humanize_curve.md and .json with the template and the floor of the
shipped model's validation record beside them, and which milestone shipped.
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUT = REPO / "reports"
COLUMNS = (("velocity_mae", "velocity error", "{:.2f}"), ("velocity_r", "velocity r", "{:.3f}"),
           ("timing_mae_ms", "timing error (ms)", "{:.2f}"), ("timing_r", "timing r", "{:.3f}"),
           ("classifier", "classifier (0.5 = real)", "{:.3f}"))


def collect():
    from bgmaker.training import campaign
    from bgmaker.training.run_state import read_progress
    campaign.use_campaign_dirs()
    scores = campaign.validation_scores("humanize", log=lambda m: print(m, flush=True))
    shipped = json.loads((REPO / "models" / "humanize" / "bgmaker_run.json").read_text()).get("shipped", {})
    progress = read_progress(campaign.run_dir("humanize"))
    return dict(milestones=[dict(checkpoint=Path(r["checkpoint"]).name, step=r["step"], cpu_s=r["cpu_s"],
                                 summary={k: r["summary"].get(k) for k, *_ in COLUMNS}) for r in scores],
                shipped=shipped.get("checkpoint"), cpu_hours=round(progress[-1]["cpu_s"] / 3600, 2) if progress else None,
                precision=sorted({p.get("precision") for p in progress if p.get("precision")}))


def write(report):
    (OUT / "humanize_curve.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["# The humanize model on validation, milestone by milestone", "",
             f"The campaign's `humanize` run ({report['cpu_hours']} CPU-hours), every milestone scored on GMD's "
             "validation split with the figures it is chosen on (`bgmaker.humanize.evaluate`, seeded); errors: lower "
             "is better. Regenerate: `.venv/bin/python reports/humanize_curve.py`.", "",
             "| milestone | step | CPU-hours | " + " | ".join(t for _, t, _ in COLUMNS) + " |",
             "|---|---:|---:|" + "---:|" * len(COLUMNS)]
    for m in report["milestones"]:
        mark = " (shipped)" if m["checkpoint"] == report["shipped"] else ""
        lines.append(f"| {m['checkpoint']}{mark} | {m['step']:,} | {m['cpu_s'] / 3600:.2f} | "
                     + " | ".join(f.format(m["summary"][k]) if m["summary"].get(k) is not None else "–"
                                  for k, _, f in COLUMNS) + " |")
    (OUT / "humanize_curve.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    write(json.loads((OUT / "humanize_curve.json").read_text()) if args.report_only else collect())
    return 0


if __name__ == "__main__":
    sys.exit(main())
