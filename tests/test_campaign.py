"""The campaign's bookkeeping: where it stands, which milestone it ships (no training here)."""
import json
import os
import subprocess
import sys

import pytest

from bgmaker.errors import UserError
from bgmaker.training import campaign
from bgmaker.training.run_state import read_milestones

from conftest import REPO, run_cli



def _line(lines, stage):
    """The status line of one stage (their order is the campaign's, humanize first)."""
    return next(line for line in lines if line.startswith(f"{stage}: "))

def test_status_reads_the_runs_accounts(tmp_path, monkeypatch):
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path))
    folder = tmp_path / "campaign" / "runs" / "v1_all"
    (folder / "milestones").mkdir(parents=True)
    (folder / "progress.jsonl").write_text(
        json.dumps(dict(step=100, examples=6400, cpu_s=1800.0, wall_s=1000.0, loss=170.0, cpu="AMD EPYC 9R14",
                        precision="fp32")) + "\n"
        + '{"step": 120, "examp')  # a line torn by a kill is ignored
    (folder / "milestones" / "index.jsonl").write_text(
        json.dumps(dict(checkpoint="model.ckpt-90", step=90, examples=5760, cpu_s=1700.0, wall_s=900.0)) + "\n")
    lines = campaign.status()
    assert lines[0].startswith("campaign: not running")
    assert _line(lines, "v1_all").startswith("v1_all: 0.50 of 24 CPU-hours, step 100, 6,400 examples, 1 milestones")
    assert _line(lines, "v1_all").endswith("; last trained on AMD EPYC 9R14 in fp32")
    assert _line(lines, "v2_rock_beat").startswith("v2_rock_beat: 0.00 of 6 CPU-hours, step 0")
    assert not campaign.stage_done("v1_all", 16) and campaign.stage_done("v1_all", 0.5)
    proc = run_cli(str(REPO / "scripts" / "campaign.sh"), "--status", env={"BGMAKER_STATE_DIR": str(tmp_path)})
    assert "v1_all: 0.50 of 24 CPU-hours" in proc.stdout
    piped = subprocess.run(["bash", "-c", f"'{REPO}/.venv/bin/bgmaker' campaign --status | head -c 0; "
                                          "exit ${PIPESTATUS[0]}"],
                           capture_output=True, text=True, env=dict(os.environ, BGMAKER_STATE_DIR=str(tmp_path)))
    assert piped.returncode == 0 and not piped.stderr, f"a reader that stops early is no error: {piped.stderr}"


def test_choose_takes_the_best_mean_rank_and_a_classifier_near_chance():
    def record(cpu, acc, overlap, interp, classifier):
        return dict(checkpoint=f"model.ckpt-{cpu}", cpu_s=cpu, summary=dict(
            accuracy_free_running=acc, sample_overlap=overlap, interp_overlap=interp,
            classifier_samples_vs_real=classifier))
    early = record(1, 0.40, 0.60, 0.50, 0.80)
    good = record(2, 0.55, 0.70, 0.60, 0.55)
    overfit = record(3, 0.56, 0.65, 0.55, 0.30)  # a classifier far below chance is as bad as far above
    assert campaign.choose([early, good, overfit]) is good
    assert campaign.choose([]) is None
    missing = record(4, None, 0.9, 0.9, 0.5)
    assert campaign.choose([missing, good])["checkpoint"] in ("model.ckpt-2", "model.ckpt-4")


def test_a_lost_machine_resumes_from_the_committed_model_and_counts_its_cpu(tmp_path, monkeypatch):
    """State gone, models/ committed: v1_all goes on from its shipped milestone with the CPU it had spent;
    v2_rock_beat (nothing of its own shipped by the campaign) starts from v1_all's model, every 20 CPU-minutes."""
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    for run, record in (("v1_all", dict(run="v1_all", shipped=dict(cpu_hours=2.0, step=1361))),
                        ("v2_rock_beat", dict(run="v2_rock_beat"))):  # an older model, not the campaign's
        (tmp_path / "models" / run).mkdir(parents=True)
        (tmp_path / "models" / run / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1"\n')
        (tmp_path / "models" / run / "bgmaker_run.json").write_text(json.dumps(record))
    assert campaign.resume_source("v1_all", None) == (str(tmp_path / "models" / "v1_all"), 7200.0)
    assert _line(campaign.status(), "v1_all").endswith("had spent 2.00 of 24 CPU-hours; a resume goes on from it")
    assert _line(campaign.status(), "v2_rock_beat").startswith("v2_rock_beat: 0.00 of 6 CPU-hours")  # an older model: no credit
    assert campaign.resume_source("v2_rock_beat", "v1_all") == (str(tmp_path / "models" / "v1_all"), 0.0)

    commands = []
    monkeypatch.setattr("bgmaker.data.convert.converted", lambda *a, **k: None)
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **k: commands.append(command) or subprocess.CompletedProcess(command, 0))
    monkeypatch.setattr(campaign, "run_trials", lambda *a, **k: dict(recipe="windows-b64"))  # tested below
    for name, hours, parent, minutes in campaign.STAGES:
        if name != "humanize":  # from scratch: no committed model to resume (tested below)
            campaign.train_stage(name, hours, parent, 10, minutes)
    v1, v2 = (" ".join(c) for c in commands)
    # each chunk is a library training process (bgmaker.training), niced; the bgmaker command is not involved
    assert all(c[:3] == ["nice", "-n", "10"] and c[3:6] == [sys.executable, "-m", "bgmaker.training"]
               for c in commands)
    # v1_all has a plateau rule from 16 CPU-hours (#26): its first chunk trains to it, 14 after the 2 credited;
    # it goes on from its own committed model with that model's step (the learning-rate schedule continues)
    assert "--cpu-hours 14 " in v1 and f"--init-from {tmp_path / 'models' / 'v1_all'} --init-step" in v1
    assert "--init-step" not in v2  # a warm start from the parent begins at step 0
    assert "--milestone-every 60 " in v1
    # v2_rock_beat has a plateau rule: its first chunk trains to the rule's minimum
    assert f"--cpu-hours {campaign.PLATEAU['v2_rock_beat']['minimum']:g} " in v2
    assert "--milestone-every 20 " in v2 and "--init-from" in v2
    lines = campaign.status()
    assert _line(lines, "v1_all").startswith("v1_all: 2.00 of 24 CPU-hours (incl. 2.00 spent before, in ")
    assert not campaign.stage_done("v1_all", 8) and campaign.stage_done("v1_all", 2)


def test_an_intact_state_starts_v2_from_v1s_best_milestone_and_a_spent_budget_trains_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    for run, cpu_hours in (("v1_all", 24.0), ("v2_rock_beat", 1.0)):  # both shipped by an earlier campaign
        (tmp_path / "models" / run).mkdir(parents=True)
        (tmp_path / "models" / run / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1"\n')
        (tmp_path / "models" / run / "bgmaker_run.json").write_text(json.dumps(dict(shipped=dict(cpu_hours=cpu_hours))))
    milestones = campaign.run_dir("v1_all") / "milestones"
    milestones.mkdir(parents=True)
    (milestones / "index.jsonl").write_text(json.dumps(dict(checkpoint="model.ckpt-5000", step=5000, examples=1,
                                                            cpu_s=28000.0, wall_s=1.0)) + "\n")
    best = str(milestones / "model.ckpt-5000")
    monkeypatch.setattr(campaign, "best_milestone", lambda name: dict(checkpoint=best))
    # v1_all's milestones here are newer than the committed v2_rock_beat: v2 starts from them, with no credit
    assert campaign.resume_source("v2_rock_beat", "v1_all") == (best, 0.0)

    commands = []
    monkeypatch.setattr("bgmaker.data.convert.converted", lambda *a, **k: None)
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **k: commands.append(command) or subprocess.CompletedProcess(command, 0))
    # state lost for v1_all but its committed model had spent all 24 CPU-hours: nothing to train
    assert campaign.train_stage("v1_all", 24.0, None, 10, 60.0) == 0 and not commands
    assert campaign.stage_done("v1_all", 24.0)


def test_a_second_campaign_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path))
    other = subprocess.Popen(["sleep", "30"])
    try:
        (tmp_path / "campaign.pid").write_text(f"{other.pid}\n")
        with pytest.raises(UserError, match=f"already running \\(pid {other.pid}\\)"):
            campaign.claim()
        assert campaign.status()[0] == f"campaign: running in the background (pid {other.pid})"
    finally:
        other.kill()
        other.wait()
    campaign.claim()  # the other one is gone: this process takes over
    assert (tmp_path / "campaign.pid").read_text().strip() == str(os.getpid())


def test_a_warm_started_stage_must_beat_the_weights_it_started_from(tmp_path, monkeypatch):
    """v2_rock_beat's starting weights (v1_all's milestone) are scored on v2's validation split, once, as the
    0-CPU point; --ship refuses a best milestone that loses to them head to head."""
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path))
    v1 = campaign.run_dir("v1_all") / "milestones"
    v1.mkdir(parents=True)
    (v1 / "index.jsonl").write_text(json.dumps(dict(checkpoint="model.ckpt-5000", step=5000, examples=320000,
                                                    cpu_s=28800.0, wall_s=1.0)) + "\n")
    v2 = campaign.run_dir("v2_rock_beat")
    v2.mkdir(parents=True)
    assert campaign.start_point("v2_rock_beat") is None  # no run record: from scratch, no start to beat
    (v2 / "bgmaker_run.json").write_text(json.dumps(dict(init_from="../v1_all/milestones/model.ckpt-5000")))
    assert campaign.start_point("v2_rock_beat") == v1 / "model.ckpt-5000"

    def figures(acc):
        return dict(accuracy_free_running=acc, sample_overlap=acc, interp_overlap=acc,
                    classifier_samples_vs_real=0.6)
    scored = []
    from bgmaker.evaluation import evaluate
    monkeypatch.setattr(evaluate, "validate", lambda run, checkpoint, **k: scored.append((run, checkpoint))
                        or figures(0.5))
    start = campaign.start_score("v2_rock_beat", log=lambda *_: None)
    assert scored == [("v2_rock_beat", str(v1 / "model.ckpt-5000"))]  # v1's weights on v2's validation split
    assert (start["cpu_s"], start["step"], start["examples"], start["start"]) == (0.0, 5000, 320000, True)
    assert campaign.start_score("v2_rock_beat")["summary"] == start["summary"] and len(scored) == 1  # cached

    (v2 / "milestones").mkdir()
    (v2 / "milestones" / "index.jsonl").write_text(json.dumps(dict(checkpoint="model.ckpt-700", step=700,
                                                                   examples=44800, cpu_s=3600.0, wall_s=1.0)) + "\n")
    worse = dict(checkpoint=str(v2 / "milestones" / "model.ckpt-700"), step=700, examples=44800, cpu_s=3600.0,
                 summary=figures(0.4))
    monkeypatch.setattr(campaign, "validation_scores", lambda name, **k: [worse])
    assert campaign.stage_choice("v2_rock_beat")[:2] == (start, start)
    with pytest.raises(UserError, match="none of its milestones has beaten its starting weights model.ckpt-5000"):
        campaign.ship("v2_rock_beat")
    better = dict(worse, summary=figures(0.6))
    assert campaign.choose([better, start]) is better


def test_a_stage_with_a_flat_validation_curve_stops_before_its_budget(tmp_path, monkeypatch):
    """v2_rock_beat trains in chunks ending on milestones; once past its minimum, it stops when its best
    milestone on validation is `patience` CPU-hours old, and says so in --status."""
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path))
    folder = campaign.run_dir("v2_rock_beat")
    (folder / "milestones").mkdir(parents=True)
    rule = campaign.PLATEAU["v2_rock_beat"]

    def spend(hours):
        (folder / "progress.jsonl").write_text(json.dumps(dict(step=int(hours * 700), examples=1, cpu_s=hours * 3600,
                                                               wall_s=1.0, loss=1.0)) + "\n")
        (folder / "milestones" / "index.jsonl").write_text("".join(
            json.dumps(dict(checkpoint=f"model.ckpt-{i}", step=i, examples=i, cpu_s=i * 1200.0, wall_s=1.0)) + "\n"
            for i in range(1, int(hours * 3 + 1e-9) + 1)))

    commands = []
    monkeypatch.setattr("bgmaker.data.convert.converted", lambda *a, **k: None)
    monkeypatch.setattr("bgmaker.training.train.latest_checkpoint", lambda *a: "model.ckpt-1")
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **k: commands.append(command) or subprocess.CompletedProcess(command, 0))
    spend(1.0)
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)
    assert commands[-1][commands[-1].index("--cpu-hours") + 1] == f"{rule['minimum']:g}"  # first to the minimum
    assert campaign.check_plateau("v2_rock_beat") is None  # before the minimum: nothing scored
    spend(rule["minimum"])
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)
    chunk = float(commands[-1][commands[-1].index("--cpu-hours") + 1])
    assert chunk == pytest.approx(rule["minimum"] + campaign.CHECK_EVERY / 3, abs=1e-4)  # then 2 milestones at a time

    # a stage resumed with credit (CPU spent before a lost machine) still ends its chunks on its own milestones
    (folder / campaign.CREDIT_FILE).write_text(json.dumps(dict(cpu_s=1.34 * 3600, model="models/v2_rock_beat")))
    spend(0.33)
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)
    assert float(commands[-1][commands[-1].index("--cpu-hours") + 1]) == pytest.approx(5 / 3, abs=1e-5)
    assert float(commands[-1][commands[-1].index("--cpu-hours") + 1]) * 3 >= 5  # never just short of a milestone
    (folder / campaign.CREDIT_FILE).unlink()
    spend(11 / 3)
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)  # to milestone 13 at 13/3 CPU-hours, not 12 ms short
    assert float(commands[-1][commands[-1].index("--cpu-hours") + 1]) >= 13 / 3

    best_at = 4  # milestone 4 (1.33 CPU-hours) scores best; later ones score worse
    monkeypatch.setattr(campaign, "start_score", lambda name, **k: None)
    monkeypatch.setattr(campaign, "validation_scores", lambda name, **k: [
        dict(checkpoint=f"model.ckpt-{i}", cpu_s=i * 1200.0, summary=dict(
            accuracy_free_running=1.0 - abs(i - best_at) / 100, sample_overlap=0.7, interp_overlap=0.7,
            classifier_samples_vs_real=0.6))
        for i in range(1, int(campaign.spent_s("v2_rock_beat") / 1200 + 1e-9) + 1)])
    spend(3.0)  # newest milestone 3.0 CPU-hours, best 1.33: 1.67 old, under the patience
    assert campaign.check_plateau("v2_rock_beat", log=lambda *_: None) is None
    assert not campaign.stage_done("v2_rock_beat", 6.0)
    # milestones land a step past their boundary: the best one 5 CPU-seconds late, the newest on time
    late_best = lambda newest: lambda name, **k: [  # noqa: E731
        dict(checkpoint=f"model.ckpt-{i}", cpu_s=i * 1200.0 + (5.0 if i == best_at else 0.0), summary=dict(
            accuracy_free_running=1.0 - abs(i - best_at) / 100, sample_overlap=0.7, interp_overlap=0.7,
            classifier_samples_vs_real=0.6)) for i in range(1, newest + 1)]
    spend(3.0)
    monkeypatch.setattr(campaign, "validation_scores", late_best(9))  # 5 intervals (1.67 h) after the best
    assert campaign.check_plateau("v2_rock_beat", log=lambda *_: None) is None
    spend(10 / 3)
    monkeypatch.setattr(campaign, "validation_scores", late_best(10))  # exactly 6 intervals: 2 CPU-hours, 5 s short
    record = campaign.check_plateau("v2_rock_beat", log=lambda *_: None)
    assert record["best"] == "model.ckpt-4" and record["best_cpu_hours"] == 1.33
    assert campaign.stage_done("v2_rock_beat", 6.0)
    assert "stopped, its validation curve flat: best milestone model.ckpt-4" in _line(campaign.status(), "v2_rock_beat")


def test_the_campaign_loop_trains_chunks_until_the_plateau_and_stops_on_a_chunk_that_trains_nothing(
        tmp_path, monkeypatch):
    """The campaign's loop, `resume` (no training: each chunk adds its milestones): humanize and v1_all are done,
    v2_rock_beat trains chunk after chunk, is checked before each, stops on its plateau; a chunk with no new
    milestone ends it."""
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(campaign.os, "nice", lambda n: None)
    monkeypatch.setattr(campaign, "stage_done",
                        lambda name, hours: name in ("humanize", "v1_all") or (campaign.run_dir(name) / campaign.PLATEAU_FILE).exists())
    folder = campaign.run_dir("v2_rock_beat")
    (folder / "milestones").mkdir(parents=True)
    chunks = []

    def train_stage(name, hours, parent, nice, minutes):  # two milestones a chunk, 20 CPU-minutes apart
        chunks.append(name)
        with open(folder / "milestones" / "index.jsonl", "a") as f:
            for _ in range(2 if len(chunks) < 99 else 0):
                i = len(read_milestones(folder)) + 1
                f.write(json.dumps(dict(checkpoint=f"model.ckpt-{i}", step=i, examples=i, cpu_s=i * 1200.0,
                                        wall_s=1.0)) + "\n")
        return 0
    monkeypatch.setattr(campaign, "train_stage", train_stage)
    checks, flat_at = [], [8]

    def check_plateau(name, log):  # flat once 8 milestones exist
        checks.append(len(read_milestones(campaign.run_dir(name))))
        if name == "v2_rock_beat" and checks[-1] >= flat_at[0]:
            (folder / campaign.PLATEAU_FILE).write_text("{}")
            return {}
        return None
    monkeypatch.setattr(campaign, "check_plateau", check_plateau)
    monkeypatch.setattr(campaign, "status", lambda: [])
    carried = []  # each chunk's newest milestone is carried for another machine (tested below), and once the
    # curve is flat the best one with its plateau record, so another machine ships it rather than the newest
    monkeypatch.setattr(campaign, "carry", lambda name: carried.append(
        (name, (campaign.run_dir(name) / campaign.PLATEAU_FILE).exists())))
    assert campaign.resume(nice=10, log=lambda m: None) == 0
    assert (chunks, checks) == (["v2_rock_beat"] * 4, [0, 2, 4, 6, 8])
    assert carried == [("v2_rock_beat", False)] * 4 + [("v2_rock_beat", True)]

    (folder / campaign.PLATEAU_FILE).unlink()
    chunks[:], flat_at[0] = ["x"] * 98, 99  # not flat yet, and the next chunk adds no milestone
    said = []
    assert campaign.resume(nice=10, log=said.append) == 1
    assert said[-1].startswith("bgmaker campaign: v2_rock_beat made no new milestone (log: ")


def test_a_stage_that_stopped_on_its_plateau_stays_stopped_on_a_new_machine(tmp_path, monkeypatch):
    """The shipped record carries the plateau; a lost state resumes into a stopped stage, training nothing."""
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    flat = dict(best="model.ckpt-1638", best_cpu_hours=2.33, spent_cpu_hours=4.33)
    for run, shipped in (("v1_all", dict(cpu_hours=24.0)), ("v2_rock_beat", dict(cpu_hours=2.33, plateau=flat))):
        (tmp_path / "models" / run).mkdir(parents=True)
        (tmp_path / "models" / run / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1"\n')
        (tmp_path / "models" / run / "bgmaker_run.json").write_text(json.dumps(dict(shipped=shipped)))
    # before anything runs, --status says what the committed models hold: neither stage has anything to train
    lines = campaign.status()
    assert _line(lines, "v1_all").startswith("v1_all: no state on this machine; its committed model ") \
        and _line(lines, "v1_all").endswith("had spent 24.00 of 24 CPU-hours: its budget is spent (nothing to train)")
    assert "had spent 2.33 of 6 CPU-hours; stopped at 4.33, its validation curve flat: best milestone " \
           "model.ckpt-1638 at 2.33 CPU-hours (nothing to train)" in _line(lines, "v2_rock_beat")
    commands = []
    monkeypatch.setattr("bgmaker.data.convert.converted", lambda *a, **k: None)
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **k: commands.append(command) or subprocess.CompletedProcess(command, 0))
    assert campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0) == 0 and not commands
    assert campaign.stage_done("v2_rock_beat", 6.0)
    assert campaign.plateau("v2_rock_beat")["best"] == "model.ckpt-1638"


def test_a_fine_tuning_stage_first_tries_each_recipe_at_equal_cpu_and_trains_with_the_best(tmp_path, monkeypatch):
    """#26: before v2_rock_beat's first step, every TRIALS recipe trains the same CPU from v1_all's best milestone;
    the milestone that ranks first on validation (the parent's own weights among them) names the stage's recipe,
    recorded once (choice.json) and passed on every chunk."""
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    for name in ("BGMAKER_DATA_DIR", "BGMAKER_RUNS_DIR"):  # scoring points them at the campaign's: restored after
        monkeypatch.setenv(name, os.environ.get(name, str(tmp_path / name)))
    parent = str(tmp_path / "v1_all" / "model.ckpt-9")
    monkeypatch.setattr(campaign, "best_milestone", lambda name: dict(checkpoint=parent))
    monkeypatch.setattr("bgmaker.data.convert.converted", lambda *a, **k: None)
    plan = campaign.TRIALS["v2_rock_beat"]
    commands = []

    def run(command, env=None, **k):  # a trial "trains": one milestone, at step 10 after its CPU-hour, or at
        commands.append(command)     # the steps it is matched to (in half the CPU: a faster machine)
        if "--recipe" in command and "--init-step" not in command and env["BGMAKER_RUNS_DIR"] != str(campaign.root() / "runs"):
            recipe = command[command.index("--recipe") + 1]
            folder = campaign.trial_dir("v2_rock_beat", recipe)
            (folder / "milestones").mkdir(parents=True, exist_ok=True)
            matched = "--milestone-steps" in command
            step = int(command[command.index("--milestone-steps") + 1].split(",")[-1]) if matched else 10
            cpu_s = plan["cpu_hours"] * 3600 / (2 if matched else 1)
            (folder / "progress.jsonl").write_text(json.dumps(dict(step=step, cpu_s=cpu_s, wall_s=1.0,
                                                                   cpu="Intel(R) Xeon(R)", precision="bf16")) + "\n")
            (folder / "milestones" / "index.jsonl").write_text(json.dumps(dict(
                checkpoint=f"model.ckpt-{step}", step=step, examples=64 * step, cpu_s=cpu_s, wall_s=1.0)) + "\n")
        return subprocess.CompletedProcess(command, 0)
    monkeypatch.setattr(subprocess, "run", run)
    accuracy = {"windows-b64": 0.50, "finetune-lr3e-4": 0.52, "replay25": 0.56, "replay25-lr3e-4": 0.54}

    def validate(run_name, checkpoint, output_dir=None, **k):
        recipe = next((r for r in accuracy if f"/{r}/" in str(checkpoint)), None)
        value = accuracy[recipe] if recipe else 0.45  # the parent's weights
        return dict(accuracy_free_running=value, sample_overlap=value, interp_overlap=value,
                    classifier_samples_vs_real=1 - value)
    monkeypatch.setattr("bgmaker.evaluation.evaluate.validate", validate)
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)
    trials = [c for c in commands if "--recipe" in c and "--checkpoints_to_keep=1" in c]  # not the stage's
    assert [c[c.index("--recipe") + 1] for c in trials] == list(plan["recipes"])
    assert all(c[c.index("--init-from") + 1] == parent for c in trials)
    # plain fine-tuning trains its CPU-hour; every other recipe to the steps that hour gave it (equal steps on
    # any CPU), with a runaway cap on its CPU
    assert "--milestone-steps" not in trials[0] and trials[0][trials[0].index("--cpu-hours") + 1] == f"{plan['cpu_hours']:g}"
    assert all(c[c.index("--milestone-steps") + 1] == "10" for c in trials[1:])
    assert "the others train to windows-b64's steps 10" in _line(campaign.status(), "v2_rock_beat recipe trials")
    stage = commands[-1]
    assert stage[stage.index("--recipe") + 1] == "replay25" and stage[stage.index("--init-from") + 1] == parent
    assert campaign.trial_choice("v2_rock_beat")["recipe"] == "replay25"
    assert "chosen: replay25" in _line(campaign.status(), "v2_rock_beat recipe trials")
    commands.clear()
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)  # the choice holds: no trial again
    assert len(commands) == 1 and "replay25" in commands[0]

    # Another machine: the finished trials' scores are carried (models/carry/v2_rock_beat.trials.json, committed),
    # so none trains again and the choice is the same; from other parent weights they count for nothing.
    carried = json.loads(campaign.carry_trials_path("v2_rock_beat").read_text())
    assert carried["start_step"] == 9 and sorted(carried["trials"]) == sorted(plan["recipes"])
    assert {r["checkpoint"] for t in carried["trials"].values() for r in t["validation"]} == {"model.ckpt-10"}
    assert all(t["machines"] == ["Intel(R) Xeon(R), bf16"] for t in carried["trials"].values())  # where each hour went
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "new_machine"))
    assert "(carried: windows-b64, finetune-lr3e-4, replay25, replay25-lr3e-4)" in _line(
        campaign.status(), "v2_rock_beat recipe trials")
    commands.clear()
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)
    assert len(commands) == 1 and commands[0][commands[0].index("--recipe") + 1] == "replay25"
    assert campaign.trial_choice("v2_rock_beat")["best"] == "model.ckpt-10"
    monkeypatch.setattr(campaign, "best_milestone", lambda name: dict(checkpoint=str(tmp_path / "v1_all" / "model.ckpt-12")))
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "third_machine"))
    commands.clear()
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)
    assert [c[c.index("--recipe") + 1] for c in commands[:-1]] == list(plan["recipes"])


def test_a_child_stage_inherited_from_its_committed_model_starts_again_once_the_parent_trains_here(tmp_path, monkeypatch):
    """v2_rock_beat stopped on its plateau in its committed model; once v1_all has milestones here (newer weights),
    that inheritance is dropped and v2_rock_beat trains again from them. Its own checkpoints would be kept."""
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    folder = campaign.run_dir("v2_rock_beat")
    folder.mkdir(parents=True)
    (folder / campaign.CREDIT_FILE).write_text(json.dumps(dict(cpu_s=8388.0, model="models/v2_rock_beat")))
    (folder / campaign.PLATEAU_FILE).write_text(json.dumps(dict(best="model.ckpt-1638", from_model="models/v2_rock_beat")))
    assert campaign.stage_done("v2_rock_beat", 6.0)
    assert not campaign.forget_stale_start("v2_rock_beat", "v1_all", log=lambda m: None)  # v1_all has trained nothing here
    milestones = campaign.run_dir("v1_all") / "milestones"
    milestones.mkdir(parents=True)
    (milestones / "index.jsonl").write_text(json.dumps(dict(checkpoint="model.ckpt-9000", step=9000, examples=1,
                                                            cpu_s=3600.0, wall_s=1.0)) + "\n")
    assert campaign.forget_stale_start("v2_rock_beat", "v1_all", log=lambda m: None)
    assert not campaign.stage_done("v2_rock_beat", 6.0) and campaign.credit("v2_rock_beat") == (0.0, None)
    assert not campaign.forget_stale_start("v1_all", None, log=lambda m: None)  # a stage with no parent keeps its credit


def test_a_child_model_fine_tuned_from_older_parent_weights_is_not_resumed_on_a_new_machine(tmp_path, monkeypatch):
    """A new machine has no milestones of v1_all, only its committed model; v2_rock_beat's committed model was
    fine-tuned from an older v1_all (a smaller step), so v2_rock_beat starts again from the new one rather than
    taking the old model's plateau for its own."""
    from bgmaker.models import records
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    child = tmp_path / "v2_rock_beat"
    child.mkdir()
    (child / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1638"\n')
    record = dict(init_from="../v1_all/milestones/model.ckpt-5619", shipped=dict(run_cpu_hours=4.33))
    (child / records.RUN_RECORD).write_text(json.dumps(record))
    monkeypatch.setattr(campaign.records, "carry_dir", lambda name: tmp_path / "carry" / name)
    monkeypatch.setattr("bgmaker_configs.runs.Run.shipped_dir", property(
        lambda run: child if run.name == "v2_rock_beat" else tmp_path / "none"))
    monkeypatch.setattr(campaign, "parent_weights", lambda parent: str(tmp_path / "v1_all" / "model.ckpt-24775"))
    assert campaign.fine_tuned_from_older(child, "v1_all")
    assert campaign.committed_model("v2_rock_beat", "v1_all") == (None, 0.0)
    assert campaign.resume_source("v2_rock_beat", "v1_all") == (str(tmp_path / "v1_all" / "model.ckpt-24775"), 0.0)
    # a state that had already inherited the old model's credit and plateau drops them
    folder = campaign.run_dir("v2_rock_beat")
    folder.mkdir(parents=True)
    (folder / campaign.CREDIT_FILE).write_text(json.dumps(dict(cpu_s=15588.0, model=str(child))))
    (folder / campaign.PLATEAU_FILE).write_text(json.dumps(dict(best="model.ckpt-1638")))
    assert campaign.stage_done("v2_rock_beat", 6.0)
    assert campaign.forget_stale_start("v2_rock_beat", "v1_all", log=lambda m: None)
    assert not campaign.stage_done("v2_rock_beat", 6.0) and campaign.credit("v2_rock_beat") == (0.0, None)
    monkeypatch.setattr(campaign, "parent_weights", lambda parent: str(tmp_path / "v1_all" / "model.ckpt-5619"))
    assert not campaign.fine_tuned_from_older(child, "v1_all")  # from the parent's weights as they are: resumed
    assert campaign.committed_model("v2_rock_beat", "v1_all") == (str(child), 4.33 * 3600)


def test_a_new_runs_milestone_is_carried_though_an_older_lineages_model_had_spent_more(tmp_path, monkeypatch):
    """The shipped v2_rock_beat (4.33 CPU-hours, fine-tuned from an older v1_all) is another run's: it cannot have
    seen the new run's milestone, so carry exports it; a model of the same lineage that had spent more did see it."""
    from bgmaker.models import records
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1638"\n')
    (shipped / records.RUN_RECORD).write_text(json.dumps(dict(init_from="../v1_all/milestones/model.ckpt-5619",
                                                              shipped=dict(run_cpu_hours=4.33))))
    monkeypatch.setattr("bgmaker_configs.runs.Run.shipped_dir", property(lambda run: shipped))
    monkeypatch.setattr(campaign.records, "carry_dir", lambda name: tmp_path / "carry" / name)
    milestones = campaign.run_dir("v2_rock_beat") / "milestones"
    milestones.mkdir(parents=True)
    (milestones / "index.jsonl").write_text(json.dumps(dict(checkpoint="model.ckpt-2528", step=2528,
                                                            examples=161792, cpu_s=2400.3, wall_s=1.0)) + "\n")
    monkeypatch.setattr(campaign, "stage_history", lambda name: dict(progress=[], validation=[], starts=[]))

    def export(name, checkpoint, out, **k):
        out.mkdir(parents=True)
        (out / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-2528"\n')
        return str(out / "model.ckpt-2528")
    monkeypatch.setattr("bgmaker.models.export.export", export)
    monkeypatch.setattr(campaign, "parent_weights", lambda parent: str(tmp_path / "v1_all" / "model.ckpt-5619"))
    assert campaign.carry("v2_rock_beat") is None  # the same lineage, shipped at 4.33 CPU-hours: it saw this one
    monkeypatch.setattr(campaign, "parent_weights", lambda parent: str(tmp_path / "v1_all" / "model.ckpt-24775"))
    assert campaign.carry("v2_rock_beat") == str(tmp_path / "carry" / "v2_rock_beat" / "model.ckpt-2528")
    assert records.read_record(tmp_path / "carry" / "v2_rock_beat")["carried"]["step"] == 2528


def test_a_stage_is_carried_in_git_and_a_new_machine_goes_on_from_it(tiny_model, tmp_path, monkeypatch):
    """The state lives on one machine: `carry` exports a stage's newest milestone (fp16-rounded) to
    models/carry/<run> with the CPU it had spent and its curves; with the state gone, the stage goes on from
    it (its step, its CPU credited) rather than from its older shipped model, and its curves keep the carried
    ones. Shipping the finished stage drops the carry."""
    import shutil

    from bgmaker.models import records
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    shipped = tmp_path / "models" / "v1_all"  # shipped by the campaign at 2 CPU-hours; the state went on from it
    shipped.mkdir(parents=True)
    (shipped / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1"\n')
    (shipped / "bgmaker_run.json").write_text(json.dumps(dict(shipped=dict(cpu_hours=2.0, run_cpu_hours=2.0))))
    folder = campaign.run_dir("v1_all")
    (folder / "milestones").mkdir(parents=True)
    for f in tiny_model["checkpoint"].parent.glob("model.ckpt-2.*"):
        shutil.copy(f, folder / "milestones" / f.name)
    (folder / "hparams.txt").write_text(tiny_model["hparams"] + "\n")
    (folder / "bgmaker_run.json").write_text(json.dumps(dict(run="v1_all", starts=[dict(cpu_s_before=0.0)])))
    (folder / campaign.CREDIT_FILE).write_text(json.dumps(dict(cpu_s=7200.0, model=str(shipped))))
    (folder / "progress.jsonl").write_text("".join(
        json.dumps(dict(step=s, examples=s * 64, cpu_s=c, wall_s=c, loss=1.0, cpu="AMD EPYC", precision="bf16")) + "\n"
        for s, c in ((1, 1800.0), (2, 3600.0), (3, 3700.0))))
    (folder / "milestones" / "index.jsonl").write_text(json.dumps(dict(
        checkpoint="model.ckpt-2", step=2, examples=128, cpu_s=3600.0, wall_s=3600.0)) + "\n")

    proc = run_cli("bgmaker", "campaign", "--carry", "v3_jazz", check=False)
    assert proc.returncode == 2 and "--carry v3_jazz: not a campaign stage (one of humanize, v1_all, v2_rock_beat)" \
        in proc.stderr
    prefix = campaign.carry("v1_all")
    carried = records.carry_dir("v1_all")
    assert prefix == str(carried / "model.ckpt-2") and (carried / "model.ckpt-2.index").is_file()
    record = records.read_record(carried)
    assert record["carried"]["cpu_s"] == 10800.0 and record["carried"]["step"] == 2  # its own hour + the 2 credited
    assert record["carried"]["precision"] == "bf16" and "float16" in record["weights"]
    history = json.loads((carried / campaign.HISTORY_FILE).read_text())
    assert [p["cpu_s"] for p in history["progress"]] == [9000.0, 10800.0]  # up to the milestone, whole-stage CPU
    assert campaign.carry("v1_all") is None  # nothing newer
    with open(folder / "milestones" / "index.jsonl", "a") as f:  # a newer milestone replaces the carried one
        f.write(json.dumps(dict(checkpoint="model.ckpt-2", step=3, examples=192, cpu_s=3700.0, wall_s=3700.0)) + "\n")
    campaign.carry("v1_all")
    assert records.read_record(carried)["carried"]["cpu_s"] == 10900.0
    assert sorted(p.name for p in carried.parent.iterdir()) == ["v1_all"]  # no staging or older folder left
    (folder / "milestones" / "index.jsonl").write_text(json.dumps(dict(
        checkpoint="model.ckpt-2", step=2, examples=128, cpu_s=3600.0, wall_s=3600.0)) + "\n")
    campaign.carry("v1_all")

    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "new_machine"))
    assert campaign.resume_source("v1_all", None) == (str(carried), 10800.0)
    assert ("v1_all: no state on this machine; its committed carried milestone "
            in _line(campaign.status(), "v1_all")) and "had spent 3.00 of 24 CPU-hours; a resume goes on from it" \
        in _line(campaign.status(), "v1_all")
    commands = []
    monkeypatch.setattr("bgmaker.data.convert.converted", lambda *a, **k: None)
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **k: commands.append(command) or subprocess.CompletedProcess(command, 0))
    campaign.train_stage("v1_all", 24.0, None, 10, 60.0)
    start = campaign.run_dir("v1_all") / campaign.CARRIED_START  # a copy: the next carry overwrites models/carry
    assert f"--init-from {start} --init-step" in " ".join(commands[0]) and (start / "model.ckpt-2.index").is_file()
    assert campaign.credit("v1_all") == (10800.0, str(start))
    (campaign.run_dir("v1_all") / "progress.jsonl").write_text(json.dumps(dict(
        step=3, examples=192, cpu_s=600.0, wall_s=600.0, loss=1.0)) + "\n")
    assert [p["cpu_s"] for p in campaign.stage_history("v1_all")["progress"]] == [9000.0, 10800.0, 11400.0]

    # a shipped model that had spent more wins over an older carry; shipped since that milestone, none is made
    (shipped / "bgmaker_run.json").write_text(json.dumps(dict(shipped=dict(cpu_hours=4.0, run_cpu_hours=4.0))))
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "third_machine"))
    assert campaign.resume_source("v1_all", None) == (str(shipped), 14400.0)
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    shutil.rmtree(carried)
    assert campaign.carry("v1_all") is None and not carried.exists()

    # a finished stage's carry goes when it ships (drop_carry, the end of ship)
    (shipped / "bgmaker_run.json").write_text(json.dumps(dict(shipped=dict(cpu_hours=2.0, run_cpu_hours=2.0))))
    campaign.carry("v1_all")
    assert carried.is_dir() and not campaign.drop_carry("v1_all")  # not done: kept
    (folder / campaign.PLATEAU_FILE).write_text("{}")
    trials = campaign.carry_trials_path("v1_all")
    trials.write_text("{}")  # the recipe trials' record is the shipped recipe's evidence (reports/finetune.py)
    assert campaign.drop_carry("v1_all") and not carried.exists()
    assert trials.is_file()


def test_a_stage_stopped_on_its_plateau_carries_its_best_milestone_and_a_new_machine_ships_it(
        tiny_model, tmp_path, monkeypatch):
    """v1_all stopped on its plateau before it shipped: its carry is the best milestone with the plateau record.
    On a new machine v1_all stays stopped, v2_rock_beat starts from that carry (not from its own model, fine-tuned
    from older v1_all weights), and --ship v1_all ships the carried milestone with the CPU it had spent."""
    import shutil

    from bgmaker.models import records
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    for run, shipped in (("v1_all", dict(cpu_hours=8.0, run_cpu_hours=8.0)),
                         ("v2_rock_beat", dict(cpu_hours=2.33, run_cpu_hours=4.33, plateau=dict(best="model.ckpt-1")))):
        (tmp_path / "models" / run).mkdir(parents=True)
        (tmp_path / "models" / run / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1"\n')
        (tmp_path / "models" / run / "bgmaker_run.json").write_text(json.dumps(dict(shipped=shipped)))
    folder = campaign.run_dir("v1_all")
    (folder / "milestones").mkdir(parents=True)
    for step in (2, 3):  # the tiny checkpoint under two milestone names
        for f in tiny_model["checkpoint"].parent.glob("model.ckpt-2.*"):
            shutil.copy(f, folder / "milestones" / f.name.replace("ckpt-2", f"ckpt-{step}"))
    (folder / "hparams.txt").write_text(tiny_model["hparams"] + "\n")
    (folder / "bgmaker_run.json").write_text(json.dumps(dict(run="v1_all")))
    (folder / campaign.CREDIT_FILE).write_text(json.dumps(dict(cpu_s=28800.0, model=str(tmp_path / "models" / "v1_all"))))
    (folder / "milestones" / "index.jsonl").write_text("".join(json.dumps(dict(
        checkpoint=f"model.ckpt-{s}", step=s, examples=s, cpu_s=c, wall_s=c)) + "\n" for s, c in ((2, 21600.0), (3, 28800.0))))
    flat = dict(best="model.ckpt-2", best_cpu_hours=14.0, newest="model.ckpt-3", newest_cpu_hours=16.0,
                spent_cpu_hours=16.0)
    (folder / campaign.PLATEAU_FILE).write_text(json.dumps(flat))
    assert campaign.carry("v1_all").endswith("model.ckpt-2")
    carried = records.read_record(records.carry_dir("v1_all"))["carried"]
    assert (carried["step"], carried["cpu_hours"], carried["plateau"]) == (2, 14.0, flat)

    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "new_machine"))
    # v2_rock_beat's own model was fine-tuned from the 8-hour v1_all: it starts again from the carried best
    assert campaign.resume_source("v2_rock_beat", "v1_all") == (str(records.carry_dir("v1_all")), 0.0)
    commands = []
    monkeypatch.setattr("bgmaker.data.convert.converted", lambda *a, **k: None)
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **k: commands.append(command) or subprocess.CompletedProcess(command, 0))
    assert campaign.train_stage("v1_all", 24.0, None, 10, 60.0) == 0 and not commands  # stopped: nothing to train
    assert campaign.stage_done("v1_all", 24.0) and campaign.plateau("v1_all")["best"] == "model.ckpt-2"
    monkeypatch.setattr(campaign, "run_trials", lambda *a, **k: dict(recipe="windows-b64"))
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)  # a copy: shipping v1_all removes its carry
    start = campaign.run_dir("v2_rock_beat") / campaign.PARENT_START
    assert f"--init-from {start} --recipe windows-b64" in " ".join(commands[0]) and "--init-step" not in commands[0]
    assert (start / "model.ckpt-2.index").is_file() and campaign.credit("v2_rock_beat") == (0.0, None)

    from bgmaker.evaluation import check, evaluate
    from bgmaker.evaluation import priors as latent_priors
    exported = []
    monkeypatch.setattr(campaign, "weights_score", lambda name, checkpoint, folder, *a, **k: dict(
        checkpoint=str(checkpoint), step=2, examples=2, cpu_s=0.0, summary={}, start=True))
    monkeypatch.setattr("bgmaker.models.export.export", lambda name, checkpoint, out, **k: exported.append(checkpoint)
                        or str(out / "model.ckpt-2"))
    for module, function in ((check, "record"), (latent_priors, "fit_and_evaluate")):
        monkeypatch.setattr(module, function, lambda *a, **k: None)
    before = {f.name: f.read_bytes() for f in (tmp_path / "models" / "v1_all").iterdir()}

    def stopped(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(evaluate, "evaluate", stopped)  # a ship stopped during its evaluation
    with pytest.raises(KeyboardInterrupt):
        campaign.ship("v1_all")
    assert {f.name: f.read_bytes() for f in (tmp_path / "models" / "v1_all").iterdir()} == before
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["carry", "v1_all", "v2_rock_beat"]
    exported.clear()
    monkeypatch.setattr(evaluate, "evaluate", lambda *a, **k: None)
    campaign.ship("v1_all")
    assert exported == [str(campaign.run_dir("v1_all") / campaign.CARRIED_START)]
    shipped = records.read_record(tmp_path / "models" / "v1_all")["shipped"]
    assert (shipped["cpu_hours"], shipped["run_cpu_hours"], shipped["plateau"]["best"]) == (14.0, 16.0, "model.ckpt-2")
    assert not records.carry_dir("v1_all").exists()  # shipped: the carry goes


def test_a_lost_machine_credits_what_a_shipped_stage_had_spent_not_only_its_best_milestone(tmp_path, monkeypatch):
    """humanize shipped its 4-hour milestone of a 6-hour run: on a new machine its budget is spent."""
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    (tmp_path / "models" / "humanize").mkdir(parents=True)
    (tmp_path / "models" / "humanize" / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1"\n')
    (tmp_path / "models" / "humanize" / "bgmaker_run.json").write_text(json.dumps(dict(
        shipped=dict(cpu_hours=4.0, run_cpu_hours=6.0))))
    assert campaign.resume_source("humanize", None) == (str(tmp_path / "models" / "humanize"), 21600.0)
    assert _line(campaign.status(), "humanize").endswith("had spent 6.00 of 6 CPU-hours: its budget is spent "
                                                         "(nothing to train)")


def test_a_carried_fine_tuning_stage_keeps_the_recipe_its_trials_chose(tiny_model, tmp_path, monkeypatch):
    """v2_rock_beat's carry records its trials' choice; on a new machine it goes on with that recipe, every chunk,
    without trying the recipes again; and the trials start from the parent's carry, not its older model."""
    import shutil

    from bgmaker.models import records
    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    folder = campaign.run_dir("v2_rock_beat")
    (folder / "milestones").mkdir(parents=True)
    for f in tiny_model["checkpoint"].parent.glob("model.ckpt-2.*"):
        shutil.copy(f, folder / "milestones" / f.name)
    (folder / "hparams.txt").write_text(tiny_model["hparams"] + "\n")
    (folder / "bgmaker_run.json").write_text(json.dumps(dict(run="v2_rock_beat")))
    (folder / "milestones" / "index.jsonl").write_text(json.dumps(dict(
        checkpoint="model.ckpt-2", step=2, examples=128, cpu_s=1200.0, wall_s=1200.0)) + "\n")
    campaign.trials_dir("v2_rock_beat").mkdir(parents=True)
    (campaign.trials_dir("v2_rock_beat") / campaign.CHOICE_FILE).write_text(json.dumps(dict(recipe="replay25")))
    campaign.carry("v2_rock_beat")
    assert records.read_record(records.carry_dir("v2_rock_beat"))["carried"]["trial_choice"] == dict(recipe="replay25")

    monkeypatch.setenv("BGMAKER_STATE_DIR", str(tmp_path / "new_machine"))
    commands = []
    monkeypatch.setattr("bgmaker.data.convert.converted", lambda *a, **k: None)
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **k: commands.append(command) or subprocess.CompletedProcess(command, 0))
    monkeypatch.setattr(campaign, "run_trials", lambda *a, **k: pytest.fail("the trials had chosen"))
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)
    (campaign.run_dir("v2_rock_beat") / "train").mkdir()  # later chunks go on from the run's own checkpoint
    (campaign.run_dir("v2_rock_beat") / "train" / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-9"\n')
    campaign.train_stage("v2_rock_beat", 6.0, "v1_all", 10, 20.0)
    assert all("--recipe replay25" in " ".join(c) for c in commands) and len(commands) == 2
    assert campaign.credit("v2_rock_beat")[0] == 1200.0

    # the parent's carried weights are what a child (and its trials) start from once it has no milestones here
    shutil.copytree(records.carry_dir("v2_rock_beat"), records.carry_dir("v1_all"))
    assert campaign.parent_weights("v1_all") == str(records.carry_dir("v1_all"))


def test_a_folder_kept_until_done_comes_back_whole_when_the_block_fails_or_is_killed(tmp_path):
    """--ship rewrites models/<run> in place for an hour: stopped (an error, Ctrl-C, kill), the folder is as it was."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "report.md").write_text("old report")
    with pytest.raises(ValueError):
        with campaign.kept_until_done(folder):
            (folder / "report.md").unlink()
            (folder / "model.ckpt-9.index").write_text("new weights")
            raise ValueError("evaluation failed")
    assert [(f.name, f.read_text()) for f in folder.iterdir()] == [("report.md", "old report")]
    script = (f"import os, signal, pathlib; from bgmaker.training import campaign\n"
              f"with campaign.kept_until_done(pathlib.Path({str(folder)!r})) as f:\n"
              f"    (f / 'report.md').write_text('half')\n"
              f"    os.kill(os.getpid(), signal.SIGTERM)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 143, proc.stderr
    assert [(f.name, f.read_text()) for f in folder.iterdir()] == [("report.md", "old report")]
    with campaign.kept_until_done(folder):
        (folder / "report.md").write_text("new report")
    assert (folder / "report.md").read_text() == "new report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # its copy is gone once done
    with pytest.raises(ValueError):
        with campaign.kept_until_done(tmp_path / "new"):
            (tmp_path / "new").mkdir()
            raise ValueError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # nothing half-written where nothing was
