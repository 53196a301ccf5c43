"""bgmaker export: a weights-only model that generates exactly what its checkpoint does."""
import os

from bgmaker.models import export
from bgmaker.generation.generator import BeatGenerator


def test_export_is_small_and_equivalent(tiny_model, tmp_path):
    out = tmp_path / "models" / "tiny"
    prefix = export.export("hierdec-drum_4bar", tiny_model["checkpoint"], out)
    assert os.path.exists(prefix + ".index") and not list(out.glob("*.meta"))
    assert (out / "hparams.txt").read_text().strip() == tiny_model["hparams"]
    exported = sum(f.stat().st_size for f in out.glob("model.ckpt-*"))
    original = sum(f.stat().st_size for f in tiny_model["checkpoint"].parent.glob("model.ckpt-2.*"))
    assert exported < original / 3  # no Adam slots, no graph

    moved = tmp_path / "elsewhere"
    os.replace(out, moved)  # relative paths: the folder can be moved or committed
    a = BeatGenerator("hierdec-drum_4bar", tiny_model["checkpoint"])
    b = BeatGenerator("hierdec-drum_4bar", moved)
    try:
        assert [ns.SerializeToString() for ns in a.sample(3, seed=7)] == \
               [ns.SerializeToString() for ns in b.sample(3, seed=7)]
    finally:
        a.close()
        b.close()


def test_export_writes_under_models_dir_and_never_deletes_other_folders(tiny_model, tmp_path, monkeypatch):
    import pytest
    precious = tmp_path / "my_stuff"
    precious.mkdir()
    (precious / "notes.txt").write_text("not a model")
    with pytest.raises(ValueError, match="is not an exported model"):
        export.export("hierdec-drum_4bar", tiny_model["checkpoint"], precious)
    assert (precious / "notes.txt").read_text() == "not a model"
    first = export.export("hierdec-drum_4bar", tiny_model["checkpoint"], tmp_path / "m")
    again = export.export("hierdec-drum_4bar", tiny_model["checkpoint"], tmp_path / "m")  # a model: replaced
    assert first == again and os.path.exists(again + ".index")

    from bgmaker_configs import runs
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "shipped"))
    assert runs.RUNS["v2_rock_beat"].shipped_dir == tmp_path / "shipped" / "v2_rock_beat"
