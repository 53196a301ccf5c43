"""Scaling out on one machine: the Beam pipeline beside the local converter, a 2-worker cluster beside one process.

  .venv/bin/python benchmarks/bench_scaling.py [--steps 20 60] [--batch 64] [--skip-convert] [--skip-train]

Measures, in one run, with the same commands a user types:
  1. conversion of all of GMD (its 1,150 files, no selection: the ones that are not 4/4 or shorter than
     4 bars are reported as skipped): `bgmaker convert --output-dir D` and the same with `--beam`
     (DirectRunner, in the Beam environment), wall time of the whole command, the Beam run's start of its
     environment included; and whether both give the same windows per split;
  2. training throughput of hierdec-drum_4bar at its real size (batch --batch) on mini GMD-like data:
     `bgmaker train` as one process, and the same run on a loopback cluster of one parameter server and
     two asynchronous workers (`--cluster ... --job ... --task ...`). Seconds per global step come from
     the difference of two runs of --steps lengths, so process start and graph building cancel out;
     examples per second = batch / seconds per step.
On a 2-core machine two workers share the cores one process uses: expect no gain (the point is that the
same command runs on more machines). Writes benchmarks/bench_scaling.json. The machine may be shared:
read the figures beside the load average recorded with them.
"""
import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def timed(cmd, env):
    start = time.perf_counter()
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def windows(folder):
    import tensorflow as tf
    out = {}
    for path in sorted(Path(folder).glob("*.tfrecord*")):
        out.setdefault(path.name.split(".tfrecord")[0], set()).update(
            r.numpy() for r in tf.data.TFRecordDataset(str(path)))
    return out


def bench_convert(work):
    env = dict(ENV, BGMAKER_DATA_DIR=str(work / "data"))
    local = timed([BIN / "bgmaker", "convert", "--output-dir", work / "local"], env)
    beam = timed([BIN / "bgmaker", "convert", "--output-dir", work / "beam", "--beam"], env)
    a, b = windows(work / "local"), windows(work / "beam")
    report = json.loads((work / "beam" / "report.json").read_text())
    return dict(local_s=round(local, 1), beam_direct_runner_s=round(beam, 1), beam_over_local=round(beam / local, 2),
                files=sum(s["files"] for s in report["splits"].values()), skipped=len(report["skipped"]),
                windows={s: len(v) for s, v in b.items()}, same_windows_per_split=a == b)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def train_once(work, name, steps, batch, cluster):
    """Wall seconds of one training command (all its processes) for `steps` global steps from scratch."""
    import shutil
    env = dict(ENV, BGMAKER_RUNS_DIR=str(work / "runs" / name), BGMAKER_DATA_DIR=str(work / "data"),
               BGMAKER_GMD_DIR=str(work / "groove"))
    shutil.rmtree(work / "runs" / name, ignore_errors=True)
    base = [str(BIN / "bgmaker"), "train", "--run", "v2_rock_beat", f"--hparams=batch_size={batch}",
            f"--num_steps={steps}", "--milestone-every=0"]
    start = time.perf_counter()
    if not cluster:
        subprocess.run(base, check=True, capture_output=True, env=env)
        return time.perf_counter() - start
    ps, w0, w1 = free_ports(3)
    spec = f"ps=127.0.0.1:{ps};worker=127.0.0.1:{w0},127.0.0.1:{w1}"
    procs = [subprocess.Popen(base + ["--cluster", spec, "--job", job, "--task", str(task)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
             for job, task in (("ps", 0), ("worker", 0), ("worker", 1))]
    try:
        for proc in procs[1:]:
            if proc.wait(timeout=3600) != 0:
                raise SystemExit(f"a worker exited {proc.returncode}")
        return time.perf_counter() - start
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()


def bench_train(work, steps, batch):
    sys.path.insert(0, str(REPO / "tests"))
    from test_convert import mini_gmd
    mini_gmd(work / "groove")
    env = dict(ENV, BGMAKER_DATA_DIR=str(work / "data"), BGMAKER_GMD_DIR=str(work / "groove"))
    subprocess.run([str(BIN / "bgmaker"), "convert", "--run", "v2_rock_beat"], check=True, capture_output=True, env=env)
    rows = {}
    short, long = steps
    for name, cluster in (("one process", False), ("ps + 2 workers (async)", True)):
        times = [train_once(work, name, n, batch, cluster) for n in (short, long)]
        per_step = (times[1] - times[0]) / (long - short)
        rows[name] = dict(wall_s={short: round(times[0], 1), long: round(times[1], 1)},
                          s_per_step=round(per_step, 3), examples_per_s=round(batch / per_step, 1))
    one, two = rows["one process"], rows["ps + 2 workers (async)"]
    return dict(batch=batch, steps=list(steps), rows=rows,
                cluster_over_one_process=round(two["examples_per_s"] / one["examples_per_s"], 2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs=2, default=(20, 60), metavar=("SHORT", "LONG"))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--skip-convert", action="store_true", help="keep the conversion figures of --output")
    parser.add_argument("--skip-train", action="store_true", help="keep the training figures of --output")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "bench_scaling.json"))
    args = parser.parse_args()
    result = dict(machine=dict(cpu=_cpu(), cores=os.cpu_count(), python=platform.python_version()),
                  load_before=os.getloadavg()[0], date=time.strftime("%Y-%m-%d"))
    try:
        previous = json.loads(Path(args.output).read_text())
    except (OSError, ValueError):
        previous = {}
    for part, skipped in (("convert", args.skip_convert), ("train", args.skip_train)):
        if skipped and part in previous:  # a part not rerun keeps its figures, with its own machine and load
            result[part] = dict(previous[part], measured=previous[part].get("measured") or dict(
                date=previous.get("date"), machine=previous.get("machine"), load_before=previous.get("load_before")))
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        work = Path(tmp)
        if not args.skip_convert:
            result["convert"] = bench_convert(work)
            print(json.dumps(result["convert"], indent=1), flush=True)
        if not args.skip_train:
            result["train"] = bench_train(work, args.steps, args.batch)
            print(json.dumps(result["train"], indent=1), flush=True)
    result["load_after"] = os.getloadavg()[0]
    Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.output}")


def _cpu():
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


if __name__ == "__main__":
    main()
