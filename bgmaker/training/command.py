"""One training process: the flags of `bgmaker train`, also run as `python -m bgmaker.training`.

  python -m bgmaker.training --run v1_all --cpu-hours 16 --milestone-every 60 --checkpoints_to_keep=2

Magenta's music_vae_train owns absl's flags and the process's TensorFlow
graph, so whoever trains in chunks (the campaign, the scripts of reports/) starts a
process of its own for each; the library starts this entry point, not the
`bgmaker` command. Any flag not listed below goes to music_vae_train
unchanged (a later flag wins; `--hparams` values are merged over the run's).
How a run is trained, recorded, budgeted and resumed is bgmaker.training.train.
"""
import os
import sys

from bgmaker.compat import LSTM_PRECISIONS, stock_mode
from bgmaker.errors import UserError

PROG = "bgmaker train"  # the name its log lines and errors carry, however it was started
ACCEPTS_EXTRA_ARGS = True
QUIET = False  # Magenta's log lines are the training's progress


def add_arguments(parser):
    parser.add_argument("--run", required=True,
                        help="named run (see `bgmaker runs`), or a name of your own with --midi DIR")
    parser.add_argument("--mode", choices=("train", "eval"), default="train",
                        help="train, or evaluate the latest checkpoint on the validation split")
    parser.add_argument("--precision", choices=LSTM_PRECISIONS, default=None,
                        help="LSTM matmul precision (hparam lstm_precision). auto (default): bf16 where the CPU "
                             "has AMX-BF16/AVX512-BF16, else fp32 (Magenta's LSTMBlockCell); checkpoints load "
                             "with any value")
    parser.add_argument("--recipe", default=None,
                        help="training recipe (bgmaker_configs.recipes; default: the run's own)")
    parser.add_argument("--config", default=None, metavar="MODEL",
                        help="train the run's data with another of BGMaker's models (hierdec-drum_4bar, or the "
                             "flat baseline cat-drums_4bar; for run humanize: groovae-humanize_2bar or _4bar); "
                             "default: the run's own. Use a separate BGMAKER_RUNS_DIR: a run keeps the model it "
                             "started with (and a separate BGMAKER_DATA_DIR when its window length differs)")
    parser.add_argument("--midi", default=None, metavar="DIR",
                        help="train on your own MIDI folder (windowed like GMD) as run --run NAME; "
                             "with --init-from a shipped model, this fine-tunes it on your grooves")
    parser.add_argument("--init-from", default=None, metavar="MODEL",
                        help="start a new run from this model's weights (models/NAME folder, run name or "
                             "checkpoint); ignored when the run already has a checkpoint to resume")
    parser.add_argument("--init-step", action="store_true",
                        help="with --init-from: also take its global step, so Magenta's learning-rate schedule "
                             "goes on where that model's training stopped (a continuation; Adam's moments start "
                             "anew, as a weights-only model keeps none). Without it a warm start begins at step 0")
    parser.add_argument("--cpu-hours", type=float, default=None,
                        help="stop once the run has used this many CPU-hours (process CPU time, all "
                             "threads, summed over restarts)")
    parser.add_argument("--milestone-every", type=float, default=60.0, metavar="CPU_MINUTES",
                        help="save the weights alone to runs/<run>/milestones every this many CPU-minutes "
                             "(default 60; 0: never)")
    parser.add_argument("--milestone-steps", type=steps_list, default=None, metavar="STEP,STEP,...",
                        help="keep the weights at these global steps instead, and stop after the last (runs "
                             "compared at equal steps)")
    group = parser.add_argument_group(
        "a cluster (TensorFlow's distributed runtime; or give it in TF_CONFIG)",
        "Start one process per task, each with the same --cluster: parameter servers hold the weights, "
        "workers train (worker 0 is the chief: it records and checkpoints the run). docs/scaling.md")
    group.add_argument("--cluster", default=None, metavar="SPEC",
                       help='the cluster\'s tasks, e.g. "ps=10.0.0.1:2222;worker=10.0.0.2:2222,10.0.0.3:2222"')
    group.add_argument("--job", choices=("worker", "ps"), default=None, help="this process's job in --cluster")
    group.add_argument("--task", type=int, default=None, metavar="N", help="this process's task number in its job")
    group.add_argument("--sync", action="store_true",
                       help="workers step together (Magenta's --num_sync_workers: each step sums one batch/W "
                            "from every worker); default: each worker steps on its own (asynchronous)")
    parser.epilog = "Other flags are passed to Magenta's music_vae_train, e.g. --num_steps=2000 --hparams=batch_size=64"


def steps_list(text):
    """"956,2000,3017" -> [956, 2000, 3017] (positive, increasing); argparse's error otherwise."""
    import argparse
    try:
        steps = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of steps like 1000,2000,3000") from None
    if not steps or steps[0] <= 0 or any(b <= a for a, b in zip(steps, steps[1:])):
        raise argparse.ArgumentTypeError(f"'{text}': steps must be positive and increasing")
    return steps


def child_command(run, *flags):
    """The command line of a training process for run `run`, as the library starts one."""
    return [sys.executable, "-m", "bgmaker.training", "--run", run, *flags]


def train_in_child(run, flags, log_path, env=None, nice=10):
    """Train `run` with `flags` in a process of its own at `nice`, its output appended to `log_path`; return the
    exit status.

    The one way the campaign and the scripts of reports/ start a training
    chunk: a child process (Magenta's app owns absl's flags and the graph),
    niced so that the work beside it keeps the machine. env: the child's
    environment (default this process's).
    """
    import subprocess
    from pathlib import Path
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as f:
        return subprocess.run(["nice", "-n", str(nice)] + child_command(run, *flags), env=env, stdout=f,
                              stderr=subprocess.STDOUT).returncode


def main(args, argv=None):
    """Train (or evaluate) as the parsed flags `args` say; return the exit status.

    argv: the flags as given (default this process's own); a stock recipe
    starts the process afresh with them.
    """
    from bgmaker.training import cluster, train
    task = cluster.resolve(args.cluster, args.job, args.task)
    if task is not None and task.job == "ps":
        return cluster.serve_parameters(task, log=lambda m: print(f"{PROG}: {m}", flush=True))
    if args.init_step and not args.init_from:
        raise UserError("--init-step goes with --init-from MODEL")
    from bgmaker_configs.recipes import get_recipe
    run = train.resolve_run(args.run, args.midi, args.config)
    recipe = get_recipe(args.recipe or run.recipe)
    if recipe.stock and not stock_mode():
        # Magenta as released: the shims must be chosen before Magenta is imported, so start afresh.
        flags = sys.argv[1:] if argv is None else argv
        os.execvpe(sys.executable, [sys.executable, "-m", "bgmaker.training", *flags], {**os.environ, "BGMAKER_STOCK": "1"})
    return train.train(run, args.mode, args.extra, precision=args.precision, recipe=recipe.name,
                       init_from=args.init_from, init_step=args.init_step, cpu_hours=args.cpu_hours,
                       milestone_every=args.milestone_every, log=lambda m: print(f"{PROG}: {m}", flush=True),
                       cluster=task, sync=args.sync, milestone_steps=args.milestone_steps)
