"""The models BGMaker ships (models/*) and the README's main command."""
import note_seq
import pytest

from bgmaker.evaluation import check
from conftest import REPO, run_cli


def _trained_as(folder):
    import json
    return json.loads((folder / "bgmaker_run.json").read_text()).get("model")


def shipped_models():
    """The shipped drum models (the humanizer has its own tests below)."""
    from bgmaker_configs import HUMANIZE_MODEL_NAMES
    return sorted(p for p in (REPO / "models").iterdir()
                  if (p / "bgmaker_run.json").is_file() and _trained_as(p) not in HUMANIZE_MODEL_NAMES)


HUMANIZER = REPO / "models" / "humanize"


def test_the_humanize_template_ships():
    from bgmaker.humanize.template import TemplateHumanizer
    template = TemplateHumanizer.load(HUMANIZER / "template.npz")
    assert template.meta["performances"] > 800 and "rock" in template.styles
    assert (HUMANIZER / "template.npz").stat().st_size < 1e6


@pytest.mark.skipif(not (HUMANIZER / "checkpoint").is_file(), reason="no humanize model shipped yet")
def test_the_shipped_humanizer_is_weights_only_reported_and_reproduces(gmd_dir):
    from bgmaker.humanize import evaluate
    files = [f for f in HUMANIZER.rglob("*") if f.is_file()]
    assert not [f for f in files if f.suffix == ".meta"] and len(list(HUMANIZER.glob("*.data-*"))) == 1
    assert sum(f.stat().st_size for f in files) < 40e6
    for name in ("hparams.txt", "bgmaker_run.json", "evaluation.json", "evaluation.md", evaluate.CHECK_FILE):
        assert (HUMANIZER / name).is_file(), f"humanize lacks {name}"
    assert evaluate.check_differences(HUMANIZER) == []


@pytest.mark.parametrize("model", shipped_models(), ids=lambda p: p.name)
def test_shipped_model_is_weights_only_and_small(model):
    files = [f for f in model.rglob("*") if f.is_file()]
    assert (model / "hparams.txt").is_file() and (model / "bgmaker_run.json").is_file()
    assert not [f for f in files if f.suffix == ".meta"], "a training checkpoint's graph: export weights only"
    assert len(list(model.glob("*.data-*"))) == 1, "one checkpoint per shipped model"
    assert sum(f.stat().st_size for f in files) < 40e6


def test_readme_main_command_generates_from_the_shipped_model(tmp_path):
    """`scripts/generate.sh sample --num 8` on a machine that has trained nothing."""
    out = tmp_path / "beats"
    proc = run_cli(str(REPO / "scripts" / "generate.sh"), "sample", "--num", "3", "--seed", "1",
                   "--output-dir", out,
                   env={"BGMAKER_MODELS_DIR": str(REPO / "models"), "BGMAKER_RUNS_DIR": str(tmp_path / "runs")})
    assert "models/v2_rock_beat" in proc.stdout
    for i in (1, 2, 3):
        for ext in ("mid", "wav", "png"):
            assert (out / f"sample_{i:02d}.{ext}").stat().st_size > 0
        ns = note_seq.midi_file_to_note_sequence(str(out / f"sample_{i:02d}.mid"))
        assert ns.notes and all(n.is_drum for n in ns.notes)


def test_every_shipped_model_has_its_reports():
    assert [p.name for p in shipped_models()], "no shipped model in models/"
    for model in shipped_models():
        for name in ("checkpoint", "hparams.txt", "evaluation.json", "evaluation.md", check.CHECK_FILE):
            assert (model / name).is_file(), f"{model.name} lacks {name}"


@pytest.mark.parametrize("model", shipped_models(), ids=lambda p: p.name)
def test_shipped_model_reproduces_its_recorded_figures(model, gmd_dir, tmp_path):
    """A small seeded evaluation of each shipped model (bgmaker.evaluation.check) against its check.json."""
    recorded = check.recorded(model)
    measured = check.measure(model, workdir=tmp_path)
    assert set(recorded) == set(check.FIGURES)
    assert check.compare(recorded, measured) == []
    assert 0.2 < measured["accuracy_free_running"] < 1 and 0 < measured["sample_overlap"] <= 1
    # the comparison does flag a model whose figures moved
    moved = {key: None if value is None else value + 2 * check.TOLERANCE for key, value in recorded.items()}
    assert [key for key, _, _ in check.compare(moved, measured)] == [k for k, v in recorded.items() if v is not None]


def report_script(name):
    """A script of reports/, loaded as a module (they are no package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"report_{name}", REPO / "reports" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_tables_in_docs_are_the_committed_reports():
    """The generated blocks of docs/ are what reports/ writes from its committed records: the models table and
    the shipped rock model's report "in full" in docs/evaluation.md (reports/models.py, from reports/models.json
    and models/v2_rock_beat/evaluation.md), the warm-start table in docs/training.md (reports/campaign.py, from
    reports/campaign.json) and the refinement gate in docs/refine.md (reports/refine_gate.py). A ship that
    forgets to regenerate them fails here."""
    import json

    table = report_script("models")
    page = (REPO / "docs" / "evaluation.md").read_text()
    rows = json.loads((REPO / "reports" / "models.json").read_text())
    report = (REPO / "models" / "v2_rock_beat" / "evaluation.md").read_text()
    assert table.BEGIN in page and table.SHIPPED_REPORT[0] in page
    assert table.page_text(page, rows, report) == page, \
        "docs/evaluation.md out of date: .venv/bin/python reports/models.py"
    assert table.summary_tables(report).splitlines()[0].startswith("| figure | model |")
    # and the warm-start table is what reports/campaign.py writes from the committed reports/campaign.json
    curves = report_script("campaign")
    page = (REPO / "docs" / "training.md").read_text()
    recorded = json.loads((REPO / "reports" / "campaign.json").read_text())
    block = curves.warm_start_table(recorded["stages"][1], recorded["from_scratch"])
    assert all(marker in page for marker in curves.WARM_START), "docs/training.md's warm-start block lost its markers"
    assert table.replace_block(page, *curves.WARM_START, block) == page, \
        "docs/training.md out of date: .venv/bin/python reports/campaign.py"
    # and the refinement gate's block is what reports/refine_gate.py writes from its committed record
    gate = report_script("refine_gate")
    page = (REPO / "docs" / "refine.md").read_text()
    recorded = json.loads((REPO / "reports" / "refine_gate.json").read_text())
    markers = ("<!-- refine-gate:begin -->", "<!-- refine-gate:end -->")
    assert all(m in page for m in markers), "docs/refine.md's refine-gate block lost its markers"
    assert table.replace_block(page, *markers, gate.page_block(recorded["evaluations"])) == page, \
        "docs/refine.md out of date: .venv/bin/python reports/refine_gate.py --report-only"


def test_the_readme_links_only_pages_that_exist():
    """The README is short and points to docs/; every page and file it links must be there."""
    import re
    readme = (REPO / "README.md").read_text()
    for page in sorted((REPO / "docs").glob("*.md")):
        text = page.read_text()
        for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (page.parent / link).exists(), f"{page.name} links {link}, which is not there"
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme)
    assert "docs/usage.md" in links
    missing = [link for link in links if not (REPO / link).exists()]
    assert not missing, f"README links what is not there: {missing}"


def test_the_models_gate_reads_each_line_against_real_drumming():
    """#26's gate (reports/models.py GATE): ceilings from the report itself, ranges either way round,
    no verdict on copies where a report did not count them."""
    table = report_script("models")
    s = dict(train_vs_real_overlap=0.73, real_vs_real_overlap=0.67, bar_repetition_real=0.50,
             bar_repetition_train=0.58, kick_on_one_real=0.78, kick_on_one_train=0.66, copies_samples=0)
    gate = {k: test for k, (_, test) in table.GATE.items()}
    assert gate["accuracy_free_running"](0.55, s) and not gate["accuracy_free_running"](0.549, s)
    assert gate["sample_overlap"](0.74, s) and not gate["sample_overlap"](0.72, s)
    assert gate["interp_overlap"](0.67, s) and not gate["interp_overlap"](0.66, s)
    assert gate["bar_repetition_samples"](0.55, s) and not gate["bar_repetition_samples"](0.45, s)
    assert gate["kick_on_one_samples"](0.70, s) and not gate["kick_on_one_samples"](0.80, s)  # train below real
    assert gate["classifier_samples_vs_real"](0.57, s) is True
    assert gate["classifier_samples_vs_real"](0.57, dict(s, copies_samples=1)) is False
    assert gate["classifier_samples_vs_real"](0.57, dict(s, copies_samples=None)) is None  # not counted: "?"
    assert gate["classifier_samples_vs_real"](0.60, dict(s, copies_samples=None)) is False


REFINED_CODES = """
import hashlib, sys
sys.path.insert(0, {tests!r})
import numpy as np
from bgmaker.generation.generator import BeatGenerator
from drum_midi import rock_beat, write_midi
beats = [write_midi(rock_beat(variant=v), {tmp!r} + f"/beat_{{v}}.mid") for v in range(12)]
g = BeatGenerator.load(checkpoint={model!r}, batch_size=12, refine_steps=60)
codes = [g.encode(beats), g.encode(beats)]
g.encode(beats[:1], refine_steps=2)  # another run between: the executor's cost model changes its order
codes.append(g.encode(beats))
print(*[hashlib.sha256(np.asarray(c).tobytes()).hexdigest() for c in codes])
if {alone}:  # one at a time, as the page and a one-file command refine, against their rows of the batch of 12
    one = BeatGenerator.load(checkpoint={model!r}, batch_size=1, refine_steps=60)
    print(hashlib.sha256(np.concatenate([one.encode([b]) for b in beats[:3]]).tobytes()).hexdigest(),
          hashlib.sha256(np.asarray(codes[0][:3]).tobytes()).hexdigest())
"""


def test_refinement_on_a_shipped_model_repeats_to_the_bit(tmp_path):
    """On the shipped model (its LSTMs are large enough for summation order to show; the tiny model's are
    not) refined codes repeat to the bit from call to call and process to process
    (bgmaker.generation.refine). With Grappler's memory optimizer on, its accumulators summed gradient terms in
    arrival order: codes moved by ~1e-7 a step, Adam grew that into different beats, and 24 windows x 100 steps
    differed in every pair of processes. 12 windows x 60 steps here, in two processes, three refinements each;
    and three of them refined one at a time give their rows' codes (refine.MIN_BATCH: a batch of one row once
    summed in another order)."""
    import subprocess
    import sys
    digests = []
    for alone in (True, False):
        code = REFINED_CODES.format(tests=str(REPO / "tests"), tmp=str(tmp_path), alone=alone,
                                    model=str(REPO / "models" / "v2_rock_beat"))
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests += proc.stdout.split()
    one_at_a_time, their_rows = digests[3:5]
    assert one_at_a_time == their_rows
    digests = digests[:3] + digests[5:]
    assert len(digests) == 6 and len(set(digests)) == 1, digests


def test_one_command_regenerates_the_reports_of_the_shipped_models_in_order():
    """reports/shipped.py runs scripts that exist, each before the reports that read its output, and names an
    unknown report rather than running nothing."""
    shipped = report_script("shipped")
    assert all(name in shipped.COMMANDS or (REPO / "reports" / f"{name}.py").is_file() for name in shipped.NAMES)
    assert shipped.NAMES.index("models") < shipped.NAMES.index("experiments")  # its rows read the test reports
    assert shipped.NAMES.index("models") < shipped.NAMES.index("refine_gate")  # the gate reads the test reports
    assert shipped.names_of("steer_picture, models") == ["models", "steer_picture"]
    with pytest.raises(ValueError, match="unknown report bogus"):
        shipped.names_of("models,bogus")
