"""The refinement gate on GMD's test split: both shipped models, every window, every style.

  .venv/bin/python reports/refine_gate.py [--report-only]

The gate (the issue "Your beat, played back faithfully"): on every window of
GMD's test split (all styles), for each shipped model, the reconstruction
decoded from the refined code (bgmaker.generation.refine at generate's
default steps) is at least GAIN more step-accurate than the one decoded from
the encoder's mean, and interpolations between refined codes are no less
real and no less smooth than between encoder means.

The figures are the evaluation's (bgmaker.evaluation.evaluate), read from:
- v1_all on all styles: its shipped report, models/v1_all/evaluation.json
  (its test split is every 4/4 GMD test window);
- v2_rock_beat on all styles: an evaluation of the shipped v2_rock_beat on
  v1_all's test (and train, for the references) windows, written to
  runs/v2_rock_beat/evaluation/test-all-styles-<checkpoint>/;
- v2_rock_beat on rock (its own test split): its shipped report, shown beside.
A report that is missing, or was made with other refinement steps or
another checkpoint, is made first (the shipped ones with their own
command); about 25 CPU-minutes per all-styles evaluation on 2 cores.
Writes reports/refine_gate.json and refine_gate.md, and docs/refine.md's block
between `<!-- refine-gate:begin -->` and `<!-- refine-gate:end -->`.

Data: `scripts/convert_gmd.sh` (data/v1_all, data/v2_rock_beat).
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bgmaker import models  # noqa: E402
from bgmaker.evaluation import decode, evaluate  # noqa: E402
from bgmaker.paths import models_dir, runs_dir  # noqa: E402

GAIN = 0.10  # refined decoded step accuracy above the encoder mean's
OUT = REPO / "reports"


def sources():
    """(label, run, checkpoint, evaluate() keywords, report folder) of each evaluation the gate reads."""
    v1, v2 = (models.locate(name) for name in ("v1_all", "v2_rock_beat"))
    all_styles = evaluate.resolve_run("v1_all")
    return [
        ("v1_all, all styles", "v1_all", v1.checkpoint, {}, models_dir() / "v1_all"),
        ("v2_rock_beat, all styles", "v2_rock_beat", v2.checkpoint,
         dict(examples_path=all_styles.examples_path("test"), reference_path=all_styles.examples_path("train")),
         runs_dir() / "v2_rock_beat" / "evaluation" / f"test-all-styles-{Path(v2.checkpoint).name}"),
        ("v2_rock_beat, rock", "v2_rock_beat", v2.checkpoint, {}, models_dir() / "v2_rock_beat"),
    ]


# A report made before generator.path_keys decoded each point between an interpolation's ends with a key of
# its own; its refined and encoder-mean paths were keyed alike, so its gate lines still compare like with like.
OLD_KEYS = "a sampling key per point (before generator.path_keys)"


def current(path, checkpoint):
    """The evaluation.json at `path` when it was made on `checkpoint` with generate's refinement, else None."""
    if not path.is_file():
        return None
    report = json.loads(path.read_text())
    same = (report.get("settings", {}).get("refine_steps") == evaluate.REFINE_STEPS
            and Path(report["model"]["checkpoint"]).name == Path(checkpoint).name)
    return report if same else None


def gather(report_only):
    out = {}
    for label, run, checkpoint, kwargs, folder in sources():
        report = current(folder / "evaluation.json", checkpoint)
        if report is None:
            if report_only:
                raise SystemExit(f"{folder / 'evaluation.json'} is missing or stale; run without --report-only")
            print(f"evaluating {label} into {folder}", flush=True)
            report = evaluate.evaluate(run, checkpoint, "test", output_dir=folder, plots=False, **kwargs,
                                       log=lambda m: print(m, flush=True))
            report = json.loads((folder / "evaluation.json").read_text())
        out[label] = dict(summary=report["summary"], command=report["command"],
                          windows=report["data"]["windows"], performances=report["data"]["performances"],
                          checkpoint=Path(report["model"]["checkpoint"]).name,
                          interpolation_keys=report["settings"].get("interpolation_keys", OLD_KEYS))
    return out


def verdict(summary):
    """The gate's three lines for one evaluation: (text, passed)."""
    s = summary
    gain = s["accuracy_decoded_refined"] - s["accuracy_decoded"]
    return [
        (f"refined decoded step accuracy {s['accuracy_decoded_refined']:.3f} vs encoder mean "
         f"{s['accuracy_decoded']:.3f}: gain {gain:+.3f} (needs ≥ +{GAIN:.2f})", gain >= GAIN),
        (f"interpolation realism between refined codes {s['interp_overlap_refined']:.3f} vs between encoder "
         f"means {s['interp_overlap']:.3f} (no worse: ≥)", s["interp_overlap_refined"] >= s["interp_overlap"]),
        (f"interpolation smoothness between refined codes {s['interp_smoothness_refined']:.3f} vs between "
         f"encoder means {s['interp_smoothness']:.3f} (lower is smoother; no worse: ≤)",
         s["interp_smoothness_refined"] <= s["interp_smoothness"]),
    ]


def context(summary):
    """What the gate's smoothness line does not say: how far the paths' ends are from the real windows, and
    how much each path wanders per unit of the distance between its own ends (bgmaker.metrics.detour)."""
    s = summary
    out = (f"endpoint error {s['interp_endpoint_error']:.3f} between encoder means, "
           f"{s['interp_endpoint_error_refined']:.3f} between refined codes (distance A–B {s['endpoint_distance']:.3f})")
    if s.get("interp_detour") is not None and s.get("interp_detour_refined") is not None:
        out += (f"; detour {s['interp_detour']:.2f} between encoder means, {s['interp_detour_refined']:.2f} between "
                f"refined codes (crossfade {s['crossfade_detour']:.2f}; 1 = straight)")
    return out


def markdown(results):
    lines = ["# Refinement gate on GMD's test split", "",
             f"Regenerate: `.venv/bin/python reports/refine_gate.py` (`--report-only` rewrites this file from "
             f"the evaluation reports). Every test window; reconstructions decoded near-greedily "
             f"(temperature {decode.RECONSTRUCTION_TEMPERATURE:g}) from the encoder's mean and from the code "
             f"refined {evaluate.REFINE_STEPS} steps (bgmaker.generation.refine's defaults, what `generate` does); "
             f"floor: each window's steps shuffled.", ""]
    for label, r in results.items():
        gated = "all styles" in label
        lines += [f"## {label}" + ("" if gated else " (shown beside; the gate is on all styles)"), "",
                  f"{r['windows']} windows of {r['performances']} performances, checkpoint {r['checkpoint']}; "
                  f"interpolations decoded with {r['interpolation_keys']}. Reproduce: `{r['command']}`", ""]
        for text, passed in verdict(r["summary"]):
            lines.append(f"- {'PASS' if passed else 'FAIL'}: {text}" if gated else f"- {text}")
        s = r["summary"]
        lines += [f"- context: {context(s)}"]
        lines += ["", f"Variations (noise {s.get('variation_noise')}) realism: from encoder means "
                  f"{s['variation_overlap']:.3f}, from refined codes {s['variation_overlap_refined']:.3f}; "
                  f"ceiling real vs real {s['real_vs_real_overlap']:.3f}.", "",
                  "| style | windows | encoder mean | refined | gain | shuffle floor |",
                  "|---|---:|---:|---:|---:|---:|"]
        rows = dict(s["accuracy_by_style"], **{"all": dict(windows=s["windows"], decoded=s["accuracy_decoded"],
                                                           decoded_refined=s["accuracy_decoded_refined"],
                                                           shuffle=s["accuracy_shuffle_floor"])})
        for style, row in rows.items():
            lines.append(f"| {style} | {row['windows']} | {row['decoded']:.3f} | {row['decoded_refined']:.3f} | "
                         f"{row['decoded_refined'] - row['decoded']:+.3f} | {row['shuffle']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def page_block(results):
    """docs/refine.md's summary of the gate: one row per evaluation, the gate's verdicts, a pointer to the per-style
    table."""
    def cell(s, key, fmt="{:.3f}"):
        a, b = s.get(key), s.get(f"{key}_refined")
        return "–" if a is None or b is None else f"{fmt.format(a)} → {fmt.format(b)}"
    lines = ["| model, test windows | decoded step accuracy: mean → refined (gain) | shuffle floor | interp. realism "
             "(crossfade) | interp. smoothness, lower smoother | interp. detour (1 = straight) | variation realism |",
             "|---|---|---:|---|---|---|---|"]
    for label, r in results.items():
        s = r["summary"]
        gain = s["accuracy_decoded_refined"] - s["accuracy_decoded"]
        lines.append(f"| {label}, {r['checkpoint']} ({r['windows']}) | {cell(s, 'accuracy_decoded')} ({gain:+.3f}) | "
                     f"{s['accuracy_shuffle_floor']:.3f} | {cell(s, 'interp_overlap')} ({s['crossfade_overlap']:.3f}) | "
                     f"{cell(s, 'interp_smoothness')} | {cell(s, 'interp_detour', '{:.2f}')} | "
                     f"{s['variation_overlap']:.3f} → {s['variation_overlap_refined']:.3f} |")
    lines += ["", "The gate, on all styles (`.venv/bin/python reports/refine_gate.py`; per style in "
              "`reports/refine_gate.md`):", ""]
    for label, r in results.items():
        if "all styles" in label:
            lines += [f"- {label}, {'PASS' if p else 'FAIL'}: {t}" for t, p in verdict(r["summary"])]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report-only", action="store_true",
                        help="write the gate from the existing evaluation reports; evaluate nothing")
    args = parser.parse_args(argv)
    results = gather(args.report_only)
    gate = {label: [dict(line=t, passed=p) for t, p in verdict(r["summary"])]
            for label, r in results.items() if "all styles" in label}
    (OUT / "refine_gate.json").write_text(json.dumps(dict(gain=GAIN, refine_steps=evaluate.REFINE_STEPS,
                                                          gate=gate, evaluations=results), indent=1) + "\n")
    (OUT / "refine_gate.md").write_text(markdown(results))
    sys.path.insert(0, str(OUT))
    from models import replace_block  # reports/models.py: shared by the generated blocks of docs/
    page = REPO / "docs" / "refine.md"
    page.write_text(replace_block(page.read_text(), "<!-- refine-gate:begin -->", "<!-- refine-gate:end -->",
                                  page_block(results)))
    passed = all(line["passed"] for lines in gate.values() for line in lines)
    print(f"wrote reports/refine_gate.md: gate {'passed' if passed else 'NOT passed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
