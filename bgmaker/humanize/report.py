"""The humanize evaluation as evaluation.json and a readable evaluation.md (bgmaker.humanize.evaluate)."""
import json
import math
import os

from bgmaker.drums import DRUM_NAMES

# The summary figures of a humanizer (bgmaker.humanize.evaluate), in the order every table shows them.
SUMMARY = ("velocity_mae", "velocity_r", "timing_mae_ms", "timing_r", "velocity_overlap", "timing_overlap",
           "classifier")
TITLES = dict(velocity_mae="velocity error (MIDI)", velocity_r="velocity r", timing_mae_ms="timing error (ms)",
              timing_r="timing r", velocity_overlap="velocity overlap", timing_overlap="timing overlap",
              classifier="classifier acc. (0.5 = real)")


def cell(value, digits=3):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown(report):
    results = report["results"]
    lines = [f"# Humanize evaluation ({report['split']} split)", "",
             f"{report['windows']} consecutive 4-bar windows of {report['performances']} GMD 4/4 performances, "
             f"{report['hits']:,} hits, seed {report['seed']}. Each window's hits are given to each humanizer "
             "without velocity or timing; its playing is compared with the drummer's (bgmaker.humanize.evaluate). "
             "Errors: lower is better; r and overlap: higher; classifier: nearest 0.5.", "",
             "| humanizer | " + " | ".join(TITLES[k] for k in SUMMARY) + " |", "|---|" + "---|" * len(SUMMARY)]
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(cell(r['summary'].get(k)) for k in SUMMARY) + " |")
    ceiling = report["ceiling"]
    lines.append("| ceiling: real vs real | | | | | " + " | ".join(cell(ceiling.get(k)) for k in SUMMARY[4:]) + " |")
    own = {n: r["summary"] for n, r in results.items() if "own_hits_dropped" in r["summary"]}
    for name, s in own.items():
        lines += ["", f"Hits: every humanizer plays exactly the input's hits. Left to choose its own hits, {name}'s "
                      f"decoder would drop {s['own_hits_dropped']:.1%} of them and add "
                      f"{s['own_hits_added_per_bar']:.2f} per bar."]
    lines += ["", "## Per drum (velocity error / timing error in ms)", "",
              "| humanizer | " + " | ".join(DRUM_NAMES) + " |", "|---|" + "---|" * len(DRUM_NAMES)]
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(
            f"{cell(r['per_drum'][d]['velocity_mae'], 1)} / {cell(r['per_drum'][d]['timing_mae_ms'], 1)}"
            for d in DRUM_NAMES) + " |")
    styles = sorted(next(iter(results.values()))["per_style"])
    lines += ["", "## Per style (velocity error / timing error in ms; windows)", "",
              "| humanizer | " + " | ".join(f"{s} ({next(iter(results.values()))['per_style'][s]['windows']})"
                                          for s in styles) + " |", "|---|" + "---|" * len(styles)]
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(
            f"{cell(r['per_style'][s]['velocity_mae'], 1)} / {cell(r['per_style'][s]['timing_mae_ms'], 1)}"
            for s in styles) + " |")
    if report.get("command"):
        lines += ["", f"Regenerate: `{report['command']}`"]
    return "\n".join(lines) + "\n"


def write(report, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("evaluation.json", json.dumps(report, indent=1, default=float) + "\n"),
                       ("evaluation.md", markdown(report))):
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, folder / name)
