"""Train (or evaluate) a named run with Magenta's own music_vae_train.

`bgmaker train --run v2_rock_beat [music_vae_train flags...]` runs Magenta's
training loop on the run's registered config (model, hparams, converter,
examples) with checkpoints and TensorBoard summaries in runs/<run>/train;
`--mode=eval` runs Magenta's eval job on the validation split into
runs/<run>/eval. Any other flag goes to music_vae_train unchanged (a later
flag wins; `--hparams` values are merged over the run's).

`--precision` picks how the LSTM matmuls run (bgmaker.compat.lstm_precision;
default auto: bf16 only on CPUs with hardware bf16). Magenta's session gets
BGMaker's Grappler settings (`prepare`).

Restarting resumes from the run's last checkpoint (Magenta's monitored
session restores it). A NaN or Inf loss stops training with one line naming
the step; the last good checkpoint stays (the failing step is never saved).
Before training, runs/<run>/bgmaker_run.json records the exact config,
hparams, data selection, command and package versions.
"""
import json
import os
import re
import subprocess
import sys
import time
from importlib import metadata

from bgmaker.compat import LSTM_PRECISIONS, resolve_lstm_precision, stock_mode

ACCEPTS_EXTRA_ARGS = True
RECORDED_PACKAGES = ("bgmaker", "magenta", "tensorflow", "tf-keras", "tensorflow-probability",
                     "tf-slim", "note-seq", "numpy", "protobuf")


def add_arguments(parser):
    parser.add_argument("--run", required=True, help="named run (see `bgmaker runs`)")
    parser.add_argument("--mode", choices=("train", "eval"), default="train",
                        help="train, or evaluate the latest checkpoint on the validation split")
    parser.add_argument("--precision", choices=LSTM_PRECISIONS, default=None,
                        help="LSTM matmul precision (hparam lstm_precision). auto (default): bf16 where the CPU "
                             "has AMX-BF16/AVX512-BF16, else fp32 (Magenta's LSTMBlockCell); checkpoints load "
                             "with any value")
    parser.epilog = "Other flags are passed to Magenta's music_vae_train, e.g. --num_steps=2000 --hparams=batch_size=64"


def split_hparams(text):
    """'a=1,b=[2,3]' -> {'a': '1', 'b': '[2,3]'} (commas inside brackets kept)."""
    parts = [p for p in re.split(r",(?=\s*\w+\s*=)", text or "") if p.strip()]
    out = {}
    for part in parts:
        if "=" not in part:
            raise ValueError(f"bad --hparams entry {part!r}: expected name=value")
        key, value = part.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def magenta_argv(run, mode, extra, precision=None):
    """music_vae_train's argv for `run`: the run's flags, then the user's (ValueError on a bad value)."""
    hparams = {k: str(v).replace(" ", "") for k, v in run.hparams.items()}
    if precision:
        hparams["lstm_precision"] = precision
    passthrough = []
    args = list(extra)
    while args:
        arg = args.pop(0)
        if arg == "--hparams" and args:
            hparams.update(split_hparams(args.pop(0)))
        elif arg.startswith("--hparams="):
            hparams.update(split_hparams(arg.split("=", 1)[1]))
        else:
            passthrough.append(arg)
    if "lstm_precision" in hparams:
        resolve_lstm_precision(hparams["lstm_precision"])  # a clear error before Magenta starts
    split = "train" if mode == "train" else "validation"
    argv = ["music_vae_train", f"--config={run.name}", f"--run_dir={run.run_dir}", f"--mode={mode}",
            f"--examples_path={run.examples_path(split)}"]
    if hparams:
        argv.append("--hparams=" + ",".join(f"{k}={v}" for k, v in hparams.items()))
    return argv + passthrough


def record_run(run, argv):
    """Write runs/<run>/bgmaker_run.json: what this run was trained with."""
    import bgmaker_configs
    config = bgmaker_configs.CONFIG_MAP[run.name]
    hparams = config.hparams.values()
    override = next((a.split("=", 1)[1] for a in argv if a.startswith("--hparams=")), "")
    if override:
        merged = type(config.hparams)(**hparams)
        merged.parse(override)
        hparams = merged.values()
    versions = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=os.path.dirname(__file__)).stdout.strip() or None
    except OSError:
        commit = None
    record = dict(run=run.name, model=run.config, description=run.description, select=run.select,
                  every_window=run.every_window, hparams=hparams, command=argv,
                  lstm_cell=resolve_lstm_precision(hparams.get("lstm_precision", "fp32")),
                  converter={k: v for k, v in vars(config.data_converter).items()
                             if isinstance(v, (int, float, str, bool, type(None)))},
                  examples={s: str(run.examples_path(s)) for s in ("train", "validation", "test")},
                  packages=versions, git_commit=commit, python=sys.version.split()[0],
                  started=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    run.run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run.run_dir / ".bgmaker_run.json.tmp"
    tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    os.replace(tmp, run.run_dir / "bgmaker_run.json")
    return record


# Grappler passes switched off on the training graph. Measured on the
# (vectorized) hierdec-drum_4bar graph at batch 512 with
# TF_CPP_VMODULE=meta_optimizer=1: constant folding was the costliest pass
# (0.5 s + 0.1 s of ~2.5 s per fetch signature) and folds nothing that
# matters here (-77 of ~10,000 nodes); the layout optimizer (0.2 s) only
# rewrites GPU convolution layouts. benchmarks/bench_train.py compares this
# with all passes and with none.
LEAN_GRAPPLER = {"constant_folding": False, "layout_optimizer": False}


def prepare(grappler="lean"):
    """Set up TensorFlow for BGMaker's training path before Magenta builds its session.

    Magenta's loop creates its session with no ConfigProto, and TF 2.x then
    uses the process-wide `tf.config` settings, so these take effect without
    touching Magenta's code. `grappler`: "default" (TensorFlow's passes),
    "off" (no graph optimization at all) or "lean" (LEAN_GRAPPLER).
    """
    import tensorflow as tf
    if stock_mode():  # Magenta as released (bgmaker.compat.apply)
        return
    if grappler == "off":
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    elif grappler == "lean":
        tf.config.optimizer.set_experimental_options(dict(LEAN_GRAPPLER))
    elif grappler != "default":
        raise ValueError(f"unknown grappler setting {grappler!r}")


def latest_checkpoint(run_dir):
    import tensorflow as tf
    return tf.train.latest_checkpoint(os.path.join(run_dir, "train"))


def main(args):
    from bgmaker.cli import UserError
    from bgmaker_configs import get_run
    run = get_run(args.run)
    split = "train" if args.mode == "train" else "validation"
    examples = run.examples_path(split)
    if not examples.is_file():
        raise UserError(f"run {run.name} has no {split} data at {examples}; "
                        f"make it with: scripts/convert_gmd.sh --run {run.name}")
    try:
        argv = magenta_argv(run, args.mode, args.extra, args.precision)
    except ValueError as e:
        raise UserError(str(e)) from None
    if args.mode == "train":
        record = record_run(run, argv)
        previous = latest_checkpoint(str(run.run_dir))
        print(f"bgmaker train: {run.name} -> {run.run_dir}"
              + (f" (resuming from {os.path.basename(previous)})" if previous else ""), flush=True)
        why = {"bf16": " (auto: this CPU multiplies bf16 in hardware)",
               "fp32": " (auto: this CPU has no AMX-BF16/AVX512-BF16)"}
        auto = record["hparams"].get("lstm_precision") == "auto"
        print(f"bgmaker train: LSTM matmuls in {record['lstm_cell']}"
              + (why.get(record["lstm_cell"], "") if auto else ""), flush=True)
    return run_magenta_train(argv, run)


def run_magenta_train(argv, run):
    """Run music_vae_train in this process; turn a NaN/Inf loss into one line."""
    from bgmaker import magenta_apps
    from bgmaker_configs.models import NONFINITE_LOSS_MESSAGE
    sys.argv = argv
    try:
        magenta_apps.music_vae_train()
    except SystemExit as e:
        return e.code or 0
    except Exception as e:  # InvalidArgumentError raised by the loss check
        if NONFINITE_LOSS_MESSAGE not in str(e):
            raise
        last = latest_checkpoint(str(run.run_dir))
        print(f"bgmaker train: error: {run.name}: loss became NaN or Inf; training stopped. "
              f"Last good checkpoint: {last or 'none'}", file=sys.stderr)
        return 3
    return 0
