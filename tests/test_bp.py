"""bp: belief propagation on the exact posterior factor graph (docs/physics.md, section 5, "Belief propagation")."""

from __future__ import annotations

import numpy as np
import pytest

from phasebench.denoisers import DENOISERS, make_family
from phasebench.denoisers.bp import BeliefPropagation
from phasebench.denoisers.bp import parity, site_lattice
from phasebench.denoisers.bp.gaussian import gap_to_local_optimum, gaussian_bp
from phasebench.denoisers.bp.ising import ising_bp
from phasebench.denoisers.locality import audit_locality
from phasebench.lattice_models import make_channel, make_model
from phasebench.lattice_models.exact import gff_theory
from phasebench.lattice_models.exact.torus_ising import torus_ising_marginals

GFF = make_model("gff", m=0.5)
TORIC = make_model("toric_loops")
GAUSS = make_channel("gaussian")
BITFLIP = make_channel("bitflip")
TORIC_GAUSS = make_channel("gaussian", encode_binary_as_spin=True)


def fitted(model, channel, level, radius=None, **hyper):
    clean = np.zeros((1, model.channels, 4, 4), dtype=np.float64 if model.variable_type == "real" else np.int8)
    return make_family("bp", radius, **hyper).fit(clean, channel, [level], model=model)


def random_spins(n, L, seed):
    return np.where(np.random.default_rng(seed).random((n, 1, L, L)) < 0.5, -1, 1).astype(np.int8)


def paired_mean_and_error(values):
    """Mean and standard error over configurations (values: (n, ...), averaged within a configuration first)."""
    per_config = values.reshape(len(values), -1).mean(axis=1)
    return per_config.mean(), per_config.std(ddof=1) / np.sqrt(len(per_config))


# -- light cone and the locality audit ------------------------------------------------------------------
CASES = [  # (model, channel, level, noisy data of shape (1, C, 9, 9))
    (GFF, GAUSS, 1.0, lambda: GAUSS.corrupt(GFF.sample(1, 9, seed=0), 1.0, 1)),
    (make_model("ising", T=2.5), GAUSS, 1.0, lambda: GAUSS.corrupt(random_spins(1, 9, 0), 1.0, 1)),
    (make_model("ising", T=2.5), BITFLIP, 0.1, lambda: BITFLIP.corrupt(random_spins(1, 9, 0), 0.1, 1, "spin")),
    (TORIC, BITFLIP, 0.1, lambda: BITFLIP.corrupt(TORIC.sample(1, 9, seed=0), 0.1, 1, "binary")),
    (TORIC, TORIC_GAUSS, 1.0, lambda: TORIC_GAUSS.corrupt(TORIC.sample(1, 9, seed=0), 1.0, 1)),
]


@pytest.mark.parametrize("model, channel, level, data", CASES, ids=lambda c: getattr(c, "name", None))
def test_every_member_passes_the_audit_at_its_radius_and_uses_its_ring(model, channel, level, data):
    y = data()
    for r in (0, 1, 2, 3):
        report = audit_locality(fitted(model, channel, level, r), y, level, n_sites=3, seed=r)
        assert report.passed, report.message
        assert report.uses_full_radius or r == 0


@pytest.mark.parametrize("model, channel, level, data", CASES[:2] + CASES[3:4], ids=lambda c: getattr(c, "name", None))
def test_one_round_more_than_declared_is_caught(model, channel, level, data):
    class OneRoundTooMany(BeliefPropagation):
        name = "bp-leaky"

        def rounds_for(self, L):
            return self.radius + 1

    clean = np.zeros((1, model.channels, 4, 4))
    for r in (0, 2):
        leaky = OneRoundTooMany(r).fit(clean, channel, [level], model=model)
        report = audit_locality(leaky, data(), level, n_sites=3, seed=0)
        assert not report.passed and "outside the window" in report.message


def test_the_site_light_cone_is_the_manhattan_ball_and_the_code_reads_exactly_it():
    L, r, centre = 11, 3, 5
    rng = np.random.default_rng(0)
    h = rng.normal(size=(1, L, L))
    bond_tanh = site_lattice.bond_per_direction(*site_lattice.uniform_bonds(np.tanh(0.4), L))
    base = ising_bp(h, bond_tanh, r)[0][0, centre, centre]
    read = np.zeros((L, L), dtype=bool)
    for i in range(L):
        for j in range(L):
            moved = h.copy()
            moved[0, i, j] += 1.0
            read[i, j] = ising_bp(moved, bond_tanh, r)[0][0, centre, centre] != base
    d = np.arange(-r, r + 1)
    assert np.array_equal(site_lattice.light_cone(r), np.abs(d)[:, None] + np.abs(d)[None, :] <= r)
    expected = np.zeros((L, L), dtype=bool)
    expected[centre - r:centre + r + 1, centre - r:centre + r + 1] = site_lattice.light_cone(r)
    assert np.array_equal(read, expected)
    for rounds in range(6):  # the slack: 2r^2 + 2r + 1 of the (2r + 1)^2 window sites
        assert site_lattice.light_cone(rounds).sum() == 2 * rounds**2 + 2 * rounds + 1


def test_the_edge_light_cone_is_r_vertex_sharing_steps_and_the_code_reads_exactly_it():
    L, r, centre = 11, 3, 5
    rng = np.random.default_rng(1)
    own = rng.normal(size=(2, 1, L, L))
    base = parity.parity_bp(own[0], own[1], r)[0][0, :, centre, centre]
    read = np.zeros((2, 2, L, L), dtype=bool)  # (centre channel, input channel, i, j)
    for c in range(2):
        for i in range(L):
            for j in range(L):
                moved = own.copy()
                moved[c, 0, i, j] += 1.0
                read[:, c, i, j] = parity.parity_bp(moved[0], moved[1], r)[0][0, :, centre, centre] != base
    cone = parity.light_cone(r)
    expected = np.zeros_like(read)
    expected[..., centre - r:centre + r + 1, centre - r:centre + r + 1] = cone
    assert np.array_equal(read, expected)
    for k in range(1, 5):  # the cone reaches the edge of the radius-k window on every side: radius exactly k
        cone = parity.light_cone(k).any(axis=(0, 1))
        assert cone[0].any() and cone[-1].any() and cone[:, 0].any() and cone[:, -1].any()
    assert parity.light_cone(1).sum(axis=(1, 2, 3)).tolist() == [7, 7]  # itself and the 6 edges sharing a vertex


# -- exactness ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("level, damping", [(1.0, 0.0), (0.3, 0.0), (1.0, 0.5)])
def test_gaussian_bp_converges_to_the_exact_posterior_mean_on_the_gff(level, damping):
    y = GAUSS.corrupt(GFF.sample(3, 8, seed=0), level, 1)
    out = fitted(GFF, GAUSS, level, None, damping=damping, tolerance=1e-12).denoise(y, level)
    exact = GFF.exact_posterior_mean(y, GAUSS, level, None)
    assert np.abs(out - exact).max() < 1e-8


def comb_tree(L):
    """Bonds of a spanning tree of the torus: row 0's horizontal bonds and every vertical bond, no wrap-around."""
    bond_h, bond_v = np.zeros((L, L)), np.ones((L, L))
    bond_h[0, :-1] = 1.0
    bond_v[-1, :] = 0.0
    return bond_h, bond_v


def test_gaussian_bp_is_exact_on_a_tree_means_and_variances():
    L, rng = 5, np.random.default_rng(2)
    bond_h, bond_v = comb_tree(L)
    stiffness = site_lattice.bond_per_direction(bond_h, bond_v)
    diagonal = 0.25 + 1.0 + stiffness.sum(axis=0)
    J = np.diag(diagonal.ravel())
    idx = lambda i, j: (i % L) * L + (j % L)  # noqa: E731
    for i in range(L):
        for j in range(L):
            for bonds, (di, dj) in ((bond_h, (0, 1)), (bond_v, (1, 0))):
                if bonds[i, j]:
                    J[idx(i, j), idx(i + di, j + dj)] = J[idx(i + di, j + dj), idx(i, j)] = -bonds[i, j]
    h = rng.normal(size=(2, L, L))
    diameter = 2 * (L - 1) + (L - 1)
    means, precision, _ = gaussian_bp(h, diagonal, stiffness, diameter)
    exact = np.linalg.solve(J, h.reshape(2, -1).T).T.reshape(2, L, L)
    assert np.abs(means - exact).max() < 1e-12
    assert np.abs(1.0 / precision - np.diag(np.linalg.inv(J)).reshape(L, L)).max() < 1e-12


def test_ising_bp_is_exact_on_a_tree():
    L, rng = 4, np.random.default_rng(3)
    bond_h, bond_v = comb_tree(L)
    K = 0.6
    h = rng.normal(scale=0.5, size=(1, L, L))
    estimate, _ = ising_bp(h, site_lattice.bond_per_direction(np.tanh(K * bond_h), np.tanh(K * bond_v)), 3 * (L - 1))
    exact = torus_ising_marginals(K * bond_h, K * bond_v, h[0]).magnetization
    assert np.abs(estimate[0] - exact).max() < 1e-12


@pytest.mark.parametrize("channel, level", [(BITFLIP, 0.1), (TORIC_GAUSS, 1.0)])
def test_zero_rounds_on_the_loops_are_the_exact_radius_zero_estimator(channel, level):
    # the radius-0 window holds h[i, j] and v[i, j] and no interior vertex: no check, so its posterior is the
    # single-edge posterior, which is what zero rounds give
    y = channel.corrupt(TORIC.sample(4, 6, seed=0), level, 1, "binary")
    out = fitted(TORIC, channel, level, 0).denoise(y, level)
    assert np.abs(out - TORIC.exact_posterior_mean(y, channel, level, 0)).max() < 1e-12


# -- against the exact r-local optimum ------------------------------------------------------------------------
def test_the_gff_round_gap_is_positive_and_matches_the_sampled_paired_difference():
    L, level = 12, 1.0
    a, s = GAUSS.amplitudes(level)
    x = GFF.sample(400, L, seed=4)
    y = GAUSS.corrupt(x, level, 5)
    for r in (1, 2):
        gap, excess = gap_to_local_optimum(GFF.mass_sq, a, s, L, r)
        assert gap > 0 and excess > 0
        bp = fitted(GFF, GAUSS, level, r).denoise(y, level)
        opt = GFF.exact_posterior_mean(y, GAUSS, level, r)
        diff, err = paired_mean_and_error((bp - x) ** 2 - (opt - x) ** 2)
        assert abs(diff - gap) < 4 * err, (r, diff, gap, err)
        assert abs(((bp - opt) ** 2).mean() - gap) < 0.1 * gap  # E|f - f*|^2: the same gap, less noisy


def test_loop_bp_beats_the_single_edge_posterior_and_never_the_exact_window():
    L, p = 10, 0.05
    x = TORIC.sample(60, L, seed=6)
    y = BITFLIP.corrupt(x, p, 7, "binary")
    single = fitted(TORIC, BITFLIP, p, 0).denoise(y, p)
    for r in (1, 2):
        bp = fitted(TORIC, BITFLIP, p, r).denoise(y, p)
        exact = TORIC.exact_posterior_mean(y, BITFLIP, p, r)
        gain, gain_err = paired_mean_and_error((single - x) ** 2 - (bp - x) ** 2)
        assert gain > 4 * gain_err  # BP at r rounds is better than the single-edge posterior
        excess, excess_err = paired_mean_and_error((bp - x) ** 2 - (exact - x) ** 2)
        distance = ((bp - exact) ** 2).mean()
        assert distance > 0 and abs(excess - distance) < 4 * excess_err  # the orthogonality identity
        assert excess > -4 * excess_err


def test_ising_bp_at_weak_coupling_beats_the_single_site_posterior_and_nears_the_exact_one():
    T, level, L = 4.0, 1.0, 8
    x = make_model("ising", T=T).sample(120, L, seed=8, algorithm="metropolis")
    y = GAUSS.corrupt(x, level, 9)
    model = make_model("ising", T=T)
    single = fitted(model, GAUSS, level, 0).denoise(y, level)
    assert np.array_equal(single, np.tanh(GAUSS.spin_field(y, level, "spin")))  # zero rounds: the single site
    errors = {r: (fitted(model, GAUSS, level, r).denoise(y, level) - x) ** 2 for r in (1, 2)}
    for r, err in errors.items():
        gain, gain_err = paired_mean_and_error((single - x) ** 2 - err)
        assert gain > 4 * gain_err
    exact = model.exact_posterior_mean(y[:20], GAUSS, level, None)
    converged = fitted(model, GAUSS, level, None).denoise(y[:20], level)
    # at T = 4 the Bethe approximation is close: measured E|bp - exact|^2 = 4e-5 of the MSE 0.40
    assert ((converged - exact) ** 2).mean() < 1e-3 * ((exact - x[:20]) ** 2).mean()


# -- determinism, batches and input checks --------------------------------------------------------------------
def test_same_input_same_bytes_and_batch_independence_of_the_global_member():
    y = BITFLIP.corrupt(TORIC.sample(5, 6, seed=0), 0.08, 1, "binary")
    fam = fitted(TORIC, BITFLIP, 0.08, None, max_rounds=50)
    whole = fam.denoise(y, 0.08)
    assert np.array_equal(whole, fam.denoise(y, 0.08))
    assert np.array_equal(whole[2:3], fam.denoise(y[2:3], 0.08))


def test_infinite_fields_give_the_observation_back():
    y = BITFLIP.corrupt(TORIC.sample(2, 6, seed=0), 0.0, 1, "binary")
    out = fitted(TORIC, BITFLIP, 0.0, 1).denoise(y, 0.0)
    assert np.abs(out - y).max() < 1e-20
    spins = random_spins(2, 6, 0)
    out = fitted(make_model("ising"), BITFLIP, 0.0, 2).denoise(spins, 0.0)
    assert np.array_equal(out, spins.astype(np.float64))


def test_models_channels_and_hyperparameters_are_checked():
    fam = DENOISERS.get("bp")
    assert fam.supports_member(GFF, GAUSS, 2, 8) and not fam.supports_member(GFF, TORIC_GAUSS, 2, 8)
    assert not fam.supports_member(make_model("ising"), TORIC_GAUSS, None, 8)
    with pytest.raises(ValueError, match="gaussian channel on real data"):
        fitted(GFF, TORIC_GAUSS, 1.0, 1)
    with pytest.raises(ValueError, match="damping"):
        make_family("bp", 1, damping=1.0)
    with pytest.raises(ValueError, match="needs the lattice model"):
        make_family("bp", 1).fit(np.zeros((1, 1, 4, 4)), GAUSS, [1.0])
    member = fitted(GFF, GAUSS, 1.0, 2)
    assert member.n_params == 0 and member.flops_per_site > 0


@pytest.mark.parametrize("rounds,damping", [(0, 0.0), (3, 0.0), (None, 0.0), (None, 0.3)])
def test_ising_bp_kernel_gives_the_numpy_rounds_bytes(rounds, damping):
    """The Numba kernel performs the NumPy version's arithmetic in the same order: the same bytes, and the
    same rounds per configuration for the converging member (fields from the Gaussian channel near T_c,
    with one infinite field)."""
    from phasebench.denoisers.bp.ising import ising_bp_numpy

    rng = np.random.default_rng(5)
    L, K = 6, 1 / 2.3
    h = rng.normal(0.3, 1.0, size=(7, L, L))
    h[0, 1, 2] = np.inf
    bond_tanh = site_lattice.bond_per_direction(*site_lattice.uniform_bonds(np.tanh(K), L))
    kernel = ising_bp(h, bond_tanh, rounds, damping=damping, max_rounds=60)
    reference = ising_bp_numpy(h, bond_tanh, rounds, damping=damping, max_rounds=60)
    assert np.array_equal(kernel[0], reference[0]) and np.array_equal(kernel[1], reference[1])
    if rounds is None:
        assert kernel[1].max() > 3  # the converging member ran more rounds than the fixed ones
