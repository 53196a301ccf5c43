"""The sampling temperature of `bgmaker generate`, chosen on the validation split.

  .venv/bin/python reports/temperature.py [--model models/v2_rock_beat] [--temperatures 0.35,0.5,0.6,0.7,0.85]

Scores a model's prior samples and interpolations at each temperature with the
validation mode of bgmaker.evaluation.evaluate (seeded: the same z at every
temperature) and writes reports/temperature.md and .json. Lower
temperatures make beats plainer (fewer drums, more bar-to-bar repetition, more
kicks on one); higher ones busier. The default
(bgmaker.generation.generator.DEFAULT_TEMPERATURE) is changed by hand after
reading the table, and only on a clear lead: the quick mode's 128 samples and
8 interpolations make differences of a few hundredths noise. The table ends
with the temperature that ranks best on the figures a checkpoint is chosen on
(bgmaker.training.campaign.choose), as a reading aid.
"""
import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bgmaker import paths  # noqa: E402

OUT = REPO / "reports"
FIGURES = (("sample_overlap", "feature overlap"), ("sample_rhythm_overlap", "rhythm overlap"),
           ("classifier_samples_vs_real", "classifier acc. (0.5 = real)"),
           ("bar_repetition_samples", "bar 3 = bar 1"), ("kick_on_one_samples", "kick on one"),
           ("active_instruments_samples", "drums per beat"), ("interp_overlap", "interp. realism"))
REFERENCE = (("train_vs_real_overlap", "sample_overlap"), ("train_vs_real_rhythm_overlap", "sample_rhythm_overlap"),
             ("classifier_real_vs_train", "classifier_samples_vs_real"),
             ("bar_repetition_real", "bar_repetition_samples"), ("kick_on_one_real", "kick_on_one_samples"),
             ("active_instruments_real", "active_instruments_samples"), ("crossfade_overlap", "interp_overlap"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/v2_rock_beat")
    parser.add_argument("--temperatures", default="0.35,0.5,0.6,0.7,0.85")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", default=None,
                        help="the run whose validation split scores the model (default: the model folder's run); "
                             "needed when --model is a checkpoint, e.g. a campaign milestone")
    args = parser.parse_args()
    os.environ.setdefault("BGMAKER_DATA_DIR", str(paths.state_dir() / "data"))
    from bgmaker.evaluation import evaluate
    model = Path(args.model)
    record = model / "bgmaker_run.json"
    run = args.run or (json.loads(record.read_text())["run"] if record.is_file() else None)
    if run is None:
        parser.error(f"{model} is no model folder (no bgmaker_run.json): give its run with --run")
    rows = []
    for t in (float(x) for x in args.temperatures.split(",")):
        print(f"temperature {t}", flush=True)
        summary = evaluate.validate(run, str(model), temperature=t, interpolation_temperature=t, seed=args.seed,
                                    output_dir=paths.state_dir() / "temperature" / run / str(t), log=lambda *_: None)
        rows.append(dict(temperature=t, summary=summary))
    (OUT / "temperature.json").write_text(json.dumps(dict(model=str(model), seed=args.seed, rows=rows), indent=1,
                                                     default=float) + "\n")
    cell = lambda v: f"{v:.3f}" if isinstance(v, (int, float)) else "–"  # noqa: E731
    lines = [f"# Sampling temperature of {model} (validation split, quick mode, seed {args.seed})", "",
             f"Regenerate: `.venv/bin/python reports/temperature.py --model {model} "
             + (f"--run {args.run} " if args.run else "") + f"--temperatures {args.temperatures}`. "
             "Samples and interpolations decoded at the temperature; "
             "the last row is real drumming (train windows vs validation; validation windows; for "
             "interpolation, the crossfade).", "",
             "| temperature | " + " | ".join(title for _, title in FIGURES) + " |",
             "|---:|" + "---:|" * len(FIGURES)]
    for row in rows:
        lines.append(f"| {row['temperature']:g} | " + " | ".join(cell(row["summary"].get(k)) for k, _ in FIGURES) + " |")
    ref = {figure: rows[0]["summary"].get(key) for key, figure in REFERENCE}
    lines.append("| real drumming / crossfade | " + " | ".join(cell(ref.get(k)) for k, _ in FIGURES) + " |")
    from bgmaker.generation.generator import DEFAULT_TEMPERATURE
    from bgmaker.training.campaign import CHOICE_FIGURES, choose
    # ties: the lower temperature (choose keeps the first of equal records)
    best = choose(sorted((dict(row, cpu_s=0.0) for row in rows), key=lambda row: row["temperature"]))
    lines += ["", f"Best mean rank over the figures a checkpoint is chosen on ({', '.join(CHOICE_FIGURES)}; the "
              f"classifier by its distance from 0.5; accuracy does not depend on the sampling temperature): "
              f"**{best['temperature']:g}**. `bgmaker generate`'s default "
              f"(bgmaker.generation.generator.DEFAULT_TEMPERATURE): {DEFAULT_TEMPERATURE:g}."]
    (OUT / "temperature.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
