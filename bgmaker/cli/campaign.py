"""Resume the long training behind the shipped models: humanize, v1_all, then v2_rock_beat warm-started from v1_all.

  bgmaker campaign             # train the next unfinished stage (scripts/campaign.sh runs it in the background)
  bgmaker campaign --status    # where it stands
  bgmaker campaign --ship v2_rock_beat   # choose on validation, export to models/, evaluate on test
  bgmaker campaign --carry     # export each stage's newest milestone to models/carry/ (commit it)

humanize (the GrooVAE humanizer) trains for 6 CPU-hours (milestones every 30 CPU-minutes), then
v1_all for at least 16 CPU-hours and on while its validation curve rises, at most 24 (milestones every
60 CPU-minutes), then v2_rock_beat,
warm-started from v1_all's best milestone, for 6 (milestones every 20), or less when
its validation curve flattens (after 3, once its best milestone is 2 CPU-hours old). State:
$BGMAKER_STATE_DIR/campaign (default ~/.local/state/bgmaker/campaign); each stage's
training log: campaign/runs/<run>.log there. That state survives only a session on the same
machine: after each chunk the campaign exports the stage's newest milestone to models/carry/<run>
(fp16-rounded weights, what it had spent, its curves); committed, it is where a campaign on another
machine goes on from. The stages, budgets and choice of checkpoint live in bgmaker.training.campaign.
"""
from bgmaker.training.campaign import STAGES, carry, resume, ship, status, use_campaign_dirs

ACCEPTS_EXTRA_ARGS = False
QUIET = True  # training logs to campaign/runs/<run>.log (its own command); this process only prints its steps


def add_arguments(parser):
    parser.add_argument("--status", action="store_true", help="print where the campaign stands and exit")
    parser.add_argument("--ship", default=None, metavar="RUN",
                        help="score RUN's milestones on validation, export the best to models/RUN with its "
                             "test-split evaluation, and exit (stopped or failed, it leaves models/RUN as it was)")
    parser.add_argument("--carry", nargs="?", const="all", default=None, metavar="RUN",
                        help="export the newest milestone of RUN (its best, once it stopped on a flat curve; "
                             "default: of every stage that has one) to models/carry/RUN, for a campaign on another "
                             "machine to go on from; commit it, and exit")
    parser.add_argument("--nice", type=int, default=10, help="niceness of the campaign and its training (default 10)")


def main(args):
    if args.status:
        print("\n".join(status()))
        return 0
    if args.carry:
        names = [name for name, *_ in STAGES]
        if args.carry != "all" and args.carry not in names:
            from bgmaker.errors import UserError
            raise UserError(f"--carry {args.carry}: not a campaign stage (one of {', '.join(names)})")
        for name in names if args.carry == "all" else [args.carry]:
            prefix = carry(name)
            print(f"bgmaker campaign: {name}: " + (f"carried {prefix}; commit its folder" if prefix else
                                                  "nothing new to carry"))
        return 0
    if args.ship:
        use_campaign_dirs()
        print(f"bgmaker campaign: shipped {ship(args.ship)}")
        return 0
    return resume(args.nice)
