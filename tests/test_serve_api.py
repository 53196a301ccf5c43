"""`bgmaker serve`'s JSON API on the tiny model: model jobs, exports, uploads, bad requests, parallel requests.

Every request goes over real HTTP to a uvicorn server on 127.0.0.1 (tests/serve_harness.py);
the command itself is started once as a subprocess, as a user starts it.
"""
import json
import os
from pathlib import Path
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import note_seq
import numpy as np
import pytest

import drum_midi
from conftest import VENV_BIN
from serve_harness import api, request, serve_tiny

from bgmaker.data.midi import find_window
from bgmaker.data.windows import to_grid
from bgmaker.serve import app as web


@pytest.fixture(scope="module")
def url(tiny_model):
    return serve_tiny(tiny_model)[0]


def grid_of(beat):
    return np.array(beat, dtype=bool)


def a_beat(variant=0):
    return to_grid(drum_midi.rock_beat(4, variant=variant)).astype(int).tolist()


def port_of(url):
    return url.rstrip("/").rsplit(":", 1)[1]


def assert_alive(url):
    status, info = api(url, "/api/info")
    assert status == 200 and len(info["drums"]) == 9


# -- what the page asks for ----------------------------------------------------------

def test_page_info_and_kit(url):
    status, headers, body = request(url, "GET", "/")
    assert status == 200 and b'id="grid"' in body and "text/html" in headers["content-type"]
    for static in ("/static/app.js", "/static/style.css"):
        assert request(url, "GET", static)[0] == 200
    status, info = api(url, "/api/info")
    assert info["drums"][0] == "kick" and sorted(info["rows"]) == list(range(9)) and info["steps"] == 64
    assert info["limits"]["bpm"]["min"] <= 120 <= info["limits"]["bpm"]["max"]
    status, headers, wav = request(url, "GET", "/api/kit/0.wav")
    assert status == 200 and wav[:4] == b"RIFF" and headers["content-type"] == "audio/wav"
    assert request(url, "GET", "/api/kit/9.wav")[0] == 404


def test_sample_is_a_grid_and_repeats_by_seed(url):
    status, answer = api(url, "/api/sample", dict(count=3, temperature=0.7, seed=11))
    assert status == 200, answer
    assert answer["seed"] == 11 and answer["temperature"] == 0.7 and answer["ms"] > 0
    grids = np.array(answer["beats"])
    assert grids.shape == (3, 64, 9) and set(np.unique(grids)) <= {0, 1}
    again = api(url, "/api/sample", dict(count=2, temperature=0.7, seed=11))[1]
    assert again["beats"] == answer["beats"][:2]  # beat i depends on the seed, not on the count
    fresh = api(url, "/api/sample", dict(count=1))[1]
    assert 0 <= fresh["seed"] < 2**31 and fresh["temperature"] == web.LIMITS["temperature"][2]


def test_variations_reconstruct_interpolate(url):
    a, b = a_beat(0), a_beat(3)
    status, varied = api(url, "/api/variations", dict(beat=a, count=3, noise=0.5, seed=5))
    assert status == 200 and np.array(varied["beats"]).shape == (3, 64, 9)
    status, rec = api(url, "/api/reconstruct", dict(beat=a, seed=5, temperature=0.5))
    assert status == 200 and np.array(rec["beats"]).shape == (1, 64, 9)
    status, path = api(url, "/api/interpolate", dict(a=a, b=b, steps=5, seed=5, temperature=0.5))
    assert status == 200 and np.array(path["beats"]).shape == (5, 64, 9)
    # the path starts at the model's version of A, the same beat Reconstruct gives at that seed
    assert path["beats"][0] == rec["beats"][0]


def test_the_pages_reconstruct_refines_as_the_cli_does(tiny_model):
    """The page's Reconstruct is BeatGenerator.reconstruct with the generator's refinement (not the mean)."""
    from bgmaker.serve import beats as grids
    url, generator = serve_tiny(tiny_model)
    assert generator.refine_steps > 0
    a = a_beat(1)
    rec = api(url, "/api/reconstruct", dict(beat=a, seed=6, temperature=0.5))[1]["beats"][0]
    ns = grids.to_sequence(grid_of(a))
    assert rec == grids.to_json(generator.reconstruct(ns, 0.5, seed=6))
    assert not np.allclose(generator.encode([ns]), generator.encode([ns], refine_steps=0))  # refined, not the mean


def grids_of_a_beat():
    from bgmaker.serve import beats as grids
    return grids.to_sequence(grid_of(a_beat(1)))


def test_the_page_can_follow_a_refinement_step_by_step(tiny_model):
    """GET /api/progress answers while a Reconstruct refines (the model runs in a worker thread):
    the page shows 'refining the beat's code: step k/N' when a beat takes longer than a moment."""
    url, generator = serve_tiny(tiny_model)
    assert api(url, "/api/progress")[1] == {"stage": "idle"}
    steps, generator.refine_steps = generator.refine_steps, 600  # long enough to be watched
    try:
        with ThreadPoolExecutor(1) as pool:
            job = pool.submit(api, url, "/api/reconstruct", dict(beat=a_beat(2), seed=1))
            seen = []
            while not job.done():
                answer = api(url, "/api/progress")[1]
                if answer["stage"] == "refining":
                    seen.append(answer)
            assert job.result()[0] == 200
    finally:
        generator.refine_steps = steps
    assert seen, "no refinement step was seen while the reconstruction ran"
    assert all(p["steps"] == 600 and 1 <= p["step"] <= 600 and p["windows"] == 1 for p in seen)
    # the generator refining outside a page job (a script sharing it) leaves the page's progress alone
    generator.encode([grids_of_a_beat()], refine_steps=3)
    assert api(url, "/api/progress")[1] == {"stage": "idle"}
    assert [p["step"] for p in seen] == sorted(p["step"] for p in seen)  # it moves forward
    assert api(url, "/api/progress")[1] == {"stage": "idle"}


def midi_seconds(data):
    import io

    import mido
    return mido.MidiFile(file=io.BytesIO(data)).length


def test_export_midi_is_the_grid(url, tmp_path):
    beats = [a_beat(1), api(url, "/api/sample", dict(count=1, seed=3))[1]["beats"][0]]
    status, headers, body = request(url, "POST", "/api/export", dict(beats=beats[:1], bpm=100, format="midi",
                                                                     name="my beat!"))
    assert status == 200 and headers["content-disposition"] == 'attachment; filename="mybeat.mid"'
    ns = note_seq.midi_to_note_sequence(body)
    assert ns.tempos[0].qpm == pytest.approx(100, abs=1e-6) and midi_seconds(body) == pytest.approx(4 * 4 * 60 / 100)
    assert (to_grid(ns) == grid_of(beats[0])).all()
    body = request(url, "POST", "/api/export", dict(beats=beats, bpm=90))[2]
    both = note_seq.midi_to_note_sequence(body)
    assert midi_seconds(body) == pytest.approx(8 * 4 * 60 / 90)  # ends at the last bar line, to loop
    assert (to_grid(both, steps=128) == np.concatenate([grid_of(b) for b in beats])).all()
    status, headers, wav = request(url, "POST", "/api/export", dict(beats=beats, bpm=120, format="wav"))
    assert status == 200 and wav[:4] == b"RIFF" and headers["content-type"] == "audio/wav"
    (tmp_path / "both.wav").write_bytes(wav)
    from bgmaker.render.audio import read_wav
    audio, rate = read_wav(tmp_path / "both.wav")
    assert len(audio) == pytest.approx(16.0 * rate, abs=2)  # 8 bars at 120 bpm


def test_humanize_plays_the_grid_hits_as_the_cli_does(url):
    from bgmaker import humanize
    from bgmaker.humanize.template import TemplateHumanizer
    from bgmaker.serve import beats as grids
    assert api(url, "/api/info")[1]["humanizer"] == "template"
    beat = a_beat(2)
    status, played = api(url, "/api/humanize", dict(beat=beat, amount=1.0, seed=4))
    assert status == 200, played
    velocity, offset = np.array(played["velocity"]), np.array(played["offset"])
    assert np.array_equal(velocity > 0, grid_of(beat)) and (np.abs(offset) <= 0.5).all()
    assert api(url, "/api/humanize", dict(beat=beat, amount=1.0, seed=4))[1]["velocity"] == played["velocity"]
    # the same playing as the library's (the CLI's) humanize of that grid
    template = TemplateHumanizer.load(Path(__file__).resolve().parents[1] / "models" / "humanize" / "template.npz")
    ns = humanize.humanize([grids.to_sequence(grid_of(beat))], template, 1.0, 4)[0]
    assert sorted(n.velocity for n in ns.notes) == sorted(velocity[velocity > 0].tolist())
    status, flat = api(url, "/api/humanize", dict(beat=beat, amount=0, seed=4))
    assert not np.array(flat["offset"]).any()  # amount 0: on the grid
    status, answer = api(url, "/api/humanize", dict(beat=beat, amount=3))
    assert status == 400 and "amount must be between 0.0 and 2.0" in answer["error"]
    status, headers, body = request(url, "POST", "/api/export", dict(beats=[beat], bpm=120, format="midi",
                                                                     humanize=dict(amount=1.0, seed=4)))
    exported = note_seq.midi_to_note_sequence(body)
    assert status == 200 and (to_grid(exported) == grid_of(beat)).all()
    assert sorted(n.velocity for n in exported.notes) == sorted(velocity[velocity > 0].tolist())


def test_upload_midi_gives_its_windows_like_the_cli(url, tmp_path):
    path = drum_midi.write_midi(drum_midi.rock_beat(bars=6, variant=2), tmp_path / "groove.mid")
    status, answer = api(url, "/api/midi?name=groove.mid", path.read_bytes(),
                         headers={"Content-Type": "audio/midi"})
    assert status == 200, answer
    assert answer["name"] == "groove.mid" and answer["start_bars"][0] == 0
    assert (grid_of(answer["beats"][0]) == find_window(path).grid).all()  # the window `bgmaker generate` reads


# -- bad requests: 4xx, one line, and the server keeps serving ----------------------------------------

GRID = a_beat()
BAD_JSON = [
    ("/api/sample", b"{count: 8", "malformed JSON"),
    ("/api/sample", b"[1, 2]", "must be a JSON object"),
    ("/api/sample", {"count": 0}, "count must be between 1 and 32"),
    ("/api/sample", {"count": 33}, "count must be between 1 and 32"),
    ("/api/sample", {"count": 2.5}, "count must be an integer"),
    ("/api/sample", {"count": "8"}, "count must be an integer"),
    ("/api/sample", {"temperature": 0}, "temperature must be between"),
    ("/api/sample", {"temperature": 9}, "temperature must be between"),
    ("/api/sample", b'{"temperature": NaN}', "temperature must be between"),
    ("/api/sample", {"seed": -1}, "seed must be between"),
    ("/api/variations", {"beat": GRID[:63]}, "beat must be a list of 64 steps, got 63 steps"),
    ("/api/variations", {"beat": [s[:8] for s in GRID]}, "beat step 0 must be a list of 9 hits, got 8"),
    ("/api/variations", {"beat": [[2] * 9] * 64}, "beat step 0 must hold only 0/1"),
    ("/api/variations", {"beat": "x"}, "beat must be a list of 64 steps, got a str"),
    ("/api/variations", {"beat": GRID, "noise": 3}, "noise must be between"),
    ("/api/reconstruct", {}, "missing 'beat'"),
    ("/api/reconstruct", {"beat": [[0] * 9] * 64}, "beat is empty"),
    ("/api/interpolate", {"a": GRID, "b": GRID, "steps": 1}, "steps must be between 2 and 16"),
    ("/api/interpolate", {"a": GRID}, "missing 'b'"),
    ("/api/export", {"beats": [GRID], "bpm": 1000}, "bpm must be between 20 and 400"),
    ("/api/export", {"beats": [GRID], "bpm": 10}, "bpm must be between 20 and 400"),
    ("/api/export", {"beats": [GRID], "format": "mp3"}, "format must be 'midi' or 'wav'"),
    ("/api/export", {"beats": [GRID] * 33}, "beats must be a list of 1 to 32"),
    ("/api/export", {"beats": []}, "beats must be a list of 1 to 32"),
    ("/api/export", {"beats": [GRID, GRID[:3]]}, "beat 2 must be a list of 64 steps"),
    # nested 100,000 levels deep: Python's JSON parser recurses; a 400, not "internal error: RecursionError"
    ("/api/sample", b"[" * 100_000 + b"]" * 100_000, "malformed JSON: nested too deeply"),
    # a typo is named, not silently replaced by the default
    ("/api/sample", {"temprature": 1.5}, "unknown field \"temprature\" (did you mean 'temperature'?)"),
    ("/api/interpolate", {"a": GRID, "b": GRID, "step": 4}, "unknown field \"step\" (did you mean 'steps'?)"),
    ("/api/export", {"beats": [GRID], "humanize": {"amount": 1, "sed": 3}}, "unknown field \"sed\""),
]


@pytest.mark.parametrize("path, body, reason", BAD_JSON, ids=[f"{p}:{r}" for p, _, r in BAD_JSON])
def test_bad_json_requests(url, path, body, reason):
    headers = {"Content-Type": "application/json"}
    status, _, data = request(url, "POST", path, body, headers=headers)
    error = json.loads(data)["error"]
    assert 400 <= status < 500 and reason in error and "\n" not in error
    assert_alive(url)


def midi_bytes(ns):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        return drum_midi.write_midi(ns, os.path.join(tmp, "x.mid")) and open(os.path.join(tmp, "x.mid"), "rb").read()


def piano():
    ns = note_seq.NoteSequence(ticks_per_quarter=220)
    ns.tempos.add(qpm=120)
    for i in range(32):
        ns.notes.add(pitch=60, velocity=90, start_time=i * 0.5, end_time=i * 0.5 + 0.4)
    ns.total_time = 16
    return ns


BAD_UPLOADS = [
    (b"hello, not a drum beat", "audio/midi", 400, "not a MIDI file"),
    (b"", "audio/midi", 400, "empty"),
    (lambda: midi_bytes(drum_midi.rock_beat(4))[:40], "audio/midi", 400, "truncated"),
    (lambda: midi_bytes(piano()), "audio/midi", 400, "none on the drum channel"),
    (lambda: midi_bytes(drum_midi.rock_beat(2)), "audio/midi", 400, "shorter than 4 bars"),
    (b"MThd" + b"\0" * (web.MAX_MIDI_BYTES + 10), "audio/midi", 413, "request too large"),
    (lambda: midi_bytes(drum_midi.rock_beat(4)), "text/plain", 415, "Content-Type"),
]


@pytest.mark.parametrize("body, kind, status, reason", BAD_UPLOADS, ids=[r for *_, r in BAD_UPLOADS])
def test_bad_uploads(url, body, kind, status, reason):
    body = body() if callable(body) else body
    got, _, data = request(url, "POST", "/api/midi?name=x.mid", body, headers={"Content-Type": kind})
    error = json.loads(data)["error"]
    assert got == status and reason in error and "\n" not in error, error
    assert_alive(url)


def test_huge_upload_without_a_length_is_cut_off(url):
    """A chunked upload declares no size: the server stops reading at the limit."""
    chunks = (b"MThd" + b"\0" * 65532 for _ in range(40))  # 2.5 MiB in 64 KiB chunks
    status, _, data = request(url, "POST", "/api/midi", chunks, headers={"Content-Type": "audio/midi"})
    assert status == 413 and "over the limit" in json.loads(data)["error"]
    assert_alive(url)


def test_other_sites_cannot_use_it(url):
    # a plain form post (no CORS preflight) is refused before any work ...
    status, _, data = request(url, "POST", "/api/sample", b"count=8",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415 and "Content-Type: application/json" in json.loads(data)["error"]
    # ... and so is a page reaching 127.0.0.1 under its own host name (DNS rebinding)
    assert request(url, "GET", "/api/info", headers={"Host": "evil.example"})[0] == 400
    assert request(url, "POST", "/api/sample", {"count": 1}, headers={"Host": f"localhost:{port_of(url)}"}
                   )[0] == 200


# -- parallel requests -----------------------------------------------------------------------------------

def test_parallel_requests_all_answered_right(url):
    """48 requests from 8 threads at once: model jobs queue for the one model and answer as they would alone."""
    expected = {seed: api(url, "/api/sample", dict(count=4, seed=seed))[1]["beats"] for seed in range(6)}
    kit0 = request(url, "GET", "/api/kit/0.wav")[2]

    def one(i):
        kind = i % 4
        if kind == 0:
            status, answer = api(url, "/api/sample", dict(count=4, seed=i % 6))
            return status == 200 and answer["beats"] == expected[i % 6]
        if kind == 1:
            status, answer = api(url, "/api/sample", dict(count=99))
            return status == 400 and "count must be between" in answer["error"]
        if kind == 2:
            status, answer = api(url, "/api/interpolate", dict(a=a_beat(1), b=a_beat(2), steps=3, seed=i))
            return status == 200 and len(answer["beats"]) == 3
        status, _, body = request(url, "GET", "/api/kit/0.wav")
        return status == 200 and body == kit0

    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(48)))
    assert all(results), [i for i, ok in enumerate(results) if not ok]
    assert time.monotonic() - start < 120
    assert_alive(url)


# -- the command -----------------------------------------------------------------------------------------

def bgmaker(*args, **kwargs):
    return subprocess.run([str(VENV_BIN / "bgmaker"), *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), **kwargs)


def test_serve_help_answers_without_tensorflow():
    start = time.monotonic()
    proc = bgmaker("serve", "--help", timeout=60)
    assert proc.returncode == 0 and "--checkpoint" in proc.stdout and "127.0.0.1" in proc.stdout
    code = ("import sys\nfrom bgmaker.cli import main\ntry:\n    main(['serve', '--help'])\n"
            "except SystemExit:\n    pass\nprint('TF', 'tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().endswith("TF False"), proc.stderr[-2000:]
    assert time.monotonic() - start < 30


def test_busy_port_is_one_line_before_the_model_loads(url):
    port = port_of(url)
    start = time.monotonic()
    proc = bgmaker("serve", "--checkpoint", "/nonexistent", "--port", port, timeout=60)
    assert proc.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and time.monotonic() - start < 30


@pytest.mark.parametrize("flags, message", [
    (["--refine-lr", "0"], "--refine-lr must be a positive number, got 0.0"),
    (["--refine-lr", "nan"], "--refine-lr must be a positive number, got nan"),
    (["--refine-steps", "-2"], "--refine-steps must be 0 or more, got -2")])
def test_a_bad_refinement_setting_is_one_line_before_the_model_loads(flags, message):
    proc = bgmaker("serve", "--checkpoint", "/nonexistent", "--port", "0", *flags, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("flags, expected", [([], None), (["--refine-lr", "0.05", "--refine-steps", "40"], (40, 0.05))])
def test_the_page_refines_at_its_own_learning_rate(monkeypatch, flags, expected):
    """serve hands its refinement flags to the model it loads (the page's default: 25 steps at lr 0.2)."""
    from bgmaker.cli import build_parser
    from bgmaker.cli import serve as serve_cli
    from bgmaker.errors import UserError
    from bgmaker.generation import refine
    from bgmaker.generation.generator import BeatGenerator
    from bgmaker.serve import server
    seen = {}

    def load(**kwargs):
        seen.update(kwargs)
        raise UserError("stop here: the model is not needed")
    monkeypatch.setattr(BeatGenerator, "load", load)
    monkeypatch.setattr(server, "listen", lambda host, port: None)
    with pytest.raises(UserError, match="stop here"):
        serve_cli.main(build_parser().parse_args(["serve", *flags]))
    assert (seen["refine_steps"], seen["refine_learning_rate"]) == (
        expected or (refine.INTERACTIVE_STEPS, refine.INTERACTIVE_LEARNING_RATE))


def test_serve_command_loads_once_binds_loopback_and_answers(tiny_model):
    proc = subprocess.Popen([str(VENV_BIN / "bgmaker"), "serve", "--checkpoint", str(tiny_model["checkpoint"]),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    try:
        lines = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, f"bgmaker serve exited: {proc.stderr.read()[-2000:]}"
            lines.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            if found:
                break
        else:
            pytest.fail(f"no URL printed: {lines}")
        served = found.group(1)
        assert any(line.startswith("model: --checkpoint") for line in lines)
        status, answer = api(served, "/api/sample", dict(count=8, seed=1))
        assert status == 200 and len(answer["beats"]) == 8
        assert answer["ms"] < 1000  # warmed up before the URL was printed
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("bgmaker serve did not stop on Ctrl-C")
    assert proc.returncode == 0


def test_styles_and_steering_on_a_model_with_priors(tiny_priors_model):
    """The page's style menu and Steer sliders: /api/info lists the model's priors and attributes, sample takes a
    prior and `more`, reconstruct pushes a beat; bad names and amounts get one line."""
    from serve_harness import serve_checkpoint
    url, generator = serve_checkpoint(tiny_priors_model["checkpoint"], "tiny model with priors")
    info = api(url, "/api/info")[1]
    assert {"normal", "run", "funk", "rock", "jazz"} <= set(info["priors"]) and info["default_prior"] == "normal"
    assert {"density", "kick"} <= set(info["attributes"]) and info["limits"]["more"]["max"] == 2
    status, funk = api(url, "/api/sample", dict(count=2, seed=4, prior="funk", more={"density": 1}))
    assert status == 200, funk
    from bgmaker.serve import beats as grids
    expected = generator.sample(2, 0.5, seed=4, prior="funk", more={"density": 1.0})
    assert funk["beats"] == [grids.to_json(b) for b in expected]
    a = a_beat(0)
    status, pushed = api(url, "/api/reconstruct", dict(beat=a, seed=2, more={"kick": -1.5}))
    assert status == 200 and pushed["beats"][0] == grids.to_json(
        generator.reconstruct(grids.to_sequence(grid_of(a)), 0.5, seed=2, more={"kick": -1.5}))
    assert api(url, "/api/variations", dict(beat=a, count=2, seed=2, more={"density": 0.5}))[0] == 200
    for body, message in ((dict(count=1, prior="polka"), "unknown prior or style 'polka'"),
                          (dict(count=1, prior=3), "prior must be a name"),
                          (dict(count=1, more={"cowbell": 1}), "unknown attribute 'cowbell'"),
                          (dict(count=1, more={"density": 5}), "more.density must be between -2.0 and 2.0"),
                          (dict(count=1, more=[1]), "more must be an object")):
        status, answer = api(url, "/api/sample", body)
        assert status == 400 and message in answer["error"], (body, answer)


def test_a_model_without_priors_offers_no_styles(url):
    info = api(url, "/api/info")[1]
    assert info["priors"] == ["normal"] and info["attributes"] == []
    status, answer = api(url, "/api/sample", dict(count=1, more={"density": 1}))
    assert status == 400 and "unknown attribute 'density'" in answer["error"]
