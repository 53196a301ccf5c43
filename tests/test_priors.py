"""Latent priors and attribute vectors (bgmaker.generation.priors): fitting, seeded sampling, the arithmetic,
`bgmaker priors` and `generate --prior / --style / --more` on the tiny model, and their bad inputs."""
from dataclasses import replace

import numpy as np
import pytest

import drum_midi
from conftest import gmd_like_windows, run_cli

from bgmaker.generation import priors


# -- the Gaussian -------------------------------------------------------------------

def gaussian_codes(n, seed=0, z=16, rank=3):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rank, z)) * 2
    return 0.5 + rng.standard_normal((n, rank)) @ w + 0.1 * rng.standard_normal((n, z)), w


def test_ppca_recovers_a_low_rank_gaussian_and_validation_picks_its_rank():
    codes, w = gaussian_codes(5000)
    train, validation = codes[:4000], codes[4000:]
    p = priors.fit_prior("run", train, 3)
    assert np.allclose(p.mean, train.mean(0))
    truth = w.T @ w + 0.01 * np.eye(16)
    assert np.abs(p.covariance() - truth).max() < 0.1 * np.abs(truth).max()  # sampling error of 4000 codes
    assert p.noise == pytest.approx(0.1, rel=0.1)
    rank, scores = priors.choose_rank(train, validation, ranks=(0, 1, 3, 8))
    assert rank in (3, 8) and scores[3] > scores[1] > scores[0]
    # the fitted prior explains held-out codes far better than N(0, I)
    assert p.log_likelihood(validation).mean() > priors.normal_prior(16).log_likelihood(validation).mean() + 10


def test_a_prior_draws_the_same_samples_whatever_sign_the_solver_gives_its_eigenvectors(monkeypatch):
    """LAPACK kernels differ between CPUs in the sign of an eigenvector; the samples of a seed must not."""
    codes = gaussian_codes(500)[0]
    before = priors.fit_prior("run", codes, 3).sample(4, seed=1)
    eigh = np.linalg.eigh
    monkeypatch.setattr(np.linalg, "eigh", lambda m: (eigh(m)[0], -eigh(m)[1]))
    assert np.array_equal(priors.fit_prior("run", codes, 3).sample(4, seed=1), before)


def test_sampling_is_seeded_row_by_row_and_normal_is_the_generators_draw():
    p = priors.fit_prior("run", gaussian_codes(500)[0], 3)
    assert np.array_equal(p.sample(8, seed=4)[:3], p.sample(3, seed=4))
    assert not np.array_equal(p.sample(3, seed=4), p.sample(3, seed=5))
    normal = priors.normal_prior(16).sample(5, seed=9)
    assert np.array_equal(normal, np.random.default_rng(9).standard_normal((5, 16)).astype(np.float32))
    many = p.sample(20000, seed=0)
    assert np.abs(np.cov(many.T) - p.covariance()).max() < 0.05 * np.abs(p.covariance()).max()
    assert np.abs(many.mean(0) - p.mean).max() < 0.1


def test_an_attribute_vector_points_from_low_to_high():
    """Codes whose first dimension tracks a window's onset density: the density vector points along it."""
    rng = np.random.default_rng(0)
    grids = rng.random((400, 64, 9)) < rng.uniform(0.02, 0.3, (400, 1, 1))
    density = grids.sum(axis=(1, 2)) / 4
    codes = rng.standard_normal((400, 8)) * 0.1
    codes[:, 0] += (density - density.mean()) / density.std()
    vectors = priors.attribute_vectors(codes, grids)
    v, details = vectors["density"]
    assert v[0] > 1.5 and np.abs(v[1:]).max() < 0.2
    assert details["high_windows"] >= 100 and details["std"] == pytest.approx(density.std())
    assert "fill" in vectors  # fill-ness, measured by the shipped detector like any other attribute


def test_steering_adds_amount_times_vector_and_names_unknown_attributes():
    latent = priors.LatentMap({"run": priors.fit_prior("run", gaussian_codes(200)[0], 2)},
                              {"density": np.arange(16.0)}, {})
    z = np.ones((2, 16), np.float32)
    assert np.allclose(latent.steer(z, {"density": -0.5}), 1 - 0.5 * np.arange(16))
    assert np.array_equal(latent.steer(z, {}), z)
    with pytest.raises(priors.UnknownPriorError, match="unknown attribute 'cowbell'.*density"):
        latent.steer(z, {"cowbell": 1})


@pytest.mark.parametrize("text, expected", [
    ("density=+1,cymbals=-0.5", {"density": 1.0, "cymbals": -0.5}),
    (" kick = 2 ", {"kick": 2.0}),
    ("fill=0.25,", {"fill": 0.25}),
])
def test_more_parses(text, expected):
    assert priors.parse_more(text) == expected


@pytest.mark.parametrize("text, message", [
    ("density", "is not ATTRIBUTE=AMOUNT"), ("density=lots", "is not ATTRIBUTE=AMOUNT"),
    ("=1", "is not ATTRIBUTE=AMOUNT"), ("density=nan", "is not ATTRIBUTE=AMOUNT"),
    ("kick=1,kick=2", "given twice"), ("", "give ATTRIBUTE=AMOUNT"),
])
def test_malformed_more_is_a_one_line_error(text, message):
    with pytest.raises(ValueError, match=message):
        priors.parse_more(text)


def test_a_map_round_trips_through_its_files_in_float16(tmp_path):
    codes, _ = gaussian_codes(800, z=16)
    rng = np.random.default_rng(1)
    grids = rng.random((600, 64, 9)) < 0.1
    styles = ["funk"] * 400 + ["jazz"] * 150 + [None] * 50
    latent = priors.fit(codes[:600], grids, styles, ["beat"] * 500 + ["fill"] * 100, codes[600:],
                        min_windows=120, ranks=(0, 3))
    assert set(latent.priors) == {"run", "funk", "jazz", "beat", "clusters"}  # fills: 100 < 120 windows
    assert latent.info["too_few_windows"] == {"fill": 100}
    assert abs(latent.info["float16"]["validation_log_likelihood_change"]) < 0.05  # nats, of ~-20 per code
    latent.save(tmp_path)
    loaded = priors.LatentMap.load(tmp_path)
    assert loaded.names() == ["normal", "run", "funk", "jazz", "beat", "clusters"]
    assert loaded.default_prior == "normal" and loaded.styles() == ["funk", "jazz"]
    assert np.allclose(loaded.prior("funk").mean, latent.prior("funk").mean, atol=1e-3)
    # the tied mixture comes back whole: what was evaluated is what generate draws, to the bit
    assert loaded.prior("clusters").clusters == latent.prior("clusters").clusters == priors.CLUSTER_COUNT
    assert np.array_equal(loaded.prior("clusters").sample(50, 3), latent.prior("clusters").sample(50, 3))
    assert set(loaded.attributes) == set(latent.attributes)
    assert priors.LatentMap.load(tmp_path / "nothing") is None
    with pytest.raises(priors.UnknownPriorError, match="'fill' has only 100 train windows"):
        loaded.prior("fill")
    with pytest.raises(priors.UnknownPriorError, match="unknown prior or style 'polka'.*normal, run, funk"):
        loaded.prior("polka")
    assert not list(tmp_path.glob(".*.tmp"))  # written whole, then moved in


def blob_codes(n_per=(300, 200, 100), z=8, seed=0):
    """Codes of three tight, far-apart blobs (a style of three grooves), their centres and labels."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(n_per), z)) * 10
    labels = np.repeat(np.arange(len(n_per)), n_per)
    return centres[labels] + 0.3 * rng.standard_normal((len(labels), z)), centres, labels


def test_a_tied_mixture_finds_a_styles_grooves_and_samples_each_by_its_windows():
    codes, centres, labels = blob_codes()
    one, tied = priors.fit_prior("x", codes, 3), priors.fit_prior("x", codes, 3, clusters=3)
    assert one.clusters == 1 and one.centres is None and tied.clusters == 3
    found = tied.centres[np.argsort(tied.centre_windows)[::-1]]  # by windows: 300, 200, 100
    assert np.allclose(found, centres, atol=0.2) and sorted(tied.centre_windows) == [100, 200, 300]
    assert np.allclose(tied.mean, codes.mean(0))
    z = tied.sample(3000, 0)
    nearest = np.linalg.norm(z[:, None] - centres[None], axis=-1).argmin(1)
    assert np.allclose(np.bincount(nearest) / len(z), [0.5, 1 / 3, 1 / 6], atol=0.03)
    assert np.linalg.norm(z - centres[nearest], axis=1).mean() < 2  # near a groove, not between them
    assert np.array_equal(tied.sample(7, 5), tied.sample(20, 5)[:7])  # row i does not depend on n
    # one Gaussian smears the three grooves into one blob: the mixture explains new codes of them better
    new = centres[labels[::7]] + 0.3 * np.random.default_rng(9).standard_normal((len(labels[::7]), 8))
    assert tied.log_likelihood(new).mean() > one.log_likelihood(new).mean() + 3
    # ... and is the weighted sum of its Gaussians' densities, each around its centre with the shared covariance
    cov = tied.covariance()
    _, logdet = np.linalg.slogdet(cov)
    diff = new[:, None, :] - tied.centres[None]
    mahalanobis = np.einsum("nkz,zy,nky->nk", diff, np.linalg.inv(cov), diff)
    parts = np.log(tied.centre_windows / tied.centre_windows.sum()) - 0.5 * (
        mahalanobis + logdet + cov.shape[0] * np.log(2 * np.pi))
    assert np.allclose(tied.log_likelihood(new), np.log(np.exp(parts).sum(1)), rtol=1e-6, atol=1e-6)
    assert priors.fit_prior("x", codes[:5], 3, clusters=64).clusters == 2  # never more than half the windows


def test_style_priors_refit_with_clusters_and_the_clusters_prior_is_no_style():
    codes, _, labels = blob_codes((300, 300, 300), z=16)
    rng = np.random.default_rng(1)
    grids = rng.random((900, 64, 9)) < 0.1
    styles = np.where(labels == 0, "funk", "jazz").tolist()
    latent = priors.fit(codes, grids, styles, ["beat"] * 900, codes[::9], min_windows=100, ranks=(0, 3),
                        cluster_count=8)
    assert latent.prior("clusters").clusters == 8 and latent.info["cluster_count"] == 8
    assert latent.styles() == ["jazz", "funk"] and sorted(latent.critic.names) == ["funk", "jazz"]  # most windows first
    assert [n for n, _ in latent.mixture_parts()] == ["jazz", "funk"]  # "clusters" is not a style
    assert latent.prior("jazz").clusters == 1 and latent.info["style_clusters"] == 1
    refit = latent.with_style_clusters(2)
    assert refit.prior("jazz").clusters == 2 and refit.prior("funk").clusters == 2  # funk: one groove, two halves
    assert refit.info["style_clusters"] == 2 and latent.prior("jazz").clusters == 1  # the original is kept
    assert refit.prior("run") is latent.prior("run")
    jazz = refit.prior("jazz", draws=1).sample(400, 0)
    assert np.abs(np.linalg.norm(jazz[:, None] - refit.prior("jazz").centres[None], axis=-1).min(1)).mean() < 3
    with pytest.raises(ValueError, match="freshly fitted"):
        priors.LatentMap(latent.priors, latent.attributes, latent.info).with_style_clusters(4)


def two_style_codes(n=400, z=16, seed=0):
    """Codes of two styles that share most of their spread and differ along one direction."""
    rng = np.random.default_rng(seed)
    codes = rng.standard_normal((2 * n, z))
    codes[:n, 0] += 1.0  # funk a little to one side, jazz to the other: their priors overlap
    codes[n:, 0] -= 1.0
    return codes, ["funk"] * n + ["jazz"] * n


def test_a_style_prior_tilted_by_the_critic_keeps_its_most_stylish_candidate(tmp_path, monkeypatch):
    codes, styles = two_style_codes()
    sigmas = np.full(codes.shape, 0.3)
    grids = np.random.default_rng(1).random((len(codes), 64, 9)) < 0.1
    latent = priors.fit(codes, grids, styles, ["beat"] * len(codes), codes[::7], min_windows=100, ranks=(0, 3),
                        sigmas=sigmas)
    assert latent.critic is not None and list(latent.critic.names) == ["funk", "jazz"]
    assert latent.draws_of("funk") == 1 and latent.prior("funk").draws == 1  # the prior itself until a choice
    plain, tilted = latent.prior("funk", draws=1), latent.prior("funk", draws=8)
    assert latent.prior("run").critic is None and latent.prior("normal").critic is None  # styles only
    # draws=1 is the prior's own draw, bit for bit; with draws, row i is the critic's pick of its own 8 candidates
    assert np.array_equal(plain.sample(5, seed=3), latent.priors["funk"].sample(5, seed=3))
    candidates = plain.sample(5 * 8, seed=3).reshape(5, 8, -1)
    picked = tilted.sample(5, seed=3)
    funk = list(latent.critic.names).index("funk")
    for i in range(5):
        scores = latent.critic.log_probs(candidates[i])[:, funk]
        assert np.array_equal(picked[i], candidates[i, scores.argmax()])
    assert np.array_equal(tilted.sample(9, seed=3)[:5], picked)  # row i does not depend on n
    many = tilted.sample(7, seed=3)
    monkeypatch.setattr(priors, "CHUNK", 2)  # scored a few rows at a time: the same rows
    assert np.array_equal(tilted.sample(7, seed=3), many)
    assert not np.array_equal(tilted.sample(5, seed=4), picked)
    # the tilt moves samples toward the style: along the direction that tells funk from jazz
    assert tilted.sample(400, 0)[:, 0].mean() > plain.sample(400, 0)[:, 0].mean() + 0.3
    latent.info["style_draws"] = 4  # one number for every style: maps saved before the choice was per style
    assert latent.prior("funk").draws == latent.prior("jazz").draws == 4
    latent.info["style_draws"] = {"funk": 16, "jazz": 4}  # one per style, as the evaluation chooses them
    latent.save(tmp_path)
    loaded = priors.LatentMap.load(tmp_path)
    assert loaded.prior("jazz").draws == 4 and loaded.prior("funk").draws == 16
    assert loaded.prior("funk", draws=2).draws == 2 and list(loaded.critic.names) == ["funk", "jazz"]
    # what was fitted (and evaluated) is what the files hold, float16 and all: the same samples to the bit
    assert np.array_equal(loaded.critic.log_probs(codes[:20]), latent.critic.log_probs(codes[:20]))
    assert np.array_equal(loaded.prior("jazz").sample(6, seed=2), latent.prior("jazz").sample(6, seed=2))
    assert np.array_equal(loaded.prior("run").sample(6, seed=2), latent.prior("run").sample(6, seed=2))


def test_the_mixture_draws_each_large_style_by_its_windows_and_the_rest_from_run(monkeypatch):
    """MIXTURE: the styles with MIXTURE_MIN_WINDOWS windows, weighted by their windows, the rest of the run's
    windows drawn from RUN; seeded row by row; offered only with two such styles."""
    codes, styles = two_style_codes(n=400)
    codes = np.concatenate([codes, np.random.default_rng(5).standard_normal((200, 16)) + np.eye(16)[0] * 8])
    styles = styles + ["pop"] * 200
    monkeypatch.setattr(priors, "MIXTURE_MIN_WINDOWS", 300)
    latent = priors.fit(codes, np.zeros((len(codes), 64, 9), bool), styles, ["beat"] * len(codes), codes[::7],
                        min_windows=100, ranks=(0, 3))
    assert "pop" in latent.priors and latent.mixture_parts() == [("funk", 400), ("jazz", 400), ("run", 200)]
    assert "mixture" in latent.names()
    mixture = latent.prior("mixture")
    assert mixture.windows == 1000 and mixture.critic is None and mixture.draws == 1
    z = mixture.sample(3000, seed=2)
    assert np.array_equal(mixture.sample(7, seed=2), z[:7]) and not np.array_equal(mixture.sample(7, seed=3), z[:7])
    # each row is the next code of one part's own stream, the parts taken in proportion to their windows
    streams = [latent.priors[n].sample(300, [2, k]) for k, n in enumerate(("funk", "jazz", "run"))]
    taken = [0, 0, 0]
    for row in z[:300]:
        k = next(k for k in range(3) if np.array_equal(row, streams[k][taken[k]]))
        taken[k] += 1
    assert abs(taken[0] / 300 - 0.4) < 0.1 and abs(taken[1] / 300 - 0.4) < 0.1 and abs(taken[2] / 300 - 0.2) < 0.08
    # with one large style there is no mixture to offer
    monkeypatch.setattr(priors, "MIXTURE_MIN_WINDOWS", 401)
    assert latent.mixture_parts() == [] and "mixture" not in latent.names()
    with pytest.raises(priors.UnknownPriorError, match="unknown prior or style 'mixture'"):
        latent.prior("mixture")


def test_one_style_gets_no_critic():
    codes, _ = two_style_codes()
    latent = priors.fit(codes, np.zeros((len(codes), 64, 9), bool), ["funk"] * len(codes), ["beat"] * len(codes),
                        codes[::7], min_windows=100, ranks=(0,))
    assert latent.critic is None and latent.prior("funk").draws == 1


def test_each_styles_setting_is_the_most_stylish_that_keeps_its_beats_new():
    from bgmaker.evaluation.priors import NOVELTY_SHARE, choose_style_settings
    row = lambda share, nearest: dict(samples_as_style=share, nearest_train_cells=nearest)  # noqa: E731
    # real windows of "a" are 40 cells from another performance's: its samples may come no nearer than 20
    sweep = {(1, 1): dict(a=row(0.30, 35), b=row(0.90, 12), c=row(0.5, 30)),
             (1, 4): dict(a=row(0.50, 30), b=row(0.95, 11), c=row(0.5, 30)),
             (16, 1): dict(a=row(0.70, 22), b=row(0.97, 8), c=row(0.5, 30)),
             (16, 4): dict(a=row(0.80, 19), b=row(0.99, 6), c=row(0.5, 30))}
    real = dict(a=40.0, b=30.0, c=None)
    assert NOVELTY_SHARE == 0.5
    chosen = choose_style_settings(sweep, real)
    assert chosen["a"] == (16, 1)   # (16, 4) is heard as "a" more, but comes nearer the train windows than 20
    assert chosen["b"] == (1, 1)    # no setting stays 15 cells away: the smallest, one Gaussian and one draw
    assert chosen["c"] == (1, 1)    # no real distance to read it against: the smallest
    sweep[(1, 4)]["a"] = row(0.704, 30)  # as stylish as (16, 1) to 2 decimals: the fewer clusters
    assert choose_style_settings(sweep, real)["a"] == (1, 4)
    assert choose_style_settings(sweep, real, share=0.4)["a"] == (16, 4)  # a looser limit: the most stylish


# -- on the tiny model -----------------------------------------------------------------

@pytest.fixture(scope="module")
def fitted(tiny_priors_model):
    return tiny_priors_model["run_dir"], tiny_priors_model["latent"]


def test_fit_model_records_its_data_and_offers_styles_beats_and_fills(fitted):
    model, latent = fitted
    assert {"run", "funk", "rock", "jazz", "beat", "fill"} <= set(latent.priors)
    data = latent.info["data"]["train"]
    assert data["windows"] == latent.priors["run"].windows and len(data["sha256"]) == 64
    assert set(latent.attributes) == {"density", "cymbals", "syncopation", "kick", "fill"} - {
        name for name in ("cymbals", "syncopation") if name not in latent.attributes}
    assert {"density", "kick", "fill"} <= set(latent.attributes)


def test_sampling_from_a_prior_is_seeded_and_steerable(fitted):
    from bgmaker.generation.generator import BeatGenerator
    model, _ = fitted
    generator = BeatGenerator("hierdec-drum_4bar", model)
    try:
        latent = generator.latent_map()  # as stored beside the weights (float16)
        z = generator.sample_z(4, seed=3, prior="funk")
        assert np.array_equal(z, latent.prior("funk").sample(4, 3))
        assert np.array_equal(generator.sample_z(2, seed=3, prior="funk"), z[:2])
        assert np.array_equal(generator.sample_z(3, seed=3), latent.prior("normal").sample(3, 3))  # the default
        pushed = generator.sample_z(4, seed=3, prior="funk", more={"density": 1.5})
        assert np.allclose(pushed - z, 1.5 * latent.attributes["density"].astype(np.float32), atol=1e-5)
        first = [n.pitch for n in generator.sample(2, 0.5, seed=7, prior="run")[0].notes]
        assert first == [n.pitch for n in generator.sample(2, 0.5, seed=7, prior="run")[0].notes]
        with pytest.raises(priors.UnknownPriorError, match="unknown prior or style 'polka'"):
            generator.sample(1, seed=0, prior="polka")
    finally:
        generator.close()


def test_sampling_never_hands_back_a_train_window_unchanged(fitted):
    """The copy guard (BeatGenerator.sample_new_z): the train grids' hashes ship with the priors; a sample whose
    grid is one of them is drawn again (row i's attempt k from seed (seed, i, k)), the others stay as they were."""
    from bgmaker.data.windows import to_grid
    from bgmaker.generation.generator import BeatGenerator
    model, _ = fitted
    generator = BeatGenerator("hierdec-drum_4bar", model)
    try:
        shipped = generator.latent_map()
        assert shipped.train_hashes is not None and len(shipped.train_hashes) > 0  # saved and loaded with the priors
        grids = lambda beats: np.stack([to_grid(b) for b in beats])  # noqa: E731
        pitches = lambda beats: [[(n.pitch, n.start_time) for n in b.notes] for b in beats]  # noqa: E731
        z = generator.sample_z(6, seed=5)
        plain = generator.decode(z, 1.0, 5)
        marked = shipped.copies(grids(plain))  # (the tiny model may copy one of its few train windows)
        kept = generator.sample(6, 1.0, seed=5)
        assert [p for p, m in zip(pitches(kept), marked) if not m] == [p for p, m in zip(pitches(plain), marked)
                                                                       if not m]  # a new beat: as decoded
        # pretend that samples 1 and 4 are train windows
        generator._latent_map = replace(shipped, train_hashes=np.union1d(
            shipped.train_hashes, priors.grid_hashes(grids(plain)[[1, 4]])))
        caught = generator.latent_map().copies(grids(plain))
        assert caught[[1, 4]].all()
        z_new, beats = generator.sample_new_z(6, 1.0, 5)
        for i in np.flatnonzero(~caught):
            assert np.array_equal(z_new[i], z[i]) and pitches([beats[i]]) == pitches([plain[i]])
        for i in np.flatnonzero(caught):
            assert not np.array_equal(z_new[i], z[i])  # drawn again
        assert not generator.latent_map().copies(grids(beats)).any()
        assert pitches(generator.sample(6, 1.0, seed=5)) == pitches(beats)  # seeded
        assert pitches(generator.sample(3, 1.0, seed=5)) == pitches(beats[:3])  # row i does not depend on n
        # a map saved before the hashes (none stored) guards nothing
        assert not replace(shipped, train_hashes=None).copies(grids(plain)).any()
    finally:
        generator.close()


def test_generate_sample_with_a_style_and_more(fitted, tmp_path):
    model, _ = fitted
    out = tmp_path / "out"
    proc = run_cli("bgmaker", "generate", "sample", "--checkpoint", model, "--config", "hierdec-drum_4bar",
                   "--style", "funk", "--more", "density=+1", "--num", "2", "--seed", "1", "--no-audio",
                   "--journey-steps", "0", "--no-humanize", "-o", out)
    assert "prior: funk (" in proc.stdout and "more: density +1" in proc.stdout
    assert len(list(out.glob("sample_*.mid"))) == 2
    reconstruct = run_cli("bgmaker", "generate", "reconstruct", drum_midi_file(tmp_path), "--checkpoint", model,
                          "--config", "hierdec-drum_4bar", "--more", "kick=-1", "--seed", "1", "--no-audio",
                          "--refine-steps", "0", "--no-humanize", "-o", tmp_path / "rec")
    assert reconstruct.returncode == 0


def drum_midi_file(tmp_path):
    path = tmp_path / "beat.mid"
    drum_midi.write_midi(drum_midi.rock_beat(4), path)
    return path


@pytest.mark.parametrize("flags, message", [
    (["--style", "polka"], "unknown prior or style 'polka'"),
    (["--more", "density"], "'density' is not ATTRIBUTE=AMOUNT"),
    (["--more", "cowbell=1"], "unknown attribute 'cowbell'"),
    (["--prior", "run", "--style", "funk"], "--prior run and --style funk disagree"),
])
def test_generate_names_a_bad_prior_or_attribute_in_one_line(fitted, tmp_path, flags, message):
    model, _ = fitted
    proc = run_cli("bgmaker", "generate", "sample", "--checkpoint", model, "--config", "hierdec-drum_4bar",
                   "--no-humanize", "--no-audio", "-o", tmp_path / "out", *flags, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # TensorFlow's start-up lines may come before it
    assert last.startswith("bgmaker generate: error: ") and message in last and proc.stderr.count("error:") == 1


def test_a_model_without_priors_samples_normal_and_says_how_to_fit_them(tiny_model, tmp_path):
    proc = run_cli("bgmaker", "generate", "sample", "--checkpoint", tiny_model["checkpoint"], "--config",
                   "hierdec-drum_4bar", "--style", "funk", "--no-humanize", "--no-audio", "-o", tmp_path / "o",
                   check=False)
    assert proc.returncode == 2 and "has no priors" in proc.stderr and "bgmaker priors --run" in proc.stderr


class WindowsRun:
    """A run whose splits are the given TFRecords (what evaluate reads of a bgmaker_configs Run)."""

    def __init__(self, name, **paths):
        self.name, self.paths = name, paths

    def examples_path(self, split):
        return self.paths[split]


def test_the_evaluation_chooses_a_default_prior_and_scores_styles_and_attributes(fitted, tmp_path, monkeypatch):
    from bgmaker.evaluation import priors as evaluation
    monkeypatch.setattr(evaluation, "SAMPLES", 256)  # the tiny model's few windows: the shipped counts add nothing
    monkeypatch.setattr(evaluation, "STYLE_SAMPLES", 128)
    from bgmaker.generation.generator import BeatGenerator
    model, _ = fitted
    work = model.parent
    run = WindowsRun("tiny", train=work / "train.tfrecord", validation=work / "val.tfrecord",
                     test=gmd_like_windows(tmp_path / "test.tfrecord", 2))
    generator = BeatGenerator("hierdec-drum_4bar", model, batch_size=64)
    fresh = fitted[1]  # as fit_and_evaluate hands it over: able to refit its style priors (a copy: the fixture's)
    latent = replace(fresh, priors=dict(fresh.priors), info=dict(fresh.info))
    try:
        report = evaluation.evaluate(generator, latent, run, tmp_path, log=lambda m: None)
    finally:
        generator.close()
    chosen = report["default_prior"]["chosen"]
    assert chosen in evaluation.CANDIDATES and latent.info["default_prior"] == chosen
    validation = report["default_prior"]["validation"]
    fair = [c for c, f in validation.items() if f["copies"] == 0]
    best = min(validation[c]["classifier"] for c in fair) if fair else None
    assert chosen == "normal" if not fair else validation[chosen]["classifier"] <= best + evaluation.TIE
    for figures in list(validation.values()) + list(report["default_prior"]["test"].values()):
        draws = figures["classifier_draws"]  # each candidate's figures: the mean of PRIOR_DRAWS draws
        assert len(draws) == evaluation.PRIOR_DRAWS
        assert figures["classifier"] == pytest.approx(np.mean(draws))
    assert " ± " in (tmp_path / "priors_evaluation.md").read_text()
    single = {**report, "settings": {k: v for k, v in report["settings"].items() if k != "prior_draws"},
              "default_prior": {**report["default_prior"], **{split: {c: {k: v for k, v in f.items()
                                                                            if k != "classifier_draws"}
                                                                        for c, f in report["default_prior"][split].items()}
                                                                for split in ("validation", "test")}}}
    assert " ± " not in evaluation.markdown(single)  # a report of one draw (before 2026-12-07) still renders
    assert set(report["styles"]) == {"funk", "rock", "jazz"}
    for row in report["styles"].values():
        assert 0 <= row["samples_as_style"] <= 1 and 0 <= row["normal_as_style"] <= 1
        assert 0 <= row["prior_alone_as_style"] <= 1
        assert row["real_nearest_other_performance"] >= 0  # real drumming's distance to other performances
    text = (tmp_path / "priors_evaluation.md").read_text()
    assert "real: nearest other performance" in text and "Settings per style" in text
    for block in text.split("\n\n"):  # every table: as many cells in each row as in its header
        rows = [line for line in block.splitlines() if line.startswith("|")]
        assert len({line.count("|") for line in rows}) <= 1, block
    # each style's clusters x candidates: swept on validation, chosen per style, refitted and kept
    settings = report["style_settings"]
    assert set(settings["validation"]) == {f"{k}x{d}" for k in priors.STYLE_CLUSTERS for d in priors.STYLE_DRAWS}
    sweep = {tuple(map(int, key.split("x"))): rows for key, rows in settings["validation"].items()}
    novelty = {s: r["real_nearest_other_performance"] for s, r in report["styles"].items()}
    chosen = evaluation.choose_style_settings(sweep, novelty)
    for style, (k, d) in chosen.items():
        assert latent.info["style_clusters"][style] == k and latent.draws_of(style) == d
        assert latent.prior(style).draws == d == report["styles"][style]["draws"]
        assert latent.prior(style).clusters == min(k, latent.prior(style).windows // 2)
        assert settings["chosen"][style] == [k, d]  # the setting; the prior has fewer clusters when few windows
    # a report written before the settings were chosen per style (one number each) still renders its tables
    old = {k: v for k, v in report.items() if k != "style_settings"}
    old["style_draws"] = dict(chosen=4, validation={"1": sweep[(1, 1)], "4": sweep[(1, 4)]})
    old["style_clusters"] = dict(chosen=1, validation={"1": sweep[(1, 1)], "4": sweep[(4, 1)]})
    text = evaluation.markdown(old)
    assert "best of 4" in text and "Clusters per style prior" in text and "Settings per style" not in text
    curves = report["attributes"]["curves"]
    assert set(curves) == set(latent.attributes)
    for responses in curves.values():  # measured from amount 0: no change there
        assert all(r[evaluation.AMOUNTS.index(0.0)] == 0 for r in responses.values())
    assert report["gate"] and all(isinstance(g["passed"], bool) for g in report["gate"])
    names = {p.name for p in tmp_path.iterdir()}
    assert {"priors_evaluation.json", "priors_evaluation.md", "priors_evaluation.png"} <= names
    assert "## Style control" in (tmp_path / "priors_evaluation.md").read_text()


def test_the_default_priors_figures_are_the_mean_of_its_draws_and_their_copies_summed():
    from bgmaker.evaluation import priors as evaluation
    rng = np.random.default_rng(0)
    train = rng.random((40, 64, 9)) < 0.2
    real = rng.random((60, 64, 9)) < 0.2
    performances = [f"p{i % 6}" for i in range(60)]
    draws = [rng.random((50, 64, 9)) < p for p in (0.2, 0.3, 0.4)]
    draws[1][:2] = train[:2]  # two copies in draw 1, one in draw 2
    draws[2][0] = train[5]
    mean = evaluation.mean_figures(draws, real, performances, train, seed=3, purpose="validation")
    each = [evaluation.prior_figures(d, real, performances, train, np.random.default_rng([3 + k, sum(map(ord, "validation"))]))
            for k, d in enumerate(draws)]
    assert mean["classifier_draws"] == [f["classifier"] for f in each]  # draw k: its own folds, seeded seed + k
    assert mean["classifier"] == pytest.approx(np.mean(mean["classifier_draws"]))
    assert mean["bar_repetition"] == pytest.approx(np.mean([f["bar_repetition"] for f in each]))
    assert mean["copies"] == 3


def test_the_style_classifier_hears_styles_apart():
    from bgmaker.evaluation.priors import style_classifier
    rng = np.random.default_rng(0)
    sparse, busy = rng.random((60, 64, 9)) < 0.05, rng.random((60, 64, 9)) < 0.4
    predict = style_classifier(np.concatenate([sparse, busy]), ["a"] * 60 + ["b"] * 60)
    assert (predict(rng.random((20, 64, 9)) < 0.05) == "a").all() and (predict(rng.random((20, 64, 9)) < 0.4) == "b").all()


def test_the_default_is_the_most_real_prior_that_copies_nothing():
    from bgmaker.evaluation.priors import choose_default
    f = lambda c, r, copies=0: dict(classifier=c, bar_repetition=r, copies=copies)  # noqa: E731
    assert choose_default(dict(normal=f(0.70, 0.4), run=f(0.60, 0.3)), 0.5) == "run"
    assert choose_default(dict(normal=f(0.61, 0.4), run=f(0.60, 0.3)), 0.5) == "normal"  # a tie: bars decide
    assert choose_default(dict(normal=f(0.70, 0.4), run=f(0.55, 0.5, copies=2)), 0.5) == "normal"


def test_the_posteriors_variance_widens_each_prior_on_the_diagonal(tmp_path):
    """The decoder saw codes drawn from N(mu, sigma^2): each prior adds its windows' mean sigma^2."""
    codes, _ = gaussian_codes(600, z=16)
    sigmas = np.full((600, 16), 0.5)
    sigmas[:, 3] = 1.0
    rng = np.random.default_rng(1)
    latent = priors.fit(codes[:500], rng.random((500, 64, 9)) < 0.1, ["funk"] * 500, ["beat"] * 500, codes[500:],
                        min_windows=100, ranks=(0, 3), sigmas=sigmas[:500])
    means_only = priors.as_stored(priors.fit_prior("run", codes[:500], latent.info["rank"]))  # float16, as fit keeps it
    extra = np.diag(latent.prior("run").covariance() - means_only.covariance())
    assert np.allclose(extra, np.r_[[0.25] * 3, 1.0, [0.25] * 12])
    latent.save(tmp_path)
    assert np.allclose(priors.LatentMap.load(tmp_path).prior("run").posterior_var, extra, atol=1e-3)


def test_a_style_the_model_lacks_is_played_by_the_template_instead(fitted, tmp_path):
    import shutil

    from conftest import REPO
    model, _ = fitted
    shipped = tmp_path / "models" / "humanize"
    shipped.mkdir(parents=True)
    shutil.copy(REPO / "models" / "humanize" / "template.npz", shipped)  # the shipped template alone
    proc = run_cli("bgmaker", "generate", "sample", "--checkpoint", model, "--config", "hierdec-drum_4bar",
                   "--style", "latin", "--humanize", "template", "--num", "1", "--journey-steps", "0", "--no-audio",
                   "-o", tmp_path / "out", env={"BGMAKER_MODELS_DIR": str(tmp_path / "models")})
    assert "no 'latin' prior; the humanizer plays its feel" in proc.stdout and "style latin" in proc.stdout
