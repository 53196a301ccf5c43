"""Each metric on hand-built drum grids with answers worked out by hand."""
import math

import numpy as np
import pytest
from scipy import stats

from bgmaker import metrics

import drum_midi

KICK, SNARE, CHH, OHH, CRASH = 0, 1, 2, 3, 7


def grid_with(hits, steps=64):
    """A [steps, 9] grid with the given (step, class) cells hit."""
    g = np.zeros((steps, 9), bool)
    for s, c in hits:
        g[s, c] = True
    return g


def rock_grid():
    """Kick on 1 and 3, snare on 2 and 4, closed hats on eighths, every bar."""
    hits = [(b * 16 + s, CHH) for b in range(4) for s in range(0, 16, 2)]
    hits += [(b * 16 + s, KICK) for b in range(4) for s in (0, 8)]
    hits += [(b * 16 + s, SNARE) for b in range(4) for s in (4, 12)]
    return grid_with(hits)


# --- onsets -------------------------------------------------------------------

def test_step_accuracy_counts_whole_rows():
    target = rock_grid()
    predicted = target.copy()
    predicted[4, SNARE] = False          # one step loses its snare
    predicted[5, OHH] = True             # one empty step gains a hat
    assert metrics.step_accuracy(target, target) == 1.0
    assert metrics.step_accuracy(predicted, target) == pytest.approx(62 / 64)


def test_onset_prf_of_a_known_pair():
    target = grid_with([(0, KICK), (8, KICK), (4, SNARE), (12, SNARE)])
    predicted = grid_with([(0, KICK), (8, KICK), (10, KICK), (4, SNARE)])
    prf = metrics.onset_prf(predicted, target)
    # kick: TP 2, FP 1, FN 0; snare: TP 1, FP 0, FN 1
    assert prf["kick"]["precision"] == pytest.approx(2 / 3)
    assert prf["kick"]["recall"] == 1.0
    assert prf["kick"]["f1"] == pytest.approx(0.8)
    assert prf["snare"]["precision"] == 1.0
    assert prf["snare"]["recall"] == 0.5
    assert prf["snare"]["f1"] == pytest.approx(2 / 3)
    # all: TP 3, FP 1, FN 1
    assert prf["all"]["f1"] == pytest.approx(0.75)
    assert prf["all"]["support"] == 4
    # a class neither predicted nor present is undefined, not perfect
    assert math.isnan(prf["ride"]["precision"]) and math.isnan(prf["ride"]["f1"])


def test_onset_prf_pools_over_a_stack_of_grids():
    a, b = rock_grid(), grid_with([(0, KICK)])
    prf = metrics.onset_prf(np.stack([a, b]), np.stack([a, a]))
    assert prf["kick"]["precision"] == 1.0
    assert prf["kick"]["recall"] == pytest.approx(9 / 16)
    assert prf["snare"]["recall"] == 0.5 and math.isnan(prf["crash"]["f1"])


# --- features -----------------------------------------------------------------

def test_densities_and_active_instruments_of_a_rock_beat():
    g = rock_grid()
    density = metrics.onset_density(g)
    assert density[CHH] == 0.5 and density[KICK] == 0.125 and density[SNARE] == 0.125
    assert density[CRASH] == 0
    assert metrics.step_density(g) == 0.5      # every eighth has a hat, nothing on sixteenths
    assert metrics.active_instruments(g) == 3
    assert metrics.groove_consistency(g) == 1.0  # four identical bars


def test_features_broadcast_over_stacks():
    stack = np.stack([rock_grid(), np.zeros((64, 9), bool)])
    assert metrics.step_density(stack).tolist() == [0.5, 0.0]
    assert metrics.active_instruments(stack).tolist() == [3, 0]
    assert metrics.syncopation(stack).shape == (2,)
    table = metrics.feature_table(stack)
    assert set(table) == set(metrics.FEATURES)
    assert table["kick density"].tolist() == [0.125, 0.0]
    assert all(v.shape == (2,) for v in table.values())


def test_syncopation_known_value():
    # onsets at 0, 6, 16: (0->6) strongest rest is beat 2 (W=-2) < downbeat, none;
    # (6->16) strongest rest is the half bar (W=-1) after an eighth (W=-3): 2.
    g = grid_with([(0, KICK), (6, SNARE), (16, KICK)])
    assert metrics.syncopation(g) == pytest.approx(2 / 4)
    # a sixteenth anticipating beat 2 (step 3, W=-4) with beat 2 silent: 4 - 2 = 2,
    # then step 5 -> 16: rest at the half bar, -1 - (-4) = 3
    g = grid_with([(0, KICK), (3, KICK), (5, SNARE), (16, KICK)])
    assert metrics.syncopation(g) == pytest.approx((2 + 3) / 4)


def test_syncopation_is_zero_on_the_beat_and_for_a_lone_hit():
    assert metrics.syncopation(rock_grid()) == 0
    assert metrics.syncopation(grid_with([(7, SNARE)])) == 0  # nothing follows it in the window
    four_on_the_floor = grid_with([(s, KICK) for s in range(0, 64, 4)])
    assert metrics.syncopation(four_on_the_floor) == 0


def test_groove_consistency_known_value():
    g = rock_grid()
    g[48:64] = False
    g[48, KICK] = True  # last bar: only a kick on the downbeat
    # bars 0-2 identical; each differs from bar 3 in 11 of the 144 cells:
    # 8 hats + the kick on 3 + 2 snares
    differing = np.sum(rock_grid()[:16] != g[48:64])
    expected = 1 - (3 * differing / 144) / 6
    assert metrics.groove_consistency(g) == pytest.approx(expected)
    assert differing == 11


def test_features_of_to_grid_on_a_synthetic_beat():
    """The grid from bgmaker.data.windows.to_grid of tests/drum_midi's beat has the features its recipe says."""
    import bgmaker_configs
    bgmaker_configs.register()  # compat shims + configs, before Magenta
    from bgmaker.data.windows import to_grid
    g = to_grid(drum_midi.rock_beat(bars=4))
    assert metrics.onset_density(g)[[KICK, SNARE]].tolist() == [0.125, 0.125]
    assert metrics.onset_density(g)[CHH] + metrics.onset_density(g)[OHH] == 0.5
    assert metrics.step_density(g) == 0.5
    assert metrics.syncopation(g) == 0


# --- distributions ------------------------------------------------------------

def test_identical_sets_overlap_fully_with_zero_kl():
    values = np.array([0.1, 0.2, 0.2, 0.3, 0.5, 0.4])
    result = metrics.overlap_and_kl(values, values.copy())
    assert result["overlap"] == pytest.approx(1.0, abs=1e-9)
    assert result["kl"] == pytest.approx(0.0, abs=1e-9)


def test_identical_constant_sets_overlap_fully():
    # gaussian_kde cannot fit zero spread; two equal constant sets are still the same distribution
    result = metrics.overlap_and_kl(np.full(10, 3.0), np.full(7, 3.0))
    assert result["overlap"] == pytest.approx(1.0) and result["kl"] == pytest.approx(0.0, abs=1e-9)


def test_kde_is_scipys_gaussian_kde_and_survives_float_noise():
    values = np.random.default_rng(3).normal(size=50)
    x, p, _ = metrics.kde_on_shared_grid(values, values + 1)
    expected = stats.gaussian_kde(values)(x)
    np.testing.assert_allclose(p, expected / np.trapezoid(expected, x))
    # groove consistency of identical windows can differ in the last bit: still one value
    noisy = np.array([0.9965277777777778, 0.9965277777777779, 0.9965277777777778])
    assert metrics.overlap_and_kl(noisy, noisy[::-1])["overlap"] == pytest.approx(1.0)
    far = metrics.overlap_and_kl(noisy, np.linspace(0.5, 0.9, 20))
    assert far["overlap"] < 0.01 and np.isfinite(far["kl"])


def test_disjoint_sets_barely_overlap_and_shift_grows_kl():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 500)
    near = metrics.overlap_and_kl(base, base + 0.5)
    far = metrics.overlap_and_kl(base, base + 20)
    assert far["overlap"] < 1e-3 < near["overlap"] < 1
    assert far["kl"] > near["kl"] > 0
    # two normals one standard deviation apart overlap by 2 Phi(-1/2) ~ 0.617 (KDE widens them a bit)
    assert metrics.overlap_and_kl(base, base + 1.0)["overlap"] == pytest.approx(0.617, abs=0.06)


def test_kde_densities_integrate_to_one_on_the_shared_grid():
    x, p, q = metrics.kde_on_shared_grid([0, 1, 2, 2, 3], [5, 6, 6, 7])
    assert np.trapezoid(p, x) == pytest.approx(1) and np.trapezoid(q, x) == pytest.approx(1)
    assert x[0] < 0 and x[-1] > 7


def test_shuffle_keeps_counts_and_breaks_time():
    rng = np.random.default_rng(1)
    grids = np.stack([rock_grid()] * 20)
    shuffled = metrics.shuffle_steps(grids, rng)
    assert shuffled.shape == grids.shape
    assert (metrics.onset_density(shuffled) == metrics.onset_density(grids)).all()
    assert (np.sort(shuffled.view(np.uint8), axis=1) == np.sort(grids.view(np.uint8), axis=1)).all()
    assert metrics.groove_consistency(shuffled).mean() < 0.95
    assert metrics.syncopation(shuffled).mean() > 0
    assert metrics.overlap_and_kl(metrics.syncopation(grids), metrics.syncopation(shuffled))["overlap"] < 0.2


# --- interpolation -----------------------------------------------------------

def test_hamming_is_the_fraction_of_differing_cells():
    a = rock_grid()
    b = a.copy()
    b[0, KICK] = False
    b[1, SNARE] = True
    assert metrics.hamming(a, a) == 0
    assert metrics.hamming(a, b) == pytest.approx(2 / 576)


def test_crossfade_is_a_monotone_dissolve():
    rng = np.random.default_rng(2)
    a = rock_grid()
    b = grid_with([(s, OHH) for s in range(0, 64, 3)] + [(0, CRASH)])
    path = metrics.crossfade(a, b, 9, rng)
    assert path.shape == (9, 64, 9)
    assert (path[0] == a).all() and (path[-1] == b).all()
    d_start, d_end = metrics.distance_curves(path, a, b)
    assert d_start[0] == 0 and d_end[-1] == 0
    np.testing.assert_allclose(d_start + d_end, metrics.hamming(a, b))  # it never leaves the straight line
    assert metrics.monotonicity(d_start, d_end) == 1.0
    assert metrics.smoothness(path) == pytest.approx(metrics.hamming(a, b) / 8)


def test_monotonicity_and_smoothness_of_a_wandering_path():
    a = rock_grid()
    b = a.copy()
    b[:, OHH] = True  # B = A plus an open hat on every step
    c = np.zeros_like(a)
    path = np.stack([a, c, b])  # detour through silence
    d_start, d_end = metrics.distance_curves(path, a, b)
    # A has 48 hits, B = A + 64 open hats. d_start (x576): 0, 48, 64 rises;
    # d_end (x576): 64, 112, 0 moves away first: 3 of 4 steps the right way
    assert metrics.monotonicity(d_start, d_end) == pytest.approx(0.75)
    assert metrics.smoothness(path) == pytest.approx((48 + 112) / 576 / 2)
    straight = np.stack([a, a, b])
    assert metrics.monotonicity(*metrics.distance_curves(straight, a, b)) == 1.0
    assert metrics.smoothness(straight) < metrics.smoothness(path)


def test_drum_names_index_the_grid_columns():
    assert metrics.DRUM_NAMES[KICK] == "kick" and metrics.DRUM_NAMES[CHH] == "closed hi-hat"


# --- two-sample test ----------------------------------------------------------

def test_position_profile_is_the_hit_rate_per_bar_position():
    g = rock_grid()
    g[16 + 4, SNARE] = False  # one of the four bars loses its first backbeat
    p = metrics.position_profile(g)
    assert p.shape == (16, 9)
    assert p[4, SNARE] == 0.75 and p[12, SNARE] == 1.0 and p[1, CHH] == 0.0 and p[2, CHH] == 1.0
    assert metrics.position_profile(np.stack([g, g])).shape == (2, 16, 9)


def test_fit_logistic_matches_the_optimum_it_states():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3))
    y = (x @ [1.5, -2.0, 0.0] + 0.3 + rng.standard_normal(200) > 0).astype(float)
    v = np.ones(200)
    w, b = metrics.fit_logistic(x, y, v, l2=0.01)
    # the gradient of the stated objective vanishes at the returned point
    p = 1 / (1 + np.exp(-(x @ w + b)))
    assert np.allclose(x.T @ (p - y) / 200 + 0.01 * w, 0, atol=1e-8)
    assert np.isclose(np.mean(p - y), 0, atol=1e-8)
    assert w[0] > 0.5 and w[1] < -0.5 and abs(w[2]) < 0.3


def test_grouped_folds_never_split_a_group_and_balance_each_set():
    rng = np.random.default_rng(0)
    groups = [f"perf{i // 10}" for i in range(60)] + [f"sample{i}" for i in range(50)]
    labels = np.r_[np.zeros(60), np.ones(50)]
    fold = metrics.grouped_folds(labels, groups, 3, rng)
    for g in set(groups):
        assert len({fold[i] for i, h in enumerate(groups) if h == g}) == 1, g
    assert sorted(np.bincount(fold[:60])) == [20, 20, 20]
    assert sorted(np.bincount(fold[60:])) == [16, 17, 17]
    with pytest.raises(ValueError, match="'perf0' is in both sets"):
        metrics.grouped_folds([0, 1], ["perf0", "perf0"], 2, rng)


def test_two_sample_test_is_chance_on_one_distribution_and_perfect_on_two():
    rng = np.random.default_rng(1)
    real = np.stack([rock_grid()] * 40)
    noisy = real ^ (rng.random(real.shape) < 0.05)
    other = noisy.copy()
    other[:, :, OHH] = rng.random(other.shape[:2]) < 0.5  # open hi-hat everywhere: easy to spot
    groups = [f"perf{i // 5}" for i in range(40)]
    same = metrics.classifier_two_sample_test(noisy[:20], noisy[20:], groups[:20], groups[20:],
                                              np.random.default_rng(0))
    assert same["folds"] == 4 and 0.25 <= same["accuracy"] <= 0.75
    apart = metrics.classifier_two_sample_test(other, noisy, [f"s{i}" for i in range(40)], groups,
                                               np.random.default_rng(0))
    assert apart["accuracy"] == 1.0 and apart["folds"] == 5 and apart["n_a"] == apart["n_b"] == 40
    again = metrics.classifier_two_sample_test(other, noisy, [f"s{i}" for i in range(40)], groups,
                                               np.random.default_rng(0))
    assert again == apart
    one_group = metrics.classifier_two_sample_test(noisy[:8], noisy[8:16], ["p"] * 8, ["q"] * 8,
                                                   np.random.default_rng(0))
    assert one_group["accuracy"] is None


def test_group_halves_keep_each_group_on_one_side():
    groups = ["a"] * 10 + ["b"] * 6 + ["c"] * 5 + ["d"] * 3
    left, right = metrics.group_halves(groups, np.random.default_rng(0))
    assert sorted(np.r_[left, right]) == list(range(24))
    assert not {groups[i] for i in left} & {groups[i] for i in right}
    assert {len(left), len(right)} == {11, 13}


def test_novelty_counts_cells_to_the_nearest_train_window_and_copies():
    train = np.zeros((3, 64, 9), bool)
    train[1, :4, 0] = True
    sample = train[1].copy()
    sample[10, 2] = True
    assert list(metrics.nearest_hamming(np.stack([train[1], sample]), train, chunk=2)) == [0, 1]
    assert metrics.novelty(np.stack([train[1], sample, train[0]]), train) == dict(nearest=1 / 3, copies=2, n=3)


def test_nearest_hamming_can_leave_out_each_grids_own_performance():
    pool = np.zeros((4, 64, 9), bool)
    pool[1, :4, 0] = True                   # performance "a": pool 0 and 1
    pool[2, :6, 0] = True                   # performance "b": pool 2 and 3
    pool[3, :40, 1] = True
    groups = np.array(["a", "a", "b", "b"])
    # pool 1 is 0 cells from itself, 4 from pool 0 (its own performance), 2 from pool 2 (another one)
    assert list(metrics.nearest_hamming(pool[:3], pool, chunk=3, groups=groups[:3], pool_groups=groups)) == [6, 2, 2]
    assert list(metrics.nearest_hamming(pool[:3], pool, chunk=3)) == [0, 0, 0]
    assert np.isinf(metrics.nearest_hamming(pool[:1], pool[:2], groups=["a"], pool_groups=groups[:2])).all()
