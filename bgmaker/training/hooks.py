"""Session hooks BGMaker adds to Magenta's training loop (bgmaker.compat.extra_training_hooks).

Training here is a campaign of many CPU-hours across processes that get
stopped and machines that get replaced, so a run has to know how much it has
already spent and keep what it learned along the way:

- `ProgressHook` appends step, examples seen, loss and cumulative CPU and
  wall seconds to `<run_dir>/progress.jsonl` (the learning curve against CPU
  time, and the run's accounts: a restarted process continues the sums),
  with the CPU model and the LSTM matmuls' precision of the process that
  spent them (sessions land on different CPUs; the budget stays CPU-hours),
  stops training once the run's CPU budget is spent, and every
  `milestone_every` CPU-seconds saves the weights alone (no Adam slots,
  1/3 of a training checkpoint) to `<run_dir>/milestones/`, listed in
  `milestones/index.jsonl`, so checkpoints can be chosen on validation
  after the fact and learning curves drawn from them. With
  `milestone_steps` it keeps them at those global steps instead and stops
  after the last: runs compared at equal steps (the campaign's recipe
  trials on CPUs that buy different steps per CPU-hour).
- `WarmStartHook` initialises a fresh run's weights from another model
  (a shipped model or another run's checkpoint); the optimizer starts anew.
  With step=True it takes the model's global step too, so Magenta's
  learning-rate schedule (a function of the step) goes on where that
  training stopped: a continuation (the campaign going on from its own
  committed model), not a fine-tune from step 0. A run that already has a
  checkpoint resumes from it instead.

- `TaskStepsHook` (a cluster's tasks) appends the steps this process has
  run to `<run_dir>/cluster/<job>-<task>.jsonl`: which workers did the work.
- `CloseSyncQueueHook` (the chief of a --sync cluster) lets the chief and
  the workers stop together instead of waiting on a token queue.
- `StopOnSignalHook` turns SIGTERM or Ctrl-C into a stop after the current
  step, so the chief's last checkpoint is written on the way out (a second
  signal stops at once).

CPU time is the process's user + system time (all threads), so a run that
shares the machine is charged for what it used, not for waiting.
"""
import os
import resource
import time
from pathlib import Path

import tensorflow.compat.v1 as tf

from bgmaker.compat import cpu_model
from bgmaker.training.run_state import (MILESTONE_INDEX, MILESTONES_DIR, PROGRESS_FILE, TASKS_DIR, append,
                                       read_milestones, spent)


class MismatchedCheckpointError(ValueError):
    """A warm-start checkpoint whose weights do not fit the model being trained."""


def process_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ProgressHook(tf.train.SessionRunHook):
    """Log progress against CPU time, stop at the CPU budget, save milestone weights. See the module doc."""

    def __init__(self, model, run_dir, batch_size, cpu_budget_s=None, milestone_every_s=None,
                 log_every_s=30.0, log=print, precision=None, milestone_steps=None):
        self.model = model
        # Each record says where and how its CPU time was spent: the CPU model and the LSTM matmuls' precision.
        self.machine = dict(cpu=cpu_model(), precision=precision)
        self.run_dir = Path(run_dir)
        self.batch_size = int(batch_size)
        self.cpu_budget_s = cpu_budget_s
        self.milestone_every_s = milestone_every_s
        self.log_every_s = log_every_s
        self.log = log
        self.cpu_before, self.wall_before = spent(self.run_dir)
        # CPU is charged from process start (imports and graph building included: cpu_s() adds the
        # process's whole CPU time); wall time from here, so a CPU/wall ratio slightly overstates threads.
        self.wall_start = time.time()
        milestones = read_milestones(self.run_dir)
        kept = milestones[-1]["step"] if milestones else -1
        self.pending_steps = sorted(s for s in set(milestone_steps or ()) if s > kept)
        self.step_budget = bool(milestone_steps)  # stop once the last milestone step is kept
        self.next_milestone = None
        if milestone_every_s:
            done = milestones[-1]["cpu_s"] if milestones else 0.0
            self.next_milestone = (int(done // milestone_every_s) + 1) * milestone_every_s
        self.last_log = 0.0
        self.losses = []

    def cpu_s(self):
        return self.cpu_before + process_cpu_seconds()

    def wall_s(self):
        return self.wall_before + (time.time() - self.wall_start)

    def begin(self):
        self.global_step = tf.train.get_global_step()
        weights = tf.trainable_variables() + [self.global_step]
        self.saver = tf.train.Saver(weights, max_to_keep=None, save_relative_paths=True)

    def after_create_session(self, session, coord):
        if self.cpu_budget_s is not None and self.cpu_s() >= self.cpu_budget_s:
            self.log(f"bgmaker train: CPU budget of {self.cpu_budget_s / 3600:.2f} CPU-hours already spent "
                     f"({self.cpu_s() / 3600:.2f}); nothing to do")
            coord.request_stop()
        elif self.step_budget and not self.pending_steps:
            self.log("bgmaker train: every milestone step already kept; nothing to do")
            coord.request_stop()

    def before_run(self, run_context):
        return tf.train.SessionRunArgs(self.model.loss)

    def after_run(self, run_context, run_values):
        self.losses.append(float(run_values.results))
        cpu = self.cpu_s()
        wall_now = time.time()
        budget_spent = self.cpu_budget_s is not None and cpu >= self.cpu_budget_s
        milestone = self.next_milestone is not None and cpu >= self.next_milestone
        step = None
        if self.pending_steps:  # read every step: a milestone step must not be passed
            step = int(run_context.session.run(self.global_step))
            if step >= self.pending_steps[0]:
                self.save_milestone(run_context.session, step, cpu)
                self.pending_steps = [s for s in self.pending_steps if s > step]
                if not self.pending_steps:  # end() records this last step
                    self.log(f"bgmaker train: last milestone step reached (step {step}); stopping")
                    run_context.request_stop()
                    return
        if not (budget_spent or milestone or wall_now - self.last_log >= self.log_every_s):
            return
        # The step counter as saved (read after the step's update; a fetch beside the train op may race it).
        step = int(run_context.session.run(self.global_step)) if step is None else step
        if wall_now - self.last_log >= self.log_every_s or budget_spent:
            self._record(step, cpu)
            self.last_log = wall_now
        if milestone:
            self.save_milestone(run_context.session, step, cpu)
            while self.next_milestone <= cpu:
                self.next_milestone += self.milestone_every_s
        if budget_spent:
            self.log(f"bgmaker train: CPU budget spent ({cpu / 3600:.2f} of {self.cpu_budget_s / 3600:.2f} "
                     f"CPU-hours) at step {step}; stopping")
            run_context.request_stop()

    def end(self, session):
        self._record(int(session.run(self.global_step)), self.cpu_s())

    def _record(self, step, cpu):
        loss = sum(self.losses) / len(self.losses) if self.losses else None
        self.losses = []
        # load: the machine's 1-minute load average, to read a CPU-time figure in its context
        # (a shared CPU makes each step cost more CPU time, not only more wall time).
        record = dict(step=step, examples=step * self.batch_size, cpu_s=round(cpu, 1),
                      wall_s=round(self.wall_s(), 1), loss=loss, time=time.strftime("%Y-%m-%dT%H:%M:%S"),
                      load=round(os.getloadavg()[0], 2), **self.machine)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        append(self.run_dir / PROGRESS_FILE, record)

    def save_milestone(self, session, step, cpu):
        """Weights (and global step) only; loads wherever a checkpoint does, with the run's hparams.txt."""
        folder = self.run_dir / MILESTONES_DIR
        folder.mkdir(parents=True, exist_ok=True)
        prefix = self.saver.save(session, str(folder / "model.ckpt"), global_step=step, write_meta_graph=False,
                                 write_state=False)
        record = dict(checkpoint=os.path.basename(prefix), step=step, examples=step * self.batch_size,
                      cpu_s=round(cpu, 1), wall_s=round(self.wall_s(), 1))
        append(folder / MILESTONE_INDEX, record)
        self.log(f"bgmaker train: milestone {os.path.basename(prefix)} at {cpu / 3600:.2f} CPU-hours")



class WarmStartHook(tf.train.SessionRunHook):
    """Initialise the model's weights from `checkpoint` when the run has none of its own (see module doc)."""

    def __init__(self, checkpoint, step=False):
        self.checkpoint = str(checkpoint)
        self.step = step

    def begin(self):
        # Runs before the session's initializers are finalised, so the initial
        # values come from the checkpoint; a restored run checkpoint wins over them.
        check_compatible(self.checkpoint, {v.op.name: v.shape.as_list() for v in tf.trainable_variables()})
        names = {v.op.name: v.op.name for v in tf.trainable_variables()}
        if self.step:
            if "global_step" not in dict(tf.train.list_variables(self.checkpoint)):
                raise MismatchedCheckpointError(f"{self.checkpoint} holds no global step to go on from")
            names["global_step"] = "global_step"
        tf.train.init_from_checkpoint(self.checkpoint, names)


def check_compatible(checkpoint, wanted):
    """Raise MismatchedCheckpointError unless `checkpoint` holds every weight in `wanted` (name -> shape)."""
    have = dict(tf.train.list_variables(checkpoint))
    missing = sorted(name for name in wanted if name not in have)
    if missing:
        raise MismatchedCheckpointError(
            f"{checkpoint} does not fit this model: {len(missing)} of its {len(wanted)} weights are missing "
            f"(e.g. {missing[0]}); was it trained with another config?")
    for name, shape in sorted(wanted.items()):
        if list(have[name]) != list(shape):
            raise MismatchedCheckpointError(
                f"{checkpoint} does not fit this model: {name} is {list(have[name])} there, {list(shape)} here "
                f"(different hparams, e.g. z_size or rnn sizes?)")


class TaskStepsHook(tf.train.SessionRunHook):
    """Append this task's step count to <run_dir>/cluster/<job>-<task>.jsonl every `every_s` seconds and at the end.

    The chief's progress.jsonl counts global steps, which every worker
    advances; this says how many of them each task ran (read by
    run_state.read_task_steps).
    """

    def __init__(self, run_dir, task_name, every_s=10.0):
        self.path = Path(run_dir) / TASKS_DIR / (task_name.replace(":", "-") + ".jsonl")
        self.start = time.strftime("%Y-%m-%dT%H:%M:%S") + f"/{os.getpid()}"
        self.every_s = every_s
        self.steps = 0
        self.last = 0.0

    def begin(self):
        self.global_step = tf.train.get_global_step()

    def before_run(self, run_context):
        return tf.train.SessionRunArgs(self.global_step)

    def after_run(self, run_context, run_values):
        self.steps += 1
        self.last_global_step = int(run_values.results)
        if time.time() - self.last >= self.every_s:
            self._record()

    def end(self, session):
        self._record()

    def _record(self):
        self.last = time.time()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        append(self.path, dict(start=self.start, steps=self.steps, global_step=getattr(self, "last_global_step", None),
                               time=time.strftime("%Y-%m-%dT%H:%M:%S")))


class StopOnSignalHook(tf.train.SessionRunHook):
    """Stop training after the step in progress when SIGTERM or SIGINT arrives (a second one: at once).

    A stop requested this way ends the session normally, so the chief's
    checkpoint saver writes the last step (Magenta saves only every 60 s).
    """

    def __init__(self, log=print):
        from bgmaker.training.cluster import StopOnSignal
        self.signals = StopOnSignal()
        self.log = log

    def after_create_session(self, session, coord):
        self.signals.__enter__()

    def after_run(self, run_context, run_values):
        if self.signals.received:
            self.log(f"bgmaker train: {self.signals.received}; stopping after this step")
            run_context.request_stop()

    def end(self, session):
        self.signals.__exit__()


class CloseSyncQueueHook(tf.train.SessionRunHook):
    """With --sync, the chief lets everyone stop at once: it closes the token queue and does not wait on its runner.

    Cause: SyncReplicasOptimizer's chief runs a queue-runner thread that
    waits for every worker's gradient and then hands out the next step's
    tokens. When training ends that thread waits for gradients that never
    come, and TensorFlow gives it a 120 s grace period before the chief's
    session closes (and cancels it); a worker still waiting for a token once
    the chief is gone waits forever. So at the end the chief closes the token
    queue (a waiting worker's dequeue fails with OutOfRange, which Magenta's
    loop takes as the end of training) and joins that thread with a
    `grace_s` grace period instead (its step is cancelled, as after 120 s).
    The queue lives on the parameter servers and stays closed: a later --sync
    chief on the same ones fails at its start (STALE_SYNC_QUEUE, turned into
    one line by bgmaker.training.train), and they have to be restarted.
    """

    STALE_SYNC_QUEUE = "FIFOQueue 'sync_token_q' is closed"

    def __init__(self, grace_s=2.0):
        self.grace_s = grace_s

    def begin(self):
        graph = tf.get_default_graph()
        self.close = []
        for op in graph.get_operations():
            if op.type in ("FIFOQueueV2", "FIFOQueue") and op.name.split("/")[-1] == "sync_token_q":
                with tf.device(op.device):  # a queue is closed where it lives: on a parameter server
                    self.close.append(tf.raw_ops.QueueCloseV2(handle=op.outputs[0], cancel_pending_enqueues=True))

    def after_create_session(self, session, coord):
        join, grace = coord.join, self.grace_s

        def short_join(threads=None, stop_grace_period_secs=120, ignore_live_threads=False):
            return join(threads, stop_grace_period_secs=min(stop_grace_period_secs, grace),
                        ignore_live_threads=ignore_live_threads)
        coord.join = short_join  # this coordinator only: the one of this training session

    def end(self, session):
        if self.close:
            session.run(self.close)
