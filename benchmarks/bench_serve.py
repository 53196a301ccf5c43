"""Web beat machine latency: what the page waits for, over HTTP on the loopback, once the model is warm.

  .venv/bin/python benchmarks/bench_serve.py [--run v2_rock_beat | --checkpoint PATH] [--repeats 15]

Starts `bgmaker serve`'s app (bgmaker.serve.app) in this process on 127.0.0.1 with the chosen model,
warms it up as the command does, then times each page action --repeats times, one request at a time:
generate 8 beats, 8 variations, a reconstruction, an 8-step interpolation (32 bars), a MIDI and a WAV
export of those 32 bars, and a MIDI upload. Prints the median and the slowest request (wall time
seen by the client) and the median model time the server reports (`ms`). Writes
benchmarks/bench_serve.json. The machine is shared: read the figures as rough.
"""
import argparse
import http.client
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def post(port, path, body, content_type="application/json"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    data = json.dumps(body).encode() if content_type == "application/json" else body
    start = time.perf_counter()
    conn.request("POST", path, body=data, headers={"Content-Type": content_type})
    response = conn.getresponse()
    payload = response.read()
    wall = time.perf_counter() - start
    conn.close()
    if response.status != 200:
        raise SystemExit(f"{path}: {response.status} {payload[:200]!r}")
    return wall, payload


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from bgmaker.generation.generator import BeatGenerator
    from bgmaker.serve import app as web, server as serving
    sys.path.insert(0, str(REPO / "tests"))
    import drum_midi

    t0 = time.perf_counter()
    run = args.run or (None if args.checkpoint else "v2_rock_beat")
    from bgmaker.generation.refine import INTERACTIVE_STEPS
    generator = BeatGenerator.load(run=run, checkpoint=args.checkpoint, refine_steps=INTERACTIVE_STEPS)  # as serve
    app = web.create_app(generator, "bench")
    app.state.machine.warm_up()
    load_s = time.perf_counter() - t0
    sock = serving.listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = serving.make_server(app)
    threading.Thread(target=server.run, kwargs=dict(sockets=[sock]), daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    beats = json.loads(post(port, "/api/sample", dict(count=8, seed=1))[1])["beats"]
    path = json.loads(post(port, "/api/interpolate", dict(a=beats[0], b=beats[1], steps=8, seed=1))[1])["beats"]
    midi = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_serve_upload.mid"
    drum_midi.write_midi(drum_midi.rock_beat(bars=8), midi)
    actions = {
        "generate 8 beats": ("/api/sample", lambda i: dict(count=8, seed=100 + i)),
        "8 variations": ("/api/variations", lambda i: dict(beat=beats[0], count=8, seed=i)),
        "reconstruct 1 beat": ("/api/reconstruct", lambda i: dict(beat=beats[0], seed=i)),
        "interpolate 8 steps (32 bars)": ("/api/interpolate", lambda i: dict(a=beats[0], b=beats[1], steps=8, seed=i)),
        "export MIDI, 32 bars": ("/api/export", lambda i: dict(beats=path, bpm=120, format="midi")),
        "export WAV, 32 bars": ("/api/export", lambda i: dict(beats=path, bpm=120, format="wav")),
        "load a MIDI file (8 bars)": ("/api/midi", lambda i: midi.read_bytes()),
    }
    rows = []
    for name, (endpoint, body) in actions.items():
        walls, model_ms = [], []
        for i in range(args.repeats):
            kind = "audio/midi" if endpoint == "/api/midi" else "application/json"
            wall, payload = post(port, endpoint, body(i), kind)
            walls.append(wall * 1000)
            if kind == "application/json" and payload[:1] == b"{":
                answer = json.loads(payload)
                if "ms" in answer:
                    model_ms.append(answer["ms"])
        rows.append(dict(action=name, median_ms=round(statistics.median(walls), 1), max_ms=round(max(walls), 1),
                         model_median_ms=round(statistics.median(model_ms), 1) if model_ms else None))
    server.should_exit = True

    result = dict(model=generator.choice.why, load_and_warm_up_s=round(load_s, 1), repeats=args.repeats,
                  machine=f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
                          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}", rows=rows)
    print(f"model: {result['model']}; loaded and warmed up in {load_s:.1f} s; {result['machine']}")
    print(f"| action | median (ms) | slowest of {args.repeats} (ms) | model time, median (ms) |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['action']} | {r['median_ms']} | {r['max_ms']} | {r['model_median_ms'] or '–'} |")
    (REPO / "benchmarks" / "bench_serve.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
