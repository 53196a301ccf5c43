"""The training campaign behind the shipped models: v1_all, then v2_rock_beat warm-started from it.

`bgmaker campaign` (scripts/campaign.sh; `resume` here) is meant to be started
at the beginning of every working session and left running niced in the
background: it picks up wherever the campaign stopped (a killed process, a new
session on the same machine) and does the next thing that is not done yet:

0. humanize (the GrooVAE that plays beats with GMD's velocities and timing,
   bgmaker.humanize) until HUMANIZE_CPU_HOURS, milestones every 30
   CPU-minutes, chosen on validation by the humanize figures
   (HUMANIZE_CHOICE_FIGURES: bgmaker.humanize.evaluate);
1. v1_all (every 4/4 window of GMD, beats and fills) with the runs' recipe:
   at least 16 CPU-hours, then on while its validation curve still rises
   (PLATEAU), up to V1_CPU_HOURS. A stage that goes on from its own
   committed model (a new machine) takes that model's global step too
   (`--init-step`), so the learning-rate schedule continues; Adam's moments
   start anew (a weights-only model keeps none);
2. v2_rock_beat, started from v1_all's best milestone (chosen on v1_all's
   validation split), with the recipe its trials chose (TRIALS: each
   fine-tuning recipe, plain, lower learning rate, replay of v1_all's windows,
   trained the same CPU from those weights and scored on rock validation;
   reports/finetune.py reports them), until V2_CPU_HOURS, or earlier once its validation curve
   is flat (PLATEAU, check_plateau). Its milestones come every 20
   CPU-minutes, as the from-scratch recipe runs' do (reports/recipes.py), so
   the warm start and training from scratch meet at equal CPU at several points.

Each stage keeps milestone weights (bgmaker.training.hooks); `--ship` scores
the milestones on the validation split (bgmaker.evaluation.evaluate.validate, cached),
picks the best, evaluates it once on the test split and exports it as the
weights-only model in models/<run>/ with its run record and evaluation report,
ready to commit. State lives in $BGMAKER_STATE_DIR/campaign (default
~/.local/state/bgmaker/campaign), outside the checkout; what survives a lost
machine is committed: the shipped models/<run> and, while a stage trains, its
newest milestone, which the campaign exports after each chunk to
models/carry/<run> (`carry`). A later campaign goes on from them when the
state is gone, crediting the CPU-hours they had (`resume_source`).

CPU-hours here are process CPU time (all threads): 8 CPU-hours is 4 hours of a
2-core machine.
"""
import contextlib
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from bgmaker import paths
from bgmaker.models import records
from bgmaker.training.command import child_command, train_in_child

HUMANIZE_CPU_HOURS = 6.0
# v1_all (#26): at least 16 CPU-hours (its curve still rose at 8), longer while its validation curve rises
# (PLATEAU below), at most 24.
V1_CPU_HOURS = 24.0
V2_CPU_HOURS = 6.0
# (run, CPU-hour budget, the stage it starts from, CPU-minutes between milestones)
STAGES = (("humanize", HUMANIZE_CPU_HOURS, None, 30.0),
          ("v1_all", V1_CPU_HOURS, None, 60.0), ("v2_rock_beat", V2_CPU_HOURS, "v1_all", 20.0))
CREDIT_FILE = "campaign_credit.json"
# When a stage's validation curve has flattened, it stops before its budget: once it has spent at least
# `minimum` CPU-hours (#11's budget) and its best milestone on validation (`choose`, the starting weights
# included) is `patience` CPU-hours older than its newest one. A stage with such a rule trains in chunks of
# CHECK_EVERY milestones and is scored between them (never beside its training). v1_all's curve still rose
# at its first 8 CPU-hours (reports/campaign.md), so its rule only starts at 16.
PLATEAU = {"v2_rock_beat": dict(minimum=3.0, patience=2.0), "v1_all": dict(minimum=16.0, patience=2.0)}
CHECK_EVERY = 2
PLATEAU_FILE = "plateau.json"
# Before a fine-tuning stage trains, short runs of each candidate recipe from the same parent weights, at equal
# CPU, scored on the stage's validation split (#26: fine-tuning without forgetting): the stage then trains with
# the recipe whose best milestone ranks first (`choose`, the parent's own weights among the candidates).
TRIALS = {"v2_rock_beat": dict(recipes=("windows-b64", "finetune-lr3e-4", "replay25", "replay25-lr3e-4"),
                               cpu_hours=1.0, milestone_minutes=20.0)}
CHOICE_FILE = "choice.json"
# A carried milestone's curves (carry), in CPU seconds of the whole stage: what a resume from it on
# another machine puts ahead of its own in stage_history.
HISTORY_FILE = "history.json"
CARRIED_START = "carried_start"  # a stage's run folder: its own carried milestone it went on from (train_stage)
PARENT_START = "parent_start"  # a stage's run or trials folder: the parent's carried milestone it started from
# The paired check that bf16 training learns as fp32 does (reports/bf16_training.py): a drum stage
# trains in bf16 on a CPU with hardware bf16 only where it passed.
BF16_CHECK = paths.REPO_ROOT / "reports" / "bf16_training.json"
TEMPLATE_FILE = "template.npz"  # the humanize model's no-network baseline, shipped beside it

# The figures a checkpoint is chosen on (validation) and gated on (test): higher is better,
# except the classifier's accuracy, best at 0.5 (samples indistinguishable from real windows).
CHOICE_FIGURES = ("accuracy_free_running", "sample_overlap", "interp_overlap", "classifier_samples_vs_real")
# A humanize model's (bgmaker.humanize.evaluate): errors lower is better, correlations higher, classifier nearest 0.5.
HUMANIZE_CHOICE_FIGURES = ("velocity_mae", "timing_mae_ms", "velocity_r", "timing_r", "classifier")
NEAREST_HALF = ("classifier_samples_vs_real", "classifier")


def choice_figures(name):
    """The figures stage `name`'s checkpoints are chosen on."""
    from bgmaker_configs.runs import get_run
    return HUMANIZE_CHOICE_FIGURES if get_run(name).humanizes else CHOICE_FIGURES


def root():
    return paths.state_dir() / "campaign"


def env():
    return {**os.environ, "BGMAKER_RUNS_DIR": str(root() / "runs"), "BGMAKER_DATA_DIR": str(root() / "data"),
            "TF_CPP_MIN_LOG_LEVEL": "2"}


def run_dir(name):
    """Stage `name`'s run folder in the campaign's own runs folder (the BGMAKER_RUNS_DIR of env())."""
    return records.run_dir(name, root() / "runs")


def use_campaign_dirs():
    """Point this process's runs and data folders at the campaign's (for evaluating its milestones)."""
    os.environ.update(BGMAKER_DATA_DIR=str(root() / "data"), BGMAKER_RUNS_DIR=str(root() / "runs"))


def credit(name):
    """(CPU seconds, model folder) credited to a stage that restarted from its own committed model: (0.0, None) if none.

    train_stage writes it when a stage with no checkpoint here goes on from the
    model resume_source names; the seconds are what that model (the shipped
    milestone) had spent, so the stage's budget counts them.
    """
    try:
        record = json.loads((run_dir(name) / CREDIT_FILE).read_text())
        return float(record["cpu_s"]), record["model"]
    except (OSError, ValueError, KeyError):
        return 0.0, None


def spent_s(name):
    """CPU seconds a stage has spent in all: its run's own plus any credit."""
    from bgmaker.training.run_state import spent
    return spent(run_dir(name))[0] + credit(name)[0]


def campaign_pid():
    """The pid of a live campaign (its process writes it, in the background or --foreground), else None."""
    try:
        pid = int((paths.state_dir() / "campaign.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def claim():
    """Record this process as the campaign, unless another live one is: two would train one state at once."""
    from bgmaker.errors import UserError
    pid = campaign_pid()
    if pid and pid != os.getpid():
        raise UserError(f"a campaign is already running (pid {pid}); progress: scripts/campaign.sh --status")
    paths.state_dir().mkdir(parents=True, exist_ok=True)
    (paths.state_dir() / "campaign.pid").write_text(f"{os.getpid()}\n")


def resume(nice=10, log=lambda m: print(m, flush=True)):
    """Train the next unfinished stage, and the ones after it, until every stage is done; return an exit status.

    What `bgmaker campaign` runs: each stage in chunks (train_stage), its
    plateau rule checked before each chunk, its status logged after it. It
    stops on a chunk that fails (its exit status) or that made no new
    milestone (1: it would loop for ever).
    """
    from bgmaker.training.run_state import read_milestones
    claim()
    os.nice(nice)  # scoring milestones between chunks runs in this process: as low as the training
    for name, hours, parent, milestone_minutes in STAGES:
        forget_stale_start(name, parent, log=log)
        while not stage_done(name, hours):
            # checked before each chunk: a campaign stopped between a chunk and its check loses nothing
            if check_plateau(name, log=log) is not None:
                carry_after_chunk(name, log)  # now its best milestone, with the plateau record (carry)
                break
            before = read_milestones(run_dir(name))
            code = train_stage(name, hours, parent, 0, milestone_minutes)
            log("\n".join(status()))
            if code != 0:
                return code
            carry_after_chunk(name, log)
            if read_milestones(run_dir(name)) == before and not stage_done(name, hours):
                # a chunk ends on a milestone: none new means it trained nothing, and would loop for ever
                log(f"bgmaker campaign: {name} made no new milestone (log: {run_dir(name).parent / (name + '.log')})")
                return 1
    log("bgmaker campaign: every stage is done (its budget spent, or its validation curve flat: --status); "
        "ship with --ship humanize / --ship v1_all / --ship v2_rock_beat")
    return 0


def carry_after_chunk(name, log=print):
    """Carry stage `name`'s newest milestone, or its best once it stopped on a flat curve (carry), and say what to
    commit; a failure is logged, not raised:
    the training goes on, and `bgmaker campaign --carry` tries again."""
    try:
        prefix = carry(name)
    except Exception as e:  # noqa: BLE001  (an export error of any kind must not stop the campaign)
        log(f"bgmaker campaign: could not carry {name}'s milestone: {e}")
        return None
    if prefix:
        log(f"bgmaker campaign: carried {name}'s {Path(prefix).name} to {paths.portable(Path(prefix).parent)}; "
            f"commit it (git add {os.path.relpath(Path(prefix).parent, paths.REPO_ROOT)}) so another machine "
            "goes on from it")
    return prefix


def status():
    """One line per stage: CPU spent of budget, steps, milestones."""
    from bgmaker.training.run_state import read_milestones, read_progress
    pid = campaign_pid()
    lines = [f"campaign: running in the background (pid {pid})" if pid else
             "campaign: not running (scripts/campaign.sh resumes it)"]
    done = {}  # stage -> nothing left to train (here, or in its committed model)
    for name, hours, parent, _ in STAGES:
        progress = read_progress(run_dir(name))
        last = progress[-1] if progress else {}
        before, model = credit(name)
        done[name] = stage_done(name, hours)
        # No state on this machine: say what a resume would find in the committed model (train_stage). Only
        # once the parent has nothing to train: a parent that trains on makes milestones the child restarts from.
        if (not progress and not model and (parent is None or done.get(parent))
                and (committed := committed_model(name, parent))[0]):
            source, cpu_s = committed
            flat = _shipped_plateau(source)
            done[name] = bool(flat) or cpu_s >= hours * 3600
            what = "carried milestone" if Path(source).parent.name == records.CARRY_DIR else "model"
            lines.append(f"{name}: no state on this machine; its committed {what} {paths.portable(source)} had spent "
                         f"{cpu_s / 3600:.2f} of {hours:g} CPU-hours"
                         + (f"; stopped at {flat.get('spent_cpu_hours', cpu_s / 3600):.2f}, its validation curve "
                            f"flat: best milestone {flat['best']} at {flat['best_cpu_hours']:g} CPU-hours "
                            "(nothing to train)" if flat else
                            ": its budget is spent (nothing to train)" if cpu_s >= hours * 3600 else
                            "; a resume goes on from it"))
            continue
        lines.append(f"{name}: {spent_s(name) / 3600:.2f} of {hours:g} CPU-hours"
                     + (f" (incl. {before / 3600:.2f} spent before, in {model})" if model else "")
                     + f", step {last.get('step', 0)}, {last.get('examples', 0):,} examples, "
                     f"{len(read_milestones(run_dir(name)))} milestones ({run_dir(name)})"
                     + (f"; last trained on {last['cpu']} in {last['precision']}" if last.get("cpu") else "")
                     + (f"; stopped, its validation curve flat: best milestone {flat['best']} at "
                        f"{flat['best_cpu_hours']:g} CPU-hours" if (flat := plateau(name)) else ""))
    for name, plan in TRIALS.items():
        from bgmaker.training.run_state import spent
        carried = carried_trials(name)
        if trials_dir(name).is_dir() or carried:
            chosen = trial_choice(name)
            lines.append(f"{name} recipe trials: CPU-hours of {plan['cpu_hours']:g} each: " + ", ".join(
                f"{r} {max(spent(trial_dir(name, r))[0], carried.get(r, {}).get('cpu_s', 0)) / 3600:.2f}"
                for r in plan["recipes"])
                + (f" (carried: {', '.join(carried)})" if carried else "")
                + (f"; the others train to {plan['recipes'][0]}'s steps {', '.join(map(str, matched))}"
                   if (matched := trial_steps(name, None, plan["recipes"][-1])) else "")
                + (f"; chosen: {chosen['recipe']} (best {chosen['best']})" if chosen else ""))
    recipes = paths.state_dir() / "recipes"
    if recipes.is_dir():  # reports/recipes.py: the equal-CPU runs that choose the recipe
        spent_by = {r.name: read_progress(r / "v2_rock_beat") for r in sorted(recipes.iterdir())
                    if (r / "v2_rock_beat").is_dir()}  # recipes and baselines, not the cached scores
        lines.append("recipe runs (reports/recipes.py): " + ", ".join(
            f"{name} {p[-1]['cpu_s'] / 60:.0f} CPU-min" if p else f"{name} not started"
            for name, p in spent_by.items()))
    return lines


def forget_stale_start(name, parent, log=print):
    """Drop what stage `name` inherited from its committed model (credit, plateau) once its parent has trained
    milestones here, or its parent's committed weights are newer than those that model was fine-tuned from
    (fine_tuned_from_older): the stage starts again from them (resume_source). A stage with checkpoints of its
    own here keeps them. True if it dropped."""
    from bgmaker.training.run_state import read_milestones
    from bgmaker.training.train import latest_checkpoint
    folder = run_dir(name)
    if not parent or latest_checkpoint(str(folder)):
        return False
    inherited = [folder / f for f in (CREDIT_FILE, PLATEAU_FILE) if (folder / f).is_file()]
    model = credit(name)[1]
    if not inherited or not model:
        return False
    if not read_milestones(run_dir(parent)) and not fine_tuned_from_older(Path(model), parent):
        return False
    for path in inherited:
        path.unlink()
    log(f"bgmaker campaign: {name} starts again from {parent}'s weights (newer than those its committed model was "
        f"trained from)")
    return True


def stage_done(name, hours):
    """True once the stage has spent its budget, or stopped on a flat validation curve (check_plateau)."""
    return spent_s(name) >= hours * 3600 or (run_dir(name) / PLATEAU_FILE).is_file()


def plateau(name):
    """The record check_plateau wrote when stage `name` stopped on a flat curve, else None."""
    try:
        return json.loads((run_dir(name) / PLATEAU_FILE).read_text())
    except (OSError, ValueError):
        return None


def check_plateau(name, log=print):
    """Score the stage's new milestones on validation; if its PLATEAU rule holds, record it and return the record.

    The record (plateau.json in the run folder, which makes stage_done true)
    names the best milestone and the newest, with their CPU-hours, and the rule.
    """
    from bgmaker.training.run_state import read_milestones
    rule = PLATEAU.get(name)
    if not rule or not read_milestones(run_dir(name)) or spent_s(name) < rule["minimum"] * 3600:
        return None
    best, _, scores = stage_choice(name, log=log)
    before = credit(name)[0]
    best_h, newest_h = (best["cpu_s"] + before) / 3600, (scores[-1]["cpu_s"] + before) / 3600
    # Milestones land a step after their CPU boundary, so count in milestone intervals, not raw seconds.
    every = dict((n, m) for n, _, _, m in STAGES).get(name, 60.0) / 60
    if round((newest_h - best_h) / every) * every < rule["patience"] - 1e-9:
        log(f"bgmaker campaign: {name}'s best milestone on validation is {Path(best['checkpoint']).name} "
            f"at {best_h:.2f} CPU-hours; it stops when that is {rule['patience']:g} CPU-hours old")
        return None
    record = dict(best=Path(best["checkpoint"]).name, best_cpu_hours=round(best_h, 2),
                  newest=Path(scores[-1]["checkpoint"]).name, newest_cpu_hours=round(newest_h, 2),
                  spent_cpu_hours=round(spent_s(name) / 3600, 2), rule=rule,
                  time=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    (run_dir(name) / PLATEAU_FILE).write_text(json.dumps(record, indent=1) + "\n")
    log(f"bgmaker campaign: {name} stops at {record['spent_cpu_hours']:.2f} CPU-hours: its validation curve is "
        f"flat (best milestone {record['best']} at {best_h:.2f} CPU-hours, none better in the "
        f"{newest_h - best_h:.2f} since)")
    return record


def committed_model(name, parent):
    """(folder, CPU seconds it had spent) a lost state resumes stage `name` from, else (None, 0.0); cheap (no
    scoring), so --status can say it before anything trains.

    The committed folder of the stage's own that had spent more: its carried milestone (models/carry/<name>,
    `carry`) or a model the campaign itself shipped (models/<name> with its `shipped` record), the latter
    not while the parent has a carried milestone; and only while the parent has no milestones here: those
    are newer than anything committed and win (resume_source).
    """
    from bgmaker_configs.runs import get_run
    from bgmaker.training.run_state import read_milestones
    if parent and read_milestones(run_dir(parent)):
        return None, 0.0
    # A carried parent trained on past its shipped model: the child's shipped model came from older weights.
    parent_carried = bool(parent) and (records.carry_dir(parent) / "checkpoint").is_file()
    found = (None, 0.0)
    for folder, key in ((records.carry_dir(name), "carried"), (get_run(name).shipped_dir, "shipped")):
        if not (folder / "checkpoint").is_file() or (key == "shipped" and parent_carried):
            continue
        if parent and fine_tuned_from_older(folder, parent):
            continue
        try:
            held = records.read_record(folder).get(key)
        except (OSError, ValueError):
            held = None
        # what the stage had spent: a shipped model's run (its best milestone may be older: humanize shipped
        # its 4-hour milestone of a 6-hour run), a carried milestone's own CPU
        cpu_s = held and (held.get("cpu_s") or (held.get("run_cpu_hours") or held.get("cpu_hours") or 0) * 3600)
        if cpu_s and cpu_s > found[1]:
            found = (str(folder), float(cpu_s))
    return found


def resume_source(name, parent):
    """(checkpoint or model folder, CPU seconds it credits) a stage starts from when it has no checkpoint.

    The parent's best milestone when the parent has milestones here (the
    state directory is intact); else the stage's own committed folder
    (committed_model: its carried milestone, or a model the campaign shipped
    for it), credited with the CPU it had spent; else the parent's committed
    weights (parent_weights); else nothing (from scratch). So a campaign on a
    new machine goes on from what was committed instead of starting the stage again.
    """
    own, cpu_s = committed_model(name, parent)
    if own:
        return own, cpu_s
    if parent:
        return parent_weights(parent), 0.0
    return None, 0.0


def fine_tuned_from_older(folder, parent):
    """True when the model in `folder` (a child stage's committed one) was warm-started from weights of `parent`
    older (a smaller step) than the parent's committed weights now: the parent trained on and was shipped or
    carried since, so the child starts again from those (a new machine would otherwise take the old child's
    plateau for its own and train nothing). Unknown steps: False."""
    from bgmaker import models
    try:
        start = records.read_record(folder).get("init_from")
    except (OSError, ValueError):
        return False
    trained_from = models.step_of(start) if start else None
    weights = parent_weights(parent) if trained_from is not None else None
    try:
        now = start_step(weights) if weights else None
    except (FileNotFoundError, ValueError):
        return False
    return now is not None and trained_from < now


def held_copy(source, copy):
    """`source` itself, or, for a carried milestone (models/carry/<run>), a copy of it at `copy`, returned.

    A carry is overwritten by its stage's next carry and removed when that stage ships; what started from it
    (its start score, its curves, the trials' ranking) must keep these weights.
    """
    if not source or Path(source).parent.name != records.CARRY_DIR:
        return source
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)  # ~30 MB
    return str(copy)


def parent_weights(parent):
    """The weights a child stage starts from (its trials too): the parent's best milestone here, else its
    committed folder that had spent more (its carried best milestone, once newer than its shipped model),
    else its shipped model; None if it has none."""
    from bgmaker_configs.runs import get_run
    best = best_milestone(parent)
    if best:
        return best["checkpoint"]
    committed, _ = committed_model(parent, None)
    if committed:
        return committed
    shipped = get_run(parent).shipped_dir
    return str(shipped) if (shipped / "checkpoint").is_file() else None


def _shipped_plateau(model):
    """The plateau record a model shipped by the campaign (ship copies it), or a carried milestone of a
    stopped stage (carry), holds, else None."""
    try:
        record = records.read_record(model)
        return (record.get("shipped") or record.get("carried") or {}).get("plateau")
    except (OSError, ValueError, TypeError):
        return None


def trials_dir(name):
    return root() / "trials" / name


def trial_dir(name, recipe):
    """A trial's run folder: <campaign>/trials/<stage>/<recipe>/<stage> (its BGMAKER_RUNS_DIR is the parent)."""
    return trials_dir(name) / recipe / name


def trial_choice(name):
    """The recipe record the trials chose for stage `name` (choice.json), else None."""
    try:
        return json.loads((trials_dir(name) / CHOICE_FILE).read_text())
    except (OSError, ValueError):
        return None


def run_trials(name, parent, nice, log=print):
    """Train each TRIALS recipe of stage `name` for the same CPU from the parent's weights, score every milestone
    on validation, and record the recipe of the best (choice.json); return that record. Resumable: a trial
    that has spent its CPU is not trained again, scores are cached."""
    from bgmaker.data.convert import converted
    plan = TRIALS[name]
    chosen = trial_choice(name)
    if chosen:
        return chosen
    source = held_copy(parent_weights(parent), trials_dir(name) / PARENT_START)
    if source is None:
        raise RuntimeError(f"no weights of {parent} to try {name}'s recipes from: train or ship {parent} first")
    converted(name, root() / "data")
    carried = carried_trials(name, source)
    for recipe in plan["recipes"]:
        folder = trial_dir(name, recipe)
        steps = trial_steps(name, source, recipe)
        if trial_done(name, folder, steps):
            if recipe not in carried:  # done here before trials were carried: carry it (and any other) once
                carry_trials(name, source, log)
                carried = carried_trials(name, source)
            continue
        if recipe in carried and carried_done(name, carried[recipe], steps):
            log(f"bgmaker campaign: trial {name} {recipe}: done on another machine ({paths.portable(carry_trials_path(name))})")
            continue
        if steps:  # as many steps as the plain fine-tuning's CPU-hour gave it, milestones where it had them
            log(f"bgmaker campaign: trial {name} {recipe}: to step {steps[-1]} (the steps of "
                f"{plan['recipes'][0]}'s {plan['cpu_hours']:g} CPU-hours) from {paths.portable(source)}")
            flags = ["--recipe", recipe, "--init-from", str(source), "--milestone-steps", ",".join(map(str, steps)),
                     "--cpu-hours", f"{plan['cpu_hours'] * STEP_MATCHED_CPU_CAP:g}", "--checkpoints_to_keep=1"]
        else:
            log(f"bgmaker campaign: trial {name} {recipe}: {plan['cpu_hours']:g} CPU-hours from {paths.portable(source)}")
            flags = ["--recipe", recipe, "--init-from", str(source), "--cpu-hours", f"{plan['cpu_hours']:g}",
                     "--milestone-every", f"{plan['milestone_minutes']:g}", "--checkpoints_to_keep=1"]
        precision = training_precision(name)
        if precision:
            flags += ["--precision", precision]
        code = train_in_child(name, flags, folder.parent / "train.log",
                              env={**env(), "BGMAKER_RUNS_DIR": str(folder.parent)}, nice=nice)
        if code != 0:
            raise RuntimeError(f"trial {name} {recipe} failed (exit {code}); log: {folder.parent / 'train.log'}")
        carry_trials(name, source, log)
    return choose_trial(name, source, log)


# A trial matched to the plain fine-tuning's steps stops at them; on a CPU this many times slower it stops at
# this many times the trials' CPU-hours instead (a runaway guard, not a budget).
STEP_MATCHED_CPU_CAP = 3.0


def trial_steps(name, source, recipe):
    """The milestone steps trial `recipe` of stage `name` trains to, or None to train its CPU-hours.

    Why: the trials are compared at equal cost, but sessions land on CPUs
    that buy different steps per CPU-hour (v2_rock_beat's 3,017 trial steps
    took 1.00 CPU-hour on an AMD EPYC and 0.80 on an Intel Xeon with AMX,
    both in bf16). The first recipe, plain fine-tuning, trains its
    CPU-hours (milestones every TRIALS' minutes); every other recipe then
    trains to the steps of those milestones, here or on another machine,
    so all are compared at the plain fine-tuning's steps. (Trials carried
    after finishing by CPU-hours before this rule keep their record; one
    that did so here and was never carried trains on to the steps.)
    """
    from bgmaker.training.run_state import read_milestones
    first = TRIALS[name]["recipes"][0]
    if recipe == first:
        return None
    folder = trial_dir(name, first)
    steps = None
    if trial_done(name, folder, None):
        steps = [m["step"] for m in read_milestones(folder)]
    elif (record := carried_trials(name, source).get(first)) and carried_done(name, record, None):
        steps = [r["step"] for r in record["validation"]]
    return sorted(set(steps)) if steps else None  # increasing, as --milestone-steps wants them


def trial_done(name, folder, steps):
    """Has the trial in `folder` finished: with `steps`, its last milestone step kept (or STEP_MATCHED_CPU_CAP
    times its CPU-hours spent); without, its CPU-hours spent?"""
    from bgmaker.training.run_state import read_milestones, spent
    cpu_s, budget = spent(folder)[0], TRIALS[name]["cpu_hours"] * 3600
    if steps:
        kept = [m["step"] for m in read_milestones(folder)]
        return (bool(kept) and max(kept) >= steps[-1]) or cpu_s >= budget * STEP_MATCHED_CPU_CAP
    return cpu_s >= budget


def carried_done(name, record, steps):
    """Had the carried trial `record` (carried_trials) finished: its CPU-hours spent (the rule before steps
    were matched, or the plain fine-tuning's own), or the last of `steps` kept?"""
    kept = [r["step"] for r in record.get("validation", [])]
    return record.get("cpu_s", 0.0) >= TRIALS[name]["cpu_hours"] * 3600 or (
        bool(steps) and bool(kept) and max(kept) >= steps[-1])


def carry_trials_path(name):
    """models/carry/<stage>.trials.json: the finished recipe trials of a stage, for a campaign on another machine."""
    return records.carry_dir(name).with_name(f"{name}.trials.json")


def carry_trials(name, source, log=print):
    """Score stage `name`'s finished trials on validation and write their records to carry_trials_path.

    Why: the trials take an hour of CPU each and live in the campaign's state, which survives only a session
    on the same machine; the choice between them needs only their scores (the stage then trains from the
    parent's weights with the chosen recipe), so a few kilobytes carry what a new machine would otherwise
    train again. Kept only for trials from the same parent weights (their step). A failure is logged.
    """
    from bgmaker.training.run_state import spent
    plan = TRIALS[name]
    try:
        done = {}
        for recipe in plan["recipes"]:
            folder = trial_dir(name, recipe)
            cpu_s = spent(folder)[0]
            if trial_done(name, folder, trial_steps(name, source, recipe)):
                done[recipe] = dict(cpu_s=cpu_s, machines=trial_machines(folder), validation=[  # milestone names
                    dict(r, checkpoint=Path(r["checkpoint"]).name) for r in validation_scores(name, folder, log=log)])
        kept = carried_trials(name, source)
        record = dict(stage=name, start_step=start_step(source),
                      trials={**kept, **done})
        path = carry_trials_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        paths.write_text_atomically(path, json.dumps(record, indent=1, default=float) + "\n")
        log(f"bgmaker campaign: carried {name}'s finished trials ({', '.join(record['trials'])}) to "
            f"{paths.portable(path)}; commit it")
        return path
    except Exception as e:  # noqa: BLE001  (the trials go on; the next one carries again)
        log(f"bgmaker campaign: could not carry {name}'s trials: {e}")
        return None


def start_step(source):
    """The global step of the weights trials start from: a checkpoint's (model.ckpt-N) or a model folder's."""
    from bgmaker import models
    return models.step_of(source) or models.step_of(models.resolve_checkpoint(source))


def trial_machines(folder):
    """The CPUs and LSTM precisions a trial's CPU time was spent with, in order ("AMD EPYC, bf16").

    Why: trials are compared at equal CPU, and a CPU-hour buys more steps on
    some machines than on others (a carried trial may come from another CPU),
    so the comparison names where each trial's hour was spent.
    """
    from bgmaker.training.run_state import read_progress
    seen = []
    for record in read_progress(folder):
        where = f"{record.get('cpu') or 'unknown CPU'}, {record.get('precision') or 'unknown precision'}"
        if where not in seen:
            seen.append(where)
    return seen


def carried_trials(name, source=None):
    """{recipe: dict(cpu_s, machines, validation)} of stage `name`'s carried trials from the weights `source` (same
    step; None: from whichever weights), else {}."""
    try:
        record = json.loads(carry_trials_path(name).read_text())
        if source is not None and record.get("start_step") != start_step(source):
            return {}
        return record.get("trials") or {}
    except (OSError, ValueError):
        return {}


def trial_scores(name, log=print, source=None):
    """{recipe: validation records of its milestones} for stage `name`'s trials (cached per milestone), here
    or carried from another machine for the same starting weights `source`."""
    from bgmaker.training.run_state import read_milestones
    use_campaign_dirs()
    carried = carried_trials(name, source)
    out = {}
    for recipe in TRIALS[name]["recipes"]:
        if read_milestones(trial_dir(name, recipe)):
            out[recipe] = validation_scores(name, trial_dir(name, recipe), log=log)
        elif recipe in carried:  # trained on another machine (carry_trials)
            out[recipe] = carried[recipe]["validation"]
    return {recipe: [dict(r, recipe=recipe) for r in scored] for recipe, scored in out.items()}


def choose_trial(name, source, log=print):
    """Rank every trial milestone and the parent's weights together (`choose`); record and return the choice."""
    scores = trial_scores(name, log, source)
    start = dict(weights_score(name, source, trials_dir(name), log=log), recipe=None)
    everything = [r for records in scores.values() for r in records] + [start]
    best = choose(everything, choice_figures(name))
    recipe = best["recipe"] or TRIALS[name]["recipes"][0]  # the parent best: plain fine-tuning, the first
    record = dict(recipe=recipe, best=Path(best["checkpoint"]).name, best_cpu_hours=round(best["cpu_s"] / 3600, 2),
                  parent_best=best is start, start=str(source), figures=list(choice_figures(name)),
                  cpu_hours_each=TRIALS[name]["cpu_hours"], time=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    (trials_dir(name) / CHOICE_FILE).write_text(json.dumps(record, indent=1) + "\n")
    log(f"bgmaker campaign: {name} trains with recipe {recipe} (best on validation: {record['best']})")
    return record


def training_precision(name, check=None):
    """The --precision a stage trains with, or None for its run's own setting (see BF16_CHECK).

    `--precision auto` picks bf16 on CPUs that multiply it in hardware. The
    drum models' campaign relies on that only once the paired run of
    reports/bf16_training.py has shown on validation that bf16 learns as
    fp32 does at equal steps on this kind of bf16 hardware; until then (or
    where it failed) they train in fp32. The humanize model was trained and chosen on validation in bf16
    (its own gate, measured on test, is its evidence), so it keeps its setting.
    """
    from bgmaker.compat import bf16_hardware, resolve_lstm_precision
    from bgmaker_configs.runs import get_run
    if get_run(name).humanizes or resolve_lstm_precision("auto") != "bf16":
        return None
    return None if bf16_check_passed(bf16_hardware(), check) else "fp32"


def bf16_check_passed(hardware, check=None):
    """Has the paired check passed on CPUs with this bf16 hardware ("amx_bf16" or "avx512_bf16")?

    The check is kept per kind (reports/bf16_training.json "checks"): AMX
    tiles and AVX512-BF16 are different oneDNN kernels, and a pass on one
    says nothing about the other. A missing, unreadable or failed check is
    no pass.
    """
    return bf16_checks(check).get(hardware, {}).get("passed") is True


def bf16_checks(check=None):
    """{kind of bf16 hardware: its paired check} of reports/bf16_training.json; {} if missing or unreadable.

    A report from before the kinds were told apart holds one check at its top
    level; it was made on an AMD EPYC (AVX512-BF16, no AMX).
    """
    try:
        report = json.loads(Path(check or BF16_CHECK).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(report, dict):
        return {}
    if "checks" in report:
        return report["checks"] or {}
    return {(report.get("machine") or {}).get("bf16_hardware") or "avx512_bf16": report}


def train_stage(name, hours, parent, nice, milestone_minutes=60.0):
    """Train stage `name` until it has spent `hours` CPU-hours (credit included); return the exit code."""
    from bgmaker.training.train import latest_checkpoint
    from bgmaker.data.convert import converted
    extra = []
    from_parent = False  # a fresh start from the parent's weights (not a continuation of the stage's own model)
    if not latest_checkpoint(str(run_dir(name))):
        source, cpu_s = resume_source(name, parent)
        from_parent = bool(parent) and not cpu_s
        own_carry = bool(source) and Path(source) == records.carry_dir(name)
        source = held_copy(source, run_dir(name) / (CARRIED_START if own_carry else PARENT_START))
        if own_carry:
            chosen = (records.read_record(source).get("carried") or {}).get("trial_choice")
            if chosen and name in TRIALS and trial_choice(name) is None:  # its trials' recipe, on every chunk
                trials_dir(name).mkdir(parents=True, exist_ok=True)
                (trials_dir(name) / CHOICE_FILE).write_text(json.dumps(chosen) + "\n")
        if source:
            extra = ["--init-from", source]
        if source and cpu_s:  # the stage's own committed model: go on with its step (learning-rate schedule)
            extra.append("--init-step")
        if cpu_s:
            run_dir(name).mkdir(parents=True, exist_ok=True)
            (run_dir(name) / CREDIT_FILE).write_text(json.dumps(dict(cpu_s=cpu_s, model=source)) + "\n")
            flat = _shipped_plateau(source)
            if flat:  # the committed model's stage had stopped on a flat curve: it stays stopped on a new machine
                (run_dir(name) / PLATEAU_FILE).write_text(json.dumps(dict(flat, from_model=source), indent=1) + "\n")
                print(f"bgmaker campaign: {name} had stopped on a flat validation curve ({source})", flush=True)
                return 0
            if stage_done(name, hours):  # the committed model had spent the whole budget
                print(f"bgmaker campaign: {name} had spent its {hours:g} CPU-hours in {source}", flush=True)
                return 0
    converted(name, root() / "data")  # only now: a stage with nothing to train needs no data
    if name in TRIALS:  # the recipe its trials chose (run now, before its first step), on every chunk
        chosen = trial_choice(name)
        if chosen is None and from_parent:
            chosen = run_trials(name, parent, nice)
        if chosen:
            extra += ["--recipe", chosen["recipe"]]
    budget = max(hours - credit(name)[0] / 3600, 0.01)  # the run's own CPU-hours (a credit is not the run's)
    if name in PLATEAU:  # in chunks ending on a milestone, scored between them (check_plateau)
        from bgmaker.training.run_state import spent
        every = milestone_minutes / 60
        own = spent(run_dir(name))[0] / 3600
        minimum = math.ceil((PLATEAU[name]["minimum"] - credit(name)[0] / 3600) / every - 1e-9) * every
        chunk_end = max(minimum, (int(own / every + 1e-9) + CHECK_EVERY) * every)  # on the run's milestone grid
        budget = min(budget, chunk_end)
    hours_arg = f"{math.ceil(budget * 1e6) / 1e6:.6f}".rstrip("0").rstrip(".")  # rounded up: never short of a milestone
    flags = ["--cpu-hours", hours_arg, "--milestone-every", f"{milestone_minutes:g}", "--checkpoints_to_keep=2",
             *extra]
    precision = training_precision(name)
    if precision:
        flags += ["--precision", precision]
        print(f"bgmaker campaign: {name} trains in {precision}: bf16 has not been shown to learn as fp32 does "
              f"({os.path.relpath(BF16_CHECK, paths.REPO_ROOT)})", flush=True)
    print(f"bgmaker campaign: {' '.join(child_command(name, *flags))}", flush=True)
    return train_in_child(name, flags, run_dir(name).parent / f"{name}.log", env=env(), nice=nice)


def validation_scores(name, folder=None, seed=0, log=print, cached_only=False):
    """Every milestone of run `name` (in `folder`, default the campaign's) scored on its validation split.

    bgmaker.evaluation.evaluate.validate, once per milestone: results are cached in
    <folder>/validation.jsonl, so a stopped scoring resumes. Records: the
    milestone's step, examples, cpu_s, wall_s, checkpoint (absolute) and summary.
    cached_only: only the milestones already scored (nothing is computed).
    """
    from bgmaker.training.run_state import read_milestones
    from bgmaker_configs.runs import get_run
    folder = Path(folder or run_dir(name))
    cache = folder / "validation.jsonl"
    scored = {}
    if cache.is_file():
        for line in cache.read_text().splitlines():
            record = json.loads(line)
            scored[record["checkpoint"]] = record
    for milestone in read_milestones(folder):
        key = Path(milestone["checkpoint"]).name
        if key not in scored and not cached_only:
            log(f"validating {name} {key} ({milestone['cpu_s'] / 60:.0f} CPU-minutes)")
            if get_run(name).humanizes:
                from bgmaker.humanize.evaluate import score_checkpoint
                summary = score_checkpoint(milestone["checkpoint"], "validation", seed=seed)
            else:
                from bgmaker.evaluation import evaluate
                summary = evaluate.validate(name, milestone["checkpoint"], seed=seed, log=lambda *_: None,
                                            output_dir=folder / "validation" / key)
            scored[key] = dict(milestone, checkpoint=key, summary=summary)
            with open(cache, "a") as f:
                f.write(json.dumps(scored[key], default=float) + "\n")
    return sorted((dict(r, checkpoint=str(folder / "milestones" / r["checkpoint"])) for r in scored.values()),
                  key=lambda r: r["cpu_s"])


def start_point(name):
    """The weights stage `name` was warm-started from (its run record's init_from), absolute; None from scratch."""
    start = records.read_record(run_dir(name), missing_ok=True).get("init_from")
    return Path(os.path.normpath(run_dir(name) / start)) if start else None


def start_score(name, seed=0, log=print):
    """The stage's starting weights scored on the stage's validation split, as a record at 0 CPU of the stage.

    The "no fine-tuning" point: v2_rock_beat's milestones have to beat the
    v1_all weights they started from on rock-beat validation windows, or the
    hours spent on them bought nothing. Cached in <run dir>/start_validation.json.
    None for a stage trained from scratch.
    """
    start = start_point(name)
    if start is None:
        return None
    return weights_score(name, start, run_dir(name), seed, log)


def weights_score(name, checkpoint, folder, seed=0, log=print):
    """Weights `checkpoint` scored on stage `name`'s validation split as a record at 0 CPU of the stage
    (start=True), cached in <folder>/start_validation.json while it names the same checkpoint: the point
    fine-tuning has to beat (start_score, choose_trial)."""
    from bgmaker.evaluation import evaluate
    from bgmaker.training.run_state import read_milestones
    checkpoint = Path(checkpoint)
    cache = folder / "start_validation.json"
    if cache.is_file():
        record = json.loads(cache.read_text())
        if record["checkpoint"] == str(checkpoint):
            return record
    known = {Path(m["checkpoint"]).name: m for m in read_milestones(checkpoint.parent.parent)}.get(checkpoint.name)
    if known is None and checkpoint.is_dir() and records.has_record(checkpoint):  # a committed model: its record
        record = records.read_record(checkpoint)
        known = record.get("carried") or record.get("shipped")
    known = known or {}
    log(f"validating {name}'s starting weights {checkpoint.name} ({checkpoint})")
    summary = evaluate.validate(name, str(checkpoint), seed=seed, log=lambda *_: None,
                                output_dir=folder / "validation" / "start")
    record = dict(checkpoint=str(checkpoint), step=known.get("step"), examples=known.get("examples"),
                  cpu_s=0.0, wall_s=0.0, start=True, summary=summary)
    folder.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(record, default=float) + "\n")
    return record


def choose(scores, figures=CHOICE_FIGURES):
    """The record with the best mean rank over `figures` (classifiers ranked by |acc - 0.5|, errors by -error)."""
    if not scores:
        return None

    from bgmaker.humanize.report import LOWER_IS_BETTER  # errors: lower is better (here: no note_seq at import)

    def value(record, key):
        v = record["summary"].get(key)
        if v is None or v != v:  # missing or NaN ranks last
            return float("-inf")
        return -abs(v - 0.5) if key in NEAREST_HALF else -v if key in LOWER_IS_BETTER else v

    ranks = {id(r): 0.0 for r in scores}
    for key in figures:
        for record in scores:  # a record's rank: how many score strictly better (ties share a rank)
            ranks[id(record)] += sum(value(other, key) > value(record, key) for other in scores)
    return min(scores, key=lambda r: (ranks[id(r)], -r["cpu_s"]))


def stage_choice(name, log=print):
    """(best, start, scores): stage `name`'s milestones scored on validation (validation_scores), the weights
    it started from (start_score, None from scratch), and the one `choose` picks among all of them.

    One choice for both the plateau rule and --ship: a mean rank depends on the set it ranks, so the two
    rank the same set, and a best that is the start means the stage's hours bought nothing.
    """
    use_campaign_dirs()
    scores = validation_scores(name, log=log)
    start = start_score(name, log=log)
    return choose(scores + ([start] if start else []), choice_figures(name)), start, scores


def best_milestone(name):
    """The stage's best milestone on validation, if it has any milestone (scored here when not yet).

    For a parent stage trained from scratch (v1_all), where it equals stage_choice's best.
    """
    from bgmaker.training.run_state import read_milestones
    if not read_milestones(run_dir(name)):
        return None
    use_campaign_dirs()
    return choose(validation_scores(name), choice_figures(name))


@contextlib.contextmanager
def kept_until_done(folder):
    """Whatever `folder` holds comes back if the block fails or is stopped: its copy beside it
    (<folder>.old-<pid>) is put back then, and removed once the block has finished.

    Why: --ship writes the new model into models/<run> and then takes an hour or more to evaluate it there
    (the reports name the folder they describe, so it cannot be built elsewhere and moved). A ship stopped
    half way (Ctrl-C, kill) had left the new weights beside the old model's reports, deleted.
    SIGTERM is turned into SystemExit for the block (signal handlers are only the main thread's to set).
    """
    folder = Path(folder)
    old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        shutil.copytree(folder, old)
    handler = None
    if threading.current_thread() is threading.main_thread():
        handler = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        yield folder
    except BaseException:
        if old.exists():
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(old, folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)
    shutil.rmtree(old, ignore_errors=True)


def ship(name):
    """Export the best milestone of `name` to models/<name> with its record, its test-split evaluation
    and its check.json (bgmaker.evaluation.check); a ship that fails or is stopped leaves models/<name>
    as it found it (kept_until_done)."""
    from bgmaker_configs.runs import get_run
    with kept_until_done(get_run(name).shipped_dir):
        return _ship(name)


def _ship(name):
    from bgmaker.evaluation import check, evaluate
    from bgmaker.models import export
    from bgmaker.training.run_state import read_milestones, read_progress
    from bgmaker_configs.runs import get_run
    before, model = credit(name)
    if read_milestones(run_dir(name)):
        best, start, _ = stage_choice(name)
    elif model and Path(model).name == CARRIED_START and plateau(name):
        # state lost after the stage stopped: its carried milestone is the best it had (carry)
        start = None
        best = dict(weights_score(name, model, run_dir(name)), cpu_s=0.0)
    else:
        raise ValueError(f"campaign run {name} has no milestone yet ({run_dir(name)})")
    # Ranked with the weights it started from (the choice's figures): a fine-tuned stage none of whose
    # milestones beats them is not shipped as an improvement of them.
    # A stage that went on from its own carried milestone ships it if nothing since beat it (it is the stage's).
    if best is start and Path(start["checkpoint"]).name != CARRIED_START:
        from bgmaker.errors import UserError
        raise UserError(f"{name}: none of its milestones has beaten its starting weights "
                        f"{Path(start['checkpoint']).name} on validation ({', '.join(CHOICE_FIGURES)}); "
                        f"nothing shipped: train on, or keep the parent's model")
    out = get_run(name).shipped_dir
    # The humanizer's template baseline lives beside it and is kept as committed (refit: bgmaker humanize --fit-template)
    kept_template = (out / TEMPLATE_FILE).read_bytes() if (out / TEMPLATE_FILE).is_file() else None
    if kept_template is not None and not (out / "checkpoint").is_file():
        (out / TEMPLATE_FILE).unlink()  # export writes only into an empty folder or over an exported model
    try:
        # Rounded to float16 precision: ~37% less in git history per ship, beats unchanged (reports/fp16.md).
        prefix = export.export(name, best["checkpoint"], out, run_dir=run_dir(name), weights="fp16")
    except BaseException:
        if kept_template is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / TEMPLATE_FILE).write_bytes(kept_template)
        raise
    progress = read_progress(run_dir(name))
    record = records.read_record(out, missing_ok=True)
    # `before`: CPU a resumed stage had spent before its run folder began counting (its credit)
    run_cpu_s = max(progress[-1]["cpu_s"] + before if progress else before,
                    (plateau(name) or {}).get("spent_cpu_hours", 0) * 3600)
    record.update(shipped=dict(
        checkpoint=Path(prefix).name, step=best["step"], examples=best["examples"],
        cpu_hours=round((best["cpu_s"] + before) / 3600, 2),
        run_cpu_hours=round(run_cpu_s / 3600, 2),
        chosen_on="validation split, best mean rank of " + ", ".join(choice_figures(name)),
        validation=best["summary"], plateau=plateau(name), start_validation=start and dict(
            checkpoint=Path(start["checkpoint"]).name, step=start["step"], summary=start["summary"]),
        time=time.strftime("%Y-%m-%dT%H:%M:%S%z")))
    # The run record's data paths are relative to the run folder it came from: name it (portably).
    record["exported_from"] = f"$BGMAKER_STATE_DIR/campaign/runs/{name}/milestones/{Path(best['checkpoint']).name}"
    records.write_record(out, record, default=float)
    if get_run(name).humanizes:  # the humanizer ships with the template it must beat, and both are reported
        from bgmaker.humanize import evaluate as humanize_evaluation
        from bgmaker.humanize.template import TemplateHumanizer, fit_gmd_template
        if kept_template is not None:
            (out / TEMPLATE_FILE).write_bytes(kept_template)
            template = TemplateHumanizer.load(out / TEMPLATE_FILE)
        else:
            template = fit_gmd_template(out / TEMPLATE_FILE)
        humanize_evaluation.evaluate(prefix, template, "test", output_dir=out)
        humanize_evaluation.record_check(out)  # the fingerprint tests/test_shipped_model.py repeats
        return prefix
    evaluate.evaluate(name, prefix, "test", output_dir=out, plots=False)
    check.record(out)  # the small seeded evaluation tests/test_shipped_model.py repeats
    # Priors and attribute vectors of this model's own latent space (a predecessor's would steer it wrongly)
    from bgmaker.evaluation import priors as latent_priors
    latent_priors.fit_and_evaluate(get_run(name), prefix, out)
    drop_carry(name)
    return prefix


def stage_history(name, score=False, log=print):
    """Stage `name`'s curves, in CPU seconds of the whole stage: dict(progress, validation, starts), oldest first.

    Its run's own records shifted by its credit, behind the curves of the carried milestone it resumed from
    (its HISTORY_FILE), if it did. score: also score the milestones not yet scored on validation (slow);
    else only those already scored. The starting weights' score is not among them (start_score).
    """
    from bgmaker.training.run_state import read_progress
    folder = run_dir(name)
    before, model = credit(name)
    carried = {}
    if model and (Path(model) / HISTORY_FILE).is_file():  # up to the carried milestone: the run's own follow
        carried = {k: [r for r in v if r.get("cpu_s", r.get("cpu_s_before", 0)) <= before]
                   for k, v in json.loads((Path(model) / HISTORY_FILE).read_text()).items()}
    scores = validation_scores(name, log=log, cached_only=not score) if folder.is_dir() else []
    starts = records.read_record(folder, missing_ok=True).get("starts", []) if folder.is_dir() else []
    return dict(progress=carried.get("progress", []) + [dict(p, cpu_s=p["cpu_s"] + before) for p in read_progress(folder)],
                validation=carried.get("validation", []) + [dict(v, cpu_s=v["cpu_s"] + before) for v in scores],
                starts=carried.get("starts", []) + [dict(s, cpu_s_before=s["cpu_s_before"] + before) for s in starts])


def carry(name):
    """Export stage `name`'s newest milestone, rounded to fp16 as --ship rounds, to models/carry/<name> with
    what it had spent and its curves; return the prefix, or None when the folder already holds it.

    Why: the campaign's state lives outside the checkout and survives only a session on the same machine.
    Committed, the carried milestone is where a campaign on another machine goes on from (committed_model:
    with its global step and its CPU credited), instead of the stage's older shipped model. Adam's moments
    are not carried (weights only, as a shipped model), so a resume from it starts them anew. One folder per
    stage, overwritten: each commit of it adds one fp16-rounded model to the history.
    """
    from bgmaker.models import export
    from bgmaker.training.run_state import read_milestones, read_progress
    milestones = read_milestones(run_dir(name))
    if not milestones:
        return None
    newest = milestones[-1]
    flat = plateau(name)
    if flat:  # stopped on its plateau: the milestone it will ship, and the record that keeps it stopped
        newest = next((m for m in milestones if Path(m["checkpoint"]).name == flat["best"]), None)
        if newest is None:  # its best is the weights it started from: nothing of its own to carry
            return None
    before, _ = credit(name)
    cpu_s = newest["cpu_s"] + before
    from bgmaker_configs.runs import get_run
    shipped_dir = get_run(name).shipped_dir
    shipped = records.read_record(shipped_dir, missing_ok=True).get("shipped") or {}
    parent = dict((n, p) for n, _, p, _ in STAGES).get(name)
    # a shipped model fine-tuned from older parent weights is another run's: it cannot have seen this milestone
    stale = bool(parent) and (shipped_dir / "checkpoint").is_file() and fine_tuned_from_older(shipped_dir, parent)
    if not stale and (shipped.get("run_cpu_hours") or 0) * 3600 >= cpu_s - 36:  # shipped since: --ship saw it
        return None
    out = records.carry_dir(name)
    held = {}
    if (out / "checkpoint").is_file():
        held = records.read_record(out, missing_ok=True).get("carried") or {}
    if held.get("step") == newest["step"] and held.get("cpu_s") == cpu_s and held.get("plateau") == flat:
        return None
    history = stage_history(name)  # the run's own checkpoints named as on any machine (the carried ones are)
    history = dict(progress=[p for p in history["progress"] if p["cpu_s"] <= cpu_s],
                   validation=[dict(v, checkpoint=paths.portable(v["checkpoint"]) if Path(v["checkpoint"]).is_absolute()
                                    else v["checkpoint"]) for v in history["validation"] if v["cpu_s"] <= cpu_s],
                   starts=[s for s in history["starts"] if s["cpu_s_before"] <= cpu_s])
    last = next((p for p in reversed(read_progress(run_dir(name))) if p["cpu_s"] <= newest["cpu_s"]), {})
    staging = out.with_name(f"{out.name}.new-{os.getpid()}")  # filled, then swapped in: never half-written
    shutil.rmtree(staging, ignore_errors=True)
    try:
        prefix = export.export(name, newest["checkpoint"], staging, run_dir=run_dir(name), weights="fp16")
        (staging / HISTORY_FILE).write_text(json.dumps(history, default=float) + "\n")
        record = records.read_record(staging, missing_ok=True)
        record["exported_from"] = f"$BGMAKER_STATE_DIR/campaign/runs/{name}/milestones/{Path(newest['checkpoint']).name}"
        record["carried"] = dict(checkpoint=Path(prefix).name, step=newest["step"], examples=newest["examples"],
                                 cpu_s=cpu_s, cpu_hours=round(cpu_s / 3600, 2), cpu=last.get("cpu"),
                                 precision=last.get("precision"), plateau=flat,
                                 trial_choice=trial_choice(name) if name in TRIALS else None,
                                 time=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        records.write_record(staging, record, default=float)
        old = out.with_name(f"{out.name}.old-{os.getpid()}")
        if out.exists():
            os.replace(out, old)  # the older carry stays whole until the new one is in place
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(out / Path(prefix).name)


def drop_carry(name):
    """Remove stage `name`'s carried milestone once the stage is done: its shipped model supersedes it (a carry
    that had spent more would otherwise have a new machine train a finished stage again). True if it was removed.

    The carried recipe trials (carry_trials_path, a few KB) stay: they are the evidence for the recipe the
    shipped model was trained with, which reports/finetune.py reads on any machine, and trial_scores only
    uses them for the same starting weights."""
    hours = dict((n, h) for n, h, _, _ in STAGES)[name]
    if not stage_done(name, hours) or not records.carry_dir(name).is_dir():
        return False
    shutil.rmtree(records.carry_dir(name))
    return True


