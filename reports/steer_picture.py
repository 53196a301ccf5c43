"""docs/steer.md's picture of one beat pushed along two attribute vectors: docs/priors/steer.png.

  .venv/bin/python reports/steer_picture.py [--run v1_all] [--seed 3] [--x density] [--y cymbals]

One sample of the model's default prior (bgmaker.generation.priors), decoded
at generate's temperature with one sampling key for every panel, so that
the panels differ only by the push: `--more X=a,Y=b` for a, b in -1, 0, +1.
Each panel is titled with the two attributes as measured on the decoded beat
(bgmaker.metrics.attributes). Needs the model's priors (`bgmaker priors --run RUN`).
"""
import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

AMOUNTS = (-1.0, 0.0, 1.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default="v1_all")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--x", default="density", help="attribute pushed along the columns")
    parser.add_argument("--y", default="cymbals", help="attribute pushed along the rows")
    parser.add_argument("--output", default=str(REPO / "docs" / "priors" / "steer.png"))
    args = parser.parse_args(argv)

    import numpy as np
    from matplotlib.figure import Figure

    from bgmaker.data.windows import DRUM_NAMES, to_grid
    from bgmaker.generation.generator import DEFAULT_TEMPERATURE, BeatGenerator, item_key
    from bgmaker.metrics.attributes import measure
    from bgmaker.render.grid import ROW_ORDER
    generator = BeatGenerator.load(run=args.run, batch_size=9)
    try:
        z = generator.sample_z(1, args.seed)
        pushes = [{args.x: a, args.y: b} for b in AMOUNTS[::-1] for a in AMOUNTS]
        codes = np.concatenate([generator.steer(z, {k: v for k, v in p.items() if v}) for p in pushes])
        beats = generator.decode(codes, DEFAULT_TEMPERATURE, args.seed, [item_key("steer", args.seed)] * len(codes))
        prior = generator.prior().name
    finally:
        generator.close()
    grids = np.stack([to_grid(b) for b in beats])
    values = measure(grids)
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    axes = fig.subplots(3, 3)
    for i, (ax, push) in enumerate(zip(axes.ravel(), pushes)):
        ax.imshow(grids[i][:, list(ROW_ORDER)].T, aspect="auto", cmap="Greys", interpolation="nearest")
        for s in range(16, 64, 16):
            ax.axvline(s - 0.5, color="#c0392b", lw=0.8)
        ax.set_xticks([])
        ax.set_yticks(range(len(ROW_ORDER)) if i % 3 == 0 else [],
                      [DRUM_NAMES[c] for c in ROW_ORDER] if i % 3 == 0 else [], fontsize=6)
        ax.set_title(f"{args.x} {push[args.x]:+g}, {args.y} {push[args.y]:+g}: "
                     f"{values[args.x][i]:.2g} / {values[args.y][i]:.2g}", fontsize=8)
    fig.suptitle(f"{args.run}, one sample of its '{prior}' prior (seed {args.seed}) pushed along {args.x} "
                 f"(columns) and {args.y} (rows); titles: the amounts, then {args.x} / {args.y} as measured",
                 fontsize=8)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
