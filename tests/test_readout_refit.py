"""The cnn readout refit's two least-squares solves (denoisers.cnn.readout_refit) against a dense lift."""

import numpy as np
import pytest

from phasebench.denoisers.cnn.readout_refit import solve_generator, solve_per_level


def _problem(n_levels, P=5, W=3, E1=4, C=2, seed=0):
    rng = np.random.default_rng(seed)
    grams, rhs = [], []
    for _ in range(n_levels):
        z = rng.standard_normal((400, P + W + 1))
        z[:, -1] = 1.0
        t = z @ rng.standard_normal((P + W + 1, C)) + 0.1 * rng.standard_normal((400, C))
        grams.append(z.T @ z)
        rhs.append(z.T @ t)
    embeds = [np.append(rng.standard_normal(E1 - 1), 1.0) for _ in range(n_levels)]
    weights = list(rng.uniform(0.5, 2.0, n_levels))
    return grams, rhs, weights, embeds, rng.standard_normal((P, E1)), rng.standard_normal(W + 1)


def _dense(grams, rhs, weights, embeds, K0, g0, c):
    """The normal equations through the explicit lift T (theta -> z coefficients), as first written."""
    P, E1 = K0.shape
    n_theta = P * E1 + len(g0)
    A, v = np.zeros((n_theta, n_theta)), np.zeros(n_theta)
    for G, r, w, e1 in zip(grams, rhs, weights, embeds):
        T = np.zeros((n_theta, G.shape[0]))
        T[: P * E1, :P] = np.kron(np.eye(P), e1[:, None])
        T[P * E1 :, P:] = np.eye(G.shape[0] - P)
        A += w * T @ G @ T.T
        v += w * T @ r[:, c]
    rho = 1e-7 * np.mean(np.diag(A))
    theta = np.linalg.solve(A + rho * np.eye(n_theta), v + rho * np.concatenate([K0.ravel(), g0]))
    return theta[: P * E1].reshape(P, E1), theta[P * E1 :]


@pytest.mark.parametrize("c", [0, 1])
def test_generator_solve_matches_dense_lift(c):
    prob = _problem(n_levels=6)  # more levels than embedding dimensions (4)
    K, g = solve_generator(*prob, c)
    K_ref, g_ref = _dense(*prob, c)
    np.testing.assert_allclose(K, K_ref, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(g, g_ref, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("c", [0, 1])
def test_per_level_solve_reaches_the_same_minimum(c):
    """Fewer levels (3) than embedding dimensions (4): same kernels at the levels and same head as the
    generator solve, and the lift moves the trained generator only within the span of the embeddings."""
    grams, rhs, weights, embeds, K0, g0 = _problem(n_levels=3)
    K, g = solve_per_level(grams, rhs, weights, embeds, K0, g0, c)
    K_ref, g_ref = _dense(grams, rhs, weights, embeds, K0, g0, c)
    E = np.stack(embeds, axis=1)
    np.testing.assert_allclose(K @ E, K_ref @ E, rtol=1e-5, atol=1e-6)  # the two ridges differ at ~1e-6
    np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-6)
    null = np.linalg.svd(E.T)[2][-1]  # the embedding direction no level sees
    np.testing.assert_allclose((K - K0) @ null, 0.0, atol=1e-10)
    # and the kernels at the levels are the unregularised least-squares optimum (the dense check's own)
    P = K0.shape[0]
    for G, r, e1 in zip(grams, rhs, embeds):
        grad = G[:P, :P] @ (K @ e1) + G[:P, P:] @ g - r[:P, c]
        assert np.abs(grad).max() < 1e-4 * np.abs(r[:P, c]).max()
