"""Exact torus Ising transfer matrix: brute force, an independent row transfer matrix,
symmetries at strong coupling, thread-count invariance and input checks."""

import math

import numba
import numpy as np
import pytest

from phasebench.lattice_models.exact.torus_ising import (
    MAX_L,
    max_coupling,
    torus_ising_brute_force,
    torus_ising_marginals,
)


def _random_model(L, scale, seed, field=True):
    rng = np.random.default_rng(seed)
    Jh, Jv, h = (rng.uniform(-scale, scale, size=(L, L)) for _ in range(3))
    return Jh, Jv, (h if field else None)


def _assert_same(a, b, tol):
    assert abs(a.log_z - b.log_z) <= tol * max(1.0, abs(b.log_z))
    for name in ("magnetization", "corr_h", "corr_v"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=tol, err_msg=name)


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("scale", [0.5, 3.0, 20.0, 35.0])
@pytest.mark.parametrize("field", [True, False])
def test_matches_brute_force(L, scale, field):
    model = _random_model(L, scale, seed=100 * L + int(scale), field=field)
    _assert_same(torus_ising_marginals(*model), torus_ising_brute_force(*model), 1e-12)


def test_two_by_two_closed_form():
    # docs/physics.md, section 2, "Exact finite torus (Kaufman 1949)": Z = 4 cosh 8K + 12 on the
    # 2x2 torus (each pair joined by two bonds)
    K = 0.37
    J = np.full((2, 2), K)
    res = torus_ising_marginals(J, J)
    assert res.log_z == pytest.approx(math.log(4 * math.cosh(8 * K) + 12), rel=1e-14)


def _row_transfer_matrix(Jh, Jv, h):
    """Independent check: Z = Tr prod_i (D_i V_i) over whole-row states, with operator
    insertions for <s> and <s s>, rescaled matrix products (moderate couplings only)."""
    L = Jh.shape[0]
    codes = np.arange(1 << L)
    rows = 2.0 * ((codes[:, None] >> np.arange(L)) & 1) - 1.0  # (2^L, L)

    def diag(i):
        return rows @ h[i] + (rows * np.roll(rows, -1, axis=1)) @ Jh[i]

    def vert(i):
        return np.exp((rows * Jv[i]) @ rows.T)

    def trace_with(ops):
        M = np.eye(1 << L)
        log_scale = 0.0
        for i in range(L):
            d = np.exp(diag(i)) * ops.get(i, 1.0)
            M = (M * d) @ vert(i)
            s = np.abs(M).max()
            M /= s
            log_scale += math.log(s)
        return np.trace(M), log_scale

    z, log_scale = trace_with({})

    def expect(ops):
        t, ls = trace_with(ops)
        return t / z * math.exp(ls - log_scale)

    mag = np.empty((L, L))
    ch = np.empty((L, L))
    cv = np.empty((L, L))
    for i in range(L):
        for j in range(L):
            mag[i, j] = expect({i: rows[:, j]})
            ch[i, j] = expect({i: rows[:, j] * rows[:, (j + 1) % L]})
            if i + 1 < L:
                cv[i, j] = expect({i: rows[:, j], i + 1: rows[:, j]})
            else:
                cv[i, j] = expect({0: rows[:, j], L - 1: rows[:, j]})
    return math.log(z) + log_scale, mag, ch, cv


@pytest.mark.parametrize("L", [5, 6])
def test_matches_row_transfer_matrix(L):
    model = _random_model(L, 1.0, seed=L)
    res = torus_ising_marginals(*model)
    log_z, mag, ch, cv = _row_transfer_matrix(*model)
    assert res.log_z == pytest.approx(log_z, rel=1e-13)
    np.testing.assert_allclose(res.magnetization, mag, atol=1e-12)
    np.testing.assert_allclose(res.corr_h, ch, atol=1e-12)
    np.testing.assert_allclose(res.corr_v, cv, atol=1e-12)


def test_gauge_and_translation_covariance_at_strong_coupling():
    # s -> g s maps (J, h) to (g g' J, g h); translating the inputs translates the outputs.
    L = 8
    Jh, Jv, h = _random_model(L, 20.0, seed=3)
    g = np.random.default_rng(4).choice([-1.0, 1.0], size=(L, L))
    base = torus_ising_marginals(Jh, Jv, h)
    gauged = torus_ising_marginals(Jh * g * np.roll(g, -1, 1), Jv * g * np.roll(g, -1, 0), h * g)
    assert np.isfinite(base.log_z)
    assert gauged.log_z == pytest.approx(base.log_z, rel=1e-14)
    np.testing.assert_allclose(gauged.magnetization, g * base.magnetization, atol=1e-12)
    np.testing.assert_allclose(gauged.corr_h, g * np.roll(g, -1, 1) * base.corr_h, atol=1e-12)
    np.testing.assert_allclose(gauged.corr_v, g * np.roll(g, -1, 0) * base.corr_v, atol=1e-12)
    shift = (3, 5)
    moved = torus_ising_marginals(*(np.roll(a, shift, axis=(0, 1)) for a in (Jh, Jv, h)))
    assert moved.log_z == pytest.approx(base.log_z, rel=1e-14)
    for name in ("magnetization", "corr_h", "corr_v"):
        np.testing.assert_allclose(getattr(moved, name), np.roll(getattr(base, name), shift, (0, 1)), atol=1e-12)


def test_ground_state_limit_without_overflow():
    # J = h = 20 ferromagnet: log Z = 3 N J up to N exp(-200); all spins up.
    L = 8
    J = np.full((L, L), 20.0)
    res = torus_ising_marginals(J, J, J)
    assert res.log_z == pytest.approx(60.0 * L * L, rel=1e-15)
    np.testing.assert_allclose(res.magnetization, 1.0, atol=1e-15)
    np.testing.assert_allclose(res.corr_h, 1.0, atol=1e-15)
    # huge fields are allowed: they only pin spins
    res = torus_ising_marginals(J * 0.05, J * 0.05, -1e4 * np.ones((L, L)))
    np.testing.assert_allclose(res.magnetization, -1.0, atol=1e-15)


def test_thread_count_invariance():
    model = _random_model(7, 1.5, seed=9)
    before = numba.get_num_threads()
    try:
        results = []
        for n in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(n)
            results.append(torus_ising_marginals(*model))
    finally:
        numba.set_num_threads(before)
    for r in results[1:]:
        assert r.log_z == results[0].log_z
        for name in ("magnetization", "corr_h", "corr_v"):
            assert np.array_equal(getattr(r, name), getattr(results[0], name))


def test_serial_and_threaded_kernels_agree_bitwise():
    from phasebench.lattice_models.kernels.torus_transfer_matrix import (
        torus_ising_per_first_row,
        torus_ising_per_first_row_serial,
    )

    Jh, Jv, h = _random_model(5, 1.0, seed=10)
    for zero_field, field in ((False, h), (True, np.zeros_like(h))):
        a = torus_ising_per_first_row(Jh, Jv, field, zero_field)
        b = torus_ising_per_first_row_serial(Jh, Jv, field, zero_field)
        assert all(np.array_equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros((13, 13)), np.zeros((13, 13))), r"L must be in \[2, 12\]"),
        ((np.zeros((1, 1)), np.zeros((1, 1))), r"L must be in \[2, 12\]"),
        ((np.zeros((3, 4)), np.zeros((3, 4))), "square"),
        ((np.zeros((3, 3)), np.zeros((4, 4))), "Jv must have shape"),
        ((np.zeros((3, 3)), np.zeros((3, 3)), np.full((3, 3), np.nan)), "h must be finite"),
        ((np.full((10, 10), 30.0), np.zeros((10, 10))), "exactness limit"),
    ],
)
def test_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        torus_ising_marginals(*args)


def test_brute_force_limit_and_max_l():
    with pytest.raises(ValueError, match=r"L must be in \[2, 4\]"):
        torus_ising_brute_force(np.zeros((5, 5)), np.zeros((5, 5)))
    assert MAX_L == 12
    assert max_coupling(10) == pytest.approx(650.0 / 30.0)


def test_threaded_kernel_is_not_served_the_serial_kernels_cache_entry(tmp_path):
    """The serial (small L) and threaded transfer-matrix kernels are one Python function; numba's disk cache
    keys entries by name, bytecode and signature but not by ``parallel``, so under one name whichever variant
    compiled first served both (the threaded call then ran the serial code).  With a cache that already holds
    the serial kernel, a fresh process must still start numba's thread pool for the threaded kernel."""
    import os
    import subprocess
    import sys

    script = (
        "import numpy as np, numba\n"
        "from phasebench.lattice_models.kernels import torus_transfer_matrix as tm\n"
        "z = np.zeros((4, 4)); tm.per_first_row(z, z, z, False)\n"  # serial (L <= SERIAL_MAX_L)
        "import sys\n"
        "if sys.argv[1] == 'both':\n"
        "    z = np.zeros((8, 8)); tm.per_first_row(z, z, z, False)\n"  # threaded
        "    print(numba.threading_layer())\n"  # raises if no parallel region ever ran
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    for arg in ("serial", "both"):
        out = subprocess.run([sys.executable, "-c", script, arg], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() in ("omp", "tbb", "workqueue")
