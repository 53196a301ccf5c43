"""Latent refinement (bgmaker.generation.refine) on the tiny model: it lowers the loss, repeats, and keeps identities."""
import numpy as np
import pytest

from conftest import run_cli

T = 1.0


@pytest.fixture(scope="module")
def generators(tiny_model):
    from bgmaker.generation.generator import BeatGenerator
    made = {}

    def get(batch_size=8, refine_steps=40):
        key = (batch_size, refine_steps)
        if key not in made:
            made[key] = BeatGenerator("hierdec-drum_4bar", tiny_model["run_dir"], batch_size=batch_size,
                                      refine_steps=refine_steps)
        return made[key]

    yield get
    for g in made.values():
        g.close()


def notes(ns):
    return [(n.pitch, n.velocity, round(n.start_time, 6)) for n in ns.notes]


def test_refinement_lowers_the_decoders_loss_and_moves_from_the_mean(generators, tiny_model):
    g = generators()
    beats = [tiny_model["midi_dir"] / f"beat_{i}.mid" for i in range(4)]
    mean = g.encode(beats, refine_steps=0)
    refined = g.encode(beats)
    history = g.last_refinement
    assert (history["r_loss_after"] < history["r_loss_before"]).all()
    assert not np.allclose(mean, refined)


def test_an_anchor_holds_the_codes_nearer_the_encoders_mean(generators, tiny_model):
    """reports/refine_anchor.py's anchor term: weight 0 is today's refinement to the bit; a weight pulls toward mu."""
    g = generators()
    beats = [tiny_model["midi_dir"] / f"beat_{i}.mid" for i in range(4)]
    mu, _, _, targets = g.encoded(beats)
    free, _ = g.refiner().refine(np.asarray(targets), np.asarray(mu), 40)
    assert np.array_equal(free, g.refiner().refine(np.asarray(targets), np.asarray(mu), 40, anchor_weight=0.0)[0])
    held, _ = g.refiner().refine(np.asarray(targets), np.asarray(mu), 40, anchor_weight=10.0)
    assert np.linalg.norm(held - mu, axis=1).mean() < 0.5 * np.linalg.norm(free - mu, axis=1).mean()


def test_refinement_under_posterior_noise_repeats_per_row_whatever_the_batch(generators, tiny_model):
    """reports/refine_paths.py's noisy refinement: zero noise is the plain refinement to the bit; with noise a
    row's code depends on its own window only (its noise is seeded by the window), not on the rows beside it."""
    g = generators()
    beats = [tiny_model["midi_dir"] / f"beat_{i}.mid" for i in range(4)]
    mu, sigma, _, targets = g.encoded(beats)
    targets, mu, sigma = np.asarray(targets), np.asarray(mu), np.asarray(sigma)
    plain, _ = g.refiner().refine(targets, mu, 20)
    assert np.array_equal(plain, g.refiner().refine(targets, mu, 20, noise=np.zeros_like(sigma))[0])
    noisy, _ = g.refiner().refine(targets, mu, 20, noise=sigma)
    assert not np.allclose(noisy, plain)
    assert np.isfinite(noisy).all()
    order = [2, 0]
    again, _ = g.refiner().refine(targets[order], mu[order], 20, noise=sigma[order])
    assert np.array_equal(again, noisy[order])


def test_a_code_refined_on_two_windows_by_weight(generators, tiny_model):
    """reports/refine_paths_coupled.py's blended refinement: weights (1, 0) are the plain refinement of the first
    window to the bit; a code's two rows share a run, so it repeats whatever else is refined beside it; the loss
    it reports is the weighted sum; weights of the wrong shape are refused."""
    g = generators()  # refiner batch 8: four codes of two windows a run
    beats = [tiny_model["midi_dir"] / f"beat_{i}.mid" for i in range(4)]
    mu, _, _, targets = g.encoded(beats)
    targets, mu = np.asarray(targets), np.asarray(mu)
    pairs = np.stack([targets[[0, 1]], targets[[2, 3]], targets[[1, 3]]])
    plain, _ = g.refiner().refine(targets[[0, 2, 1]], mu[[0, 2, 1]], 20)
    first, _ = g.refiner().refine(pairs, mu[[0, 2, 1]], 20, weights=[(1, 0)] * 3)
    assert np.array_equal(first, plain)
    blended, history = g.refiner().refine(pairs, mu[[0, 2, 1]], 20, weights=[(0.5, 0.5), (0.3, 0.7), (0.9, 0.1)])
    assert not np.allclose(blended, plain) and np.isfinite(blended).all()
    alone, _ = g.refiner().refine(pairs[[2]], mu[[1]], 20, weights=[(0.9, 0.1)])
    assert np.array_equal(alone[0], blended[2])
    a_loss = g.refiner().refine(pairs[:, 0], blended, 0)[1]["r_loss_before"]
    b_loss = g.refiner().refine(pairs[:, 1], blended, 0)[1]["r_loss_before"]
    assert np.allclose(history["r_loss_after"], [0.5, 0.3, 0.9] * a_loss + np.array([0.5, 0.7, 0.1]) * b_loss,
                       rtol=1e-5)
    with pytest.raises(ValueError, match="do not match"):
        g.refiner().refine(pairs, mu[[0, 2, 1]], 2, weights=[(1, 0)] * 2)


def test_free_dims_move_alone(generators, tiny_model):
    """Refiner.refine's free_dims: only those latent dimensions leave the encoder's mean."""
    g = generators()
    beats = [tiny_model["midi_dir"] / f"beat_{i}.mid" for i in range(2)]
    mu, _, _, targets = g.encoded(beats)
    mu = np.asarray(mu)
    free = np.zeros(g.z_size)
    free[:3] = 1
    z, _ = g.refiner().refine(np.asarray(targets), mu, 20, free_dims=free)
    assert np.array_equal(z[:, 3:], mu[:, 3:].astype(np.float32)) and not np.allclose(z[:, :3], mu[:, :3])


def test_refine_steps_0_is_the_encoders_mean_as_before(generators, tiny_model):
    g = generators(refine_steps=0)
    beat = tiny_model["midi_dir"] / "beat_3.mid"
    _, tensors, key = g.window(beat)
    _, mu, _ = g._model.encode_tensors([tensors.inputs[0]], [tensors.lengths[0]], [tensors.controls[0]])
    assert np.array_equal(g.encode([beat]), mu)
    assert notes(g.reconstruct(beat, T, seed=2)) == notes(g.decode(mu, T, seed=2, keys=[key])[0])


def test_refined_beats_repeat_whatever_the_batch_size(generators, tiny_model, tmp_path):
    beats = [tiny_model["midi_dir"] / f"beat_{i}.mid" for i in range(3)]
    one, three = generators(batch_size=1), generators(batch_size=3)
    alone = [one.reconstruct(b, T, seed=9) for b in beats]
    together = three.reconstruct_many(beats, T, seed=9)
    assert [notes(x) for x in alone] == [notes(x) for x in together]
    again = three.reconstruct_many(beats, T, seed=9)
    assert [notes(x) for x in again] == [notes(x) for x in together]
    # the codes themselves, to the bit: from one call to the next, and whatever the batch (the refiner never
    # runs a batch of one row, whose matrix-vector kernel sums in another order: refine.MIN_BATCH)
    codes = three.encode(beats)
    assert np.array_equal(codes, three.encode(beats))
    assert np.array_equal(codes[:1], one.encode(beats[:1]))


def test_interpolation_ends_are_the_refined_reconstructions(generators, tiny_model):
    g = generators()
    a, b = tiny_model["midi_dir"] / "beat_1.mid", tiny_model["midi_dir"] / "beat_4.mid"
    path = g.interpolate(a, b, steps=5, temperature=T, seed=3)
    assert notes(path[0]) == notes(g.reconstruct(a, T, seed=3))
    assert notes(path[-1]) == notes(g.reconstruct(b, T, seed=3))


def test_generate_refine_steps_flag(tiny_model, tmp_path):
    beat = tiny_model["midi_dir"] / "beat_0.mid"
    outs = {}
    for steps in ("0", "0", "20"):
        out = tmp_path / f"r{len(outs)}"
        run_cli("bgmaker", "generate", "reconstruct", beat, "--checkpoint", tiny_model["run_dir"], "--seed", "1",
                "--temperature", "1.0", "--refine-steps", steps, "--no-audio", "--no-png", "-o", out)
        outs[len(outs)] = (out / "reconstruct_01_beat_0.mid").read_bytes()
    assert outs[0] == outs[1]
    proc = run_cli("bgmaker", "generate", "reconstruct", beat, "--checkpoint", tiny_model["run_dir"],
                   "--refine-steps", "-3", check=False)
    assert proc.returncode == 2 and "--refine-steps must be 0 or more" in proc.stderr
