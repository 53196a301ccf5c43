"""One run trained by several processes: TensorFlow's distributed runtime, driven by Magenta's own flags.

music_vae_train was written for between-graph replication: every worker
builds the whole graph, `tf.train.replica_device_setter(--num_ps_tasks)`
puts the variables on the parameter servers, worker 0 is the chief
(initializes, writes checkpoints and summaries), and `--num_sync_workers`
wraps the optimizer in SyncReplicasOptimizer. What it leaves to its caller
is the cluster itself: a `tf.distribute.Server` per process and the address
of the local one as `--master`. This module is that caller's part, and
nothing more: no scheduler, queue or RPC of BGMaker's own.

A cluster is given as `--cluster "ps=HOST:PORT;worker=HOST:PORT,HOST:PORT"`
with `--job` and `--task`, or in TF_CONFIG (TensorFlow's convention; a
"chief" job there becomes worker 0, as Magenta's chief is). Each worker's
session sees only the parameter servers and itself (`device_filters`), so a
worker that dies does not stall the others, and one that comes back
reconnects and trains on the parameter servers' current weights (in
synchronous mode the others wait for it: each step needs every worker).
"""
import json
import os
import signal
import time
from dataclasses import dataclass

from bgmaker.errors import UserError

JOBS = ("ps", "worker")


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in a cluster: `spec` maps "ps" and "worker" to lists of HOST:PORT."""
    spec: dict
    job: str
    task: int

    @property
    def is_chief(self):
        """Magenta's chief: worker 0 (music_vae_train's is_chief = task == 0)."""
        return self.job == "worker" and self.task == 0

    @property
    def address(self):
        return self.spec[self.job][self.task]

    @property
    def name(self):
        return f"{self.job}:{self.task}"

    def describe(self):
        return (f"{self.name} at {self.address}, in a cluster of {len(self.spec.get('ps', []))} parameter "
                f"server(s) and {len(self.spec['worker'])} worker(s)" + (" (the chief)" if self.is_chief else ""))


def parse_cluster(text):
    """{"ps": [...], "worker": [...]} from "ps=HOST:PORT,...;worker=HOST:PORT,..." (UserError naming what is wrong)."""
    spec = {}
    for part in (p.strip() for p in str(text).split(";")):
        if not part:
            continue
        job, sep, addresses = part.partition("=")
        job = job.strip()
        if not sep or job not in JOBS:
            raise UserError(f"--cluster {text!r}: {part!r} is not JOB=HOST:PORT,... with JOB one of {', '.join(JOBS)}")
        if job in spec:
            raise UserError(f"--cluster {text!r}: job {job} is given twice")
        spec[job] = [_address(a.strip(), text) for a in addresses.split(",") if a.strip()]
    return _checked(spec, f"--cluster {text!r}")


def _address(address, text):
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--cluster {text!r}: {address!r} is not HOST:PORT")
    return address


def _checked(spec, where):
    if not spec.get("worker"):
        raise UserError(f"{where}: no worker; a cluster needs at least one (worker 0 is the chief)")
    if len(spec["worker"]) > 1 and not spec.get("ps"):
        # Magenta's replica_device_setter(0) places nothing: each worker would train its own uninitialised copy
        raise UserError(f"{where}: {len(spec['worker'])} workers and no parameter server; the workers share "
                        "their weights through one (add ps=HOST:PORT)")
    addresses = [a for job in spec.values() for a in job]
    duplicate = next((a for a in addresses if addresses.count(a) > 1), None)
    if duplicate:
        raise UserError(f"{where}: {duplicate} is given to two tasks")
    return spec


def from_tf_config(text):
    """The ClusterTask TF_CONFIG describes ({"cluster": {...}, "task": {"type": ..., "index": N}})."""
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        kind, index = task["type"], int(task.get("index", 0))
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"TF_CONFIG: not TensorFlow's cluster JSON ({type(e).__name__}: {e})") from None
    unknown = sorted(set(cluster) - {"ps", "worker", "chief"})
    if unknown or kind not in ("ps", "worker", "chief"):
        raise UserError(f"TF_CONFIG: jobs {', '.join(unknown or [kind])} are not trained here; BGMaker's cluster "
                        "has ps, worker and optionally chief (an evaluator: unset TF_CONFIG and run "
                        "`bgmaker train --mode=eval` on its own)")
    chief = list(cluster.get("chief", []))
    spec = {"worker": chief + list(cluster.get("worker", []))}
    if cluster.get("ps"):
        spec["ps"] = list(cluster["ps"])
    for job in spec.values():
        for address in job:
            _address(address, "TF_CONFIG")
    spec = _checked(spec, "TF_CONFIG")
    if kind == "chief":
        kind = "worker"  # index 0 of the chief job: worker 0
    elif kind == "worker" and chief:
        index += len(chief)  # the chief is worker 0, Magenta's chief
    return _task(spec, kind, index, "TF_CONFIG")


def _task(spec, job, task, where):
    if job not in spec:
        raise UserError(f"{where}: this process is a {job} task, but the cluster has no {job} job")
    if not 0 <= task < len(spec[job]):
        raise UserError(f"{where}: {job} task {task} does not exist (the cluster has {len(spec[job])} {job} task(s), "
                        f"numbered from 0)")
    return ClusterTask(spec, job, task)


def resolve(cluster=None, job=None, task=None, environ=None):
    """This process's ClusterTask from the flags (`--cluster`, `--job`, `--task`) or TF_CONFIG; None: no cluster."""
    environ = os.environ if environ is None else environ
    if cluster:
        if job is None or task is None:
            raise UserError("--cluster needs --job (worker or ps) and --task N: which of its tasks this process is")
        return _task(parse_cluster(cluster), job, task, "--cluster")
    if job is not None or task is not None:
        raise UserError("--job and --task go with --cluster (or give the cluster in TF_CONFIG)")
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
    except ValueError as e:
        raise UserError(f"TF_CONFIG: not JSON ({e})") from None
    return from_tf_config(text) if isinstance(config, dict) and config.get("cluster") else None


def magenta_flags(task, sync=False):
    """music_vae_train's cluster flags for `task` (its --master is set to the local server's target when it runs)."""
    flags = [f"--task={task.task}", f"--num_ps_tasks={len(task.spec.get('ps', []))}"]
    if sync:
        flags.append(f"--num_sync_workers={len(task.spec['worker'])}")
    return flags


def start_server(task, config=None):
    """Start this task's TensorFlow server (gRPC) and return it; UserError when its port is taken."""
    import tensorflow.compat.v1 as tf
    try:
        return tf.train.Server(tf.train.ClusterSpec(task.spec), job_name=task.job, task_index=task.task,
                               config=config, start=True)
    except Exception as e:  # UnknownError / InternalError from gRPC: address in use, unresolvable host
        raise UserError(f"{task.name}: could not start TensorFlow's server at {task.address} "
                        f"({str(e).splitlines()[0][:200]})") from None


def session_config(task, base=None):
    """The worker session's ConfigProto: the process's own settings plus device filters.

    The filters let the session see the parameter servers and this worker
    only, so its ops run here (Magenta places them on "/job:worker" without a
    task) and a dead worker elsewhere neither blocks its start nor its steps.
    """
    import tensorflow.compat.v1 as tf
    from tensorflow.python.eager import context
    config = tf.ConfigProto()
    config.CopyFrom(base if base is not None else context.context().config)
    del config.device_filters[:]
    config.device_filters.extend(["/job:ps", f"/job:worker/task:{task.task}"])
    return config


class StopOnSignal:
    """Turn the first SIGTERM/SIGINT into a flag (the caller stops at its next chance); a second one acts at once."""

    def __init__(self, signals=(signal.SIGTERM, signal.SIGINT)):
        self.signals = signals
        self.received = None
        self.previous = {}

    def __enter__(self):
        if not self.previous and self.received is None:  # once: a session re-created after an error enters again
            for sig in self.signals:
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.received = signal.Signals(signum).name
        self.__exit__()

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}


def serve_parameters(task, log=print):
    """Run a parameter server until SIGTERM or Ctrl-C; return the exit status (0).

    A parameter server holds the variables and runs nothing of its own; it
    keeps them only in memory, so a cluster whose parameter server dies goes
    on from the chief's last checkpoint once every process is restarted.
    """
    if task.job != "ps":
        raise ValueError(f"{task.name} is not a parameter server")
    server = start_server(task)
    log(f"parameter server {task.describe()}; serving until SIGTERM or Ctrl-C")
    with StopOnSignal() as stop:
        while stop.received is None:
            time.sleep(0.2)
    log(f"parameter server {task.name}: {stop.received}; stopping")
    del server  # the process ends; gRPC closes with it
    return 0
