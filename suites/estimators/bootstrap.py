"""Per-configuration errors and percentile-bootstrap intervals over independent test configurations.

Conventions:

* every statistic is a mean over *independent test configurations*; its 95%
  confidence interval is a percentile bootstrap over those configurations;
* a paired statistic (an excess ``MSE_r - MSE_ref``, a ratio of two means) resamples the
  *same* configurations in both terms, so their correlation is accounted for;
* one :class:`BootstrapConfig` per task run fixes the number of resamples (:data:`N_RESAMPLES`
  for the whole package) and derives the seed of every use from the task's seed and a stable
  key naming the use, so that a result is reproducible from ``(seed, key)`` alone.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Tuple, Union

import numpy as np

#: bootstrap resamples per interval, for every estimator of the package
N_RESAMPLES = 1000
CI_LEVEL = 0.95


def derive_seed(*parts: int) -> int:
    """A 32-bit seed from integer parts (``numpy.random.SeedSequence``: distinct parts, independent streams)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, dtype=np.uint32)[0])


def _key_part(part: Union[int, str]) -> int:
    """An integer for one part of a key: ints as they are, strings by their CRC-32 (stable across runs)."""
    if isinstance(part, str):
        return zlib.crc32(part.encode("utf-8"))
    if isinstance(part, (int, np.integer)) and not isinstance(part, bool) and part >= 0:
        return int(part)
    raise ValueError(f"a bootstrap key part must be a string or an integer >= 0, got {part!r}")


@dataclass(frozen=True)
class BootstrapConfig:
    """The bootstrap of one task run: ``n_resamples`` replicates per interval, seeds derived from ``seed``.

    ``seed`` is the task's seed (``TaskConfig.seed``); each use names itself by a key, e.g.
    ``("phi", L, k)``, and draws from ``derive_seed(seed, *key)``.  Uses sharing a key share their
    resamples: that pairs statistics computed on the same test configurations (e.g. every family
    of a lattice size), and keys differing in a part give independent replicates (e.g. two sizes,
    whose crossing needs independent curves).
    """

    seed: int = 0
    n_resamples: int = N_RESAMPLES

    def __post_init__(self):
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"bootstrap seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.n_resamples, (int, np.integer)) or isinstance(self.n_resamples, bool) or self.n_resamples < 2:
            raise ValueError(f"bootstrap n_resamples must be an integer >= 2, got {self.n_resamples!r}")

    def seed_for(self, *key: Union[int, str]) -> int:
        """The seed of the use named by ``key`` (strings and integers >= 0)."""
        if not key:
            raise ValueError("a bootstrap use needs a key (e.g. a name and the lattice size)")
        return derive_seed(self.seed, *(_key_part(p) for p in key))

    def indices(self, n: int, *key: Union[int, str]) -> np.ndarray:
        """Resampled configuration indices, (n_resamples, n), for the use named by ``key``."""
        return bootstrap_indices(n, self.seed_for(*key), self.n_resamples)

    def means(self, values: np.ndarray, *key: Union[int, str]) -> np.ndarray:
        """:func:`bootstrap_means` of ``values`` (configurations on the last axis) for the use named by ``key``."""
        return bootstrap_means(values, self.n_resamples, self.seed_for(*key))

    def to_dict(self) -> dict:
        return {"n_resamples": int(self.n_resamples), "seed": int(self.seed), "ci_level": CI_LEVEL,
                "method": "percentile bootstrap over test configurations; seed of each use = derive_seed(seed, key)"}


def per_config_mse(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Mean squared error per configuration (averaged over channels and sites)."""
    diff = np.asarray(estimate, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return (diff * diff).reshape(len(diff), -1).mean(axis=1)


def bootstrap_indices(n: int, seed: int, n_boot: int = N_RESAMPLES) -> np.ndarray:
    """``n_boot`` resamples with replacement of ``n`` configuration indices, (n_boot, n)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Row 0: the mean over the last axis; rows 1..n_boot: bootstrap replicates (resampling that axis)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[-1]
    idx = bootstrap_indices(n, seed, n_boot)
    boots = values[..., idx].mean(axis=-1)  # (..., n_boot)
    return np.concatenate([values.mean(axis=-1)[None], np.moveaxis(boots, -1, 0)], axis=0)


@dataclass
class Estimate:
    mean: float
    lo: float
    hi: float
    stderr: float

    def to_dict(self) -> dict:
        return {"mean": self.mean, "lo": self.lo, "hi": self.hi, "stderr": self.stderr}

    @property
    def resolved(self) -> bool:
        """The CI excludes zero (and the estimate is positive)."""
        return self.mean > 0 and self.lo > 0


def replicate_interval(replicates: np.ndarray) -> Tuple[float, float]:
    """Percentile CI (level ``CI_LEVEL``) of bootstrap replicates, failed ones counted, not dropped.

    A failed replicate (NaN: no crossing, no interior peak, a root off the grid) is an extreme
    outcome of unknown side, so it is placed beyond *both* ends: the lower limit is the
    ``alpha`` quantile with the failures at -inf, the upper the ``1 - alpha`` quantile with them at
    +inf.  Dropping them instead removes the extreme replicates and narrows the interval (measured:
    docs/decisions/interval-coverage.md).  With more failures than the ``alpha`` tail can absorb
    the interval is unbounded and returned as NaN (no interval).
    """
    values = np.asarray(replicates, dtype=np.float64).ravel()
    n = len(values)
    found = np.sort(values[np.isfinite(values)])
    n_failed = n - len(found)
    alpha = (1 - CI_LEVEL) / 2
    position = alpha * (n - 1)  # np.quantile's linear rule on the n values
    if n < 20 or n_failed > math.floor(position):
        return float("nan"), float("nan")
    lo = np.quantile(np.concatenate([np.full(n_failed, -np.inf), found]), alpha)
    hi = np.quantile(np.concatenate([found, np.full(n_failed, np.inf)]), 1 - alpha)
    return float(lo), float(hi)


def failed_fraction(replicates: np.ndarray) -> float:
    """The fraction of bootstrap replicates that failed (are not finite)."""
    values = np.asarray(replicates, dtype=np.float64)
    return float(1.0 - np.isfinite(values).mean()) if values.size else 1.0


def mean_with_ci(values: np.ndarray, boot_idx: np.ndarray) -> Estimate:
    """Mean of per-configuration values with its percentile CI over the resamples ``boot_idx``; ``stderr`` is
    the sample standard deviation over sqrt(n)."""
    values = np.asarray(values, dtype=np.float64)
    boots = values[boot_idx].mean(axis=1)
    alpha = (1 - CI_LEVEL) / 2
    lo, hi = np.quantile(boots, [alpha, 1 - alpha])
    se = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
    return Estimate(float(values.mean()), float(lo), float(hi), se)


def ratio_with_ci(numerator: np.ndarray, denominator: np.ndarray, boot_idx: np.ndarray) -> Estimate:
    """``mean(numerator) / mean(denominator)`` of paired per-configuration values, with a percentile bootstrap CI
    that resamples the same configurations in both (so their correlation is accounted for); ``stderr`` is the
    replicates' standard deviation.  NaN where a mean of the denominator is not positive."""
    num, den = (np.asarray(a, dtype=np.float64) for a in (numerator, denominator))

    def ratio(n, d):
        return np.divide(n, d, out=np.full(np.shape(n), np.nan), where=np.asarray(d) > 0)

    value = float(ratio(num.mean(), den.mean()))
    boots = ratio(num[boot_idx].mean(axis=1), den[boot_idx].mean(axis=1))
    lo, hi = replicate_interval(boots)
    finite = boots[np.isfinite(boots)]
    return Estimate(value, lo, hi, float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"))
