"""Exact GFF theory against independent dense-matrix computations (docs/physics.md, section 4)."""

import numpy as np
import pytest

from phasebench.lattice_models.exact import gff_theory as g
from phasebench.lattice_models.geometry import window_offsets


def dense_laplacian(L):
    """-Delta on the L x L torus as an explicit matrix (no FFT)."""
    n = L * L
    A = 4.0 * np.eye(n)
    for i in range(L):
        for j in range(L):
            u = i * L + j
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                A[u, ((i + di) % L) * L + (j + dj) % L] -= 1.0
    return A


def dense_green(L, m2):
    A = dense_laplacian(L)
    return np.linalg.inv(A + m2 * np.eye(L * L)) if m2 > 0 else np.linalg.pinv(A)


@pytest.mark.parametrize("m2", [0.25, 0.0])
def test_torus_green_matches_dense_inverse(m2):
    L = 6
    G = dense_green(L, m2)
    Gf = g.torus_green(L, m2)
    idx = np.arange(L * L)
    i1, i2 = np.divmod(idx, L)
    fft_dense = Gf[(i1[None] - i1[:, None]) % L, (i2[None] - i2[:, None]) % L]
    np.testing.assert_allclose(fft_dense, G, atol=1e-12)


def test_mmse_48_torus_matches_infinite_lattice_closed_form():
    # acceptance: m^2 = 0.25, a = s = 1, L = 48 -> agreement to 1e-6
    torus = g.mmse_torus(48, 0.25, 1.0, 1.0)
    assert abs(torus - g.mmse_infinite(0.25, 1.0, 1.0)) < 1e-6


def test_infinite_lattice_mmse_against_numerical_integral():
    from scipy import integrate

    for m2, a, s in [(0.25, 1.0, 1.0), (0.1, 0.7, 1.3)]:
        M2 = g.effective_mass_sq(m2, a, s)
        val, _ = integrate.dblquad(lambda k1, k2: 1.0 / (4 - 2 * np.cos(k1) - 2 * np.cos(k2) + M2), -np.pi, np.pi, -np.pi, np.pi, epsabs=1e-12)
        assert abs(val / (4 * np.pi**2) - g.mmse_infinite(m2, a, s)) < 1e-9


@pytest.mark.parametrize("m2,a,s", [(0.25, 1.0, 1.0), (0.5, 0.8, 1.7), (0.0, 1.0, 0.5)])
def test_wiener_filter_matches_dense_posterior_mean(m2, a, s):
    L = 5
    G = dense_green(L, m2)
    y = np.random.default_rng(0).standard_normal((L, L))
    dense = a * G @ np.linalg.solve(a * a * G + s * s * np.eye(L * L), y.ravel())
    np.testing.assert_allclose(g.wiener_denoise(y, m2, a, s).ravel(), dense, atol=1e-10)
    post_cov = G - a * a * G @ np.linalg.solve(a * a * G + s * s * np.eye(L * L), G)
    assert abs(np.trace(post_cov) / L**2 - g.mmse_torus(L, m2, a, s)) < 1e-10


@pytest.mark.parametrize("r", [0, 1, 2])
def test_local_optimum_matches_dense_conditional_expectation(r):
    L, m2, a, s = 7, 0.25, 1.0, 0.8
    G = dense_green(L, m2)
    off = window_offsets(r)
    centre = (3, 2)
    W = ((centre[0] + off[:, 0]) % L) * L + (centre[1] + off[:, 1]) % L
    c = centre[0] * L + centre[1]
    S_yy = a * a * G[np.ix_(W, W)] + s * s * np.eye(len(W))
    w_dense = a * np.linalg.solve(S_yy, G[W, c])
    mse_dense = G[c, c] - a * G[c, W] @ w_dense
    kernel, mse = g.local_optimum(L, m2, a, s, r)
    np.testing.assert_allclose(kernel.ravel(), w_dense, atol=1e-10)
    assert abs(mse - mse_dense) < 1e-10
    # the kernel applied to a field reproduces the dense estimate at every site
    y = np.random.default_rng(1).standard_normal((L, L))
    est = g.apply_window_kernel(y, kernel)
    assert abs(est[centre] - w_dense @ y.ravel()[W]) < 1e-10
    # monotone: a larger window never hurts, the global optimum is the floor
    assert g.mmse_torus(L, m2, a, s) <= mse + 1e-12


def test_cmi_matches_schur_complement_formula():
    L, m2, a, s = 6, 0.25, 1.0, 1.0
    G = dense_green(L, m2)
    Sy = a * a * G + s * s * np.eye(L * L)
    for r in (0, 1, 2):
        A, B, C = g.window_split(L, r, centre=(2, 3))

        def cond_cov(X, Y):
            if len(Y) == 0:
                return Sy[np.ix_(X, X)]
            return Sy[np.ix_(X, X)] - Sy[np.ix_(X, Y)] @ np.linalg.solve(Sy[np.ix_(Y, Y)], Sy[np.ix_(Y, X)])

        BC = np.concatenate([B, C])
        independent = 0.5 * (np.linalg.slogdet(cond_cov(A, B))[1] - np.linalg.slogdet(cond_cov(A, BC))[1])
        assert abs(g.conditional_mutual_information(L, m2, a, s, A, B, C) - independent) < 1e-8


def test_cmi_decays_with_markov_length():
    """I(A:C|B) ~ exp(-r / xi_M): local decay length within 5% of xi_M at r = 3..4 (measured 0.974)."""
    m2, a, s, L = 0.25, 1.0, 1.0, 16
    cmi = []
    for r in (3, 4):
        A, B, _ = g.window_split(L, r)
        C = np.setdiff1d(np.arange(L * L), np.concatenate([A, B]))
        cmi.append(g.conditional_mutual_information(L, m2, a, s, A, B, C))
    xi_local = 1.0 / np.log(cmi[0] / cmi[1])
    assert abs(xi_local / g.markov_length(m2, a, s) - 1) < 0.05


def test_markov_length_matches_kernel_decay():
    m2, a, s = 0.25, 1.0, 1.0
    L = 64
    h = np.fft.ifft2(g.wiener_filter_spectrum(L, m2, a, s)).real
    mu_measured = np.log(h[10, 0] / h[11, 0])
    # the kernel decays as e^{-mu d} d^{-1/2} along an axis: the prefactor shifts the
    # local rate by ln(11/10)/2 = 0.048 at d = 10
    assert abs(mu_measured - g.markov_decay_rate(m2, a, s)) < 0.06
    assert abs(g.markov_length(m2, a, s) - 1 / (2 * g.markov_decay_rate(m2, a, s))) < 1e-15


def test_local_excess_decays_at_twice_mu():
    m2, a, s, L = 0.25, 1.0, 1.0, 32
    mm = g.mmse_torus(L, m2, a, s)
    ex = [g.local_optimum(L, m2, a, s, r)[1] - mm for r in (4, 5, 6)]
    xi_local = 1.0 / np.log(ex[1] / ex[2])
    assert abs(xi_local / g.markov_length(m2, a, s) - 1) < 0.05
    assert ex[0] > ex[1] > ex[2] > 0


def test_window_rejects_bad_radius():
    with pytest.raises(ValueError, match="radius"):
        g.local_optimum(8, 0.25, 1, 1, -1)
    with pytest.raises(ValueError, match="window"):
        g.local_optimum(8, 0.25, 1, 1, 4)
