"""The model BGMaker ships (models/v2_rock_beat) and the README's main command."""
from pathlib import Path

import note_seq

from conftest import REPO, run_cli

SHIPPED = REPO / "models" / "v2_rock_beat"


def test_shipped_model_is_weights_only_and_small():
    files = list(SHIPPED.iterdir())
    assert (SHIPPED / "hparams.txt").is_file() and (SHIPPED / "bgmaker_run.json").is_file()
    assert not [f for f in files if f.suffix == ".meta"]
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
