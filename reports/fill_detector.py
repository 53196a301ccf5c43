"""Fit the fill detector (bgmaker.metrics.fills) on GMD's labelled bars and report how well it tells fills.

  .venv/bin/python reports/fill_detector.py              # fit, write the weights and the report (~30 s)
  .venv/bin/python reports/fill_detector.py --report-only

Why: #25 asks for a fill-ness attribute vector from GMD's beat/fill labels.
GMD's fills are short recordings (mostly one bar), so only 31 of v1_all's
15,641 train windows carry the label, and fill-ness was measured by a
stand-in, tom hits per bar, that real fills differ in less than in kick and
density. The detector learns the labels per bar from every bar of GMD's
4/4 recordings (bgmaker.data.windows.bar_grids), so fill-ness becomes a
measured attribute of any window, like density.

Reads GMD from BGMAKER_GMD_DIR (info.csv's splits). The penalty is chosen on
the validation bars; the test bars' AUC is reported beside the floor (chance,
0.5) and the old stand-in (tom hits per bar as the score). At window level,
where the run's converted windows are there, it reports the fill-ness of
GMD's few labelled fill windows against its beat windows. Writes
bgmaker/metrics/fill_detector.json (the weights the package reads) and
reports/fill_detector.md/.json.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUT = REPO / "reports"
SPLITS = ("train", "validation", "test")


def gmd_bars(log=print):
    """{split: (bars [n, 16, 9], is_fill [n], files)} of GMD's 4/4 recordings, and {reason: count} skipped."""
    import note_seq
    from bgmaker import paths
    from bgmaker.data import gmd
    from bgmaker.data.windows import UnusableSequenceError, bar_grids
    root = Path(paths.gmd_dir())
    found = {split: ([], [], 0) for split in SPLITS}
    skipped = {}
    for p in gmd.load(root):
        if p.time_signature != "4-4" or p.split not in found:
            continue
        try:
            bars = bar_grids(note_seq.midi_file_to_note_sequence(str(root / p.midi_filename)))
        except (UnusableSequenceError, OSError, ValueError) as e:
            skipped[str(e)] = skipped.get(str(e), 0) + 1
            continue
        grids, labels, files = found[p.split]
        grids.append(bars)
        labels += [p.beat_type == "fill"] * len(bars)
        found[p.split] = (grids, labels, files + 1)
    out = {split: (np.concatenate(g), np.array(y, bool), n) for split, (g, y, n) in found.items()}
    for split, (bars, y, n) in out.items():
        log(f"  {split}: {n} recordings, {int(y.sum())} fill bars, {int((~y).sum())} beat bars")
    return out, skipped


def window_figures(detector):
    """{run: figures} of the fill-ness of each shipped run's converted train windows (labelled fills against
    beats), where they are converted."""
    from bgmaker.data.gmd import beat_type_of
    from bgmaker.data.windows import read_windows
    from bgmaker.metrics.fills import auc
    from bgmaker_configs.runs import get_run
    out = {}
    for name in ("v1_all", "v2_rock_beat"):
        path = get_run(name).examples_path("train")
        if not path.is_file():
            continue
        windows = read_windows(path)[0]
        grids = np.stack([w.grid for w in windows])
        fills = np.array([beat_type_of(w.sequence.filename) == "fill" for w in windows])
        value = detector.fillness(grids)
        out[name] = dict(windows=len(windows), fill_windows=int(fills.sum()),
                         quartiles=[float(q) for q in np.quantile(value, [0.25, 0.5, 0.75])],
                         fill_mean=float(value[fills].mean()) if fills.any() else None,
                         beat_mean=float(value[~fills].mean()), auc=auc(value, fills))
    return out


def measure():
    from bgmaker.metrics import fills
    started = time.time()
    print("reading GMD's bars")
    data, skipped = gmd_bars()
    train, validation, test = (data[s][:2] for s in SPLITS)
    detector, penalty, scores = fills.choose_detector(train, validation)
    from bgmaker.drums import DRUM_NAMES
    tom = [DRUM_NAMES.index(n) for n in ("low tom", "mid tom", "high tom")]
    toms = lambda bars: bars[..., tom].sum(axis=(1, 2))  # noqa: E731  the old stand-in: tom hits in the bar
    report = dict(
        bars={s: dict(recordings=int(n), fill=int(y.sum()), beat=int((~y).sum())) for s, (_, y, n) in data.items()},
        skipped=skipped, penalty=penalty, validation_auc={str(p): a for p, a in scores.items()},
        test_auc=fills.auc(detector.bar_probability(test[0]), test[1]),
        test_auc_toms=fills.auc(toms(test[0]), test[1]),
        train_auc=fills.auc(detector.bar_probability(train[0]), train[1]),
        windows=window_figures(detector), features=int(detector.weights.size),
        command="reports/fill_detector.py", seconds=None)
    fills.save_detector(detector, dict(
        what="p(fill | bar) = sigmoid(weights . bgmaker.metrics.fills.bar_features(bar) + bias)",
        fitted_on="every non-silent bar of GMD v1.0.0's train-split 4/4 recordings, fills against beats "
                  "weighted equally", penalty=penalty, validation_auc=scores[penalty],
        test_auc=report["test_auc"], command=".venv/bin/python reports/fill_detector.py"))
    report["seconds"] = round(time.time() - started, 1)
    return report


def write(report):
    (OUT / "fill_detector.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["# The fill detector: GMD's fill/beat labels, learned per bar", "",
             f"Regenerate: `.venv/bin/python {report['command']}` (writes bgmaker/metrics/fill_detector.json, the "
             "weights `fill` is measured with; `--report-only` rewrites this file from the json). "
             "bgmaker.metrics.fills: an L2 logistic regression on each bar's cells and hit counts "
             f"({report['features']} features), fills and beats weighted equally, penalty chosen on the "
             "validation bars. AUC: the chance a fill bar scores above a beat bar (0.5 = chance). A beat "
             "recording's bars include its drummer's unlabelled fills, so no detector reaches 1.", "",
             "| split | recordings | fill bars | beat bars |", "|---|---:|---:|---:|"]
    lines += [f"| {s} | {b['recordings']} | {b['fill']} | {b['beat']} |" for s, b in report["bars"].items()]
    lines += ["", "| penalty | validation AUC |", "|---:|---:|"]
    lines += [f"| {p}{' (chosen)' if float(p) == report['penalty'] else ''} | {a:.3f} |"
              for p, a in report["validation_auc"].items()]
    lines += ["", f"On the test bars: AUC **{report['test_auc']:.3f}** (train {report['train_auc']:.3f}); tom hits "
              f"per bar, the stand-in fill-ness was measured by before, {report['test_auc_toms']:.3f}; chance 0.5.", ""]
    if report["windows"]:
        lines += ["A 4-bar window's fill-ness is its most fill-like bar's probability. The runs' converted train "
                  "windows:", "", "| run | windows | labelled fill windows | quartiles | labelled fills' mean | "
                  "beats' mean | AUC |", "|---|---:|---:|---|---:|---:|---:|"]
        for run, w in report["windows"].items():
            q = " / ".join(f"{v:.2f}" for v in w["quartiles"])
            fill = "–" if w["fill_mean"] is None else f"{w['fill_mean']:.2f}"
            auc = "–" if w["auc"] != w["auc"] else f"{w['auc']:.3f}"
            lines.append(f"| {run} | {w['windows']} | {w['fill_windows']} | {q} | {fill} | {w['beat_mean']:.2f} | "
                         f"{auc} |")
    if report["skipped"]:
        lines += ["", "Recordings left out: " + ", ".join(f"{k} ({v})" for k, v in report["skipped"].items()) + "."]
    lines += ["", f"Took {report['seconds']} s.", ""]
    (OUT / "fill_detector.md").write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md from the committed .json")
    args = parser.parse_args()
    report = json.loads((OUT / "fill_detector.json").read_text()) if args.report_only else measure()
    write(report)
    print(f"wrote {OUT / 'fill_detector.md'}")


if __name__ == "__main__":
    main()
