"""The GrooVAE humanizer's HIT_FLOOR chosen on validation: the smallest p(hit) a given hit's outputs are divided by.

  .venv/bin/python reports/humanize_hit_floor.py [CHECKPOINT]

The decoder's velocity and offset outputs are trained with 0 where there is no
hit, so they estimate p(hit) x the value given a hit; a humanizer that forces
the input's hits divides them by p(hit), floored (bgmaker.humanize.groovae).
This scores one humanize checkpoint (default: the 2-bar arm's last milestone of
reports/humanize_bars.py) on GMD's validation split with each floor (1.0 = no
correction) and ranks them by the campaign's choice rule (mean rank over
HUMANIZE_CHOICE_FIGURES). Writes reports/humanize_hit_floor.md and .json.
"""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bgmaker import paths  # noqa: E402

FLOORS = (0.005, 0.02, 0.05, 0.2, 0.5, 1.0)


def default_checkpoint():
    from bgmaker.training.run_state import read_milestones
    arm = paths.state_dir() / "humanize_bars" / "groovae-humanize_2bar" / "runs" / "humanize"
    return read_milestones(arm)[-1]["checkpoint"]


def main(argv=None):
    from bgmaker.humanize import evaluate, groovae
    from bgmaker.humanize.report import TITLES
    from bgmaker.training.campaign import HUMANIZE_CHOICE_FIGURES, choose
    argv = sys.argv[1:] if argv is None else argv
    checkpoint = argv[0] if argv else default_checkpoint()
    rows = []
    for floor in FLOORS:
        groovae.HIT_FLOOR = floor
        rows.append(dict(floor=floor, cpu_s=0.0, summary=evaluate.score_checkpoint(checkpoint, "validation")))
        print(floor, rows[-1]["summary"], flush=True)
    best = choose(rows, HUMANIZE_CHOICE_FIGURES)
    keys = evaluate.SUMMARY
    lines = ["# The GrooVAE's hit floor, chosen on validation", "",
             f"Checkpoint `{paths.portable(checkpoint)}`, GMD's validation split, seed 0. Floor 1.0 = the decoder's "
             "outputs as they are. Regenerate: `.venv/bin/python reports/humanize_hit_floor.py`.", "",
             "| floor | " + " | ".join(TITLES[k] for k in keys) + " |", "|---|" + "---|" * len(keys)]
    for r in rows:
        lines.append(f"| {r['floor']:g}{' (chosen)' if r is best else ''} | "
                     + " | ".join(f"{r['summary'][k]:.3f}" for k in keys) + " |")
    lines += ["", f"Best mean rank over {', '.join(HUMANIZE_CHOICE_FIGURES)}: {best['floor']:g}."]
    (REPO / "reports" / "humanize_hit_floor.md").write_text("\n".join(lines) + "\n")
    (REPO / "reports" / "humanize_hit_floor.json").write_text(json.dumps(
        dict(checkpoint=paths.portable(checkpoint), rows=rows, chosen=best["floor"]), indent=1, default=float) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
