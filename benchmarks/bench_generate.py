"""Generation speed: stock `music_vae_generate` and `bgmaker generate`, side by side, in one run.

  .venv/bin/python benchmarks/bench_generate.py [--run NAME | --checkpoint PATH [--config NAME]]

Measures
  1. cold CLI: wall time from starting the command to its first MIDI file, and
     to its exit (median of --repeats runs), for the same checkpoint and count;
     plus `bgmaker generate render` of one MIDI file, which loads no model;
  2. warm process: 4-bar beats per second once the model is loaded, for
     Magenta's TrainedModel.sample (what music_vae_generate runs) and
     BeatGenerator.sample, and the cost of rendering one beat (MIDI/WAV/PNG).

Without a model it trains one first: hierdec-drum_4bar at its real size
(z 512, LSTMs 512/256) for one step on synthetic beats, so the compute is
the real model's (--tiny: TINY_HPARAMS instead). The machine is shared: read
figures as rough, and compare the columns of one run.
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def run(*cmd):
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True, env=ENV)


def train_model(work, tiny):
    sys.path.insert(0, str(REPO / "tests"))
    import drum_midi
    midi = work / "midi"
    midi.mkdir()
    for i in range(6):
        drum_midi.write_midi(drum_midi.rock_beat(bars=8, variant=i), midi / f"beat_{i}.mid")
    examples = work / "beats.tfrecord"
    run(BIN / "convert_dir_to_note_sequences", f"--input_dir={midi}", f"--output_file={examples}")
    if tiny:
        from bgmaker_configs import TINY_HPARAMS as hparams
    else:
        hparams = "batch_size=4"  # the real network; batch size does not change inference
    run(BIN / "music_vae_train", "--config=hierdec-drum_4bar", f"--run_dir={work / 'run'}", "--mode=train",
        f"--examples_path={examples}", "--num_steps=1", f"--hparams={hparams}")
    return work / "run" / "train", midi / "beat_0.mid"


def cold(commands, work, repeats):
    """{name: (median, min) of (seconds to the first .mid, seconds to exit)}; the commands take turns."""
    times = {name: [] for name in commands}
    for r in range(repeats):
        for name, cmd in commands.items():
            out = work / f"{name}_{r}"
            start = time.perf_counter()
            proc = subprocess.Popen([str(c) for c in cmd] + [_out_flag(cmd, out)], env=ENV,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            first = None
            while proc.poll() is None:
                if first is None and glob.glob(f"{out}/*.mid"):
                    first = time.perf_counter() - start
                time.sleep(0.01)
            total = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed:\n{proc.stderr.read()[-2000:]}")
            times[name].append((first or total, total))
    return {name: [(statistics.median(t[i] for t in ts), min(t[i] for t in ts)) for i in (0, 1)]
            for name, ts in times.items()}


def _out_flag(cmd, out):
    return f"--output_dir={out}" if str(cmd[0]).endswith("music_vae_generate") else f"--output-dir={out}"


def throughput(fns, seconds, rounds=3):
    """{name: best beats/s} of each fn() (returning a list of beats), taking turns for `rounds` rounds.

    Best of rounds, in turns: on a shared machine the slowest rounds measure
    the neighbours, not the code.
    """
    best = {}
    for name, fn in fns.items():
        fn()  # warm-up: the first run of a graph is slower
    for _ in range(rounds):
        for name, fn in fns.items():
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds / rounds:
                n += len(fn())
            best[name] = max(best.get(name, 0.0), n / (time.perf_counter() - start))
    return best


def per_call(fn, repeats=5):
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="a named run with a trained checkpoint")
    p.add_argument("--checkpoint", help="checkpoint prefix, train/ dir or run dir")
    p.add_argument("--config", default="hierdec-drum_4bar")
    p.add_argument("--tiny", action="store_true", help="train the tiny test model instead of a real-size one")
    p.add_argument("--num", type=int, default=8, help="beats per cold CLI call (default 8)")
    p.add_argument("--repeats", type=int, default=3, help="cold runs per command (default 3)")
    p.add_argument("--seconds", type=float, default=12.0, help="seconds of warm sampling per model and batch size")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_generate-"))
    midi_input = None
    if args.run:
        from bgmaker import models
        try:
            choice = models.locate(args.run)  # the shipped model, else the run's newest checkpoint
        except FileNotFoundError as e:
            raise SystemExit(str(e))
        checkpoint, config = choice.checkpoint, choice.config
    elif args.checkpoint:
        checkpoint, config = Path(args.checkpoint), args.config
    else:
        print(f"training a {'tiny' if args.tiny else 'real-size'} hierdec-drum_4bar for 1 step ...", flush=True)
        checkpoint, midi_input = train_model(work, args.tiny)
        config = "hierdec-drum_4bar"
    from bgmaker.models import resolve_checkpoint
    checkpoint = resolve_checkpoint(checkpoint)
    if midi_input is None:
        sys.path.insert(0, str(REPO / "tests"))
        import drum_midi
        midi_input = drum_midi.write_midi(drum_midi.rock_beat(bars=4), work / "beat.mid")
    print(f"model: {config} @ {checkpoint}\n", flush=True)

    n = args.num
    ours_cmd = [BIN / "bgmaker", "generate", "sample", "--config", config, "--checkpoint", checkpoint,
                "--num", n, "--seed", 1, "--renderer", "builtin"]
    times = cold({
        "stock": [BIN / "music_vae_generate", f"--config={config}", f"--checkpoint_file={checkpoint}",
                  "--mode=sample", f"--num_outputs={n}", "--temperature=0.5"],
        "ours_midi": ours_cmd + ["--no-audio", "--no-png"],
        "ours_all": ours_cmd,
        "render": [BIN / "bgmaker", "generate", "render", midi_input, "--renderer", "builtin"],
    }, work, args.repeats)
    stock, ours_midi, ours_all, render_only = (times[k] for k in ("stock", "ours_midi", "ours_all", "render"))

    # warm, in this process
    import bgmaker_configs
    bgmaker_configs.register()  # compat shims + configs, before Magenta
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    import warnings
    warnings.filterwarnings("ignore")
    from magenta.models.music_vae import TrainedModel, configs

    from bgmaker import render

    from bgmaker import models
    from bgmaker.generation.generator import BeatGenerator
    stock_config = configs.CONFIG_MAP[config]
    overrides = models.recorded_hparams(checkpoint)
    if overrides:
        stock_config.hparams.parse(overrides)
    length = stock_config.hparams.max_seq_len
    warm = {}
    for batch in (8, 64):
        t = time.perf_counter()
        stock_model = TrainedModel(stock_config, batch_size=batch, checkpoint_dir_or_path=checkpoint)
        stock_load = time.perf_counter() - t
        t = time.perf_counter()
        generator = BeatGenerator(config, checkpoint, batch_size=batch)
        ours_load = time.perf_counter() - t
        seeds = iter(range(10 ** 9))
        rates = throughput({"stock": lambda: stock_model.sample(n=batch, length=length, temperature=0.5),
                            "ours": lambda: generator.sample(batch, 0.5, seed=next(seeds))}, args.seconds)
        stock_rate, ours_rate = rates["stock"], rates["ours"]
        warm[batch] = (stock_load, ours_load, stock_rate, ours_rate)
    beat = generator.sample(1, 0.5, seed=1)[0]
    out = work / "render_one"
    costs = {
        "MIDI": per_call(lambda: render.write_midi(beat, f"{out}.mid")),
        "WAV, built-in synth": per_call(lambda: render.render_wav(beat, f"{out}.wav", renderer="builtin")),
        "PNG": per_call(lambda: render.plot_grid([beat], f"{out}.png")),
    }
    if render.audio.fluidsynth_status()[0]:
        costs["WAV, fluidsynth"] = per_call(lambda: render.render_wav(beat, f"{out}.wav", renderer="fluidsynth"))

    row = "{:<52}{:>22}{:>22}"
    fmt = "{0[0]:.1f} ({0[1]:.1f})".format
    print(row.format("", "music_vae_generate", "bgmaker generate"))
    print(f"cold CLI, {n} samples, seconds: median (min) of {args.repeats}")
    print(row.format("  first MIDI written", fmt(stock[0]), fmt(ours_midi[0])))
    print(row.format("  exit, MIDI only", fmt(stock[1]), fmt(ours_midi[1])))
    print(row.format("  exit, MIDI + WAV (built-in) + PNG", "-", fmt(ours_all[1])))
    print(row.format("  render one MIDI file (no model)", "-", fmt(render_only[1])))
    print("warm process (model loaded once):")
    for batch, (sl, ol, sr, orate) in warm.items():
        print(row.format(f"  model load, batch {batch}, s", f"{sl:.1f}", f"{ol:.1f}"))
        print(row.format(f"  4-bar samples/s, batch {batch} (best of 3)", f"{sr:.1f}", f"{orate:.1f}"))
    print(f"rendering one beat ({len(beat.notes)} notes), ms:")
    for what, seconds in costs.items():
        print(row.format(f"  {what}", "-", f"{seconds * 1000:.0f}"))
    print(f"\n(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; files in {work})")


if __name__ == "__main__":
    main()
