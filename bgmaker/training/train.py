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

`--recipe` picks how the run is trained (bgmaker_configs.recipes: input
pipeline, batch size, learning-rate schedule; default: the run's). `--init-from
MODEL` starts a new run from another model's weights (a shipped model folder,
a run name or a checkpoint) with a fresh optimizer; it is recorded in the run.
`--cpu-hours` caps the run's total CPU time over all its restarts, and
`--milestone-every` keeps its weights every so many CPU-minutes
(bgmaker.training.hooks: runs/<run>/progress.jsonl, runs/<run>/milestones/).

`cluster` (a bgmaker.training.cluster.ClusterTask, from `--cluster`/`--job`/
`--task` or TF_CONFIG) trains the run with several processes on TensorFlow's
distributed runtime: this process's server is started and Magenta's
between-graph flags are set; the chief (worker 0) records, budgets and
checkpoints the run, the other workers only add steps.

Restarting resumes from the run's last checkpoint (Magenta's monitored
session restores it). A NaN or Inf loss stops training with one line naming
the step; the last good checkpoint stays (the failing step is never saved).
Before training, runs/<run>/bgmaker_run.json records the exact config,
hparams, data selection, command and package versions.
"""
import functools
import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from bgmaker.compat import resolve_lstm_precision, stock_mode
from bgmaker.errors import ModelMismatchError, UnknownNameError, UserError
from bgmaker.models import records, split_hparams

RECORDED_PACKAGES = ("bgmaker", "magenta", "tensorflow", "tf-keras", "tensorflow-probability",
                     "tf-slim", "note-seq", "numpy", "protobuf")


def magenta_argv(run, mode, extra, precision=None, recipe=None):
    """music_vae_train's argv for `run`: the run's flags, then the user's (ValueError on a bad value)."""
    from bgmaker_configs.recipes import get_recipe
    recipe = get_recipe(recipe or run.recipe)
    hparams = {k: str(v).replace(" ", "") for k, v in {**recipe.hparams, **run.hparams}.items()}
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
            f"--examples_path={examples_read(run.examples_path(split, recipe.every_window, recipe.replay))}"]
    if hparams:
        argv.append("--hparams=" + ",".join(f"{k}={v}" for k, v in hparams.items()))
    return argv + passthrough


def examples_read(path):
    """What Magenta reads for a split's TFRecord: the file, or the Beam pipeline's shards of it when only they exist."""
    from bgmaker.data.convert import examples_pattern
    return examples_pattern(path) or str(path)


def record_run(run, argv, recipe=None, init_from=None, cluster=None, sync=False):
    """Write runs/<run>/bgmaker_run.json: what this run was trained with, and every start of it.

    Paths are relative to the run dir (a run folder can move); `starts` keeps
    one entry per start (command, commit, time, CPU spent before it), so a
    restart adds to the record instead of overwriting it.
    """
    from bgmaker.training.run_state import spent
    from bgmaker_configs.recipes import get_recipe
    recipe = get_recipe(recipe or run.recipe)
    import bgmaker_configs
    config = bgmaker_configs.register()[run.name]
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
        # Uncommitted changes to tracked files: the commit alone does not say what code ran.
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                    text=True, cwd=os.path.dirname(__file__)).stdout.strip()) if commit else None
    except OSError:
        commit = dirty = None
    previous = previous_record(run)
    cpu, wall = spent(run.run_dir)
    pools = thread_pools(int(hparams["batch_size"]))
    # Per start, as well as for the run: a resumed run may run on other pools than it began with.
    start = dict(time=time.strftime("%Y-%m-%dT%H:%M:%S%z"), command=[_relative(a, run.run_dir) for a in argv],
                 git_commit=commit, git_dirty=dirty, thread_pools=pools, cpu_s_before=cpu, wall_s_before=wall)
    if cluster is not None:
        start["cluster"] = dict(task=cluster.name, ps=len(cluster.spec.get("ps", [])),
                                workers=len(cluster.spec["worker"]), sync=bool(sync))
    examples = {s: run.examples_path(s, recipe.every_window, recipe.replay) for s in ("train", "validation", "test")}
    record = dict(run=run.name, model=run.config, description=run.description, select=run.select,
                  midi_dir=_relative(run.midi_dir, run.run_dir) if run.midi_dir else None,
                  recipe=dict(name=recipe.name, description=recipe.description, hparams=recipe.hparams,
                              every_window=recipe.every_window, stock=recipe.stock, replay=list(recipe.replay)),
                  every_window=recipe.every_window, hparams=hparams, command=start["command"],
                  init_from=previous.get("init_from") or (_relative(init_from, run.run_dir) if init_from else None),
                  lstm_cell=resolve_lstm_precision(hparams.get("lstm_precision", "fp32")),
                  thread_pools=pools,
                  converter={k: v for k, v in vars(config.data_converter).items()
                             if isinstance(v, (int, float, str, bool, type(None)))},
                  examples={s: _relative(p, run.run_dir) for s, p in examples.items()},
                  data_sha256=data_checksums(examples),
                  packages=versions, git_commit=commit, python=sys.version.split()[0],
                  started=previous.get("started", start["time"]),
                  starts=previous.get("starts", []) + [start])
    records.write_record(run.run_dir, record, default=str)
    return record


def previous_record(run):
    """The run record earlier starts of `run` left, or {}: none yet, or one that cannot be read (the next
    start writes a whole one)."""
    try:
        return records.read_record(run.run_dir, missing_ok=True)
    except ValueError:
        return {}


def _relative(path, start):
    """`path` relative to `start` when it is a path on this machine (flags like --x=/abs/p too); else as is."""
    text = str(path)
    prefix, sep, value = text.partition("=") if text.startswith("--") else ("", "", text)
    if not os.path.isabs(value):
        return text
    return prefix + sep + os.path.relpath(value, start)


def data_checksums(examples):
    """sha256 of each split's TFRecord, from the conversion report when it has them, else hashed here.

    A split converted by the Beam pipeline (shards, no single file) gets one sum over its shards' sums
    (bgmaker.data.convert.shards_sha256).
    """
    from bgmaker.data.convert import examples_pattern, sha256_of, shards_sha256
    sums = {}
    reports = {}
    for split, path in examples.items():
        path = Path(path)
        found = examples_pattern(path)
        if found is None:
            continue
        if found != str(path):
            sums[split] = shards_sha256(sorted(path.parent.glob(Path(found).name)))
            continue
        report_path = path.parent / "report.json"
        if report_path not in reports:
            try:
                reports[report_path] = json.loads(report_path.read_text())
            except (OSError, ValueError):
                reports[report_path] = {}
        recorded = reports[report_path].get("splits", {}).get(split, {})
        if recorded.get("sha256") and recorded.get("file") and Path(recorded["file"]).resolve() == path.resolve():
            sums[split] = recorded["sha256"]
            continue
        sums[split] = sha256_of(path)
    return sums


# Grappler passes switched off on the training graph. Measured on the
# (vectorized) hierdec-drum_4bar graph at batch 512 with
# TF_CPP_VMODULE=meta_optimizer=1: constant folding was the costliest pass
# (0.5 s + 0.1 s of ~2.5 s per fetch signature) and folds nothing that
# matters here (-77 of ~10,000 nodes); the layout optimizer (0.2 s) only
# rewrites GPU convolution layouts. benchmarks/bench_train.py compares this
# with all passes and with none.
LEAN_GRAPPLER = {"constant_folding": False, "layout_optimizer": False}


# Thread pools of a training process on a small machine at a small batch: one thread inside each op, two
# ops at once. The LSTMs' matmuls at batch 64 are too small to split across cores with profit, while the
# encoder's two directions and the decoder's independent ops can run side by side. Measured on this 2-core
# machine at batch 64 only (docs/speed.md), so larger machines and batches keep TensorFlow's pools.
TRAINING_THREADS = (1, 2)
SMALL_MACHINE_CORES = 4
SMALL_BATCH = 128
THREAD_ENV = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def thread_pools(batch_size):
    """The thread pools a training process at `batch_size` runs with, as recorded in bgmaker_run.json.

    dict(intra_op, inter_op, source): the environment's TF_NUM_INTRAOP_THREADS /
    TF_NUM_INTEROP_THREADS when either is set (TensorFlow applies them itself;
    an unset one is TensorFlow's choice, None), else TRAINING_THREADS on a
    machine of at most SMALL_MACHINE_CORES cores at a batch of at most
    SMALL_BATCH, else TensorFlow's (None, None). Stock Magenta: TensorFlow's.
    """
    values = {name: os.environ.get(name, "").strip() for name in THREAD_ENV}
    if any(values.values()):
        for name, value in values.items():
            if value and not value.isdigit():
                raise UserError(f"{name}={value!r}: give a whole number of threads (0: TensorFlow's choice)")
        intra, inter = (int(v) if v and int(v) > 0 else None for v in values.values())
        return dict(intra_op=intra, inter_op=inter, source="environment")
    if stock_mode() or (os.cpu_count() or 1) > SMALL_MACHINE_CORES or batch_size > SMALL_BATCH:
        return dict(intra_op=None, inter_op=None, source="TensorFlow")
    return dict(intra_op=TRAINING_THREADS[0], inter_op=TRAINING_THREADS[1], source="bgmaker")


def prepare(grappler="lean", threads=None):
    """Set up TensorFlow for BGMaker's training path before Magenta builds its session.

    Magenta's loop creates its session with no ConfigProto, and TF 2.x then
    uses the process-wide `tf.config` settings, so these take effect without
    touching Magenta's code. `grappler`: "default" (TensorFlow's passes),
    "off" (no graph optimization at all) or "lean" (LEAN_GRAPPLER).
    `threads`: a thread_pools() dict, applied when it is BGMaker's choice
    (None, or the environment's or TensorFlow's: nothing to set).
    """
    import tensorflow as tf
    if stock_mode():  # Magenta as released (bgmaker.compat.apply)
        return
    if threads and threads["source"] == "bgmaker":
        tf.config.threading.set_intra_op_parallelism_threads(threads["intra_op"])
        tf.config.threading.set_inter_op_parallelism_threads(threads["inter_op"])
    if grappler == "off":
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    elif grappler == "lean":
        tf.config.optimizer.set_experimental_options(dict(LEAN_GRAPPLER))
    elif grappler != "default":
        raise ValueError(f"unknown grappler setting {grappler!r}")


def latest_checkpoint(run_dir):
    """The newest training checkpoint of a run dir (its train/), or None (bgmaker.models.latest_checkpoint)."""
    from bgmaker import models
    return models.latest_checkpoint(str(records.train_dir(run_dir)))


def resolve_run(name, midi=None, config=None):
    """The Run to train: a named run, a new run on your own MIDI folder (`midi`), or one started before with it.

    config: another of BGMaker's model configs for the run's data (e.g. the flat
    cat-drums_4bar baseline); a run that already has a record must keep the
    model it was started with, because its checkpoints only fit that one.
    """
    import dataclasses

    from bgmaker_configs import HUMANIZE_MODEL_NAMES, MODEL_NAMES, get_run
    from bgmaker_configs.runs import UnknownRunError, user_run
    known = MODEL_NAMES + HUMANIZE_MODEL_NAMES
    if config is not None and config not in known:
        raise UnknownNameError(f"--config {config}: not one of BGMaker's models ({', '.join(known)})")
    if midi:
        run = user_run(name, os.path.abspath(midi))
    else:
        try:
            run = get_run(name)
        except UnknownRunError:
            run = user_run(name, recorded_midi_dir(name))  # your own MIDI run, started before with --midi
    if config:
        if (config in HUMANIZE_MODEL_NAMES) != run.humanizes:
            raise UnknownNameError(f"--config {config}: run {run.name} trains "
                                   + ("a humanize model" if run.humanizes else "a drum model")
                                   + f"; choose one of {', '.join(HUMANIZE_MODEL_NAMES if run.humanizes else MODEL_NAMES)}")
        run = dataclasses.replace(run, config=config)
    trained_as = previous_record(run).get("model")
    if trained_as and trained_as != run.config:
        raise ModelMismatchError(
            f"run {run.name} in {run.run_dir} was trained as '{trained_as}', not '{run.config}'; "
            + (f"resume it with --config {trained_as}" if trained_as in MODEL_NAMES else "resume it as it was")
            + ", or give the new model its own BGMAKER_RUNS_DIR")
    return run


def recorded_midi_dir(name):
    """The MIDI folder an earlier start of your own MIDI run `name` recorded (absolute), or None.

    The record holds it relative to the run folder (record_run), so a moved
    checkout resumes the run by name.
    """
    folder = records.run_dir(name)
    recorded = records.read_record(folder, missing_ok=True).get("midi_dir")
    return (folder / recorded).resolve() if recorded else None


def train(run, mode="train", extra=(), precision=None, recipe=None, init_from=None, init_step=False, cpu_hours=None,
          milestone_every=60.0, log=print, cluster=None, sync=False, milestone_steps=None):
    """Train (mode "train") or evaluate (mode "eval") `run` with Magenta's loop; return the exit status.

    extra: music_vae_train flags, passed on (`--hparams` merged over the run's).
    init_from: a model folder, run name or checkpoint to start a new run from.
    init_step: also start from its global step (the learning-rate schedule goes on; see WarmStartHook).
    milestone_steps: keep the weights at these global steps and stop after the last (ProgressHook).
    cluster: this process's ClusterTask (a worker; bgmaker.training.cluster), or None to train alone;
    sync: the cluster's workers step together (SyncReplicasOptimizer) instead of each on its own.
    Raises UserError for anything the user can fix (missing data, bad flags,
    a warm start that does not fit).
    """
    import bgmaker_configs
    from bgmaker_configs.recipes import get_recipe
    if cluster is not None and mode != "train":
        raise UserError("--mode=eval runs on one machine: leave out --cluster/--job/--task and unset TF_CONFIG")
    if sync and cluster is None:
        raise UserError("--sync is for a cluster's workers (--cluster or TF_CONFIG)")
    recipe = get_recipe(recipe or run.recipe)
    if run.midi_dir and mode == "train":
        from bgmaker.data.convert import ensure_converted
        if not os.path.isdir(run.midi_dir):
            raise UserError(f"--midi {run.midi_dir}: not a folder")
        ensure_converted(run, log=log)
    split = "train" if mode == "train" else "validation"
    if recipe.replay and mode == "train":
        from bgmaker.data import replay
        try:
            replay.ensure(run, *recipe.replay, log=log)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
    examples = run.examples_path(split, recipe.every_window, recipe.replay)
    from bgmaker.data.convert import examples_pattern
    if examples_pattern(examples) is None:  # neither the file nor the Beam pipeline's shards of it
        raise UserError(f"run {run.name} has no {split} data at {examples}; make it with: "
                        f"scripts/convert_gmd.sh --run {run.name}" + ("" if recipe.every_window else " --whole-files"))
    if init_from:
        if mode != "train":
            raise UserError("--init-from is for --mode=train")
        if cluster is not None:
            # The chief would load the weights after the other workers may have begun on fresh ones.
            raise UserError("--init-from with a cluster: start the run from that model on one machine first "
                            "(--num_steps=1), then train it in the cluster: it resumes from the run's checkpoint")
        init_from = resolve_init_from(init_from)
    try:
        argv = magenta_argv(run, mode, extra, precision, recipe.name)
    except ValueError as e:
        raise UserError(str(e)) from None
    if cluster is not None:
        from bgmaker.training.cluster import magenta_flags
        argv += magenta_flags(cluster, sync)
    # The run as trained now (its recipe may be a --recipe other than its own): what Magenta's app looks up.
    config_map = bgmaker_configs.register()
    config_map[run.name] = run.magenta_config(recipe.name)
    hooks = []
    if cluster is not None and not cluster.is_chief:
        # A worker adds steps; the chief (worker 0) records, budgets, checkpoints and keeps milestones.
        from bgmaker.training import hooks as th
        log(f"{run.name} ({recipe.name}): {cluster.describe()}; the chief, worker 0, records and checkpoints "
            f"the run")
        hooks = [th.TaskStepsHook(run.run_dir, cluster.name), th.StopOnSignalHook(log=log)]
        return run_magenta_train(argv, run, hooks, cluster)
    if milestone_steps:
        milestone_every = None  # kept at those steps instead (a resumed run counts its step milestones)
    if mode == "train":
        record = record_run(run, argv, recipe.name, init_from, cluster, sync)
        previous = latest_checkpoint(str(run.run_dir))
        log(f"{run.name} ({recipe.name}) -> {run.run_dir}"
            + (f" (resuming from {os.path.basename(previous)})" if previous
               else f" (starting from the weights of {init_from})" if init_from else ""))
        why = {"bf16": " (auto: this CPU multiplies bf16 in hardware)",
               "fp32": " (auto: this CPU has no AMX-BF16/AVX512-BF16)"}
        auto = record["hparams"].get("lstm_precision") == "auto"
        log(f"LSTM matmuls in {record['lstm_cell']}" + (why.get(record["lstm_cell"], "") if auto else ""))
        hooks = training_hooks(run, record["hparams"]["batch_size"], cpu_hours, milestone_every,
                               None if previous else init_from, precision=record["lstm_cell"], init_step=init_step,
                               milestone_steps=milestone_steps)
        if cluster is not None:
            from bgmaker.training import hooks as th
            log(f"{cluster.describe()}" + (", stepping together (--sync)" if sync else ""))
            hooks.append(th.TaskStepsHook(run.run_dir, cluster.name))
            if sync:
                hooks.append(th.CloseSyncQueueHook())
    return run_magenta_train(argv, run, hooks, cluster)


def resolve_init_from(name):
    """A checkpoint prefix for --init-from: a model folder, a run name (its newest checkpoint) or a checkpoint."""
    from bgmaker import models
    from bgmaker_configs.runs import RUNS
    if name in RUNS and not os.path.exists(name):
        try:
            return models.locate(name).checkpoint  # its shipped model, else its newest checkpoint
        except FileNotFoundError:
            raise UserError(f"--init-from {name}: run {name} has no checkpoint and no shipped model") from None
    try:
        return models.resolve_checkpoint(name)
    except (FileNotFoundError, ValueError) as e:
        raise UserError(f"--init-from {name}: {e}") from None


def training_hooks(run, batch_size, cpu_hours, milestone_minutes, init_from, precision=None, init_step=False,
                   milestone_steps=None):
    """The session hooks of a training process (bgmaker.training.hooks)."""
    import bgmaker_configs
    from bgmaker.training import hooks as th
    model = bgmaker_configs.register()[run.name].model
    hooks = [th.ProgressHook(model, run.run_dir, batch_size,
                             cpu_budget_s=cpu_hours * 3600 if cpu_hours else None,
                             milestone_every_s=milestone_minutes * 60 if milestone_minutes else None,
                             log=lambda m: print(m, flush=True), precision=precision,
                             milestone_steps=milestone_steps),
             th.StopOnSignalHook(log=lambda m: print(m, flush=True))]
    if init_from:
        hooks.append(th.WarmStartHook(init_from, step=init_step))
    return hooks


def run_magenta_train(argv, run, hooks=(), cluster=None):
    """Run music_vae_train in this process with `hooks` (as `cluster`'s task); turn a NaN/Inf loss into one line."""
    from bgmaker.compat import extra_training_hooks
    from bgmaker.training.hooks import CloseSyncQueueHook, MismatchedCheckpointError
    from bgmaker_configs.architectures import NONFINITE_LOSS_MESSAGE
    sys.argv = argv
    config = None
    if cluster is not None:
        from bgmaker.training.cluster import session_config
        config = functools.partial(session_config, cluster)  # built when Magenta makes its session
    try:
        with extra_training_hooks(hooks, session_config=config):
            magenta_train_main(argv, cluster)
    except SystemExit as e:
        return e.code or 0
    except MismatchedCheckpointError as e:
        raise UserError(f"--init-from: {e}") from None
    except Exception as e:  # InvalidArgumentError raised by the loss check
        if CloseSyncQueueHook.STALE_SYNC_QUEUE in str(e):
            raise UserError("--sync: the parameter servers still hold the token queue an earlier --sync session "
                            "closed when it stopped: restart them (every ps task), then the workers") from None
        if NONFINITE_LOSS_MESSAGE not in str(e):
            raise
        last = latest_checkpoint(str(run.run_dir))
        print(f"bgmaker train: error: {run.name}: loss became NaN or Inf; training stopped. "
              f"Last good checkpoint: {last or 'none'}", file=sys.stderr)
        return 3
    return 0


def magenta_train_main(argv, cluster=None):
    """Magenta's music_vae_train app in this process, with `argv`, BGMaker's configs and training setup.

    The setup: Grappler options and thread pools for Magenta's session (`prepare`),
    `<run_dir>/hparams.txt`, the overrides the run was started with
    (bgmaker.models.record_hparams), and for a cluster's task its TensorFlow
    server, whose address becomes Magenta's --master. Exits like an absl app (SystemExit).
    """
    import bgmaker_configs
    config_map = bgmaker_configs.register()
    import tensorflow.compat.v1 as tf
    from absl import flags
    from magenta.models.music_vae import music_vae_train as app

    from bgmaker import models

    def main(unused_argv):
        tf.logging.set_verbosity(flags.FLAGS.log)
        batch = split_hparams(flags.FLAGS.hparams or "").get("batch_size")
        batch = int(batch) if batch else config_map[flags.FLAGS.config].hparams.batch_size
        prepare(threads=thread_pools(batch))
        if cluster is not None:
            from bgmaker.compat import poll_for_chief
            from bgmaker.training.cluster import session_config, start_server
            poll_for_chief()
            server = start_server(cluster, config=session_config(cluster))  # lives as long as this process
            flags.FLAGS.master = server.target
        if flags.FLAGS.run_dir and (cluster is None or cluster.is_chief):
            models.record_hparams(os.path.expanduser(flags.FLAGS.run_dir), flags.FLAGS.hparams)
        app.run(config_map)

    tf.disable_v2_behavior()
    tf.app.run(main, argv=list(argv))
