"""Resume the long training behind the shipped models: humanize, v1_all, then v2_rock_beat warm-started from v1_all.

  bgmaker campaign             # train the next unfinished stage (scripts/campaign.sh runs it in the background)
  bgmaker campaign --status    # where it stands
  bgmaker campaign --ship v2_rock_beat   # choose on validation, export to models/, evaluate on test

humanize (the GrooVAE humanizer) trains for 6 CPU-hours (milestones every 30 CPU-minutes), then
v1_all for at least 16 CPU-hours and on while its validation curve rises, at most 24 (milestones every
60 CPU-minutes), then v2_rock_beat,
warm-started from v1_all's best milestone, for 6 (milestones every 20), or less when
its validation curve flattens (after 3, once its best milestone is 2 CPU-hours old). State:
$BGMAKER_STATE_DIR/campaign (default ~/.local/state/bgmaker/campaign); each stage's
training log: campaign/runs/<run>.log there. The stages, budgets and choice of
checkpoint live in bgmaker.training.campaign.
"""
import os

from bgmaker.training.campaign import (STAGES, check_plateau, claim, forget_stale_start, run_dir, ship, stage_done,
                                       status, train_stage, use_campaign_dirs)
from bgmaker.training.run_state import read_milestones

ACCEPTS_EXTRA_ARGS = False
QUIET = True  # training logs to campaign/runs/<run>.log (its own command); this process only prints its steps


def add_arguments(parser):
    parser.add_argument("--status", action="store_true", help="print where the campaign stands and exit")
    parser.add_argument("--ship", default=None, metavar="RUN",
                        help="score RUN's milestones on validation, export the best to models/RUN with its "
                             "test-split evaluation, and exit")
    parser.add_argument("--nice", type=int, default=10, help="niceness of the campaign and its training (default 10)")


def main(args):
    if args.status:
        print("\n".join(status()))
        return 0
    if args.ship:
        use_campaign_dirs()
        print(f"bgmaker campaign: shipped {ship(args.ship)}")
        return 0
    claim()
    os.nice(args.nice)  # scoring milestones between chunks runs in this process: as low as the training
    for name, hours, parent, milestone_minutes in STAGES:
        forget_stale_start(name, parent, log=lambda m: print(m, flush=True))
        while not stage_done(name, hours):
            # checked before each chunk: a campaign stopped between a chunk and its check loses nothing
            if check_plateau(name, log=lambda m: print(m, flush=True)) is not None:
                break
            before = read_milestones(run_dir(name))
            code = train_stage(name, hours, parent, 0, milestone_minutes)
            print("\n".join(status()), flush=True)
            if code != 0:
                return code
            if read_milestones(run_dir(name)) == before and not stage_done(name, hours):
                # a chunk ends on a milestone: none new means it trained nothing, and would loop for ever
                print(f"bgmaker campaign: {name} made no new milestone (log: {run_dir(name).parent / (name + '.log')})")
                return 1
    print("bgmaker campaign: every stage is done (its budget spent, or its validation curve flat: --status); "
          "ship with --ship humanize / --ship v1_all / --ship v2_rock_beat")
    return 0
