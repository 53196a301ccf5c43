"""bgmaker export: a weights-only model that generates exactly what its checkpoint does."""
import os

import pytest

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


def test_fp16_export_rounds_the_weights_but_keeps_a_float32_checkpoint(tiny_model, tmp_path):
    """What the campaign ships: float16 precision (smaller in git), still a checkpoint any Magenta loader reads."""
    import json

    import numpy as np
    import tensorflow as tf
    source = tmp_path / "source_run"  # a run record to carry (the shared tiny run has none)
    source.mkdir()
    (source / "bgmaker_run.json").write_text(json.dumps({"run": "tiny"}))
    prefix = export.export("hierdec-drum_4bar", tiny_model["checkpoint"], tmp_path / "m", run_dir=source,
                           weights="fp16")
    rounded, original = tf.train.load_checkpoint(prefix), tf.train.load_checkpoint(str(tiny_model["checkpoint"]))
    floats = [n for n, d in rounded.get_variable_to_dtype_map().items() if d.name == "float32"]
    assert floats and any(not np.array_equal(rounded.get_tensor(n), original.get_tensor(n)) for n in floats)
    for name in floats:
        value = rounded.get_tensor(name)
        assert value.dtype == np.float32
        assert np.array_equal(value, value.astype(np.float16).astype(np.float32)), name
        assert np.allclose(value, original.get_tensor(name), rtol=1e-3, atol=1e-4), name
    assert json.loads((tmp_path / "m" / "bgmaker_run.json").read_text())["weights"] == \
        "float32 rounded to float16 precision"
    generator = BeatGenerator("hierdec-drum_4bar", tmp_path / "m")
    try:
        assert len(generator.sample(2, seed=1)) == 2
    finally:
        generator.close()
    with pytest.raises(ValueError, match="weights='bf16': one of fp32, fp16"):
        export.export("hierdec-drum_4bar", tiny_model["checkpoint"], tmp_path / "n", weights="bf16")


def test_a_failed_fp16_export_leaves_nothing_behind(tiny_model, tmp_path, monkeypatch):
    def overflow(session, variables):
        raise ValueError("weight decoder/kernel holds values beyond float16's range")

    monkeypatch.setattr(export, "round_to_fp16", overflow)
    with pytest.raises(ValueError, match="beyond float16's range"):
        export.export("hierdec-drum_4bar", tiny_model["checkpoint"], tmp_path / "m", weights="fp16")
    assert list(tmp_path.iterdir()) == []
