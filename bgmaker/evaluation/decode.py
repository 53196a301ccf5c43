"""The model's beats for the evaluation, decoded as a user gets them: through `bgmaker generate`'s BeatGenerator.

Samples from the prior, reconstructions of the real windows (from the encoder's mean and from the refined
code), interpolations between pairs of windows and variations of them: every grid the report scores that
a user would hear comes from here, with the generator's seeded sampler and its slerp, so that the same
seed gives the same report to the last digit on one machine.
"""
import time

import numpy as np

from bgmaker.evaluation.inputs import performance, random_stream
from bgmaker.generation.generator import DEFAULT_NOISE
from bgmaker.generation.priors import NORMAL as NORMAL_PRIOR

# Decoding temperature of the "decoded" reconstructions: near-greedy, so the
# number measures the model rather than sampling noise.
RECONSTRUCTION_TEMPERATURE = 1e-3

# Windows refined per TensorFlow run: 256 refine ~2x more windows a second than 64 on these CPUs
# (6 vs 12 ms per window and step); a code does not depend on its batch (bgmaker.generation.refine).
REFINE_BATCH_SIZE = 256


def decode_with_generator(config, checkpoint, windows, n_samples, temperatures, n_pairs, steps,
                          interpolation_temperature, batch_size, seed, refine_steps=0, log=print):
    """What a user of the model gets, through `bgmaker generate`'s BeatGenerator. Returns a dict of grids:

    samples {temperature: [n, 64, 9]}: BeatGenerator.sample(n, temperature,
      seed) from N(0, I), the same z at every temperature;
    reconstructions [windows, 64, 9]: each window encoded to its posterior
      mean and decoded fully free-running at RECONSTRUCTION_TEMPERATURE
      (near-greedy); reconstructions_refined: the same from the code refined
      `refine_steps` steps (bgmaker.generation.refine), the reconstruction a
      user of `generate` hears (left out when refine_steps is 0);
    pairs [(i, j)] and paths [pairs, steps, 64, 9]: the points of
      generate.interpolation_z between the posterior means of windows i and
      j (BeatGenerator.interpolate's path and sampling keys), decoded in one batch; paths_refined
      between the refined codes. Pairs come from different performances where
      the split has more than one, so an interpolation has somewhere to go.
    variations {"variations": [m, 64, 9], "variations refined": ...}: one
      variation (generator.vary at DEFAULT_NOISE, decoded at the first
      temperature) of each of m = min(n_samples, windows) windows, the same
      noise added to the mean and to the refined code.
    Every decode is seeded (bgmaker.generation.seeded_sampling): a beat is a function of
    (z, temperature, seed), whatever the batch size or order.
    """
    from bgmaker.generation.generator import BeatGenerator, interpolation_z, path_keys, vary
    from bgmaker.generation.seeded_sampling import row_keys
    from bgmaker.data.windows import STEPS, to_grid

    def grids(sequences):
        return np.stack([to_grid(ns) for ns in sequences]) if sequences else np.zeros((0, STEPS, 9), bool)

    generator = BeatGenerator(config, checkpoint, batch_size=batch_size,
                              refine_batch_size=min(REFINE_BATCH_SIZE, len(windows)))
    try:
        # From N(0, I), whatever default prior the model's priors name: these figures are the model's own and stay
        # comparable across models and reports; the priors are scored by bgmaker.evaluation.priors.
        out = dict(samples={t: grids(generator.sample(n_samples, t, seed, prior=NORMAL_PRIOR)) for t in temperatures})
        sequences = [w.sequence for w in windows]
        codes = {"": generator.encode(sequences, refine_steps=0)}
        if refine_steps:
            log(f"refining {len(windows)} codes, {refine_steps} steps each:")
            started = time.time()
            codes["_refined"] = generator.encode(
                sequences, refine_steps=refine_steps,
                progress=lambda done, total, step, steps: step == steps and log(f"  {done}/{total} windows"))
            log(f"  refined in {time.time() - started:.0f} s")
        out["pairs"] = choose_pairs(windows, n_pairs, random_stream(seed, "pairs"))
        varied = random_stream(seed, "variations")
        chosen = np.sort(varied.choice(len(windows), min(n_samples, len(windows)), replace=False))
        noise_seeds = varied.integers(0, 2**31, len(chosen))
        out["variations"] = {}
        # Every decode's sampling keys come from the encoder-mean version of its code (row_keys: the CRC of its
        # bits), so a refined beat and its encoder-mean counterpart are decoded with the same sampling draws and
        # compare pair by pair; and the refined figures do not hang on the last bit of a refined code.
        points = {suffix: np.stack([vary(z[i], 1, DEFAULT_NOISE, int(k))[0] for i, k in zip(chosen, noise_seeds)])
                  for suffix, z in codes.items()}
        paths = {suffix: np.concatenate([interpolation_z(z[i], z[j], steps) for i, j in out["pairs"]])
                 for suffix, z in codes.items()} if out["pairs"] else {}
        end_keys = row_keys(codes[""])  # each path keyed as BeatGenerator.interpolate keys it (path_keys)
        path_point_keys = [k for i, j in out["pairs"] for k in path_keys(end_keys[i], end_keys[j], steps)]
        for suffix, z in codes.items():
            out["reconstructions" + suffix] = grids(generator.decode(z, RECONSTRUCTION_TEMPERATURE, seed,
                                                                     keys=row_keys(codes[""])))
            out["variations"]["variations" + suffix.replace("_", " ")] = grids(
                generator.decode(points[suffix], temperatures[0], seed, keys=row_keys(points[""])))
            if out["pairs"]:
                decoded = generator.decode(paths[suffix], interpolation_temperature, seed, keys=path_point_keys)
                out["paths" + suffix] = grids(decoded).reshape(len(out["pairs"]), steps, STEPS, -1)
            else:
                out["paths" + suffix] = np.zeros((0, steps, STEPS, 9), bool)
        return out
    finally:
        generator.close()


def choose_pairs(windows, n_pairs, rng):
    """Up to n_pairs distinct (i, j) window index pairs, from different performances when possible."""
    n = len(windows)
    if n < 2 or n_pairs <= 0:
        return []
    sources = [performance(w) for w in windows]
    mixed = len(set(sources)) > 1
    pairs, seen = [], set()
    for _ in range(50 * n_pairs):
        i, j = (int(k) for k in rng.choice(n, 2, replace=False))
        if (i, j) in seen or (mixed and sources[i] == sources[j]):
            continue
        seen.add((i, j))
        pairs.append((i, j))
        if len(pairs) == n_pairs:
            break
    return pairs
