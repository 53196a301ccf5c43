"""One conversion: the flags of `bgmaker convert`, also run as `python -m bgmaker.data`.

  python -m bgmaker.data --run v2_rock_beat                     # -> $BGMAKER_DATA_DIR/v2_rock_beat
  python -m bgmaker.data --input ~/grooves --output-dir data/grooves
  python -m bgmaker.data --run v1_all --beam [--runner=... --project=...]   # Apache Beam (bgmaker.data.beam)

Reading MIDI the way Magenta's convert_dir_to_note_sequences does imports
that app, whose absl flags clash with music_vae_train's; so a process that
trains, or may train next, converts in a child process of its own, and the
library starts this entry point for it (bgmaker.data.convert's `converted`
and `ensure_converted`), not the `bgmaker` command. The conversion itself
(selection, windows, shuffle, split, report) is bgmaker.data.convert; this
module turns flags into runs and selections and prints each report.
"""
from pathlib import Path

from bgmaker import paths
from bgmaker.data.convert import SELECT_FIELDS, convert_run

PROG = "bgmaker convert"  # the name its errors carry, however it was started (a parent may quote them)
ACCEPTS_EXTRA_ARGS = True  # Beam's pipeline options, with --beam


def add_arguments(parser):
    parser.add_argument("--run", action="append", default=None,
                        help="named run(s) to convert for (default: every named run)")
    parser.add_argument("--gmd", "--input", dest="input", default=None,
                        help="GMD folder or its zip, or any folder of MIDI (default: $BGMAKER_GMD_DIR "
                             "or ../shared/data/groove)")
    parser.add_argument("--output-dir", default=None,
                        help="where to write the TFRecords and report (default: data/<run>; "
                             "required with a custom selection)")
    for field in SELECT_FIELDS:
        parser.add_argument(f"--{field.replace('_', '-')}", dest=field, action="append", default=None,
                            help=f"select by {field} (repeatable; replaces the run's own {field})")
    parser.add_argument("--bpm", default=None, help="select a bpm range, e.g. 90-130")
    parser.add_argument("--config", default=None, metavar="MODEL",
                        help="write the windows another of BGMaker's models reads (e.g. groovae-humanize_4bar "
                             "for run humanize: 4-bar expressive windows); default: the run's own model")
    parser.add_argument("--whole-files", action="store_true",
                        help="store whole performances (Magenta's 5 random slices) instead of every window")
    parser.add_argument("--beam", action="store_true",
                        help="convert with the Apache Beam pipeline (same windows per split, sharded output): "
                             "DirectRunner here, or any runner given Beam's options (--runner, --project, "
                             "--temp_location, ...). Needs scripts/install.sh --beam")
    parser.add_argument("--shards", type=int, default=None, metavar="N",
                        help="with --beam: shards per split (default 4)")
    parser.epilog = "With --beam, flags not listed here are Beam pipeline options."


def selection(args, run):
    """The GMD selection the flags ask for: the run's own (or none), each given field replacing the run's."""
    select = dict(run.select) if run else {}
    for field in SELECT_FIELDS:
        value = getattr(args, field)
        if value:
            select[field] = value if len(value) > 1 else value[0]
    if args.bpm:
        try:
            low, high = (int(x) for x in args.bpm.split("-"))
        except ValueError:
            raise ValueError(f"--bpm {args.bpm!r}: expected a range like 90-130") from None
        select["bpm"] = (low, high)
    return select


def main(args, argv=None):
    """Convert what the flags select, printing each report; return the exit status.

    argv: the flags as given (default this process's own); with --beam and
    no Beam here, the conversion starts afresh with them in Beam's environment.
    """
    extra = list(getattr(args, "extra", []) or [])
    if extra and not args.beam:
        raise ValueError(f"unrecognized arguments: {' '.join(extra)} (pipeline options go with --beam)")
    if args.shards is not None and (not args.beam or args.shards < 1):
        raise ValueError("--shards N goes with --beam, N >= 1")
    if args.beam:
        from bgmaker.data import beam
        remote = next((f"{flag} {value}" for flag, value in (("--input", args.input), ("--output-dir", args.output_dir))
                       if value and "://" in str(value)), None)
        if remote:
            raise ValueError(f"{remote}: --beam reads and writes folders of this machine's filesystem (local or "
                             "mounted); remote storage such as gs:// is not supported yet")
        if not beam.beam_available():
            import os
            import sys
            try:
                command = beam.relaunch_command(sys.argv[1:] if argv is None else argv)
            except beam.BeamNotInstalled as e:
                raise ValueError(str(e)) from None
            sys.stdout.flush()
            os.execv(command[0], command)
    custom = any(getattr(args, f) for f in SELECT_FIELDS) or args.bpm
    from bgmaker_configs.runs import RUNS, get_run
    if args.run:
        runs = [get_run(name) for name in args.run]
        if args.config:
            from bgmaker.training.train import resolve_run
            runs = [resolve_run(run.name, config=args.config) for run in runs]
        if len(runs) > 1 and args.output_dir:
            raise ValueError("--output-dir needs exactly one --run")
    elif custom or args.output_dir:
        if not args.output_dir:
            raise ValueError("a custom selection needs --output-dir (or --run NAME to refine a run)")
        runs = [None]
    elif args.input and Path(args.input).is_dir() and not (Path(args.input) / "info.csv").is_file():
        # your own MIDI folder: not a GMD selection; written to data/<folder name> unless --output-dir
        args.output_dir = str(paths.data_dir() / Path(args.input).resolve().name)
        runs = [None]
    else:
        runs = list(RUNS.values())
    engine = None
    if args.beam:
        import functools

        from bgmaker.data import beam
        engine = functools.partial(beam.convert, pipeline_args=extra, shards=args.shards or beam.DEFAULT_SHARDS)
    for run in runs:
        report = convert_run(run, source=args.input, out_dir=args.output_dir,
                             select=selection(args, run),
                             every_window=False if args.whole_files else None, engine=engine)
        print((Path(report["out_dir"]) / "report.md").read_text(), flush=True)
    return 0
