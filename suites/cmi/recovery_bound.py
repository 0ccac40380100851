"""The recovery bound of Hu et al. (arXiv 2508.06614) and the I-MMSE endpoint, evaluated exactly on the GFF.

**Bound.**  For a joint law p_ABC, the local recovery map that rebuilds A from B alone, R_{B->AB}, acts on p_BC
as p_hat_ABC = p_{A|B} p_BC (the classical Petz map).  The chain rule gives
I(A:C|B) = D(p_ABC || p_hat_ABC), and Pinsker's inequality D >= 2 TV^2 (TV = half the L1 distance, D in nats)
gives the stated bound

    2 TV(p_ABC, p_hat_ABC)^2 <= I(A:C|B),   TV(p_ABC, p_hat_ABC) = E_{BC} TV( p(A | BC), p(A | B) ).

Here it is evaluated on the noisy data itself (A = y_A, B = y_B, C = y_C), where the CMI is measured.

**GFF.**  y_A | y_S is Gaussian with mean a m_S and variance a^2 v_S + s^2 (m_S, v_S the exact conditionals of
x_A, :func:`.gaussian_field.conditional_kernels`).  B is nested in BC, so d = a (m_BC - m_B) is Gaussian with
variance a^2 (v_B - v_BC) (orthogonality), and

    TV = E_d TV( N(d, a^2 v_BC + s^2), N(0, a^2 v_B + s^2) ),

a one-dimensional average (Gauss-Hermite in d, the trapezoidal rule in y_A).

**I-MMSE endpoint.**  The integrand of the I-MMSE identity at A's SNR gamma = lambda is
mmse_A(lambda; Y_B) - mmse_A(lambda; Y_BC) = v_B / (1 + lambda v_B) - v_BC / (1 + lambda v_BC): the r-local excess
Delta(lambda, r) that the exact family measures (best radius-r estimator minus the global one,
:func:`phasebench.lattice_models.exact.gff_theory.local_optimum`).  The CMI is half the integral of the excess
over A's SNR from 0 to lambda with the side information held at lambda, not the excess at one level.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from phasebench.lattice_models.exact import gff_theory

from . import gaussian_field

HERMITE_NODES = 80
GRID_POINTS = 4001


def gaussian_tv(mean: np.ndarray, var_1: float, var_2: float) -> np.ndarray:
    """TV(N(mean, var_1), N(0, var_2)) for each entry of ``mean`` (trapezoidal rule over +-12 standard deviations)."""
    if not (var_1 > 0 and var_2 > 0):
        raise ValueError(f"variances must be > 0, got {var_1!r} and {var_2!r}")
    mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    sd = np.sqrt(max(var_1, var_2))
    t = np.linspace(-12 * sd, 12 * sd, GRID_POINTS)[None, :] + np.minimum(mean, 0)[:, None]
    t = np.concatenate([t, t[:, -1:] + np.abs(mean)[:, None]], axis=1)  # reach past the shifted density
    t = np.sort(t, axis=1)
    f = np.exp(-0.5 * (t - mean[:, None]) ** 2 / var_1) / np.sqrt(2 * np.pi * var_1)
    g = np.exp(-0.5 * t ** 2 / var_2) / np.sqrt(2 * np.pi * var_2)
    return 0.5 * np.trapezoid(np.abs(f - g), t, axis=1)


def gff_bound(L: int, mass_sq: float, a: float, s: float, r: int) -> Dict[str, float]:
    """CMI, TV, 2 TV^2, the excess Delta(lambda, r) and the I-MMSE integrand at gamma = lambda (exact)."""
    _, v_b, _, v_bc = gaussian_field.conditional_kernels(L, mass_sq, a, s, r)
    cmi = gaussian_field.exact_cmi(L, mass_sq, a, s, r)["value"]
    nodes, weights = np.polynomial.hermite_e.hermegauss(HERMITE_NODES)  # weight exp(-d^2 / 2)
    d = nodes * a * np.sqrt(max(v_b - v_bc, 0.0))
    tv = float(weights @ gaussian_tv(d, a * a * v_bc + s * s, a * a * v_b + s * s) / np.sqrt(2 * np.pi))
    lam = a * a / (s * s)
    excess = gff_theory.local_optimum(L, mass_sq, a, s, r)[1] - gff_theory.mmse_torus(L, mass_sq, a, s)
    endpoint = v_b / (1 + lam * v_b) - v_bc / (1 + lam * v_bc)
    return {"cmi": cmi, "tv": tv, "two_tv_squared": 2 * tv * tv, "excess": float(excess), "immse_endpoint": float(endpoint)}
