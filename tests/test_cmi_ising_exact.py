"""The exact Ising CMI and r-local excess (suites/cmi/ising_exact.py): the masked-field window oracle against
enumeration with the channel likelihood on the window only, the mixture KL against numerical integration, the
half-maximum window on a known curve, and the shapes and signs of a small grid."""

import json

import numpy as np
import pytest
from scipy import integrate, stats

from phasebench.lattice_models.exact.torus_ising import all_spin_states, torus_ising_marginals
from phasebench.suites.cmi import ising_exact


def test_masked_field_transfer_matrix_is_the_window_posterior_by_enumeration():
    L, K, a, lam, r = 4, 1 / 2.2, 1.0, 0.7, 1
    s_n = a / np.sqrt(lam)
    rng = np.random.default_rng(3)
    y = a * rng.choice([-1.0, 1.0], size=(L, L)) + s_n * rng.standard_normal((L, L))
    states = all_spin_states(L).astype(np.float64)
    prior = K * (states * np.roll(states, -1, axis=2) + states * np.roll(states, -1, axis=1)).sum(axis=(1, 2))
    for centre in [(0, 0), (2, 3)]:
        mask = ising_exact.window_mask(L, centre, r)
        assert mask.sum() == 9
        loglik = (stats.norm.logpdf(y[None], a * states, s_n) * mask).sum(axis=(1, 2))  # the window's sites only
        w = np.exp(prior + loglik - (prior + loglik).max())
        brute = (w * states[:, centre[0], centre[1]]).sum() / w.sum()
        h = np.where(mask, a * y / s_n ** 2, 0.0)
        J = np.full((L, L), K)
        assert torus_ising_marginals(J, J, h).magnetization[centre] == pytest.approx(brute, abs=1e-12)


@pytest.mark.parametrize("u,v,mu", [(0.5, 0.5, 1.0), (0.9, 0.3, 0.5), (0.02, 0.97, 2.0), (1 - 1e-9, 0.4, 0.1), (0.999, 0.001, 3.2)])
def test_mixture_kl_equals_numerical_integration(u, v, mu):
    def dens(w, y):
        return w * stats.norm.pdf(y, mu, 1) + (1 - w) * stats.norm.pdf(y, -mu, 1)

    ref, _ = integrate.quad(lambda y: dens(u, y) * np.log(dens(u, y) / dens(v, y)), -mu - 12, mu + 12, limit=200)
    assert ising_exact.mixture_kl(np.array([u]), np.array([v]), mu)[0] == pytest.approx(ref, rel=1e-7, abs=1e-13)


def test_half_maximum_window_of_a_known_bump():
    levels = np.logspace(-3, 1, 41)
    x = np.log(levels)
    centre, width = np.log(0.05), 1.2
    curve = np.exp(-0.5 * ((x - centre) / width) ** 2)
    lo, hi = ising_exact.half_maximum_window(levels, curve[None])[0]
    half = width * np.sqrt(2 * np.log(2))
    assert np.log(lo) == pytest.approx(centre - half, abs=3e-3)  # linear interpolation: 1.1e-3 off here
    assert np.log(hi) == pytest.approx(centre + half, abs=3e-3)
    censored = ising_exact.half_maximum_window(levels[:15], curve[None, :15])[0]  # the peak off the grid's top
    assert np.isnan(censored[1])


def test_a_small_grid_has_the_expected_signs():
    from phasebench.lattice_models import make_model
    from phasebench.lattice_models.datasets import load_or_generate

    L, n = 6, 24
    x = load_or_generate(make_model("ising", T=2.0), n, L, 11).samples[:, 0].astype(np.float64)
    res = ising_exact.grid(x, 1 / 2.0, [0.01, 0.1, 10.0], [1, 2], n_centres=8, seed=5)
    assert res["cmi"].shape == res["excess"].shape == (3, 2, n)
    assert (res["cmi"] >= 0).all() and (res["excess"] >= 0).all()
    # nested windows: the excess shrinks with r on average; at high SNR the posterior knows the sign of m
    assert res["excess"][1, 1].mean() < res["excess"][1, 0].mean()
    assert res["overlap"][2].mean() == pytest.approx(res["abs_m"].mean(), rel=1e-3)  # measured 8e-5
    assert res["overlap"][0].mean() < 0.5 * res["abs_m"].mean()
    summary = ising_exact.summarize(res, seed=1, n_boot=200)
    assert set(summary["breakdown_excess"]) == {"1", "2"} and len(summary["cells"]) == 6


def test_cli_writes_the_ising_heatmap_and_refuses_a_torus_out_of_reach(tmp_path, capsys):
    from phasebench.suites.cli import main

    assert main(["cmi", "ising-speciation", "--estimator", "exact", "--L", "4", "--radii", "0", "1", "--levels", "0.01",
                 "0.1", "1", "--n", "8", "--out", str(tmp_path)]) == 0
    out = json.loads((tmp_path / "cmi_exact.json").read_text())
    assert [(c["level"], c["r"]) for c in out["cells"]] == [(lv, 1) for lv in (0.01, 0.1, 1.0)]  # r = 0 dropped
    assert all(c["cmi_lo"] <= c["value"] <= c["cmi_hi"] for c in out["cells"])
    assert set(out["speciation"]) == {"0.1", "0.9"} and set(out["breakdown_excess"]) == {"1"}
    assert out["lambda_S_estimate"] > 0 and (tmp_path / out["plot"]).exists()
    assert main(["cmi", "ising-speciation", "--estimator", "exact", "--L", "12", "--out", str(tmp_path / "x")]) == 2
    assert "L must lie in [4, 10]" in capsys.readouterr().err and not (tmp_path / "x").exists()
    assert main(["cmi", "gff-markov", "--estimator", "exact", "--centres", "4", "--out", str(tmp_path / "x")]) == 2
    assert "exact Ising estimator only" in capsys.readouterr().err and not (tmp_path / "x").exists()
