"""Exact CMI of the toric code's noisy edges under bit flips against the enumerated joint law
(docs/physics.md, section 5; suites/cmi/toric_exact.py)."""

import itertools
import json

import numpy as np
import pytest

from phasebench.lattice_models.channels import as_channel
from phasebench.lattice_models.exact.toric_global import all_cycles, toric_posterior_marginals
from phasebench.lattice_models.exact.toric_window import local_posterior_marginals
from phasebench.suites.cli import main
from phasebench.suites.cmi import toric_exact as te


def _all_edge_configurations(L):
    m = 2 * L * L
    codes = np.arange(1 << m)
    return ((codes[:, None] >> np.arange(m)) & 1).astype(np.int8).reshape(-1, 2, L, L)


@pytest.mark.parametrize("p", [0.05, 0.15, 0.3])
def test_oracle_average_over_every_configuration_is_the_joint_law_cmi(p):
    """L = 2, r = 0: sum_y P(y) KL(P(y_A | y_BC) || P(y_A | y_B)) over all 256 y equals H(AB) + H(BC) - H(B) - H(ABC)
    of the enumerated joint law (the identity and both oracles' conditionals, with no sampling)."""
    L = 2
    y = _all_edge_configurations(L)
    cycles = all_cycles(L).reshape(-1, 2 * L * L)
    flips = (y.reshape(len(y), 1, -1) ^ cycles[None]).sum(axis=2)
    pmf = (p ** flips * (1 - p) ** (2 * L * L - flips)).mean(axis=1)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    per_config = te.per_config_cmi(y, p, [0])[:, 0]
    exact = te.joint_law_cmi(L, p, (0, 0, 0), [(1, 0, 0)])
    assert exact > 1e-4
    assert pmf @ per_config == pytest.approx(exact, rel=1e-10)


def test_sampled_cmi_covers_the_joint_law_on_the_3x3_torus():
    grid = te.cmi_grid(3, [0.1], [0], 600, seed=3)
    values = grid["values"][0, 0]
    exact = te.joint_law_cmi(3, 0.1, (1, 2, 0), [(0, 2, 0)])
    z = (values.mean() - exact) / (values.std(ddof=1) / np.sqrt(len(values)))
    assert abs(z) < 4, (values.mean(), exact)


def test_conditionals_without_own_observation_match_enumeration_on_4x4_torus():
    """r = 1 on L = 4: P(x_A = 1 | y_B) and P(x_A = 1 | y_{-A}) by summing over all 2^17 cycles."""
    L, p, r = 4, 0.12, 1
    rng = np.random.default_rng(0)
    cycles = all_cycles(L)
    y = (cycles[rng.integers(len(cycles), size=2)] ^ (rng.random((2, 2, L, L)) < p)).astype(np.int8)
    log_lik = np.where(cycles[None] == y[:, None], np.log(1 - p), np.log(p))  # (n, cycles, 2, L, L)
    glob = te._without_own_observation(toric_posterior_marginals(y, "bitflip", p), y, p)
    local = te._without_own_observation(local_posterior_marginals(y, as_channel("bitflip"), p, r), y, p)
    for s, (c, i, j) in itertools.product(range(2), [(0, 1, 2), (1, 3, 0)]):
        others = np.ones((2, L, L), dtype=bool)
        others[c, i, j] = False
        window = np.zeros((2, L, L), dtype=bool)
        for di, dj in itertools.product(range(-r, r + 1), repeat=2):
            window[:, (i + di) % L, (j + dj) % L] = True
        window[c, i, j] = False
        for mask, got in ((others, glob), (window, local)):
            lw = log_lik[s][:, mask].sum(axis=1)
            w = np.exp(lw - lw.max())
            assert got[s, c, i, j] == pytest.approx(w @ cycles[:, c, i, j] / w.sum(), rel=1e-9, abs=1e-12)


def test_peak_level_is_the_parabola_vertex_and_nan_at_an_end():
    levels = np.array([0.08, 0.1, 0.12, 0.14])
    curve = -(levels - 0.107) ** 2
    assert te._peak_level(levels, curve[None])[0] == pytest.approx(0.107, abs=1e-12)
    assert np.isnan(te._peak_level(levels, levels[None])[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(L=12, levels=[0.1], radii=[1], n=4), "L must"),
    (dict(L=6, levels=[0.6], radii=[1], n=4), "bit-flip probability"),
    (dict(L=6, levels=[0.1], radii=[3], n=4), "2r\\+1 < L"),
    (dict(L=6, levels=[0.1], radii=[1], n=1), "n \\(configurations\\)"),
])
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        te.cmi_grid(seed=0, **kwargs)


def test_cli_writes_the_toric_heatmap(tmp_path):
    """``phasebench cmi toric-bitflip --estimator exact`` on a small grid: strict JSON, CIs, the plot."""
    assert main(["cmi", "toric-bitflip", "--estimator", "exact", "--L", "6", "--radii", "1", "2", "--levels", "0.08",
                 "0.11", "0.14", "--n", "6", "--out", str(tmp_path)]) == 0
    out = json.loads((tmp_path / "cmi_exact.json").read_text())
    assert [(c["level"], c["r"]) for c in out["cells"]] == [(p, r) for p in (0.08, 0.11, 0.14) for r in (1, 2)]
    assert all(c["lo"] <= c["value"] <= c["hi"] and c["value"] > 0 for c in out["cells"])
    assert out["target"] == pytest.approx(0.10922, abs=1e-4) and (tmp_path / out["plot"]).exists()
    assert set(out["peak_level_per_radius"]) == {"1", "2"}
