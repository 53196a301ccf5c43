"""Humanize: expressive windows, the GrooVAE converter, the template, the hit-preserving rule, seeds, the CLI."""
import json

import numpy as np
import note_seq
import pytest

import drum_midi
from conftest import run_cli
from bgmaker.data import groove, windows
from bgmaker.drums import STEPS_PER_BAR

QPM = 100.0
STEP = 60.0 / QPM / 4


def played_beat(bars=4, seed=0, qpm=QPM):
    """A rock beat as a drummer plays it, after one silent bar: every hit off the grid (|offset| < 0.35 step,
    the downbeat of bar 1 0.3 step early, so a window starting there begins with a negative time), velocities varied.
    """
    rng = np.random.default_rng(seed)
    ns = drum_midi.rock_beat(bars=bars, qpm=qpm)
    step = 60.0 / qpm / 4
    for i, n in enumerate(ns.notes):
        offset = -0.3 if i == 0 else float(rng.uniform(-0.35, 0.35))
        n.start_time += 16 * step + offset * step
        n.end_time = n.start_time + step / 2
        n.velocity = int(rng.integers(30, 127))
    ns.total_time += 16 * step
    return ns


def test_expressive_windows_keep_velocity_and_timing_and_the_converter_reads_them():
    ns = played_beat()
    found = windows.extract_windows(ns, bars=2, expressive=True)
    first = next(w for w in found if w.start_bar == 1)  # bar 1's downbeat hit was played early
    times = [n.start_time for n in first.sequence.notes]
    assert min(times) < 0 and any(t == pytest.approx(-0.3 * STEP) for t in times)
    g = groove.groove_of(first.sequence, 2 * STEPS_PER_BAR)
    assert any(o == pytest.approx(-0.3) for o in g.offset[0][g.hits[0]])
    originals = [n for n in ns.notes if STEPS_PER_BAR * STEP - STEP / 2 <= n.start_time < 3 * STEPS_PER_BAR * STEP - STEP / 2]
    assert sorted(n.velocity for n in first.sequence.notes) == sorted(n.velocity for n in originals)

    from bgmaker import compat
    compat.apply()  # Magenta's converters need the shims
    from bgmaker_configs import architectures
    tensors = architectures.groove_converter(2).to_tensors(first.sequence)
    assert len(tensors.inputs) == 1 and tensors.outputs[0].shape == (32, 27)
    out = tensors.outputs[0]
    hits, velocity, offset = out[:, :9] > 0.5, out[:, 9:18], out[:, 18:]
    assert np.array_equal(hits, g.hits)
    np.testing.assert_allclose(velocity[hits] * 127, g.velocity[g.hits], atol=1e-4)
    np.testing.assert_allclose(-offset[hits] / 2, g.offset[g.hits], atol=1e-4)  # Magenta: +1 = half a step early
    assert not tensors.inputs[0][:, 9:].any()  # humanize: the encoder reads hits only


def test_expressive_windows_keep_repeats_grid_windows_drop_them():
    ns = drum_midi.rock_beat(bars=8)
    assert len(windows.extract_windows(ns, bars=2, expressive=True)) == 7
    assert len(windows.extract_windows(ns, bars=2)) < 7


def test_a_silent_last_bar_is_padded_to_the_window():
    ns = drum_midi.rock_beat(bars=1, qpm=QPM)
    ns.total_time = 4 * STEPS_PER_BAR * STEP
    from bgmaker import compat
    compat.apply()  # Magenta's converters need the shims
    from bgmaker_configs import architectures
    tensors = architectures.groove_converter(2).to_tensors(ns)
    assert tensors.outputs[0].shape == (32, 27) and not tensors.outputs[0][16:].any()


def _template(seed=0):
    from bgmaker.humanize.template import TemplateHumanizer
    pairs = [("rock", played_beat(bars=8, seed=s)) for s in range(3)] + [("funk", drum_midi.rock_beat(bars=20))]
    return TemplateHumanizer.fit(pairs, seed=seed, log=lambda *_: None)


def test_template_draws_what_the_style_played_there(tmp_path):
    from bgmaker.humanize.template import TemplateHumanizer
    template = _template()
    assert template.styles == ["funk", "rock"]
    hits = np.zeros((2, 32, 9), bool)
    hits[:, 4, 1] = hits[:, 0, 0] = True
    velocity, offset = template.play(hits, seed=3, styles=["funk", "rock"])
    assert velocity[0, 4, 1] == 100 and offset[0, 4, 1] == 0  # funk here is the quantized beat: 100, on the grid
    from bgmaker.humanize.template import OFFSET_SCALE
    rock_pairs = {tuple(p) for p in template.cells[("rock", 1, 4)]}  # what rock's drummers played there
    assert len(rock_pairs) > 1 and (velocity[1, 4, 1], round(offset[1, 4, 1] * OFFSET_SCALE)) in rock_pairs
    assert np.array_equal(velocity > 0, hits)  # hits only
    again = template.play(hits, seed=3, styles=["funk", "rock"])
    assert np.array_equal(again[0], velocity) and np.array_equal(again[1], offset)
    path = template.save(tmp_path / "template.npz")
    loaded = TemplateHumanizer.load(path)
    assert loaded.meta == template.meta and np.array_equal(loaded.play(hits, 3, ["funk", "rock"])[0], velocity)
    # a style the template never saw draws from every style's pairs
    unknown = template.play(hits[:1], seed=3, styles=["polka"])[0]
    assert unknown[0, 4, 1] > 0


def test_perform_moves_velocity_and_time_and_never_a_hit():
    beat = drum_midi.rock_beat(bars=4, qpm=QPM)
    beat.notes.add(pitch=44, velocity=90, start_time=3 * STEP, end_time=3.5 * STEP, is_drum=True, instrument=9)  # pedal hh
    beat.notes.add(pitch=60, velocity=90, start_time=5 * STEP, end_time=6 * STEP, is_drum=False)  # not a drum
    g = groove.groove_of(beat)
    velocity = np.where(g.hits, 64.0, 0)
    offset = np.where(g.hits, 0.25, 0)
    played = groove.perform(beat, velocity, offset, amount=1.0)
    assert len(played.notes) == len(beat.notes)
    assert sorted((n.pitch, groove.step_of(n.start_time, STEP)) for n in played.notes) == \
        sorted((n.pitch, groove.step_of(n.start_time, STEP)) for n in beat.notes)
    drums = [n for n in played.notes if n.is_drum]
    assert {n.velocity for n in drums} == {64}
    assert all(n.start_time / STEP - round(n.start_time / STEP) == pytest.approx(0.25) for n in drums)
    other = next(n for n in played.notes if not n.is_drum)
    assert (other.velocity, other.start_time) == (90, 5 * STEP)
    grid = groove.perform(played, velocity, offset, amount=0.0)  # amount 0: back on the grid, velocities kept
    assert all(abs(n.start_time / STEP - round(n.start_time / STEP)) < 1e-9 for n in grid.notes)
    assert {n.velocity for n in grid.notes if n.is_drum} == {64}


def test_humanize_is_seeded_and_keeps_the_hits(tmp_path):
    from bgmaker import humanize
    from bgmaker.render.midi import write_midi
    template = _template()
    beat = drum_midi.rock_beat(bars=4, qpm=QPM)
    a = humanize.humanize([beat], template, seed=5)[0]
    b = humanize.humanize([beat, beat], template, seed=5)[1]  # the batch does not change a beat's playing
    c = humanize.humanize([beat], template, seed=6)[0]
    paths = [write_midi(x, tmp_path / f"{i}.mid") for i, x in enumerate((a, b, c))]
    data = [open(p, "rb").read() for p in paths]
    assert data[0] == data[1] and data[0] != data[2]
    assert np.array_equal(windows.to_grid(a), windows.to_grid(beat))
    with pytest.raises(ValueError, match="amount"):
        humanize.humanize([beat], template, amount=3)
    waltz = drum_midi.rock_beat(bars=4)
    waltz.time_signatures[0].numerator = 3
    with pytest.raises(humanize_error(), match="cannot humanize: time signature 3/4"):
        humanize.humanize([waltz], template)


def humanize_error():
    from bgmaker.errors import UnusableMidiError
    return UnusableMidiError


def test_groove_metrics_state_their_floor():
    from bgmaker.metrics import groove as gm
    real = np.array([[10.0, 20.0, 30.0, 40.0]])
    mask = np.ones_like(real, bool)
    assert gm.mean_absolute_error(real, real + 5, mask) == 5
    assert gm.correlation(real, 2 * real, mask) == pytest.approx(1.0)
    assert np.isnan(gm.correlation(real, np.full_like(real, 80), mask))  # the floor's one velocity: no r
    assert np.isnan(gm.mean_absolute_error(real, real, ~mask))


@pytest.fixture(scope="session")
def tiny_humanizer(tmp_path_factory):
    """Run humanize trained 2 steps with tiny hparams on expressive windows of synthetic played beats."""
    from bgmaker.data.convert import convert_performances
    from bgmaker_configs.architectures import TINY_HPARAMS
    work = tmp_path_factory.mktemp("tiny_humanize")
    midi = work / "midi"
    midi.mkdir()
    items = []
    for i in range(4):
        path = drum_midi.write_midi(played_beat(bars=6, seed=i), midi / f"played_{i}.mid")
        items.append(("validation" if i == 3 else "train", path, None))
    env = dict(BGMAKER_DATA_DIR=str(work / "data"), BGMAKER_RUNS_DIR=str(work / "runs"))
    report = convert_performances(items, midi, work / "data" / "humanize", window=(2, True), log=lambda *_: None)
    assert report["expressive"] and report["splits"]["train"]["examples"] == 3 * 6  # 7 bars: 6 two-bar windows
    run_cli("bgmaker", "train", "--run", "humanize", "--num_steps=2", f"--hparams={TINY_HPARAMS}", env=env)
    return dict(run_dir=work / "runs" / "humanize", env=env, midi=midi)


def test_the_groovae_plays_exactly_the_input_hits_batch_independent(tiny_humanizer):
    from bgmaker.humanize.groovae import GrooveHumanizer
    humanizer = GrooveHumanizer(tiny_humanizer["run_dir"], batch_size=4)
    assert humanizer.window_steps == 32
    g = groove.groove_of(played_beat(bars=4, seed=9), 64)
    hits = np.stack([g.hits, np.roll(g.hits, 3, axis=0), g.hits])
    velocity, offset = humanizer.play(hits)
    assert np.array_equal(velocity > 0, hits) and (velocity <= 127).all() and (np.abs(offset) <= 0.5).all()
    one = humanizer.play(hits[1:2])
    np.testing.assert_array_equal(one[0][0], velocity[1])  # same window, another batch: the same playing
    np.testing.assert_array_equal(velocity[0], velocity[2])
    own = humanizer.own_hits(hits)
    assert own.shape == hits.shape and own.dtype == bool
    humanizer.close()


def test_humanize_command_on_files_and_generate_render(tiny_humanizer, tmp_path):
    good = drum_midi.write_midi(drum_midi.rock_beat(bars=4), tmp_path / "beat.mid")
    waltz = drum_midi.rock_beat(bars=4)
    waltz.time_signatures[0].numerator = 3
    bad = drum_midi.write_midi(waltz, tmp_path / "waltz.mid")
    out = tmp_path / "out"
    proc = run_cli("bgmaker", "humanize", good, bad, "--humanize", tiny_humanizer["run_dir"], "-o", out,
                   "--no-audio", check=False, env=tiny_humanizer["env"])
    assert proc.returncode == 1, proc.stderr
    assert "failed " + str(bad) in proc.stderr and "3/4" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["beat_humanized.mid", "beat_humanized.png"]
    played = note_seq.midi_file_to_note_sequence(str(out / "beat_humanized.mid"))
    assert len(played.notes) == len(drum_midi.rock_beat(bars=4).notes)
    # the same through generate render, twice: the same bytes
    for name in ("r1", "r2"):
        run_cli("bgmaker", "generate", "render", good, "--humanize", tiny_humanizer["run_dir"], "--no-audio",
                "--no-png", "-o", tmp_path / name, env=tiny_humanizer["env"])
    assert (tmp_path / "r1" / "beat.mid").read_bytes() == (tmp_path / "r2" / "beat.mid").read_bytes()
    proc = run_cli("bgmaker", "humanize", good, "--humanize", tiny_humanizer["run_dir"], "--style", "funk",
                   "-o", tmp_path / "x", check=False, env=tiny_humanizer["env"])
    assert proc.returncode == 2 and "--style is for the template" in proc.stderr
    proc = run_cli("bgmaker", "humanize", good, "--amount", "5", check=False)
    assert proc.returncode == 2 and "--amount must be between 0 and 2" in proc.stderr


def test_humanize_evaluation_scores_every_humanizer_on_the_same_hits(tiny_humanizer):
    from bgmaker.humanize import evaluate
    from bgmaker.humanize.groovae import GrooveHumanizer
    from bgmaker.humanize.template import NoHumanizer
    rows = []
    for i in range(6):
        ns = played_beat(bars=8, seed=20 + i)
        ns.filename = f"perf_{i}"
        for w in windows.extract_windows(ns, bars=4, hop_bars=4, expressive=True):
            rows.append((groove.groove_of(w.sequence, 64), "rock" if i % 2 else "funk", ns.filename))
    data = evaluate.SplitWindows(np.stack([g.hits for g, _, _ in rows]), np.stack([g.velocity for g, _, _ in rows]),
                                 np.stack([g.offset for g, _, _ in rows]), np.array([g.step_seconds for g, _, _ in rows]),
                                 [s for _, s, _ in rows], [p for _, _, p in rows])
    floor = evaluate.score_humanizer(NoHumanizer(), data)["summary"]
    assert np.isnan(floor["velocity_r"]) and floor["timing_mae_ms"] > 0
    model = evaluate.score_humanizer(GrooveHumanizer(tiny_humanizer["run_dir"], batch_size=4), data)["summary"]
    assert set(evaluate.SUMMARY) <= set(model) and 0 <= model["own_hits_dropped"] <= 1
    template = evaluate.score_humanizer(_template(), data)
    assert template["summary"]["velocity_overlap"] > floor["velocity_overlap"]
    assert set(template["per_style"]) == set() or "rock" in template["per_style"]


def test_campaign_chooses_humanize_milestones_on_errors_and_r():
    from bgmaker.training import campaign
    a = dict(cpu_s=1.0, summary=dict(velocity_mae=20, timing_mae_ms=15, velocity_r=0.5, timing_r=0.2, classifier=0.7))
    b = dict(cpu_s=2.0, summary=dict(velocity_mae=18, timing_mae_ms=14, velocity_r=0.6, timing_r=0.3, classifier=0.6))
    assert campaign.choose([a, b], campaign.HUMANIZE_CHOICE_FIGURES) is b
    assert campaign.choice_figures("humanize") == campaign.HUMANIZE_CHOICE_FIGURES
    nan = dict(cpu_s=3.0, summary=dict(b["summary"], velocity_r=float("nan")))
    assert campaign.choose([nan, b], campaign.HUMANIZE_CHOICE_FIGURES) is b
    assert json.loads(json.dumps(campaign.HUMANIZE_CHOICE_FIGURES))


def test_the_gate_reads_the_report():
    from bgmaker.humanize.report import gate, markdown
    row = lambda **k: dict(summary=dict(dict(velocity_mae=30, velocity_r=0.3, timing_mae_ms=20, timing_r=0.2,
                                             velocity_overlap=0.9, timing_overlap=0.9, classifier=0.8), **k),
                           per_drum={}, per_style={})
    report = dict(split="test", seed=0, windows=10, hits=100, performances=3, ceiling={},
                  results={"groovae": row(velocity_mae=25, timing_mae_ms=18, classifier=0.7), "template": row(),
                           "floor: no humanization": row(velocity_overlap=0.1, timing_overlap=0.1, classifier=0.99)})
    assert all(ok for _, ok in gate(report)) and len(gate(report)) == 5
    report["results"]["groovae"]["summary"]["timing_mae_ms"] = 29
    assert [ok for _, ok in gate(report)] == [True, False, True, True, True]
    assert "Gate: not passed" in markdown(dict(report, results={k: dict(v, per_drum={d: v["summary"] for d in
        __import__("bgmaker.drums").drums.DRUM_NAMES}) for k, v in report["results"].items()}))


def test_humanize_is_on_by_default_only_with_a_shipped_model_that_passed_its_gate(tmp_path, monkeypatch):
    from bgmaker import humanize
    folder = tmp_path / "models" / "humanize"
    folder.mkdir(parents=True)
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    assert not humanize.default_on()  # nothing shipped
    row = lambda **k: dict(summary=dict(dict(velocity_mae=30, velocity_r=0.3, timing_mae_ms=20, timing_r=0.2,
                                             velocity_overlap=0.9, timing_overlap=0.9, classifier=0.8), **k))
    report = dict(results={"groovae": row(velocity_mae=25, timing_mae_ms=18, classifier=0.7), "template": row(),
                           "floor: no humanization": row(velocity_overlap=0.1, timing_overlap=0.1, classifier=0.99)})
    (folder / "evaluation.json").write_text(json.dumps(report))
    assert not humanize.default_on()  # a report without a model
    (folder / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1"\n')
    assert humanize.default_on()
    report["results"]["groovae"]["summary"]["classifier"] = 0.9  # the template is nearer 0.5: the gate fails
    (folder / "evaluation.json").write_text(json.dumps(report))
    assert not humanize.default_on()


def test_no_humanize_and_humanize_exclude_each_other(tmp_path):
    proc = run_cli("bgmaker", "generate", "sample", "--humanize", "--no-humanize", "-o", tmp_path / "x", check=False)
    assert proc.returncode == 2 and "--humanize and --no-humanize exclude each other" in proc.stderr
