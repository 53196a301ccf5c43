"""Training on TensorFlow's distributed runtime, on this machine's loopback: one parameter server, two workers.

What a user starts on three machines, started here as three processes on
127.0.0.1 with tiny hparams: both workers add steps, a worker that is killed
and started again rejoins, the chief's checkpoint loads into BeatGenerator,
and every process started here is stopped.
"""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from bgmaker_configs import TINY_HPARAMS

from conftest import REPO, run_cli
from test_convert import mini_gmd

TRAIN_SH = str(REPO / "scripts" / "train.sh")


def free_ports(n):
    """n ports free on 127.0.0.1 now (held open together so they differ)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Cluster:
    """The processes of one loopback cluster; stop() ends every one of them (and their children)."""

    def __init__(self, env, logs):
        self.env, self.logs, self.procs = env, logs, {}
        ps, w0, w1 = free_ports(3)
        self.spec = f"ps=127.0.0.1:{ps};worker=127.0.0.1:{w0},127.0.0.1:{w1}"

    def start(self, job, task, *flags):
        name = f"{job}{task}-{len([k for k in self.procs if k.startswith(f'{job}{task}')])}"
        log = open(self.logs / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen(
            [TRAIN_SH, "--run", "v2_rock_beat", "--cluster", self.spec, "--job", job, "--task", str(task),
             f"--hparams={TINY_HPARAMS}", *flags],
            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **self.env), start_new_session=True)
        return name

    def log(self, name):
        return (self.logs / f"{name}.log").read_text()

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for(condition, what, cluster, names, timeout=240):
    """Wait until condition(); fail with the logs when one of the processes `names` exits first, or on timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        for name in names:
            if cluster.procs[name].poll() is not None:
                raise AssertionError(f"{name} exited {cluster.procs[name].returncode} while waiting for {what}:\n"
                                     + cluster.log(name)[-3000:])
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n"
                         + "\n".join(f"--- {n}\n{cluster.log(n)[-1500:]}" for n in names))


@pytest.fixture
def env(tmp_path):
    gmd = mini_gmd(tmp_path / "groove")
    env = {"BGMAKER_DATA_DIR": str(tmp_path / "data"), "BGMAKER_RUNS_DIR": str(tmp_path / "runs"),
           "BGMAKER_GMD_DIR": str(gmd), "TF_CPP_MIN_LOG_LEVEL": "2"}
    run_cli(str(REPO / "scripts" / "convert_gmd.sh"), "--run", "v2_rock_beat", env=env)
    return env


def test_a_parameter_server_and_two_workers_train_one_run_on_loopback(env, tmp_path):
    from bgmaker.generation.generator import BeatGenerator
    from bgmaker.training.run_state import read_progress, read_task_steps
    run_dir = tmp_path / "runs" / "v2_rock_beat"
    (tmp_path / "logs").mkdir()
    cluster = Cluster(env, tmp_path / "logs")
    try:
        # the three tasks start together, as on three machines: worker 1 waits for the chief's weights
        ps = cluster.start("ps", 0)
        worker = cluster.start("worker", 1)
        chief = cluster.start("worker", 0, "--milestone-every=0")
        steps = lambda: read_task_steps(run_dir)  # noqa: E731
        wait_for(lambda: steps().get("worker:0", 0) > 0 and steps().get("worker:1", 0) > 0,
                 "both workers' first steps", cluster, (ps, chief, worker))

        # worker 1 dies without warning and comes back: it rejoins the same run
        before = steps()["worker:1"]
        os.killpg(cluster.procs[worker].pid, signal.SIGKILL)
        cluster.procs[worker].wait()
        again = cluster.start("worker", 1)
        wait_for(lambda: len(task_starts(run_dir, "worker-1")) == 2 and steps()["worker:1"] > before,
                 "worker 1's steps after it came back", cluster, (ps, chief, again))

        # SIGTERM stops the chief after its step in progress, with a checkpoint of the last step
        cluster.procs[chief].send_signal(signal.SIGTERM)
        assert cluster.procs[chief].wait(timeout=120) == 0, cluster.log(chief)
        assert "SIGTERM; stopping after this step" in cluster.log(chief)
        assert cluster.procs[again].poll() is None  # the other worker goes on while the chief is away
    finally:
        cluster.stop()
    assert all(p.poll() is not None for p in cluster.procs.values())
    assert "parameter server ps:0" in cluster.log(ps) and "SIGTERM; stopping" in cluster.log(ps)
    assert "the chief, worker 0, records and checkpoints" in cluster.log(again)

    totals = read_task_steps(run_dir)
    assert totals["worker:0"] > 0 and totals["worker:1"] > 0, totals
    record = json.loads((run_dir / "bgmaker_run.json").read_text())
    assert record["starts"][-1]["cluster"] == dict(task="worker:0", ps=1, workers=2, sync=False)
    assert len(record["starts"]) == 1  # workers other than the chief leave the run record alone
    last = read_progress(run_dir)[-1]["step"]
    checkpoint = run_dir / "train" / f"model.ckpt-{last}.index"
    assert checkpoint.is_file(), sorted(os.listdir(run_dir / "train"))
    # global steps count both workers' updates: more than the chief ran alone
    assert last >= totals["worker:0"] + 1

    generator = BeatGenerator("hierdec-drum_4bar", run_dir)
    try:
        assert generator.checkpoint.endswith(f"model.ckpt-{last}")
        beats = generator.sample(2, seed=1)
        assert len(beats) == 2
    finally:
        generator.close()


def test_synchronous_workers_stop_together_at_num_steps(env, tmp_path):
    """--sync: every global step sums the gradients of both workers (Magenta's SyncReplicasOptimizer)."""
    from bgmaker.training.run_state import read_task_steps
    run_dir = tmp_path / "runs" / "v2_rock_beat"
    (tmp_path / "logs").mkdir()
    cluster = Cluster(env, tmp_path / "logs")
    try:
        cluster.start("ps", 0)
        workers = [cluster.start("worker", 1, "--sync", "--num_steps=30"),
                   cluster.start("worker", 0, "--sync", "--num_steps=30", "--milestone-every=0")]
        ended = {}
        for name in workers:
            assert cluster.procs[name].wait(timeout=300) == 0, cluster.log(name)
            ended[name] = time.time()
        # together: the chief closes the token queue instead of waiting TensorFlow's 120 s for its runner thread
        assert max(ended.values()) - min(ended.values()) < 60, ended
        # a new --sync chief on the same parameter server finds that closed queue: one line, not a silent stop
        again = cluster.start("worker", 0, "--sync", "--num_steps=40", "--milestone-every=0")
        assert cluster.procs[again].wait(timeout=300) == 2, cluster.log(again)
        assert cluster.log(again).strip().splitlines()[-1].startswith(
            "bgmaker train: error: --sync: the parameter servers still hold the token queue")
    finally:
        cluster.stop()
    assert (run_dir / "train" / "model.ckpt-30.index").is_file()
    totals = read_task_steps(run_dir)
    # each of the 30 updates took one gradient from each of 2 replicas: at least 60 local steps in all
    assert sum(totals.values()) >= 60, totals
    record = json.loads((run_dir / "bgmaker_run.json").read_text())
    assert record["starts"][-1]["cluster"]["sync"] is True


def task_starts(run_dir, task):
    path = run_dir / "cluster" / f"{task}.jsonl"
    return {json.loads(line)["start"] for line in path.read_text().splitlines()} if path.is_file() else set()


def test_a_worker_polls_for_its_chief_every_second():
    """compat.poll_for_chief: TensorFlow's SessionManager waits 30 s between looks unless told otherwise."""
    from tensorflow.python.training.session_manager import SessionManager

    from bgmaker import compat
    compat.poll_for_chief()
    assert SessionManager()._recovery_wait_secs == compat.CHIEF_POLL_SECONDS
    assert SessionManager(recovery_wait_secs=7)._recovery_wait_secs == 7
    assert "tensorflow.python.training.session_manager.SessionManager.__init__" in compat.patched()


def test_cluster_flags_and_tf_config_name_what_is_wrong(tmp_path):
    from bgmaker.errors import UserError
    from bgmaker.training import cluster
    task = cluster.resolve("ps=h:1;worker=h:2,h:3", "worker", 1)
    assert (task.job, task.task, task.is_chief, task.address) == ("worker", 1, False, "h:3")
    assert cluster.magenta_flags(task, sync=True) == ["--task=1", "--num_ps_tasks=1", "--num_sync_workers=2"]
    tf_config = json.dumps({"cluster": {"chief": ["c:1"], "worker": ["w:1"], "ps": ["p:1"]},
                            "task": {"type": "worker", "index": 0}})
    task = cluster.resolve(environ={"TF_CONFIG": tf_config})
    assert task.spec == {"worker": ["c:1", "w:1"], "ps": ["p:1"]} and task.task == 1  # the chief is worker 0
    assert cluster.resolve(environ={"TF_CONFIG": json.dumps({"task": {}})}) is None
    assert cluster.resolve(environ={}) is None
    for args, message in [(("ps=h:1", "worker", 0), "no worker"),
                          (("worker=h", "worker", 0), "'h' is not HOST:PORT"),
                          (("chief=h:1;worker=h:2", "worker", 0), "with JOB one of ps, worker"),
                          (("ps=h:3;worker=h:1,h:1", "worker", 0), "given to two tasks"),
                          (("worker=h:1", "worker", 3), "worker task 3 does not exist"),
                          (("worker=h:1", "ps", 0), "has no ps job"),
                          (("worker=h:1", None, None), "needs --job"),
                          (("worker=h:1,h:2", "worker", 0), "2 workers and no parameter server")]:
        with pytest.raises(UserError, match=message):
            cluster.resolve(*args)
    with pytest.raises(UserError, match="TF_CONFIG: not JSON"):
        cluster.resolve(environ={"TF_CONFIG": "{oops"})

    bad = run_cli(TRAIN_SH, "--run", "v2_rock_beat", "--sync", env={"BGMAKER_RUNS_DIR": str(tmp_path)}, check=False)
    assert bad.returncode == 2 and "--sync is for a cluster's workers" in bad.stderr.strip().splitlines()[-1]
