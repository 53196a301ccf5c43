"""The humanize evaluation as evaluation.json and a readable evaluation.md (bgmaker.humanize.evaluate)."""
import json
import math

import numpy as np

from bgmaker import paths
from bgmaker.drums import DRUM_NAMES
from bgmaker.evaluation.markdown import table

# The summary figures of a humanizer (bgmaker.humanize.evaluate), in the order every table shows them.
SUMMARY = ("velocity_mae", "velocity_r", "timing_mae_ms", "timing_r", "velocity_overlap", "timing_overlap",
           "classifier")
LOWER_IS_BETTER = ("velocity_mae", "timing_mae_ms")
TITLES = dict(velocity_mae="velocity error (MIDI)", velocity_r="velocity r", timing_mae_ms="timing error (ms)",
              timing_r="timing r", velocity_overlap="velocity overlap", timing_overlap="timing overlap",
              classifier="classifier acc. (0.5 = real)")


# "Far from the floor" (issue: the gate): the floor plays every hit at one velocity on the grid, which is
# close to the mean and median of what drummers play, so per-hit errors cannot separate it from a humanizer
# (the template's velocity error is above the floor's); realism does. Far = the classifier at least
# FAR_CLASSIFIER nearer 0.5 than the floor's, and both overlaps at least FAR_OVERLAP above the floor's.
FAR_CLASSIFIER = 0.1
FAR_OVERLAP = 0.3


def gate(report):
    """[(line, passed)] of the humanize gate on a report with a "groovae" row (else [])."""
    results = report["results"]
    if "groovae" not in results:
        return []
    g, t = results["groovae"]["summary"], results["template"]["summary"]
    floor = results["floor: no humanization"]["summary"]
    lines = [(f"GrooVAE velocity error below the template's ({g['velocity_mae']:.1f} vs {t['velocity_mae']:.1f})",
              better(g, t, "velocity_mae")),
             (f"GrooVAE timing error below the template's ({g['timing_mae_ms']:.1f} vs {t['timing_mae_ms']:.1f} ms)",
              better(g, t, "timing_mae_ms")),
             (f"GrooVAE classifier nearer 0.5 than the template's ({g['classifier']:.3f} vs {t['classifier']:.3f})",
              better(g, t, "classifier"))]
    for name, s in (("GrooVAE", g), ("template", t)):
        far = (abs(floor["classifier"] - 0.5) - abs(s["classifier"] - 0.5) >= FAR_CLASSIFIER
               and all(s[k] - floor[k] >= FAR_OVERLAP for k in ("velocity_overlap", "timing_overlap")))
        lines.append((f"{name} far from the floor (classifier {s['classifier']:.3f} vs {floor['classifier']:.3f}; "
                      f"overlaps {s['velocity_overlap']:.2f}/{s['timing_overlap']:.2f} vs "
                      f"{floor['velocity_overlap']:.2f}/{floor['timing_overlap']:.2f})", far))
    return lines


def better(a, b, key):
    """True when figure `key` of summary a beats b's (errors lower, r and overlap higher, classifier nearer 0.5)."""
    x, y = a.get(key), b.get(key)
    if x is None or y is None or np.isnan(x) or np.isnan(y):
        return False
    if key in LOWER_IS_BETTER:
        return x < y
    if key == "classifier":
        return abs(x - 0.5) < abs(y - 0.5)
    return x > y


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
             "Errors: lower is better; r and overlap: higher; classifier: nearest 0.5.", ""]
    rows = [[name, *(cell(r["summary"].get(k)) for k in SUMMARY)] for name, r in results.items()]
    # the real-vs-real ceiling is one of realism: per-hit errors and correlations (SUMMARY[:4]) have none
    rows.append(["ceiling: real vs real", *[None] * 4, *(cell(report["ceiling"].get(k)) for k in SUMMARY[4:])])
    lines += table(["humanizer", *(TITLES[k] for k in SUMMARY)], rows, "l" * (1 + len(SUMMARY)))
    lines_of_gate = gate(report)
    if lines_of_gate:
        passed = all(ok for _, ok in lines_of_gate)
        lines += ["", f"**Gate: {'passed' if passed else 'not passed'}** "
                      f"({sum(ok for _, ok in lines_of_gate)} of {len(lines_of_gate)} lines):", ""]
        lines += [f"- {'pass' if ok else 'FAIL'}: {text}" for text, ok in lines_of_gate]
    own = {n: r["summary"] for n, r in results.items() if "own_hits_dropped" in r["summary"]}
    for name, s in own.items():
        lines += ["", f"Hits: every humanizer plays exactly the input's hits. Left to choose its own hits, {name}'s "
                      f"decoder would drop {s['own_hits_dropped']:.1%} of them and add "
                      f"{s['own_hits_added_per_bar']:.2f} per bar."]
    lines += ["", "## Per drum (velocity error / timing error in ms)", ""]
    lines += table(["humanizer", *DRUM_NAMES], [[name, *(errors(r["per_drum"][d]) for d in DRUM_NAMES)]
                                                 for name, r in results.items()], "l" * (1 + len(DRUM_NAMES)))
    per_style = next(iter(results.values()))["per_style"]
    styles = sorted(per_style)
    lines += ["", "## Per style (velocity error / timing error in ms; windows)", ""]
    lines += table(["humanizer", *(f"{s} ({per_style[s]['windows']})" for s in styles)],
                   [[name, *(errors(r["per_style"][s]) for s in styles)] for name, r in results.items()],
                   "l" * (1 + len(styles)))
    if report.get("command"):
        lines += ["", f"Regenerate: `{report['command']}`"]
    return "\n".join(lines) + "\n"


def errors(row):
    """A per-drum or per-style cell: "velocity error / timing error"."""
    return f"{cell(row['velocity_mae'], 1)} / {cell(row['timing_mae_ms'], 1)}"


def write(report, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("evaluation.json", json.dumps(report, indent=1, default=float) + "\n"),
                       ("evaluation.md", markdown(report))):
        paths.write_text_atomically(folder / name, text)
