"""Fingerprints of seeded outputs: run a fixed set of seeded commands and print one SHA-256 per file written.

Why: a restructuring that should change no behaviour (issue #27) is checked by running this before and after and
diffing the two listings. Every command is seeded; the set covers the generate modes (sampling with a prior and
attribute vectors, refinement, interpolation, variations), the humanizer and a small validation evaluation. Two runs
on one machine print the same digests (the evaluation's too: its seconds and output folder are normalized); --keep
DIR keeps the files, to compare what moved.

    .venv/bin/python scripts/seeded_outputs.py > before.txt
    ... change the code ...
    .venv/bin/python scripts/seeded_outputs.py > after.txt && diff before.txt after.txt

Needs the shipped models (models/) and GMD (BGMAKER_GMD_DIR) with `scripts/convert_gmd.sh --run v2_rock_beat` done.
Takes a few minutes: each command loads TensorFlow and a model.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GMD = Path(os.environ.get("BGMAKER_GMD_DIR", REPO.parent / "shared" / "data" / "groove"))
BEAT_A = GMD / "drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid"
BEAT_B = GMD / "drummer1/eval_session/10_soul-groove10_102_beat_4-4.mid"
# (name, argv after `bgmaker`, or None for a written-files-only command); {out} is the command's own folder
COMMANDS = [
    ("sample-v2", ["generate", "sample", "--run", "v2_rock_beat", "--num", "3", "--seed", "7", "--journey-steps", "3"]),
    ("sample-v1-style-more", ["generate", "sample", "--run", "v1_all", "--num", "2", "--seed", "3", "--style", "funk",
                              "--more", "density=+1,cymbals=-0.5", "--journey-steps", "0", "--no-humanize"]),
    ("sample-v1-normal-t1", ["generate", "sample", "--run", "v1_all", "--num", "2", "--seed", "1", "--prior", "normal",
                             "--temperature", "1.0", "--journey-steps", "0", "--humanize", "template"]),
    ("reconstruct", ["generate", "reconstruct", str(BEAT_A), str(BEAT_B), "--run", "v2_rock_beat", "--seed", "5",
                     "--refine-steps", "10"]),
    ("reconstruct-mean", ["generate", "reconstruct", str(BEAT_A), "--run", "v1_all", "--seed", "5",
                          "--refine-steps", "0", "--more", "kick=+0.5"]),
    ("variations", ["generate", "variations", str(BEAT_B), "--run", "v2_rock_beat", "--num", "2", "--seed", "2",
                    "--refine-steps", "10"]),
    ("interpolate", ["generate", "interpolate", str(BEAT_A), str(BEAT_B), "--run", "v2_rock_beat", "--seed", "4",
                     "--refine-steps", "10", "--steps", "4"]),
    ("humanize", ["humanize", str(BEAT_A), "--seed", "9", "--amount", "0.7"]),
    ("evaluate-quick", ["evaluate", "--run", "v2_rock_beat", "--checkpoint", "models/v2_rock_beat", "--split",
                        "validation", "--max-windows", "24", "--samples", "16", "--interpolations", "4",
                        "--seed", "0", "--no-plots"]),
]


def contents(path):
    """The file's bytes; an evaluation's record without its wall-clock seconds and its output folder (a temporary
    one), which differ from run to run."""
    data = path.read_bytes()
    if path.name == "evaluation.json":
        record = json.loads(data)
        record.pop("seconds", None)
        data = json.dumps(record, sort_keys=True).encode()
    if path.name == "evaluation.md":
        data = re.sub(rb"; [0-9.]+ s\n", b"\n", data)
    return data.replace(str(path.parent).encode(), b"OUT")


def digests(folder):
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        yield path.relative_to(folder), hashlib.sha256(contents(path)).hexdigest()[:16]


def main(argv):
    """argv: names of COMMANDS to run (default: all); --keep DIR writes the outputs there, to diff them."""
    keep = argv[argv.index("--keep") + 1] if "--keep" in argv else None
    only = {a for a in argv if a != "--keep" and a != keep}
    bgmaker = [sys.executable, "-m", "bgmaker.cli"]
    with tempfile.TemporaryDirectory() as scratch:
        tmp = keep or scratch
        for name, args in COMMANDS:
            if only and name not in only:
                continue
            out = Path(tmp) / name
            extra = ["--output-dir", str(out)]
            if args[0] == "generate":
                extra += ["--renderer", "builtin"]
            proc = subprocess.run(bgmaker + args + extra, cwd=REPO, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{name}: FAILED (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
                continue
            for rel, digest in digests(out):
                print(f"{name}/{rel} {digest}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
