"""The beat machine's page in a real browser: Debian's headless Chromium driven by Playwright.

Against the tiny model's server (tests/serve_harness.py): generate, edit a cell, interpolate, play,
export MIDI and check the file is the beat on screen, load a MIDI file by dropping it, and see the
server's one-line reasons on the page. Screenshots go to out/serve-screenshots/ (out/ is not committed).
Without Chromium (apt-get install chromium; scripts/test.sh installs it as root) these tests skip,
except under CI=true, where they fail.
"""
import base64
import os
import shutil

import note_seq
import numpy as np
import pytest

import drum_midi
from conftest import REPO
from serve_harness import api, serve_tiny

from bgmaker.data.midi import find_window
from bgmaker.data.windows import to_grid
from bgmaker.drums import DEFAULT_BPM, MAX_BPM
from bgmaker.generation.generator import DEFAULT_NOISE, DEFAULT_TEMPERATURE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # Playwright adds --headless and a fresh profile
SHOTS = REPO / "out" / "serve-screenshots"

SCREEN_GRID = """() => {
  const grid = Array.from({length: 64}, () => new Array(9).fill(0));
  document.querySelectorAll('#grid .cell.on').forEach((c) => { grid[+c.dataset.step][+c.dataset.drum] = 1; });
  return grid;
}"""
WATCH_STATUS = """() => {
  window.statusKinds = [];
  new MutationObserver(() => statusKinds.push(document.getElementById('status').className))
    .observe(document.getElementById('status'), {attributes: true, childList: true, characterData: true});
}"""
IDLE = "!document.body.dataset.busy"


def missing(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: the browser tests must run in CI (scripts/test.sh installs Chromium as root)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (scripts/install.sh)")
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, tiny_model):
    url = serve_tiny(tiny_model)[0]
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    page.evaluate(WATCH_STATUS)
    page.url_base = url
    yield page
    context.close()
    assert not errors, errors


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def screen(page):
    return np.array(page.evaluate(SCREEN_GRID), dtype=bool)


def download(page, button):
    with page.expect_download() as info:
        page.click(button)
    path = info.value.path()
    page.wait_for_function(IDLE)
    return path, info.value.suggested_filename


def test_generate_edit_interpolate_play_export(page):
    url = page.url_base
    shot(page, "01-empty")
    assert page.locator("#grid .cell").count() == 64 * 9
    # the controls start where the server says (/api/info), at `bgmaker generate`'s defaults and limits
    assert [float(page.input_value(c)) for c in ("#temperature", "#noise", "#bpm")] == [
        DEFAULT_TEMPERATURE, DEFAULT_NOISE, DEFAULT_BPM]
    assert page.inner_text("#noise-value") == f"{DEFAULT_NOISE:.2f}" and page.get_attribute("#bpm", "max") == str(MAX_BPM)

    page.fill("#count", "4")
    page.fill("#seed", "11")
    page.fill("#temperature", "0.5")
    page.click("#generate")
    page.wait_for_function(f"{IDLE} && document.querySelectorAll('.beat-card').length === 4")
    assert "busy" in page.evaluate("statusKinds")  # it showed that it was working
    assert "seed 11" in page.inner_text("#status") and page.inner_text("#last-seed") == "11"
    expected = api(url, "/api/sample", dict(count=4, seed=11, temperature=0.5))[1]["beats"]
    assert (screen(page) == np.array(expected[0], bool)).all()  # the grid shows sample 1
    page.fill("#seed", "")
    page.click("#reuse-seed")
    assert page.input_value("#seed") == "11"
    shot(page, "02-generated")

    # edit: switch one cell, the grid and the export follow
    edited = screen(page)
    edited[5, 1] = not edited[5, 1]
    page.click("#c-5-1")
    assert (screen(page) == edited).all()
    assert ("on" in page.get_attribute("#c-5-1", "class").split()) == edited[5, 1]
    # press on a cell and drag along the row: every cell passed takes the first cell's new value
    value = not edited[20, 2]
    box = [page.locator(f"#c-{step}-2").bounding_box() for step in (20, 23)]
    page.mouse.move(box[0]["x"] + 4, box[0]["y"] + 4)
    page.mouse.down()
    page.mouse.move(box[1]["x"] + 4, box[1]["y"] + 4, steps=12)
    page.mouse.up()
    edited[20:24, 2] = value
    assert (screen(page) == edited).all()
    page.fill("#bpm", "100")
    path, name = download(page, "#export-midi")
    assert name.endswith(".mid")
    exported = note_seq.midi_file_to_note_sequence(path)
    assert (to_grid(exported) == edited).all()  # the file is the drum beat on screen
    assert exported.tempos[0].qpm == pytest.approx(100, abs=1e-6)

    # interpolate from the edited beat (A) to sample 2 (B), in 4 steps
    page.click(".beat-card:nth-child(1) .pick-a")
    page.click(".beat-card:nth-child(2) .pick-b")
    assert page.inner_text("#pick-a") == "sample 1" and page.inner_text("#pick-b") == "sample 2"
    page.evaluate("statusKinds.length = 0")
    page.fill("#steps", "4")
    page.click("#interpolate")
    page.wait_for_function(f"{IDLE} && !document.getElementById('interp').hidden")
    assert "busy" in page.evaluate("statusKinds") and "4 interpolation steps" in page.inner_text("#status")
    seed = int(page.inner_text("#last-seed"))
    path_beats = api(url, "/api/interpolate", dict(a=edited.astype(int).tolist(), b=expected[1], steps=4,
                                                   seed=seed, temperature=0.5))[1]["beats"]
    assert page.get_attribute("#interp-step", "max") == "4" and page.inner_text("#interp-bars") == "16"
    page.eval_on_selector("#interp-step", "e => { e.value = 3; e.dispatchEvent(new Event('input')); }")
    assert page.inner_text("#interp-label") == "3 / 4"
    assert (screen(page) == np.array(path_beats[2], bool)).all()
    shot(page, "03-interpolation")

    path, name = download(page, "#export-interp-midi")
    whole = note_seq.midi_file_to_note_sequence(path)
    assert name == "interpolation.mid"
    assert (to_grid(whole, steps=4 * 64) == np.concatenate([np.array(b, bool) for b in path_beats])).all()

    # play the 16 bars: the playhead moves and the grid follows the steps; then stop
    page.click("#play-interp")
    page.wait_for_selector("body[data-playing=interpolation]")
    page.wait_for_selector("#grid .cell.now")
    page.click("#play")
    page.wait_for_function("!document.body.dataset.playing")
    assert page.locator("#grid .cell.now").count() == 0

    # the model's version of the beat on screen, and variations of it
    page.click("#reconstruct")
    page.wait_for_function(f"{IDLE} && document.querySelectorAll('.beat-card').length === 5")
    assert page.inner_text(".beat-card:nth-child(1) .name").startswith("model's")
    page.fill("#var-count", "2")
    page.click("#variations")
    page.wait_for_function(f"{IDLE} && document.querySelectorAll('.beat-card').length === 7")
    assert "2 variations" in page.inner_text("#status")
    shot(page, "04-variations")


def test_a_style_from_the_menu_and_the_steer_sliders(browser, tiny_priors_model):
    """On a model with priors: pick a style, move a slider, Generate; then Push the beat on screen."""
    from serve_harness import serve_checkpoint
    url = serve_checkpoint(tiny_priors_model["checkpoint"], "tiny model with priors")[0]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url)
        page.wait_for_selector("body[data-ready]")
        assert page.is_visible("#prior") and page.is_visible("#steer")
        assert {"funk", "rock", "jazz", "run", "normal"} <= set(page.eval_on_selector_all(
            "#prior option", "options => options.map((o) => o.value)"))
        page.select_option("#prior", "funk")
        page.fill("#seed", "5")
        page.fill("#count", "2")
        page.eval_on_selector("#more-density", "s => { s.value = 1.5; s.dispatchEvent(new Event('input')); }")
        page.click("#generate")
        page.wait_for_function(f"{IDLE} && document.querySelectorAll('.beat-card').length === 2")
        assert "(funk, density +1.5)" in page.inner_text(".beat-card:nth-child(1) .name")
        expected = api(url, "/api/sample", dict(count=2, seed=5, prior="funk", more={"density": 1.5}))[1]["beats"]
        assert (screen(page) == np.array(expected[0], bool)).all()
        page.click("#push")
        page.wait_for_function(f"{IDLE} && document.querySelectorAll('.beat-card').length === 3")
        assert page.inner_text(".beat-card:nth-child(1) .name").endswith("density +1.5")
        shot(page, "06-steer")
        page.click("#reset-sliders")
        page.click("#push")
        page.wait_for_function(IDLE)
        assert "move a Steer slider first" in page.inner_text("#status")
    finally:
        context.close()
    assert not errors, errors


def test_bad_input_shows_one_line_on_the_page_and_drop_loads_midi(page, tmp_path):
    page.click("#generate")
    page.wait_for_function(f"{IDLE} && document.querySelectorAll('.beat-card').length === 8")

    page.fill("#bpm", "999")
    page.click("#export-midi")
    page.wait_for_selector("#status.error")
    assert "bpm must be between 20 and 400" in page.inner_text("#status")
    page.fill("#bpm", "120")

    page.fill("#temperature", "9")
    page.click("#generate")
    page.wait_for_function("document.getElementById('status').textContent.includes('temperature must be')")
    assert page.get_attribute("#status", "class") == "error"
    page.fill("#temperature", "0.5")

    text = tmp_path / "notes.txt"
    text.write_text("not a drum beat")
    page.set_input_files("#file", str(text))
    page.wait_for_function("document.getElementById('status').textContent.includes('not a MIDI file')")
    shot(page, "05-error")

    # drop a MIDI file on the page, as from a file manager
    midi = drum_midi.write_midi(drum_midi.rock_beat(bars=6, variant=1), tmp_path / "groove.mid")
    page.evaluate("""([name, data]) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, {type: 'audio/midi'}));
      document.dispatchEvent(new DragEvent('dragenter', {dataTransfer: transfer, bubbles: true}));
      document.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true}));
    }""", ["groove.mid", base64.b64encode(midi.read_bytes()).decode()])
    page.wait_for_function("document.getElementById('status').textContent.includes('windows loaded')")
    assert page.inner_text(".beat-card:nth-child(1) .name") == "groove.mid bar 1"
    assert (screen(page) == find_window(midi).grid).all()  # the window `bgmaker generate` would read
    assert page.is_hidden("#drop")
    shot(page, "06-dropped-midi")
