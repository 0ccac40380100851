"""Coverage of the finite-size crossing (:func:`.crossing.finite_size_crossing`) and the speciation crossing
(:func:`.crossing.level_at_fraction_with_ci`) on synthetic data shaped like ``ising-temperature``'s and
``ising-speciation``'s, on each division's real grids.

**Finite-size crossings.**  Per size L and grid value g, ``n`` per-configuration values with mean
``Q(g, L) = L^(-1/4) F((g - o_L) L)`` (2D Ising: ``a = 1/4``, ``nu = 1``).  ``F`` and the per-configuration
spread are fitted to the real ``<m^2> L^(1/4)`` of the quick division's cached datasets (L = 6, 10, 4000
configurations at each of the 12 temperatures; max relative misfit 6% for F): ``F(t) = F_0 (softplus(s_0 -
t / w) / softplus(s_0))^(1/4)``, the ordered-phase ``(-t)^(1/4)`` of ``m^2 L^(1/4)`` and a slow decay in the
disordered phase.  Because every size uses the same ``F``, the
curves of L1 and L2 cross where ``(g - o_1) L1 = (g - o_2) L2``, whatever F: the offsets ``o_L`` are chosen
so that pair (L1, L2) crosses exactly at ``x_c + b / L_mean^2``.  The extrapolated answer (the full
division, three pairs) is ``x_c``.  A single pair (the quick division) estimates its own crossing, ``x_c
+ b / 8^2``: that is the answer of the ``quick`` cases, and ``crossing-data-quick-vs-Tc`` measures how
often the same interval covers ``x_c`` itself.  ``b = 0.192`` puts the 6/10 pair 0.003 above ``x_c``, as
measured on the data's own ``<m^2> L^(1/4)``: +0.0017 in one full-division run
(docs/decisions/ising-temperature-crossing-window.md), +0.0039 +- 0.0011 over ten quick-division data
seeds (docs/decisions/interval-coverage.md).

* ``crossing-data-*``: ``<m^2>`` per configuration, Gamma distributed with the relative variance
  ``<m^4>/<m^2>^2 - 1 = 2 - 3 U`` of a Binder cumulant ``U = (2/3) sigmoid(c - t / w_U)`` falling from 2/3
  (ordered) through 0.62 at ``t = 0`` towards 0 (disordered: a Gaussian m), fitted to the same datasets; 4000 (quick) or 20000 (full) configurations per cell,
  the tasks' ``data_n``.
* ``crossing-phi-*``: a family's ``Phi L^(1/4) ~ F(t)^2.5``: the quick division's ``linear`` and ``cnn``
  Phi L^(1/4) fall 2-3 times faster in relative terms than ``<m^2> L^(1/4)`` near T_c; Gamma per
  configuration with relative sd 0.7 (their Phi CIs, 2-4% with 1000 configurations), 1000 (quick) or
  4000 (full) configurations per cell (the tasks' ``n_test``).

The bootstrap replicates of each cell's mean are drawn from its normal limit, ``mean + sd / sqrt(n) z``
(n >= 1000 configurations per cell; the real code resamples the configurations, whose mean is normal to
well below the interval's resolution here), independently per cell as the task's keys ``("phi", L, k)``
make them.

**Speciation crossing.**  Per configuration, the aligned magnetisation ``|m| tanh(l / 2)`` with the sign's
log-likelihood ratio ``l ~ N(mu, 2 mu)`` (a consistent Gaussian LLR), ``mu = (lambda / lambda_s)^1.05``
(fitted to the quick run's exact ``M(lambda)``: 0.08, 0.29, 0.58, 0.85 of ``<|m|>`` at lambda = 0.0027
.. 0.056), ``|m| ~ N(0.914, 0.05)`` (L = 8, T = 2); an independent noise draw per level, 150 (quick) or 400
(full) configurations, the tasks' levels.  The answer is where ``E tanh(l / 2) = 1/2``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq

from ..estimators import bootstrap_indices, finite_size_crossing, level_at_fraction_with_ci
from ..estimators.systematic import interval_of
from ..tasks.ising_temperature import temperature_grid
from . import CoverageCase, register

T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))
A_EXPONENT, NU = 0.25, 1.0
F_0, F_WIDTH, F_S0 = 1.086, 0.906, 0.640  # fitted: see the module doc
BINDER_C, BINDER_WIDTH = 2.508, 1.521
SHIFT_B = 0.192  # pair crossings at T_c + SHIFT_B / L_mean^2 (module doc)
N_BOOT = 1000
GRIDS = {"quick": {"L": (6, 10), "g": temperature_grid(dense=False), "data_n": 4000, "phi_n": 1000},
         "full": {"L": (6, 10, 14, 18), "g": temperature_grid(dense=True), "data_n": 20000, "phi_n": 4000}}
PHI_REL_VAR, PHI_POWER = 0.5, 2.5


def scaling_function(t: np.ndarray) -> np.ndarray:
    """``<m^2> L^(1/4)`` against ``t = (T - T_c) L``."""
    return F_0 * (np.logaddexp(0.0, F_S0 - t / F_WIDTH) / np.logaddexp(0.0, F_S0)) ** 0.25


def binder_relative_variance(t: np.ndarray) -> np.ndarray:
    """``<m^4>/<m^2>^2 - 1 = 2 - 3 U`` with the Binder cumulant ``U = (2/3) sigmoid(c - t / w_U)``."""
    u = (2.0 / 3.0) / (1.0 + np.exp(t / BINDER_WIDTH - BINDER_C))
    return np.maximum(2.0 - 3.0 * u, 1e-3)


def size_offsets(sizes, x_c: float = T_C, b: float = SHIFT_B) -> dict:
    """Offsets ``o_L`` such that the curves ``F((g - o_L) L)`` of successive sizes cross at ``x_c + b / L_mean^2``."""
    offsets = {sizes[0]: x_c}
    for L1, L2 in zip(sizes, sizes[1:]):
        t = x_c + b / (0.5 * (L1 + L2)) ** 2
        offsets[L2] = t - (t - offsets[L1]) * L1 / L2
    return offsets


def simulate_curves(rng: np.random.Generator, grid: str, kind: str) -> dict:
    """Size L -> (N_BOOT + 1, n_g): the cells' means (row 0) and their bootstrap replicates."""
    spec = GRIDS[grid]
    g = np.asarray(spec["g"])
    offsets = size_offsets(spec["L"])
    curves = {}
    for L in spec["L"]:
        t = (g - offsets[L]) * L ** (1 / NU)
        mean = scaling_function(t) ** (1.0 if kind == "data" else PHI_POWER) * L**-A_EXPONENT
        if kind == "data":
            n, rel_var = spec["data_n"], binder_relative_variance(t)
        else:
            n, rel_var = spec["phi_n"], np.full(len(g), PHI_REL_VAR)
        shape = 1.0 / rel_var
        values = rng.gamma(shape[:, None], (mean / shape)[:, None], size=(len(g), n))
        sample_mean, sample_sd = values.mean(axis=1), values.std(axis=1, ddof=1)
        boots = sample_mean + sample_sd / math.sqrt(n) * rng.standard_normal((N_BOOT, len(g)))
        curves[L] = np.vstack([sample_mean[None], boots])
    return curves


def crossing_interval(curves: dict, seed: int, grid: str, statistical_only: bool = False):
    est = finite_size_crossing(GRIDS[grid]["g"], curves, A_EXPONENT, T_C, nu=NU)
    return (est["lo"], est["hi"]) if statistical_only else interval_of(est)


def pair_crossing_truth(grid: str) -> float:
    """The answer of a grid's estimate: x_c where it extrapolates (three or more sizes), else its one pair's crossing."""
    sizes = GRIDS[grid]["L"]
    return T_C if len(sizes) > 2 else T_C + SHIFT_B / (0.5 * (sizes[0] + sizes[1])) ** 2


for _grid in GRIDS:
    for _kind in ("data", "phi"):
        register(CoverageCase(
            name=f"crossing-{_kind}-{_grid}", estimator="finite_size_crossing", grid=_grid, truth=pair_crossing_truth(_grid),
            simulate=lambda rng, grid=_grid, kind=_kind: simulate_curves(rng, grid, kind),
            interval=lambda data, seed, grid=_grid: crossing_interval(data, seed, grid), fast=_grid == "quick",
            notes="combined interval where the estimate carries one, else statistical"))
register(CoverageCase(
    name="crossing-data-full-stat", estimator="finite_size_crossing (statistical only)", grid="full", truth=T_C,
    simulate=lambda rng: simulate_curves(rng, "full", "data"),
    interval=lambda data, seed: crossing_interval(data, seed, "full", statistical_only=True)))
register(CoverageCase(
    name="crossing-data-quick-vs-Tc", estimator="finite_size_crossing (one pair vs x_c)", grid="quick", truth=T_C,
    simulate=lambda rng: simulate_curves(rng, "quick", "data"),
    interval=lambda data, seed: crossing_interval(data, seed, "quick"),
    notes="the single pair's interval against x_c: its finite-size shift (0.003) is in no interval"))

# -- speciation -----------------------------------------------------------------------------------
SPECIATION = {"quick": {"levels": tuple(np.round(np.logspace(-3, 0.5, 9), 6)), "n": 150},
              "full": {"levels": tuple(np.round(np.logspace(-3.5, 0.5, 17), 6)), "n": 400}}
LAMBDA_S, LLR_POWER, ABS_M, ABS_M_SD = 0.0102, 1.05, 0.914, 0.05


def _mean_llr(levels) -> np.ndarray:
    return (np.asarray(levels, dtype=np.float64) / LAMBDA_S) ** LLR_POWER


@lru_cache(maxsize=None)
def speciation_truth() -> float:
    """The level where ``E tanh(l / 2) = 1/2``, ``l ~ N(mu, 2 mu)`` (Gauss-Hermite expectation)."""
    z, w = np.polynomial.hermite_e.hermegauss(80)

    def fraction(log_level):
        mu = float(_mean_llr(math.exp(log_level)))
        return float(np.dot(w, np.tanh(0.5 * (mu + math.sqrt(2 * mu) * z))) / w.sum()) - 0.5

    return math.exp(brentq(fraction, math.log(1e-4), math.log(1.0), xtol=1e-12))


def simulate_speciation(rng: np.random.Generator, grid: str):
    spec = SPECIATION[grid]
    n, mu = spec["n"], _mean_llr(spec["levels"])[:, None]
    abs_m = np.clip(rng.normal(ABS_M, ABS_M_SD, n), 0.0, 1.0)
    llr = mu + np.sqrt(2 * mu) * rng.standard_normal((len(mu), n))
    return abs_m[None] * np.tanh(0.5 * llr), abs_m


def speciation_interval(data, seed: int, grid: str):
    aligned, abs_m = data
    est = level_at_fraction_with_ci(SPECIATION[grid]["levels"], aligned, abs_m, 0.5,
                                    bootstrap_indices(len(abs_m), seed, N_BOOT))
    return est["lo"], est["hi"]


for _grid in SPECIATION:
    register(CoverageCase(
        name=f"speciation-{_grid}", estimator="level_at_fraction_with_ci", grid=_grid, truth=speciation_truth(),
        simulate=lambda rng, grid=_grid: simulate_speciation(rng, grid),
        interval=lambda data, seed, grid=_grid: speciation_interval(data, seed, grid), fast=_grid == "quick"))
