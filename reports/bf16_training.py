"""Does training in bf16 learn as fp32 does? A paired run from the same start, at equal steps.

  .venv/bin/python reports/bf16_training.py [--steps 400] [--run v1_all] [--seed 0]
  .venv/bin/python reports/bf16_training.py --report-only

On a CPU that multiplies bf16 in hardware (AMX-BF16 or AVX512-BF16),
`--precision auto` trains the LSTM matmuls in bf16 (bgmaker.compat), which is
faster per step. The campaign relies on it only where this check passes
(bgmaker.training.campaign.training_precision reads reports/bf16_training.json).

Three arms start from the same weights (the run's shipped model, optimizer
anew) and train `--steps` steps each on the run's train windows, niced, one
after another, through `bgmaker train` (Magenta's loop):
- `fp32` and `fp32-again`: the same settings twice. Magenta's input pipeline
  shuffles and the model samples z unseeded, so two fp32 runs differ; their
  difference is the noise floor a bf16 difference is read against;
- `bf16`: the LSTM matmuls in bf16 (this CPU's hardware bf16 if it has one;
  emulated, and slow, on one without).
Each arm's last checkpoint is scored on the validation split with the
campaign's cheap validation (bgmaker.evaluation.evaluate.validate, seeded),
beside the start weights, and each arm's training loss over its last quarter
of steps is read from its progress log.

Pass: on every figure the campaign chooses checkpoints on
(campaign.CHOICE_FIGURES) and on teacher-forced accuracy and the training
loss, bf16 differs from fp32 by no more than max(2 x |fp32 - fp32-again|,
TOLERANCE of the figure), where a difference in bf16's favour always passes.
The check is kept per kind of bf16 hardware (AMX-BF16 on Intel Xeon,
AVX512-BF16 on AMD EPYC: oneDNN runs different kernels on each), run on a
machine of that kind; the campaign trains in bf16 only on a kind whose check
passed. Writes reports/bf16_training.md and .json ("checks", one per kind,
each with the CPU it ran on); a run here replaces only this CPU's kind. State:
$BGMAKER_STATE_DIR/bf16_training/<kind>/<arm>/ (a finished arm is not trained again).

Not part of the test suite: about an hour of this 2-core machine.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bgmaker import paths  # noqa: E402

OUT = REPO / "reports"
ARMS = (("fp32", "fp32"), ("fp32-again", "fp32"), ("bf16", "bf16"))
# (summary key, title, higher is better; None: nearest 0.5 is better, the classifier's)
FIGURES = (("loss_train", "training loss (last quarter)", False),
           ("accuracy_teacher_forced", "teacher-forced acc.", True),
           ("accuracy_free_running", "free-running acc.", True),
           ("sample_overlap", "sample overlap", True),
           ("interp_overlap", "interp. realism", True),
           ("classifier_samples_vs_real", "classifier (0.5 = real)", None))
# The smallest difference read as a difference, whatever the two fp32 runs say: a few windows of the
# 128 the quick validation scores, 1% of the training loss.
TOLERANCE = dict(loss_train=0.01, accuracy_teacher_forced=0.01, accuracy_free_running=0.01,
                 sample_overlap=0.02, interp_overlap=0.02, classifier_samples_vs_real=0.03)


def state():
    from bgmaker.compat import bf16_hardware
    return paths.state_dir() / "bf16_training" / str(bf16_hardware())


def env_for(arm):
    return {**os.environ, "BGMAKER_RUNS_DIR": str(state() / arm), "TF_CPP_MIN_LOG_LEVEL": "2"}


def train(args, arm, precision):
    from bgmaker.training.train import latest_checkpoint
    folder = state() / arm / args.run
    last = latest_checkpoint(str(folder))
    if last and int(last.rsplit("-", 1)[1]) >= args.steps:
        print(f"{arm}: trained ({os.path.basename(last)})", flush=True)
        return last
    print(f"{arm}: training {args.steps} steps in {precision} from {args.start} ({time.strftime('%H:%M')})",
          flush=True)
    from bgmaker.training.command import train_in_child
    log = state() / arm / "train.log"
    code = train_in_child(args.run, ["--precision", precision, "--init-from", str(args.start),
                                     f"--num_steps={args.steps}", "--checkpoints_to_keep=1"],
                          log, env=env_for(arm), nice=args.nice)
    if code != 0:
        raise SystemExit(f"{arm}: training failed (exit {code}); see {log}")
    return latest_checkpoint(str(folder))


def score(args, arm, checkpoint):
    """The arm's validation summary (cached beside its checkpoint) plus its training loss and speed."""
    from bgmaker.evaluation import evaluate
    from bgmaker.training.run_state import read_progress
    cache = state() / arm / "validation.json"
    if cache.is_file() and json.loads(cache.read_text()).get("checkpoint") == os.path.basename(checkpoint):
        summary = json.loads(cache.read_text())
    else:
        print(f"{arm}: validating {os.path.basename(checkpoint)} ({time.strftime('%H:%M')})", flush=True)
        summary = evaluate.validate(args.run, checkpoint, seed=args.seed, log=lambda *_: None,
                                    output_dir=state() / arm / "validation")
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(dict(summary, checkpoint=os.path.basename(checkpoint)), default=float) + "\n")
    folder = Path(checkpoint).parent
    folder = folder.parent if folder.name == "train" else folder  # Magenta's checkpoints live in <run>/train/
    progress = read_progress(folder) if arm != "start" else []
    if progress:
        tail = [r["loss"] for r in progress if r.get("loss") is not None and r["step"] >= 0.75 * args.steps]
        summary["loss_train"] = sum(tail) / len(tail) if tail else None
        summary["cpu_s_per_step"] = progress[-1]["cpu_s"] / max(progress[-1]["step"], 1)
        summary["precision"] = progress[-1].get("precision")
    return summary


def verdict(results):
    """Per figure: bf16 - fp32, the fp32 noise, the allowance and whether bf16 is within it."""
    rows = []
    for key, title, higher in FIGURES:
        a, b, c = (results[arm].get(key) for arm in ("fp32", "fp32-again", "bf16"))
        if a is None or c is None:
            rows.append(dict(figure=key, title=title, passed=None))
            continue
        noise = abs(a - b) if b is not None else 0.0
        allowance = max(2 * noise, TOLERANCE[key])
        if higher is None:
            worse = abs(c - 0.5) - abs(a - 0.5)
        else:
            worse = (a - c) if higher else (c - a)
        rows.append(dict(figure=key, title=title, fp32=a, fp32_again=b, bf16=c, difference=c - a, noise=noise,
                         allowance=allowance, passed=bool(worse <= allowance)))
    return rows


def machine():
    from bgmaker.compat import bf16_hardware, cpu_has_fast_bf16, cpu_model
    return dict(cpu=cpu_model(), cores=os.cpu_count(), hardware_bf16=cpu_has_fast_bf16(),
                bf16_hardware=bf16_hardware())


# Where each kind's check comes from, for the .md.
KIND_TITLES = dict(amx_bf16="AMX-BF16 (Intel Xeon)", avx512_bf16="AVX512-BF16 without AMX (AMD EPYC)")


def read_checks():
    """The checks made so far, by kind of bf16 hardware (bgmaker.training.campaign.bf16_checks, the campaign's
    own reader); an unreadable report is an error here, not an empty one to overwrite."""
    from bgmaker.training.campaign import bf16_checks
    path = OUT / "bf16_training.json"
    if path.is_file() and not bf16_checks(path):
        raise SystemExit(f"bf16_training: {path} holds no readable check; fix or remove it first")
    return bf16_checks(path)


def write(checks):
    (OUT / "bf16_training.json").write_text(json.dumps(dict(checks=checks), indent=1, default=float) + "\n")
    lines = ["# bf16 training against fp32, from the same start at equal steps", "",
             "One paired check per kind of bf16 hardware: the campaign trains in bf16 on a CPU of a kind whose check "
             "passed, in fp32 elsewhere (bgmaker.training.campaign.training_precision).", ""]
    for kind in sorted(checks):
        lines += check_lines(kind, checks[kind])
    (OUT / "bf16_training.md").write_text("\n".join(lines))
    print("\n".join(lines))


def check_lines(kind, report):
    fmt = lambda v: "–" if v is None else f"{v:.4f}"  # noqa: E731
    lines = [f"## {KIND_TITLES.get(kind, kind)}", "", f"`{report['command']}`", "",
             f"Run `{report['run']}`, start: `{report['start']}`, {report['steps']} steps of batch "
             f"{report['batch_size']} per arm; validation: the campaign's quick validation (seed {report['seed']}). "
             f"CPU: {report['machine']['cpu']} ({report['machine']['cores']} cores, hardware bf16: "
             f"{report['machine']['hardware_bf16']}).", "",
             "| figure | start | fp32 | fp32 again | bf16 | bf16 − fp32 | allowed | bf16 as fp32 |",
             "|---|---|---|---|---|---|---|---|"]
    for row in report["rows"]:
        start = report["results"]["start"].get(row["figure"])
        if row["passed"] is None:
            lines.append(f"| {row['title']} | {fmt(start)} | – | – | – | – | – | not measured |")
            continue
        lines.append(f"| {row['title']} | {fmt(start)} | {fmt(row['fp32'])} | {fmt(row['fp32_again'])} | "
                     f"{fmt(row['bf16'])} | {row['difference']:+.4f} | {row['allowance']:.4f} | "
                     f"{'yes' if row['passed'] else '**no**'} |")
    speed = {arm: report["results"][arm].get("cpu_s_per_step") for arm, _ in ARMS}
    lines += ["", "CPU-seconds per step (whole process, start-up included): " +
              ", ".join(f"{arm} {v:.2f}" for arm, v in speed.items() if v), "",
              f"**Verdict: {'bf16 learns as fp32 does' if report['passed'] else 'bf16 does NOT match fp32'}** "
              "(bf16 − fp32 within max(2 × |fp32 − fp32 again|, a fixed tolerance) on every figure; a difference in "
              "bf16's favour passes).", ""]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="v1_all")
    parser.add_argument("--start", default=None, help="weights to start from (default: models/<run>)")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nice", type=int, default=10)
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args()
    if args.report_only:
        if not (OUT / "bf16_training.json").is_file():
            raise SystemExit("bf16_training: no reports/bf16_training.json to rewrite; run the check first")
        write(read_checks())
        return 0
    from bgmaker.compat import bf16_hardware
    if bf16_hardware() is None:
        raise SystemExit("bf16_training: this CPU has no hardware bf16 (neither amx_bf16 nor avx512_bf16 in "
                         "/proc/cpuinfo); the campaign trains in fp32 here and there is nothing to check")
    from bgmaker import models
    from bgmaker.data.convert import converted
    args.start = args.start or str(paths.models_dir() / args.run)
    start = models.resolve_checkpoint(args.start)
    converted(args.run, paths.data_dir())
    results = {"start": score(args, "start", start)}
    for arm, precision in ARMS:
        results[arm] = score(args, arm, train(args, arm, precision))
    rows = verdict(results)
    batch = json.loads((Path(start).parent / "bgmaker_run.json").read_text())["hparams"]["batch_size"] \
        if (Path(start).parent / "bgmaker_run.json").is_file() else None
    checks = read_checks()
    checks[bf16_hardware()] = dict(command="python reports/bf16_training.py " + " ".join(sys.argv[1:]), run=args.run,
               start=os.path.relpath(args.start, REPO) if args.start.startswith(str(REPO)) else args.start,
               steps=args.steps, batch_size=batch, seed=args.seed, machine=machine(), results=results, rows=rows,
               passed=all(r["passed"] is not False for r in rows) and any(r["passed"] for r in rows),
               time=time.strftime("%Y-%m-%dT%H:%M:%S"))
    write(checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
