"""The web beat machine: a drum grid page to generate, edit, hear, interpolate and export beats.

  bgmaker serve                                  # the shipped v2_rock_beat model, http://127.0.0.1:8765/
  bgmaker serve --run v1_all --port 9000
  bgmaker serve --checkpoint runs/mine           # any checkpoint, as for `bgmaker generate`

One process loads the model once and serves the page and its JSON API
(bgmaker.serve.app) until Ctrl-C. Only this machine can reach it unless --host
says otherwise (e.g. --host 0.0.0.0 for every network the machine is on).
"""
import argparse
import sys
import time

DEFAULT_RUN = "v2_rock_beat"
DEFAULT_PORT = 8765


def add_arguments(parser):
    from bgmaker.models import drum_config_names
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the examples' lines
    g = parser.add_argument_group("model")
    g.add_argument("--run", help=f"a named run (bgmaker runs): its shipped model in models/RUN, else its newest "
                                 f"training checkpoint (default without --checkpoint: {DEFAULT_RUN})")
    g.add_argument("--checkpoint", help="checkpoint prefix, model folder, train/ dir or run dir")
    g.add_argument("--config", default=None, choices=drum_config_names(), metavar="CONFIG",
                   help="the drum config the checkpoint was trained as, with --checkpoint "
                        "(default: the one its bgmaker_run.json records)")
    g.add_argument("--hparams", default=None,
                   help="hparam overrides the checkpoint was trained with (default: the recorded hparams.txt)")
    from bgmaker.generation.refine import (DEFAULT_LEARNING_RATE, DEFAULT_STEPS, INTERACTIVE_LEARNING_RATE,
                                           INTERACTIVE_STEPS)
    g.add_argument("--refine-steps", type=int, default=INTERACTIVE_STEPS, metavar="N",
                   help="refinement steps of a beat's latent code before Reconstruct, Variations and Interpolate "
                        f"(default {INTERACTIVE_STEPS}, to answer within seconds; the command line's "
                        f"{DEFAULT_STEPS} play it back more faithfully; 0: the encoder's mean)")
    g.add_argument("--refine-lr", type=float, default=INTERACTIVE_LEARNING_RATE, metavar="LR",
                   help=f"the refinement's learning rate (default {INTERACTIVE_LEARNING_RATE:g}: at the page's "
                        f"few steps it plays beats back more faithfully than the command line's "
                        f"{DEFAULT_LEARNING_RATE:g}; see docs/refine.md)")
    g = parser.add_argument_group("server")
    g.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default %(default)s: this machine only)")
    g.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s; 0 picks a free one)")
    g.add_argument("--humanize", default="auto", metavar="HUMANIZER",
                   help="what the page's Humanize switch plays with: auto (default: bgmaker.humanize's choice), "
                        "groovae, template, a humanize model folder, or none (no switch)")
    g.add_argument("--renderer", choices=("auto", "fluidsynth", "builtin"), default="auto",
                   help="how WAV exports and the page's drum sounds are rendered (default: fluidsynth when "
                        "installed, else the built-in synth)")


def main(args):
    from bgmaker.errors import UserError
    from bgmaker.serve import server
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: use 0-65535")
    if args.refine_steps < 0:
        raise UserError(f"--refine-steps must be 0 or more, got {args.refine_steps}")
    if not 0 < args.refine_lr < float("inf"):
        raise UserError(f"--refine-lr must be a positive number, got {args.refine_lr}")
    try:
        sock = server.listen(args.host, args.port)  # before anything loads: a busy port fails in a second
    except OSError as e:
        raise UserError(str(e)) from None

    from bgmaker.generation.generator import BeatGenerator
    from bgmaker.serve.app import create_app
    t0 = time.perf_counter()
    run = args.run or (None if args.checkpoint else DEFAULT_RUN)
    generator = BeatGenerator.load(run=run, checkpoint=args.checkpoint, config=args.config, hparams=args.hparams,
                                   refine_steps=args.refine_steps, refine_learning_rate=args.refine_lr)
    print(f"model: {generator.choice.why}", flush=True)
    humanizer = None
    if args.humanize != "none":
        from bgmaker import humanize
        try:
            humanizer = humanize.load(args.humanize)
            print(f"humanize: {humanizer.name}", flush=True)
        except FileNotFoundError as e:
            if args.humanize != "auto":
                raise
            print(f"humanize: none ({e})", flush=True)
    loopback = server.is_loopback(args.host)
    app = create_app(generator, f"model: {generator.choice.why}", renderer=args.renderer,
                     allowed_hosts=server.LOOPBACK_NAMES if loopback else ["*"], humanizer=humanizer)
    app.state.machine.warm_up()
    print(f"loaded and warmed up in {time.perf_counter() - t0:.1f} s", flush=True)
    if not loopback:
        print(f"bgmaker serve: listening on {args.host}: other machines can reach this page", file=sys.stderr)
    print(f"BGMaker beat machine: {server.url_of(sock)}  (Ctrl-C to stop)", flush=True)
    try:
        server.make_server(app).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stops cleanly on Ctrl-C, then passes the signal on
        pass
    print("stopped", flush=True)
    return 0
