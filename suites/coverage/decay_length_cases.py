"""Coverage of the GFF decay-length calibration (``gff-markov``): the old score ``xi_eff / xi_M`` and the
paired ratio that replaced it (:func:`.estimators.decay_length.paired_decay_length_ratio`).

The data are the real thing, drawn fast: the Gaussian free field of the task (m^2 = 0.25, L = 32) under
the Gaussian channel, per test configuration, on the division's grid (n_test, radii), at the (grid, level) pairs below.  Every estimator of the task is a linear filter, so a configuration's MSE is computed in Fourier
space (Parseval: ``mean_i e_i^2 = sum_k |E_k|^2 / N^2``) from the white noises of the field and of the
channel: the exact global posterior (Wiener filter, the reference), the exact r-local optimum (the
oracle) and a synthetic family ``f_r = f_global + sqrt(c) (f_r^oracle - f_global)`` whose expected
excess is exactly ``c`` times the oracle's at every radius (the cross term vanishes: ``f_global - x`` is
orthogonal to every function of y), so its true paired ratio is 1 whatever the fit's weights, while its
per-configuration errors differ from the oracle's.  Cases per grid and level:

* ``gff-markov-ratio-*`` (before): the oracle's ``decay_length_with_ci`` interval over ``xi_M``, truth 1;
* ``gff-paired-ratio-*`` (after): the scaled family against the oracle, truth 1;
* ``gff-expected-fit-*``: the oracle's interval over the same fit on its exact expected excess (the
  bias-corrected alternative), truth 1: the fit's own interval, with the bias removed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Tuple

import numpy as np

from phasebench.lattice_models import make_channel
from phasebench.lattice_models.exact import gff_theory as theory

from ..estimators import bootstrap_indices
from ..estimators.decay_length import decay_length_with_ci, paired_decay_length_ratio
from . import CoverageCase, register

L, MASS_SQ = 32, 0.25  # the gff-markov task
N_BOOT = 1000
SCALE = 1.5  # the synthetic family's excess over the oracle's
GRIDS = {"quick": {"n_test": 1000, "radii": (0, 1, 2, 3, 4)}, "full": {"n_test": 4000, "radii": (0, 1, 2, 3, 4, 5, 6)}}
#: (grid, level) of each case kind: the score after (paired) at the quick grid's smallest, middle and largest
#: level and the full grid's middle one; the old score and the bias-corrected alternative at the middle levels
#: (a full-grid case costs 4x a quick one)
PAIRED_AT = (("quick", 0.1), ("quick", 1.0), ("quick", 10.0), ("full", 1.0))
MARKOV_AT = (("quick", 1.0), ("full", 1.0))
EXPECTED_AT = (("quick", 1.0),)


def window_multiplier(kernel: np.ndarray) -> np.ndarray:
    """Fourier multiplier of :func:`gff_theory.apply_window_kernel` (``out[i] = sum_d k[d] y[i + d]``) on the torus."""
    r = kernel.shape[0] // 2
    embedded = np.zeros((L, L))
    for d1 in range(-r, r + 1):
        for d2 in range(-r, r + 1):
            embedded[d1 % L, d2 % L] = kernel[d1 + r, d2 + r]
    return np.conj(np.fft.fft2(embedded))


def half_spectrum(full: np.ndarray) -> np.ndarray:
    """The rfft2 half of a Fourier-space array (L, L) -> (L, L // 2 + 1)."""
    return full[:, : L // 2 + 1]


#: multiplicity of each rfft2 mode in the full spectrum: its mirror -k is another full mode except on the
#: self-mirrored columns 0 and L/2
MODE_WEIGHT = np.where(np.isin(np.arange(L // 2 + 1), (0, L // 2)), 1.0, 2.0)[None, :]


@lru_cache(maxsize=None)
def filters(level: float, radii: Tuple[int, ...]):
    """Per filter (the oracle at each radius, then the scaled family at each radius) the coefficients of a
    configuration's excess MSE over the Wiener filter on the mode powers ``|W_k|^2, |Z_k|^2, Re W_k conj(Z_k)``
    of the field's and the channel's white noises (3 N_half, 2 n_radii); the exact expected excess per radius; xi_M."""
    a, s = make_channel("gaussian").amplitudes(level)
    local = [theory.local_optimum(L, MASS_SQ, a, s, r) for r in radii]
    wiener = theory.wiener_filter_spectrum(L, MASS_SQ, a, s)
    hs = [wiener] + [window_multiplier(k).real for k, _ in local]  # symmetric kernels: real multipliers
    hs += [wiener + np.sqrt(SCALE) * (h - wiener) for h in hs[1:]]
    root_g = np.sqrt(theory.prior_spectrum(L, MASS_SQ))
    coef = []
    for h in hs:  # E_k = alpha W_k + beta Z_k (X_k = sqrt(g_k) W_k): |E_k|^2 on the mode powers
        alpha, beta = half_spectrum((a * h - 1.0) * root_g), half_spectrum(s * h)
        coef.append(np.concatenate([(alpha ** 2 * MODE_WEIGHT).ravel(), (beta ** 2 * MODE_WEIGHT).ravel(),
                                    (2 * alpha * beta * MODE_WEIGHT).ravel()]) / (L * L) ** 2)
    mmse = theory.mmse_torus(L, MASS_SQ, a, s)
    excess_coef = np.stack(coef[1:], axis=1) - coef[0][:, None]  # excess over the Wiener filter, without cancellation
    return excess_coef, np.array([m for _, m in local]) - mmse, theory.markov_length(MASS_SQ, a, s)


def simulate(rng: np.random.Generator, level: float, grid: str) -> dict:
    """Per-configuration excesses over the Wiener filter, (n_radii, n_test), of the oracle and the scaled family."""
    n, radii = GRIDS[grid]["n_test"], GRIDS[grid]["radii"]
    coef, expected, xi_m = filters(level, radii)
    W = np.fft.rfft2(rng.standard_normal((n, L, L))).reshape(n, -1)  # white noise of the field
    Z = np.fft.rfft2(rng.standard_normal((n, L, L))).reshape(n, -1)  # the channel's noise
    powers = np.concatenate([W.real ** 2 + W.imag ** 2, Z.real ** 2 + Z.imag ** 2, (W * Z.conj()).real], axis=1)
    excess = (powers @ coef).T  # (2 n_radii, n): the oracle per radius, then the family per radius
    k = len(radii)
    return {"radii": radii, "oracle": excess[:k], "family": excess[k:], "expected": expected, "xi_m": xi_m}


def markov_ratio_interval(d: dict, seed: int):
    fit = decay_length_with_ci(d["radii"], d["oracle"], bootstrap_indices(d["oracle"].shape[1], seed, N_BOOT))
    return fit["lo"] / d["xi_m"], fit["hi"] / d["xi_m"]


def paired_ratio_interval(d: dict, seed: int):
    out = paired_decay_length_ratio(d["radii"], d["family"], d["oracle"], bootstrap_indices(d["family"].shape[1], seed, N_BOOT))
    return out["ratio"]["lo"], out["ratio"]["hi"]


def expected_fit_interval(d: dict, seed: int):
    out = paired_decay_length_ratio(d["radii"], d["oracle"], d["oracle"], bootstrap_indices(d["oracle"].shape[1], seed, N_BOOT),
                                    d["expected"])
    return out["xi"]["lo"] / out["xi_expected"], out["xi"]["hi"] / out["xi_expected"]


def _simulator(level: float, grid: str):
    return lambda rng: simulate(rng, level, grid)


for _grid, _level in MARKOV_AT:
    register(CoverageCase(
        name=f"gff-markov-ratio-{_grid}-lambda{_level:g}", estimator="xi_eff/xi_M of the exact oracle (before)",
        grid=_grid, truth=1.0, simulate=_simulator(_level, _grid), interval=markov_ratio_interval,
        notes="the old gff-markov score: the fit's bias against xi_M counted as the oracle's error"))
for _grid, _level in PAIRED_AT:
    register(CoverageCase(
        name=f"gff-paired-ratio-{_grid}-lambda{_level:g}", estimator="paired_decay_length_ratio", grid=_grid,
        truth=1.0, simulate=_simulator(_level, _grid), interval=paired_ratio_interval,
        notes=f"a family with {SCALE:g} times the oracle's excess (true paired ratio 1) against the oracle"))
for _grid, _level in EXPECTED_AT:
    register(CoverageCase(
        name=f"gff-expected-fit-{_grid}-lambda{_level:g}", estimator="decay_length_with_ci / fit(exact expected excess)",
        grid=_grid, truth=1.0, simulate=_simulator(_level, _grid), interval=expected_fit_interval,
        notes="the oracle's xi_eff interval over the same fit on its exact expected excess: the bias-corrected score"))
