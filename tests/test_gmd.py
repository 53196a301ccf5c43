"""GMD metadata selection, counted on the real info.csv."""
import pytest

from bgmaker.data import gmd


@pytest.fixture(scope="module")
def perfs(gmd_dir):
    return gmd.load(gmd_dir)


def test_official_splits(perfs):
    counts = {s: len(gmd.select(perfs, split=s)) for s in gmd.SPLITS}
    assert counts == {"train": 897, "validation": 124, "test": 129}
    assert len(perfs) == 1150


def test_rock_beats(perfs):
    # v2_rock_beat: primary style rock (incl. rock/halftime, rock/indie, ...), beats, 4/4
    assert len(gmd.select(perfs, style="rock", beat_type="beat", time_signature="4-4", split="train")) == 167
    assert len(gmd.select(perfs, style="rock", beat_type="beat", split="train")) == 173
    full = gmd.select(perfs, style="rock/halftime")
    assert full and all(p.style == "rock/halftime" for p in full)


def test_bpm_drummer_and_lists(perfs):
    slow = gmd.select(perfs, bpm=(0, 70))
    assert slow and all(p.bpm <= 70 for p in slow)
    two = gmd.select(perfs, drummer=["drummer1", "drummer2"])
    assert {p.drummer for p in two} == {"drummer1", "drummer2"}


def test_unknown_value_lists_valid_values(perfs):
    with pytest.raises(gmd.SelectionError, match=r"unknown style polka; valid: .*afrobeat.*rock"):
        gmd.select(perfs, style="polka")
    with pytest.raises(gmd.SelectionError, match="unknown beat_type groove; valid: beat, fill"):
        gmd.select(perfs, beat_type="groove")


def test_empty_selection_is_an_error(perfs):
    with pytest.raises(gmd.SelectionError, match="no GMD performance matches"):
        gmd.select(perfs, style="rock", bpm=(1, 2))


def test_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="BGMAKER_GMD_DIR"):
        gmd.load(tmp_path)


def test_a_files_style_from_its_name_is_info_csvs_primary_style(perfs):
    """Evaluation tells a window's style from the filename it carries, without info.csv."""
    assert all(gmd.style_of(p.midi_filename) == p.primary_style for p in perfs)
    assert all(gmd.beat_type_of(p.midi_filename) == p.beat_type for p in perfs)
    assert gmd.style_of("drummer1/session2/110_rock-prog_190_beat_4-4.mid") == "rock"
    for other in ("my_beat.mid", "performance_0.mid", "", "a_b_c_d_e.mid"):
        assert gmd.style_of(other) is None and gmd.beat_type_of(other) is None, other
