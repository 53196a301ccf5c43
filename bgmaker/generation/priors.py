"""Latent priors and attribute vectors: where a model's codes of real drumming live, and which way is "more".

Why: a MusicVAE trained with free bits does not fill N(0, I) evenly. The
decoder was trained on codes drawn from the encoder's posteriors
N(mu(x), sigma(x)^2) of real windows: their mixture over the data (the
aggregate posterior) is where it has seen codes. Its means mu spread in few
directions (the shipped models': a residual std of about 0.01 past 64
principal directions), while dimensions the encoder does not use have
sigma near 1. Drawing z from that mixture, and from one style's part of it,
gives samples nearer real drumming and that style than N(0, I) does (the
issue "Steer the beats").

A LatentMap is fitted once per model (`bgmaker priors --run NAME`, written
beside the weights as priors.npz and priors.json) from the encoder's
posteriors (no refinement) of the run's train windows:

- priors: "run" (every train window), one per GMD style with at least
  MIN_WINDOWS windows, "beat" and "fill" (GMD's beat/fill labels, each when
  it has MIN_WINDOWS and is not every window); each the Gaussian that
  matches its windows' aggregate posterior to second order: the means'
  covariance as probabilistic PCA (Tipping & Bishop 1999: W^T W + s^2 I, the
  rank chosen by the log-likelihood of the validation windows' means) plus
  the mean posterior variance E[sigma^2] on the diagonal.
  NORMAL, N(0, I), is always there: what Magenta samples from.
- attributes: for each bgmaker.metrics.attributes.ATTRIBUTES entry, the mean
  code of the train windows in the attribute's top quartile minus that of
  its bottom quartile, as in the MusicVAE paper's attribute vectors (Roberts
  et al. 2018, section 5.4); "fill" is fill-ness, measured by a detector of
  GMD's fill/beat labels (bgmaker.metrics.fills: GMD's fills are a bar or
  two long, so 31 of v1_all's 15,641 windows carry the label, too few to
  steer by).
  Adding `amount` times a vector to a code asks for more (or, negative,
  less) of the attribute; `parse_more("density=+1,cymbals=-0.5")` reads the
  command line's form.
- a style critic: p(style | z), a multinomial logistic regression
  (bgmaker.metrics.fit_softmax) on posterior samples z ~ N(mu, sigma^2) of the
  train windows of every style with a prior. A style's prior covers every
  groove its drummers played, much of it shared with other styles, so its
  samples alone are heard as the style little more often than chance for
  some styles. A style prior draws `draws` candidates per sample and keeps
  the one the critic rates most that style's: sampling from the prior
  tilted toward the style (a latent constraint, after Engel, Hoffman &
  Roberts 2018, "Latent Constraints", with the critic as the constraint).
  `draws` is chosen per style on validation by the evaluation
  (info['style_draws']); 1 is the prior itself.
- MIXTURE, derived from the above when a model has two styles or more with
  MIXTURE_MIN_WINDOWS train windows each: those styles' Gaussians and the
  RUN one, weighted by their windows (RUN's weight: the windows of the
  other styles). The aggregate posterior of a model trained on many styles
  has a mode per style, which one Gaussian (RUN) smears into one blob; on
  v1_all's validation windows its samples were told from real ones less
  often than RUN's or N(0, I)'s (bgmaker.evaluation.priors chooses the
  default among them). Styles with fewer windows are left to RUN: their
  Gaussians sit on their few windows (with every style with a prior in it,
  one of 1024 validation samples copied a train window; with these, none).
- tied mixtures, CLUSTERS and a style's clusters: one Gaussian smears a
  style's grooves into one blob between them (decoded, the encoder means of
  v1_all's hiphop train windows are heard as hiphop 0.89 of the time, one
  Gaussian's samples 0.25). A tied mixture keeps k-means centres of the
  codes, each weighted by its windows, around which one shared PPCA
  covariance (fitted to each code minus its centre) draws: K centres beside
  one covariance stay small, and K moves a prior from one blob (K = 1) toward
  the windows themselves, nearer the style and nearer copying it
  (reports/style_clusters.md). CLUSTERS is one of CLUSTER_COUNT clusters over
  every window, a candidate for the default prior; each style prior's K is
  chosen on validation by the evaluation among STYLE_CLUSTERS, with its
  draws (info['style_clusters']: {style: K}).

Sampling is seeded and, as BeatGenerator.sample_z, row i of
`prior.sample(n, seed)` does not depend on n; NORMAL.sample gives exactly
BeatGenerator.sample_z's codes. numpy only: no TensorFlow here (the codes
come from a BeatGenerator).
"""
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bgmaker.errors import UserError
from bgmaker.paths import replaced_atomically
from bgmaker.metrics.two_sample import L2, Softmax, fit_softmax

NORMAL = "normal"
RUN = "run"
MIXTURE = "mixture"
CLUSTERS = "clusters"
NOT_STYLES = (NORMAL, RUN, "beat", "fill", MIXTURE, CLUSTERS)  # the priors that are not a GMD style's
# CLUSTERS' clusters. On v1_all's validation windows 16, 64 and 256 clusters score 0.615, 0.616 and 0.589 on the
# two-sample test and copy 1, 2 and 1 train windows of 1,024 samples (reports/style_clusters.md): no clear winner,
# copies at the level of a draw's noise. 64 is the middle choice. As fitted and shipped (float16, the rank chosen
# on validation) it copied none of one draw of 1,024 samples, but 3 (v1_all) and 1 (v2_rock_beat) of three draws
# (models/RUN/priors_evaluation.md), so the evaluation no longer makes it the default.
CLUSTER_COUNT = 64
STYLE_CLUSTERS = (1, 4, 16, 64)  # clusters per style prior tried on validation (bgmaker.evaluation.priors)
MIXTURE_MIN_WINDOWS = 300  # a style is a part of MIXTURE with at least this many train windows
MIN_WINDOWS = 100      # a prior (a style, beats, fills) needs at least this many train windows
RANKS = (0, 4, 8, 16, 32, 64)  # PPCA ranks tried on validation
PRIORS_FILE = "priors.npz"
REPORT_FILE = "priors.json"
QUARTILE = 0.25        # attribute vectors: top quartile minus bottom quartile
STYLE_DRAWS = (1, 4, 16, 64)  # candidates per style sample tried on validation (bgmaker.evaluation.priors)
CRITIC_DRAWS = 2       # the style critic is fitted on this many posterior samples of each train window
CHUNK = 256            # a tilted prior scores its candidates this many output rows at a time


class UnknownPriorError(UserError, ValueError):
    """A prior or attribute the model's latent map does not have; the message lists those it has."""


@dataclass
class Prior:
    """A Gaussian over latent codes: mean + components^T e1 + sqrt(noise^2 + posterior_var) * e2, e1, e2 ~ N(0, I);
    with `centres`, a tied mixture (CLUSTERS in the module doc): the same draw around a centre picked by its
    windows' share instead of around `mean`."""

    name: str
    mean: np.ndarray            # [z]: its windows' mean code (with centres: their weighted mean)
    components: np.ndarray      # [rank, z]: W, the covariance's low-rank part is W^T W
    noise: float                # s: the isotropic part's standard deviation
    windows: int = 0            # train windows it was fitted on (0: NORMAL)
    posterior_var: np.ndarray = None  # [z]: E[sigma^2] over its windows, added on the diagonal (None: 0)
    critic: object = None       # a metrics.Softmax over codes naming this prior's style (LatentMap.prior sets it)
    draws: int = 1              # with a critic: candidates per sample, the critic's favourite kept
    centres: np.ndarray = None  # [K, z]: a tied mixture's cluster centres (None: one Gaussian around mean)
    centre_windows: np.ndarray = None  # [K]: each centre's train windows, its weight

    @property
    def rank(self):
        return len(self.components)

    @property
    def clusters(self):
        return 1 if self.centres is None else len(self.centres)

    def _diagonal(self):
        extra = 0.0 if self.posterior_var is None else np.asarray(self.posterior_var, float)
        return self.noise ** 2 + extra

    def sample(self, n, seed):
        """n codes [n, z] (float32), seeded; row i does not depend on n.

        With a critic and draws > 1: row i is the one of candidates
        i*draws ... (i+1)*draws-1 of the plain draw that the critic rates most
        this prior's style (the first of equals). Scored CHUNK rows at a time
        (the same stream of draws, so the same rows), so memory stays small
        whatever n.
        """
        rng = np.random.default_rng(seed)
        if self.critic is None or self.draws <= 1:
            return self._draw(n, rng)
        column = list(self.critic.names).index(self.name)
        out = []
        for begin in range(0, n, CHUNK):
            rows = min(CHUNK, n - begin)
            candidates = self._draw(rows * self.draws, rng)
            score = self.critic.log_probs(candidates)[:, column].reshape(rows, self.draws)
            out.append(candidates.reshape(rows, self.draws, -1)[np.arange(rows), score.argmax(1)])
        return np.concatenate(out) if out else np.zeros((0, len(self.mean)), np.float32)

    def _draw(self, n, rng):
        """The next n plain draws of `rng`: mean + W^T e1 + sqrt(diagonal) e2, one row of e at a time; with
        centres, one more normal per row picks the row's centre (through its CDF: a uniform draw of the same
        row, so row i still does not depend on n)."""
        z_size = len(self.mean)
        tied = self.centres is not None
        e = rng.standard_normal((n, self.rank + z_size + int(tied)))
        if not self.rank and self.posterior_var is None and not tied:  # NORMAL: exactly BeatGenerator.sample_z's
            return (self.mean + self.noise * e).astype(np.float32)
        z = (self.mean + e[:, :self.rank] @ self.components
             + np.sqrt(self._diagonal()) * e[:, self.rank:self.rank + z_size])
        if tied:
            cumulative = np.cumsum(self.centre_windows, dtype=float)
            pick = np.searchsorted(cumulative / cumulative[-1], _normal_cdf(e[:, -1]), side="right")
            z += self.centres[np.minimum(pick, self.clusters - 1)] - self.mean
        return z.astype(np.float32)

    def covariance(self):
        """The (with centres: each cluster's shared) covariance."""
        return self.components.T @ self.components + np.diag(np.broadcast_to(self._diagonal(), self.mean.shape))

    def log_likelihood(self, codes):
        """Log-density of each code [n, z] under this Gaussian (or tied mixture), in nats."""
        codes = np.atleast_2d(np.asarray(codes, float))
        chol = np.linalg.cholesky(self.covariance())
        constant = 2 * np.log(np.diag(chol)).sum() + len(self.mean) * np.log(2 * np.pi)
        if self.centres is None:
            solved = np.linalg.solve(chol, (codes - self.mean).T)
            return -0.5 * ((solved ** 2).sum(0) + constant)
        weights = np.log(np.asarray(self.centre_windows, float) / np.sum(self.centre_windows))
        parts = np.stack([weights[k] - 0.5 * ((np.linalg.solve(chol, (codes - c).T) ** 2).sum(0) + constant)
                          for k, c in enumerate(self.centres)])
        top = parts.max(0)
        return top + np.log(np.exp(parts - top).sum(0))


def _normal_cdf(x):
    from math import erf, sqrt
    return 0.5 * (1.0 + np.vectorize(erf, otypes=[float])(np.asarray(x, float) / sqrt(2.0)))


@dataclass
class Mixture:
    """A mixture of Priors weighted by their train windows (MIXTURE in the module doc).

    Row i of sample(n, seed) picks its part with the i-th uniform draw of
    `seed`'s stream and takes that part's next code, drawn from its own
    stream ([seed, part]), so it does not depend on n.
    """

    name: str
    parts: tuple                # Priors, plain (no critic)
    weights: np.ndarray         # [parts]: each part's train windows
    critic: object = None       # the interface of Prior that generate and the page read: no critic,
    draws: int = 1              # one draw per sample

    @property
    def windows(self):
        return int(np.sum(self.weights))

    def sample(self, n, seed):
        """n codes [n, z] (float32), seeded; row i does not depend on n."""
        cumulative = np.cumsum(self.weights, dtype=float)
        pick = np.searchsorted(cumulative / cumulative[-1], np.random.default_rng(seed).random(n), side="right")
        pick = np.minimum(pick, len(self.parts) - 1)
        out = np.zeros((n, len(self.parts[0].mean)), np.float32)
        for k, part in enumerate(self.parts):
            rows = np.flatnonzero(pick == k)
            if len(rows):
                out[rows] = part.sample(len(rows), [int(seed), k])
        return out


def normal_prior(z_size):
    return Prior(NORMAL, np.zeros(z_size), np.zeros((0, z_size)), 1.0)


def fit_prior(name, codes, rank, posterior_var=None, clusters=1, seed=0):
    """The maximum-likelihood PPCA Gaussian of `codes` [n, z] with (at most) `rank` components, plus
    `posterior_var` [z] (E[sigma^2] of the windows' posteriors; None: none) on the diagonal.

    Eigenvalues l_1 >= ... of the codes' covariance: s^2 = the mean of those past
    the rank; W = the top eigenvectors scaled by sqrt(l_i - s^2).
    clusters > 1: a tied mixture (CLUSTERS in the module doc): k-means (k-means++,
    `seed`) splits the codes into that many clusters (fewer when the codes are
    fewer than twice as many, or a cluster comes out empty), and the PPCA is
    fitted to each code minus its cluster's centre.
    """
    codes = np.asarray(codes, float)
    n, z_size = codes.shape
    clusters = int(min(clusters, n // 2))
    centres = counts = None
    if clusters > 1:
        from scipy.cluster.vq import kmeans2
        import warnings
        with warnings.catch_warnings():  # an empty cluster is dropped below
            warnings.simplefilter("ignore", UserWarning)
            # seed=, not rng=: scipy (pinned in requirements.txt) draws k-means++ from its legacy stream for an
            # int seed; rng= would draw others, and a re-fit would then differ from the shipped priors.
            _, labels = kmeans2(codes, clusters, minit="++", seed=seed, missing="warn")
        counts = np.bincount(labels, minlength=clusters)
        kept = np.flatnonzero(counts)
        centres = np.stack([codes[labels == k].mean(0) for k in kept])
        counts = counts[kept].astype(float)
        codes = codes - centres[np.searchsorted(kept, labels)]
    rank = int(min(rank, max(n - 1, 0), z_size - 1))
    mean = codes.mean(0)
    centered = codes - mean
    values, vectors = np.linalg.eigh(centered.T @ centered / max(n, 1))
    values, vectors = np.clip(values[::-1], 0, None), vectors[:, ::-1]
    # An eigenvector's sign is the solver's choice and differs between CPUs' LAPACK kernels; fixed here (its
    # largest entry positive), a seed draws the same samples on every machine.
    vectors = vectors * np.where(vectors[np.abs(vectors).argmax(0), np.arange(vectors.shape[1])] < 0, -1.0, 1.0)
    noise2 = max(float(values[rank:].mean()), 1e-8)
    scale = np.sqrt(np.clip(values[:rank] - noise2, 0, None))
    if centres is not None:
        mean = counts @ centres / counts.sum()
    return Prior(name, mean, (vectors[:, :rank] * scale).T, float(np.sqrt(noise2)), n,
                 None if posterior_var is None else np.asarray(posterior_var, float), centres=centres,
                 centre_windows=counts)


def choose_rank(train_codes, validation_codes, ranks=RANKS):
    """(best rank, {rank: mean validation log-likelihood}) of the PPCA prior of `train_codes`."""
    scores = {r: float(fit_prior("run", train_codes, r).log_likelihood(validation_codes).mean()) for r in ranks}
    return max(scores, key=scores.get), scores


def attribute_vectors(codes, grids, method="partial"):
    """{attribute: (vector [z], details)} from codes [n, z] and their grids [n, 64, 9].

    Each attribute's windows are split at its quartiles (top quarter: high,
    bottom quarter: low).
    method "difference": the vector is mean code(high) - mean code(low), the
      MusicVAE paper's; it drags every correlated attribute along (in GMD,
      busier windows also have more kick, so "more kick" also means "more of
      everything").
    method "partial" (default): the codes are regressed on all attributes at
      once (standardised; least squares, codes ~ attributes @ B), and an
      attribute's vector is its row of B times the gap between its high and
      low windows: the same change of the attribute as "difference" asks
      for, with the other attributes held where they were.
    details: the attribute's quartiles and standard deviation over the
    windows (the unit its response is read in) and the windows on each side.
    An attribute whose two sides cannot be told apart is left out.
    """
    from bgmaker.metrics.attributes import measure
    codes = np.asarray(codes, float)
    values = measure(grids)
    columns, sides = {}, {}
    for name, v in values.items():
        lo, hi = np.quantile(v, [QUARTILE, 1 - QUARTILE])
        high, low = v >= hi, v <= lo
        if lo == hi:  # a lumpy attribute (e.g. mostly 0): strictly above / at the lower quartile
            high = v > hi
        column = v
        if high.sum() < 2 or low.sum() < 2 or (high == low).all() or column.std() == 0:
            continue
        columns[name], sides[name] = column, (high, low)
    out = {}
    if not columns:
        return out
    names = list(columns)
    table = np.column_stack([columns[n] for n in names])
    standard = (table - table.mean(0)) / table.std(0)
    coefficients = np.linalg.lstsq(standard, codes - codes.mean(0), rcond=None)[0]  # [attributes, z]
    for k, name in enumerate(names):
        high, low = sides[name]
        if method == "difference":
            vector = codes[high].mean(0) - codes[low].mean(0)
        else:
            vector = (standard[high, k].mean() - standard[low, k].mean()) * coefficients[k]
        v = values[name]
        out[name] = (vector, dict(std=float(v.std()), quartiles=[float(q) for q in np.quantile(v, [0.25, 0.5, 0.75])],
                                  high_windows=int(high.sum()), low_windows=int(low.sum()), method=method))
    return out


@dataclass
class LatentMap:
    """A model's priors and attribute vectors, with what they were fitted on (info)."""

    priors: dict
    attributes: dict = field(default_factory=dict)     # {name: vector [z]}
    info: dict = field(default_factory=dict)
    critic: object = None                              # a metrics.Softmax: p(style | z) (see the module doc)
    # fit()'s: style_priors(clusters) -> {style: Prior} refitted with that many clusters each (the evaluation
    # chooses the number on validation); None on a loaded map (the fit's codes are not stored)
    refit_styles: object = field(default=None, repr=False, compare=False)
    # crc32 of each train window's grid (grid_hashes; None: a map fitted before 2026-12-07, no guard): what
    # BeatGenerator.sample checks its beats against, so that it never hands back a train window unchanged
    train_hashes: np.ndarray = field(default=None, repr=False, compare=False)

    @property
    def z_size(self):
        return len(next(iter(self.priors.values())).mean)

    def names(self):
        return [NORMAL] + [p for p in self.priors if p != NORMAL] + ([MIXTURE] if self.mixture_parts() else [])

    def mixture_parts(self):
        """[(prior name, weight)] of MIXTURE (see the module doc), or [] when the model has fewer than two
        styles with MIXTURE_MIN_WINDOWS train windows."""
        styles = [n for n, p in self.priors.items()
                  if n not in NOT_STYLES and p.windows >= MIXTURE_MIN_WINDOWS]
        if len(styles) < 2 or RUN not in self.priors:
            return []
        parts = [(n, self.priors[n].windows) for n in styles]
        rest = self.priors[RUN].windows - sum(w for _, w in parts)
        return parts + ([(RUN, rest)] if rest > 0 else [])

    def draws_of(self, style):
        """The critic's candidates per sample for `style`, chosen on validation (info['style_draws']: one number
        for every style in maps fitted before 2026-12-07's third session, one per style since); 1 before any."""
        draws = self.info.get("style_draws", 1)
        return int(draws.get(style, 1) if isinstance(draws, dict) else draws)

    def styles(self):
        """The names of its style priors (GMD styles; not RUN, beat, fill, MIXTURE, CLUSTERS)."""
        return [n for n in self.priors if n not in NOT_STYLES]

    def with_style_clusters(self, clusters):
        """This map with every style prior refitted as a tied mixture of `clusters` clusters (1: one Gaussian)
        and info['style_clusters'] set; needs the fit's codes (a map fit() made, not one loaded)."""
        if self.refit_styles is None:
            raise ValueError("only a freshly fitted LatentMap can refit its style priors (the codes are not stored)")
        return replace(self, priors={**self.priors, **self.refit_styles(clusters)},
                       info=dict(self.info, style_clusters=int(clusters)))

    def prior(self, name, draws=None):
        """The prior called `name` (NORMAL, RUN, a style, "beat", "fill", MIXTURE, CLUSTERS); UnknownPriorError
        otherwise.
        A style's is tilted toward the style by the critic with `draws` candidates per sample (None: the
        number chosen on validation for the style, draws_of)."""
        if name == NORMAL:
            return normal_prior(self.z_size)
        parts = self.mixture_parts() if name == MIXTURE else []
        if parts:
            return Mixture(MIXTURE, tuple(self.priors[n] for n, _ in parts), np.array([w for _, w in parts], float))
        if name in self.priors:
            prior = self.priors[name]
            if self.critic is not None and name in list(self.critic.names):
                return replace(prior, critic=self.critic, draws=self.draws_of(name) if draws is None else int(draws))
            return prior
        few = self.info.get("too_few_windows", {})
        if name in few:
            raise UnknownPriorError(
                f"style '{name}' has only {few[name]} train windows in this model's data (a prior needs "
                f"{self.info.get('min_windows', MIN_WINDOWS)}); priors: {', '.join(self.names())}")
        raise UnknownPriorError(f"unknown prior or style '{name}'; this model has: {', '.join(self.names())}")

    def copies(self, grids):
        """[n] bool: which grids [n, 64, 9] are a train window's (by its hash; all False without hashes)."""
        if self.train_hashes is None:
            return np.zeros(len(grids), bool)
        return np.isin(row_hashes(grids), self.train_hashes)

    @property
    def default_prior(self):
        return self.info.get("default_prior", NORMAL)

    def steer(self, codes, amounts):
        """codes [n, z] plus amount x the attribute's vector for every {attribute: amount}."""
        codes = np.array(codes, np.float32, copy=True)
        for name, amount in (amounts or {}).items():
            if name not in self.attributes:
                raise UnknownPriorError(f"unknown attribute '{name}'; this model has: "
                                        f"{', '.join(self.attributes) or 'none'}")
            codes += np.float32(amount) * self.attributes[name].astype(np.float32)
        return codes

    def save(self, folder):
        """Write priors.npz (float16 arrays: see info['float16']) and priors.json into `folder`; return the paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for name, p in self.priors.items():
            arrays[f"prior/{name}/mean"] = p.mean.astype(np.float16)
            arrays[f"prior/{name}/components"] = p.components.astype(np.float16)
            if p.posterior_var is not None:
                arrays[f"prior/{name}/posterior_var"] = p.posterior_var.astype(np.float16)
            if p.centres is not None:
                arrays[f"prior/{name}/centres"] = p.centres.astype(np.float16)
                arrays[f"prior/{name}/centre_windows"] = np.asarray(p.centre_windows, np.int32)
        for name, v in self.attributes.items():
            arrays[f"attribute/{name}"] = v.astype(np.float16)
        if self.critic is not None:
            for part in ("mean", "std", "theta"):
                arrays[f"critic/{part}"] = getattr(self.critic, part).astype(np.float16)
        if self.train_hashes is not None:
            arrays["train_grid_hashes"] = np.asarray(self.train_hashes, np.uint32)
        report = dict(self.info, priors={n: dict(windows=p.windows, rank=p.rank, noise=p.noise, clusters=p.clusters)
                                         for n, p in self.priors.items()})
        written = folder / PRIORS_FILE, folder / REPORT_FILE
        for path, write in ((written[0], lambda f: np.savez_compressed(f, **arrays)),
                            (written[1], lambda f: f.write((json.dumps(report, indent=1) + "\n").encode()))):
            with replaced_atomically(path) as tmp, open(tmp, "wb") as f:  # never half a file beside the weights
                write(f)
        return list(written)

    @classmethod
    def load(cls, folder):
        """The LatentMap saved in `folder`, or None when it has none."""
        folder = Path(folder)
        if not (folder / PRIORS_FILE).is_file() or not (folder / REPORT_FILE).is_file():
            return None
        info = json.loads((folder / REPORT_FILE).read_text())
        stored = info.pop("priors", None)
        if not isinstance(stored, dict):
            raise ValueError(f"{folder / REPORT_FILE} lists no priors: a damaged file; fit them again with "
                             "`bgmaker priors --run RUN`")
        with np.load(folder / PRIORS_FILE) as arrays:
            def stored_array(name, part, dtype=float):
                key = f"prior/{name}/{part}"
                return arrays[key].astype(dtype) if key in arrays.files else None
            priors = {name: Prior(name, stored_array(name, "mean"), stored_array(name, "components"), meta["noise"],
                                  meta["windows"], stored_array(name, "posterior_var"),
                                  centres=stored_array(name, "centres"),
                                  centre_windows=stored_array(name, "centre_windows"))
                      for name, meta in stored.items()}
            attributes = {k.split("/", 1)[1]: arrays[k].astype(float) for k in arrays.files
                          if k.startswith("attribute/")}
            critic = None
            if "critic/theta" in arrays.files and (info.get("critic") or {}).get("names"):
                critic = Softmax(np.array(info["critic"]["names"]), *(arrays[f"critic/{part}"].astype(float)
                                                                        for part in ("mean", "std", "theta")))
            hashes = arrays["train_grid_hashes"] if "train_grid_hashes" in arrays.files else None
        return cls(priors, attributes, info, critic, train_hashes=hashes)


def parse_more(text):
    """{attribute: amount} from "density=+1,cymbals=-0.5"; a ValueError naming the bad part otherwise."""
    out = {}
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        name, sep, amount = part.partition("=")
        name = name.strip()
        try:
            value = float(amount) if sep and name else None
        except ValueError:
            value = None
        if value is None or not np.isfinite(value):
            raise ValueError(f"--more: '{part}' is not ATTRIBUTE=AMOUNT (e.g. density=+1,cymbals=-0.5)")
        if name in out:
            raise ValueError(f"--more: '{name}' is given twice")
        out[name] = value
    if not out:
        raise ValueError("--more: give ATTRIBUTE=AMOUNT pairs, e.g. density=+1,cymbals=-0.5")
    return out


def fit(codes, grids, styles, beat_types, validation_codes, min_windows=MIN_WINDOWS, ranks=RANKS, info=None,
        sigmas=None, style_clusters=1, cluster_count=CLUSTER_COUNT):
    """A LatentMap from train windows' codes [n, z] (encoder means), grids, styles and beat types, ranked on
    validation codes; sigmas [n, z]: the posteriors' standard deviations (None: the means alone).

    The rank is chosen once, for the RUN prior, on the validation codes'
    log-likelihood under the means' PPCA; each smaller prior uses it too,
    capped at a quarter of its windows; each prior then gets its windows'
    mean sigma^2 on the diagonal. Styles (and beats / fills) under
    `min_windows` get no prior and are listed in info['too_few_windows'].
    Style priors are tied mixtures of `style_clusters` clusters (1: one
    Gaussian; LatentMap.with_style_clusters refits them); CLUSTERS, a tied
    mixture of `cluster_count` clusters of every window, is there when the
    run has at least 4 windows per cluster (cluster_count 1 or less: never).
    """
    codes = np.asarray(codes, float)
    variances = None if sigmas is None else np.square(np.asarray(sigmas, float))
    rank, scores = choose_rank(codes, validation_codes, ranks)
    groups = {RUN: np.ones(len(codes), bool)}
    styles, beat_types = np.asarray(styles), np.asarray(beat_types)
    names, counts = np.unique(styles[styles != None], return_counts=True)  # noqa: E711
    too_few = {}
    for style, count in sorted(zip(names, counts), key=lambda x: -x[1]):
        if count >= min_windows:
            groups[str(style)] = styles == style
        else:
            too_few[str(style)] = int(count)
    for kind in ("beat", "fill"):
        m = beat_types == kind
        if min_windows <= m.sum() < len(codes):
            groups[kind] = m
        elif m.sum() < min_windows:
            too_few[kind] = int(m.sum())
    style_names = [name for name in groups if name not in NOT_STYLES]

    def prior_of(name, clusters=1):
        m = groups[name]
        return fit_prior(name, codes[m], min(rank, int(m.sum()) // 4),
                         None if variances is None else variances[m].mean(0), clusters=clusters)
    priors = {name: prior_of(name, style_clusters if name in style_names else 1) for name in groups}
    if cluster_count > 1 and len(codes) >= 4 * cluster_count:
        groups[CLUSTERS] = groups[RUN]
        priors[CLUSTERS] = prior_of(CLUSTERS, cluster_count)
    critic = style_critic(codes, variances, styles, style_names) if len(style_names) >= 2 else None
    vectors = attribute_vectors(codes, grids)
    normal_ll = float(normal_prior(codes.shape[1]).log_likelihood(validation_codes).mean())
    info = dict(info or {}, rank=rank, rank_is_largest_tried=rank == max(ranks),
                posterior_variance=None if variances is None else dict(
                    mean=float(variances.mean()), dimensions_over_half=int((variances.mean(0) > 0.5).sum())),
                validation_log_likelihood={str(r): s for r, s in scores.items()},
                validation_log_likelihood_normal=normal_ll, min_windows=min_windows, too_few_windows=too_few,
                attributes={name: details for name, (_, details) in vectors.items()},
                default_prior=(info or {}).get("default_prior", NORMAL),
                style_draws=(info or {}).get("style_draws", 1), style_clusters=int(style_clusters),
                cluster_count=priors[CLUSTERS].clusters if CLUSTERS in priors else None)
    if critic is not None:
        info["critic"] = dict(names=critic.names.tolist(), fitted_on=(
            f"{CRITIC_DRAWS} posterior samples of each train window of these styles" if variances is not None
            else "the train windows' encoder means"), l2=L2)
    attributes = {name: v for name, (v, _) in vectors.items()}
    # float16 storage, checked: the validation log-likelihood under the stored prior moves by this much
    stored = priors[RUN]
    info["float16"] = dict(
        validation_log_likelihood_change=float(as_stored(stored).log_likelihood(validation_codes).mean()
                                               - stored.log_likelihood(validation_codes).mean()),
        max_attribute_change=float(max((np.abs(_f16(v) - v).max() for v in attributes.values()), default=0.0)))
    # What is evaluated and used from here on is what save() stores, so the evaluation's samples are the
    # ones `generate` draws from the saved files, to the bit.
    stored_critic = None if critic is None else replace(critic, mean=_f16(critic.mean), std=_f16(critic.std),
                                                        theta=_f16(critic.theta))
    return LatentMap({name: as_stored(p) for name, p in priors.items()},
                     {name: _f16(v) for name, v in attributes.items()}, info, stored_critic,
                     refit_styles=lambda clusters: {name: as_stored(prior_of(name, clusters)) for name in style_names},
                     train_hashes=grid_hashes(grids))


def row_hashes(grids):
    """[n] uint32: the crc32 of each grid's packed cells (grids [n, 64, 9])."""
    import zlib
    return np.array([zlib.crc32(np.packbits(g).tobytes()) for g in np.asarray(grids, bool)], np.uint32)


def grid_hashes(grids):
    """The sorted unique row_hashes of grids: 4 bytes a train window beside the priors, enough to tell a copy
    (a collision only makes the guard redraw a beat that was new)."""
    return np.unique(row_hashes(grids))


def _f16(array):
    return np.asarray(array).astype(np.float16).astype(float)


def as_stored(prior):
    """`prior` with its arrays rounded to float16, as LatentMap.save stores and load reads them."""
    return replace(prior, mean=_f16(prior.mean), components=_f16(prior.components),
                   posterior_var=None if prior.posterior_var is None else _f16(prior.posterior_var),
                   centres=None if prior.centres is None else _f16(prior.centres))


def style_critic(codes, variances, styles, names, seed=0):
    """p(style | z) over `names` (metrics.fit_softmax, its default penalty), fitted on CRITIC_DRAWS posterior samples
    z = mu + sigma * e of each window of those styles (e seeded; the means alone when variances is None):
    the critic judges codes drawn like a prior's samples, noise in the dimensions the encoder leaves at
    sigma ~ 1 included, not only the means."""
    m = np.isin(np.asarray(styles, dtype=object), names)
    if variances is None:
        return fit_softmax(codes[m], np.asarray(styles)[m])
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(variances[m])
    x = np.concatenate([codes[m] + sigma * rng.standard_normal(sigma.shape) for _ in range(CRITIC_DRAWS)])
    return fit_softmax(x, np.tile(np.asarray(styles)[m], CRITIC_DRAWS))


def encode_windows(generator, windows, chunk=512, log=None, with_sigma=False):
    """The encoder means [n, z] of bgmaker.data.windows Windows (no refinement: where the encoder puts real
    drumming); with_sigma: (means, the posteriors' standard deviations)."""
    mus, sigmas = [], []
    for begin in range(0, len(windows), chunk):
        mu, sigma = generator.posterior([w.sequence for w in windows[begin:begin + chunk]])
        mus.append(mu)
        sigmas.append(sigma)
        if log:
            log(f"  encoded {min(begin + chunk, len(windows))}/{len(windows)} windows")
    empty = np.zeros((0, generator.z_size), np.float32)
    mu = np.concatenate(mus) if mus else empty
    return (mu, np.concatenate(sigmas) if sigmas else empty) if with_sigma else mu


def fit_model(generator, train_path, validation_path, min_windows=MIN_WINDOWS, log=print):
    """The LatentMap of a loaded BeatGenerator, fitted on the windows of two TFRecords (a run's train and
    validation splits); info records the checkpoint and the data's checksums and window counts."""
    from bgmaker.data.convert import sha256_of
    from bgmaker.data.gmd import beat_type_of, style_of
    from bgmaker.data.windows import read_windows
    from bgmaker.paths import portable
    train, _ = read_windows(train_path)
    validation, _ = read_windows(validation_path)
    if len(train) < 2 or len(validation) < 2:
        raise ValueError(f"fitting priors needs train and validation windows: {train_path} has {len(train)}, "
                         f"{validation_path} has {len(validation)}")
    log(f"encoding {len(train)} train and {len(validation)} validation windows")
    codes, sigmas = encode_windows(generator, train, log=log, with_sigma=True)
    validation_codes = encode_windows(generator, validation, log=log)
    files = [w.sequence.filename for w in train]
    info = dict(checkpoint=portable(generator.checkpoint), data={
        split: dict(path=portable(path), sha256=sha256_of(path), windows=len(ws))
        for split, path, ws in (("train", train_path, train), ("validation", validation_path, validation))})
    return fit(codes, np.stack([w.grid for w in train]), [style_of(f) for f in files],
               [beat_type_of(f) for f in files], validation_codes, min_windows=min_windows, info=info, sigmas=sigmas)
