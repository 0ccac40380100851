"""Conditional mutual information I(Y_A : Y_C | Y_B) of a noisy stationary Gaussian field on the torus.

A is one site, B its radius-r window minus A, C the rest of the torus (docs/physics.md, section 5).  The
noisy field ``y = a x + s z`` of a stationary Gaussian ``x`` (covariance ``G(d)``, spectrum ``g_k``) is
Gaussian with covariance ``Sigma(d) = a^2 G(d) + s^2 delta(d)`` and spectrum ``S_k = a^2 g_k + s^2``.  For
Gaussians the CMI is a ratio of conditional variances,

    I(A:C|B) = 1/2 ln[ Var(Y_A | Y_B) / Var(Y_A | Y_BC) ],
    Var(Y_A | Y_B)  = Sigma(0) - Sigma_AB Sigma_BB^{-1} Sigma_BA            (a (2r+1)^2 - 1 system),
    Var(Y_A | Y_BC) = 1 / (Sigma^{-1})_AA = 1 / mean_k (1 / S_k)            (Sigma is circulant),

(:func:`cmi_from_spectrum`), which equals the log-determinant form
``1/2 [ln det S_AB + ln det S_BC - ln det S_B - ln det S_ABC]``
(:func:`phasebench.lattice_models.exact.gff_theory.conditional_mutual_information`; tested equal).

Three estimators share it:

* ``exact``: the spectrum of the model (:func:`exact_cmi`);
* ``gaussian``: the spectrum estimated from noisy samples by their mean periodogram
  ``S_k = E |FFT y|^2 / L^2`` (unbiased for a stationary zero-mean field; translation invariance is
  built in), with a percentile bootstrap over samples (:func:`gaussian_cmi`).  Exact in expectation of
  the spectrum for Gaussian data; for other data it is the CMI of the Gaussian with the same
  covariance, a documented approximation;
* ``immse``: the I-MMSE identity (Guo, Shamai, Verdu), with A observed through its own channel at SNR
  gamma and the side information at the task's level,

      I(Y_A : Y_C | Y_B) = 1/2 int_0^lambda [ mmse_A(gamma; Y_B) - mmse_A(gamma; Y_BC) ] d gamma,

  where ``lambda = a^2 / s^2``.  ``B`` is nested in ``BC``, so the integrand is ``E (xhat_BC - xhat_B)^2``
  (orthogonality of the posterior mean), positive per sample and far less noisy than a difference of two
  MSEs.  The posterior means come from the model's exact Gaussian conditionals (:func:`immse_cmi`):
  ``x_A | Y_S`` has mean ``m_S`` and variance ``v_S``, and a fresh observation ``x_A + z / sqrt(gamma)``
  adds precision gamma.  The integral over gamma is Gauss-Legendre; each sample's integral is averaged
  over every site as A (translation invariance), and the CI is a percentile bootstrap over samples.
"""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
from scipy.stats import norm

from phasebench.lattice_models.exact import gff_theory
from phasebench.lattice_models.geometry import apply_window_kernel, check_window, window_offsets

from ..estimators import CI_LEVEL, bootstrap_indices, mean_with_ci

#: Gauss-Legendre nodes of the I-MMSE integral over gamma in [0, lambda] (quadrature error < 1e-12 relative
#: on the closed-form integrand at lambda <= 100; tests/test_cmi.py)
N_GAMMA_NODES = 48


def _window_moments(cov: np.ndarray, r: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Sigma_BB``, ``Sigma_BA`` and the offsets of B (the radius-r window minus its centre) for a
    translation-invariant covariance function ``cov(d)`` (L, L)."""
    L = cov.shape[0]
    off = window_offsets(r)
    off = off[np.any(off != 0, axis=1)]  # B: the window minus A
    diff = off[:, None, :] - off[None, :, :]
    return cov[diff[..., 0] % L, diff[..., 1] % L], cov[off[:, 0] % L, off[:, 1] % L], off


def cmi_from_spectrum(spectrum: np.ndarray, r: int, inverse_spectrum: np.ndarray | None = None,
                      n_observations: float = np.inf) -> float:
    """I(Y_A : Y_C | Y_B) in nats for the stationary Gaussian field with noisy spectrum ``spectrum`` (L, L).

    For a spectrum estimated from samples: ``inverse_spectrum`` replaces ``1 / spectrum`` in ``Var(Y_A | Y_BC)``
    (an unbiased estimate of it), and ``Var(Y_A | Y_B)``, a residual variance of a regression on the ``|B|``
    sites of B fitted to ``n_observations`` sites, is scaled by ``N / (N - |B|)`` (the least-squares residual's
    bias)."""
    L = spectrum.shape[0]
    check_window(L, r)
    cov = np.fft.ifft2(spectrum).real
    if r == 0:
        var_b = cov[0, 0]
    else:
        s_bb, s_ba, _ = _window_moments(cov, r)
        var_b = cov[0, 0] - s_ba @ np.linalg.solve(s_bb, s_ba)
        var_b *= n_observations / (n_observations - len(s_ba)) if np.isfinite(n_observations) else 1.0
    var_bc = 1.0 / np.mean(1.0 / spectrum if inverse_spectrum is None else inverse_spectrum)
    return float(0.5 * np.log(var_b / var_bc))


def unbiased_inverse(periodogram_mean: np.ndarray, n: int) -> np.ndarray:
    """An unbiased estimate of ``1 / S_k`` from the mean of ``n`` periodograms of a real Gaussian field.

    ``|FFT y|^2 / L^2`` is ``S_k`` times an exponential variable (a chi-squared with 2 degrees of freedom over
    2) at a complex mode and a chi-squared with 1 over 1 at a real one (``k = -k``), so the mean of ``n`` is
    ``S_k Gamma(n, 1/n)`` or ``S_k chi2_n / n``, and ``E[1 / mean] = n / ((n - 1) S_k)`` or ``n / ((n - 2) S_k)``.
    Without this the plug-in ``mean_k 1 / S_k`` is biased up by ``1/n``, and the CMI by ``1 / (2n)``."""
    L = periodogram_mean.shape[0]
    k = np.arange(L)
    real_mode = ((2 * k) % L == 0)[:, None] & ((2 * k) % L == 0)[None, :]
    return np.where(real_mode, (n - 2) / n, (n - 1) / n) / periodogram_mean


def noisy_spectrum(L: int, mass_sq: float, a: float, s: float) -> np.ndarray:
    """``S_k = a^2 g_k + s^2`` of the noisy GFF."""
    return a * a * gff_theory.prior_spectrum(L, mass_sq) + s * s


def exact_cmi(L: int, mass_sq: float, a: float, s: float, r: int) -> Dict[str, float]:
    """The closed form, as an estimate with a zero-width interval."""
    v = cmi_from_spectrum(noisy_spectrum(L, mass_sq, a, s), r)
    return {"value": v, "lo": v, "hi": v}


def gaussian_cmi(y: np.ndarray, r: int, n_groups: int = 50) -> Dict[str, float]:
    """The ``gaussian`` estimator on noisy samples ``y`` (n, L, L) of a zero-mean stationary field.

    The spectrum is the mean periodogram with the inverse made unbiased (:func:`unbiased_inverse`).  The
    interval is normal with a grouped jackknife standard error (``n_groups`` groups of samples): a bootstrap
    with replacement repeats samples, which biases every replicate's inverse spectrum by about twice the
    correction and shifts the whole percentile interval off the estimate."""
    y = np.asarray(y, dtype=np.float64)
    n, L = y.shape[0], y.shape[-1]
    n_groups = min(n_groups, n)
    if n < 3 or n_groups < 2:
        raise ValueError(f"the gaussian CMI estimator needs at least 3 samples, got {n}")
    periodograms = np.abs(np.fft.fft2(y)) ** 2 / (L * L)  # (n, L, L)
    total = periodograms.sum(axis=0)

    def estimate(p_sum: np.ndarray, m: int) -> float:
        mean = p_sum / m
        return cmi_from_spectrum(mean, r, unbiased_inverse(mean, m), m * L * L)

    value = estimate(total, n)
    groups = np.array_split(np.arange(n), n_groups)
    leave_out = np.array([estimate(total - periodograms[g].sum(axis=0), n - len(g)) for g in groups])
    se = float(np.sqrt((n_groups - 1) / n_groups * ((leave_out - leave_out.mean()) ** 2).sum()))
    z = float(norm.ppf(0.5 + CI_LEVEL / 2))
    return {"value": value, "lo": value - z * se, "hi": value + z * se, "stderr": se}


def conditional_kernels(L: int, mass_sq: float, a: float, s: float, r: int):
    """Kernels and variances of ``x_A | Y_B`` and ``x_A | Y_BC``: ``m_S(i) = sum_d w_S(d) y(i + d)``.

    Returns ``(w_B (2r+1, 2r+1), v_B, w_BC (L, L), v_BC)``; the kernels are zero at the origin (A's own
    observation is not side information)."""
    check_window(L, r)
    G = gff_theory.torus_green(L, mass_sq)
    cov = a * a * G + s * s * (np.arange(L)[:, None] == 0) * (np.arange(L)[None, :] == 0)
    w_b = np.zeros((2 * r + 1, 2 * r + 1))
    v_b = float(G[0, 0])
    if r > 0:
        s_bb, _, off = _window_moments(cov, r)
        g_b0 = G[off[:, 0] % L, off[:, 1] % L]
        sol = np.linalg.solve(s_bb, g_b0)
        w_b[off[:, 0] + r, off[:, 1] + r] = a * sol
        v_b = float(G[0, 0] - a * a * g_b0 @ sol)
    # BC = every site but A: (Sigma_SS)^{-1} = Q_SS - Q_SA Q_AS / Q_AA with Q = Sigma^{-1} (circulant), applied
    # to a G_SA; Q_SS G_SA is the torus convolution Q * G minus its j = A term
    prec = np.fft.ifft2(1.0 / noisy_spectrum(L, mass_sq, a, s)).real
    q_conv_g = np.fft.ifft2(np.fft.fft2(prec) * np.fft.fft2(G)).real - prec * G[0, 0]
    mask = np.ones((L, L), dtype=bool)
    mask[0, 0] = False
    q_sa_g_sa = float((prec * G)[mask].sum())
    w = np.where(mask, a * (q_conv_g - prec * q_sa_g_sa / prec[0, 0]), 0.0)
    v_bc = float(G[0, 0] - a * (G * w).sum())
    w_bc = w
    return w_b, v_b, w_bc, v_bc


def _correlate_torus(y: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``out[i] = sum_d kernel[d] y[i + d]`` for a kernel over the whole torus (FFT)."""
    return np.fft.ifft2(np.fft.fft2(y) * np.conj(np.fft.fft2(kernel))).real


def immse_integrands(x: np.ndarray, y: np.ndarray, w_b, v_b, w_bc, v_bc, gammas: np.ndarray,
                     seed: int) -> np.ndarray:
    """Per sample and node, the site average of ``(xhat_BC - xhat_B)^2`` at SNR ``gamma`` for A; (n, n_nodes)."""
    m_b = apply_window_kernel(y, w_b)
    m_bc = _correlate_torus(y, w_bc)
    z = np.random.default_rng(seed).standard_normal(x.shape)  # one fresh observation noise, common to every gamma
    out = np.empty((x.shape[0], len(gammas)))
    for k, g in enumerate(gammas):
        obs = g * x + np.sqrt(g) * z  # gamma * (x + z / sqrt(gamma))
        xb = (m_b / v_b + obs) / (1.0 / v_b + g)
        xbc = (m_bc / v_bc + obs) / (1.0 / v_bc + g)
        out[:, k] = ((xbc - xb) ** 2).reshape(x.shape[0], -1).mean(axis=1)
    return out


def immse_cmi(x: np.ndarray, y: np.ndarray, mass_sq: float, a: float, s: float, r: int, n_resamples: int,
              seed: int) -> Dict[str, float]:
    """The ``immse`` estimator on clean samples ``x`` and their noisy copies ``y`` (n, L, L)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    L = x.shape[-1]
    lam = a * a / (s * s)
    w_b, v_b, w_bc, v_bc = conditional_kernels(L, mass_sq, a, s, r)
    t, wt = np.polynomial.legendre.leggauss(N_GAMMA_NODES)
    gammas, weights = 0.5 * lam * (t + 1), 0.5 * lam * wt
    per_sample = 0.5 * immse_integrands(x, y, w_b, v_b, w_bc, v_bc, gammas, seed) @ weights
    est = mean_with_ci(per_sample, bootstrap_indices(len(per_sample), seed, n_resamples))
    return {"value": est.mean, "lo": est.lo, "hi": est.hi}


def immse_closed_form(L: int, mass_sq: float, a: float, s: float, r: int) -> float:
    """The I-MMSE integral with the exact integrand ``v_B / (1 + gamma v_B) - v_BC / (1 + gamma v_BC)`` by the same
    quadrature (equals :func:`exact_cmi` up to quadrature error)."""
    _, v_b, _, v_bc = conditional_kernels(L, mass_sq, a, s, r)
    lam = a * a / (s * s)
    t, wt = np.polynomial.legendre.leggauss(N_GAMMA_NODES)
    g = 0.5 * lam * (t + 1)
    return float(0.25 * lam * wt @ (v_b / (1 + g * v_b) - v_bc / (1 + g * v_bc)))
