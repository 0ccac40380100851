"""ising-temperature: the global member's gap to the exact posterior, and the task's plumbing on a tiny grid."""

import math

import numpy as np
import pytest

from phasebench.lattice_models.channels import GaussianChannel
from phasebench.lattice_models.ising import Ising
from phasebench.suites.estimators import BootstrapConfig, bootstrap_indices, per_config_mse
from phasebench.suites.evaluators import evaluate_task
from phasebench.suites.tasks.base import TaskConfig
from phasebench.suites.objectives.parameter_transition import global_gap_to_exact
from phasebench.suites.tasks.ising_temperature import IsingTemperatureTask


def _posterior_setup(n=4000, L=4, T=2.3, level=0.5, seed=3):
    model = Ising(T=T)
    x = model.sample(n, L, seed=seed)
    ch = GaussianChannel()
    y = ch.corrupt(x, level, seed + 1, model.variable_type)
    q = model.exact_posterior_mean(y, ch, level, None)
    return x.astype(np.float64), q


def _record(dist, exact, raw_global):
    return {"global_dist_to_exact": dist[None, None], "exact": exact[None, None], "global": raw_global[None, None],
            "values": [2.3], "levels": [0.5]}


def test_orthogonality_gap_matches_the_paired_mse_difference_and_is_less_noisy():
    """E mse(f) - E mse(q) = E|f - q|^2 for the exact posterior mean q (tower property), checked on L = 4 data.

    f = 0.8 q + 0.1 tanh(y)-free shrinkage is a deliberately wrong estimate; the two estimators of the gap
    must agree within their combined standard error, and the orthogonality one must be the less noisy.
    """
    x, q = _posterior_setup()
    f = 0.8 * q
    mse_f, mse_q, dist = per_config_mse(f, x), per_config_mse(q, x), per_config_mse(f, q)
    raw = mse_f - mse_q
    se_raw = raw.std(ddof=1) / math.sqrt(len(raw))
    se_orth = dist.std(ddof=1) / math.sqrt(len(dist))
    assert abs(raw.mean() - dist.mean()) < 4 * math.hypot(se_raw, se_orth)
    assert se_orth < 0.5 * se_raw
    g = global_gap_to_exact(_record(dist, mse_q, mse_f), bootstrap_indices(len(dist), seed=1))
    assert g["value"] == pytest.approx(dist.mean() / mse_q.mean())
    assert g["lo"] < g["value"] < g["hi"]
    assert g["cells"] == 1 and g["cells_within_2pct"] == 0


def test_orthogonality_gap_is_zero_for_the_exact_posterior():
    x, q = _posterior_setup(n=200)
    mse_q = per_config_mse(q, x)
    g = global_gap_to_exact(_record(per_config_mse(q, q), mse_q, mse_q), bootstrap_indices(len(mse_q), seed=1))
    assert g["value"] == 0.0 and g["hi"] == 0.0 and g["cells_within_2pct"] == 1


def test_tiny_grid_end_to_end_records_the_gap_for_the_linear_family():
    """The runner's evaluation of the task's plan + summarize on a tiny grid: the linear global member is a linear filter, so
    its gap to the exact (nonlinear) posterior is strictly positive, finite and the same as the direct computation."""
    task = IsingTemperatureTask()
    cfg = TaskConfig(L=(6,), levels=(0.3, 1.0), radii=(), n_train=200, n_test=60, budget=5.0,
                     model_params_grid=({"T": 2.0}, {"T": 2.6}),
                     extra={"exact_max_L": 6, "exact_n": 20, "exact_n_by_L": {6: 30}, "data_n": 100})
    records = evaluate_task(task, ["linear"], cfg, lambda msg: None)
    rec = records[0]
    assert rec["global_dist_to_exact"].shape == (2, 2, 30)  # exact_n_by_L overrides exact_n at that size
    summary = task.summarize(records, BootstrapConfig(seed=cfg.seed))
    g = summary["linear"]["per_L"]["6"]["global_vs_exact_worst_rel_gap"]
    direct = rec["global_dist_to_exact"].mean(-1) / rec["exact"].mean(-1)
    assert g["value"] == pytest.approx(direct.max()) and 0 < g["value"] < 10
    assert g["lo"] <= g["value"] <= g["hi"]
    entry = summary["linear"]["per_L"]["6"]
    assert entry["phi_method"].startswith("mean |f_local - f_global|^2")
    _, rows = task.leaderboard_rows(summary)
    assert [r[4].endswith("Phi = E|f_r - f_global|^2") for r in rows if r[0] == "linear"] == [True]
    assert rec["local_to_global"].shape == (2, 2, 60) and (rec["local_to_global"] > 0).all()
    # Phi vs exact: E mse(f_r) - E mse(q) = E|f_r - q|^2, the local member's distance to the exact posterior
    n_ex = rec["exact"].shape[-1]
    paired, dist = rec["local"][..., :n_ex] - rec["exact"], rec["local_dist_to_exact"]
    se = np.hypot(paired.std(-1, ddof=1), dist.std(-1, ddof=1)) / math.sqrt(n_ex)
    assert (np.abs(paired.mean(-1) - dist.mean(-1)) < 3 * se).all()
    assert (dist.mean(-1) > 10 * dist.std(-1, ddof=1) / math.sqrt(n_ex)).all()


@pytest.mark.parametrize("channel_name", ["gaussian", "bitflip"])
def test_common_noise_puts_every_level_on_one_noising_path(channel_name):
    """task_split(common_noise=True): one z for every lambda (y = a x + s z), or one uniform per bit (a flip at p
    is a flip at every larger p); without it the levels draw independently."""
    from phasebench.lattice_models import make_channel
    from phasebench.suites.evaluation import task_split

    model, ch = Ising(T=2.3), make_channel(channel_name)
    levels = (0.1, 0.3, 1.0) if channel_name == "gaussian" else (0.05, 0.1, 0.3)
    cfg = TaskConfig(L=(6,), levels=levels, radii=(), n_train=10, n_test=40)
    _, test, common = task_split(model, ch, cfg, 6, list(levels), key=(0,), common_noise=True)
    _, _, independent = task_split(model, ch, cfg, 6, list(levels), key=(0,))
    x = test.samples.astype(np.float64)
    if channel_name == "gaussian":
        z = [(y - a * x) / s for y, (a, s) in zip(common, map(ch.amplitudes, levels))]
        assert np.allclose(z[0], z[1]) and np.allclose(z[0], z[2])
        z_ind = [(y - a * x) / s for y, (a, s) in zip(independent, map(ch.amplitudes, levels))]
        assert abs(np.corrcoef(z_ind[0].ravel(), z_ind[1].ravel())[0, 1]) < 0.1
    else:
        flips = [y != x for y in common]
        assert (flips[0] <= flips[1]).all() and (flips[1] <= flips[2]).all() and flips[0].any()
        flips_ind = [y != x for y in independent]
        assert not all((a <= b).all() for a, b in zip(flips_ind, flips_ind[1:]))


def test_linear_family_excess_equals_the_distance_between_its_members():
    """linear's members are nested projections (affine r-local filters within the global affine filters), so the
    excess mse(f_r) - mse(f_g) has the same mean as |f_r - f_g|^2: the two estimates agree within their combined
    standard error on independent test data, and the distance is the less noisy one (it drops the zero-mean
    cross term 2 (f_r - f_g)(f_g - x))."""
    from phasebench.suites.parallel_fit import fit_member

    model, ch, level, L = Ising(T=2.3), GaussianChannel(), 0.1, 6
    train = model.sample(2000, L, seed=11)
    x = model.sample(1500, L, seed=12)
    y = ch.corrupt(x, level, 13, model.variable_type)
    f_r, _ = fit_member("linear", 1, train, ch, [level], 0, None, model)
    f_g, _ = fit_member("linear", None, train, ch, [level], 0, None, model)
    assert f_r.nested_projections and f_g.nested_projections
    a, b = f_r.denoise(y, level), f_g.denoise(y, level)
    paired = per_config_mse(a, x) - per_config_mse(b, x)
    dist = per_config_mse(a, b)
    se = lambda v: v.std(ddof=1) / math.sqrt(len(v))  # noqa: E731
    assert dist.mean() > 10 * se(dist)  # a real excess, not zero
    assert abs(paired.mean() - dist.mean()) < 3 * math.hypot(se(paired), se(dist))
    assert se(dist) < 0.7 * se(paired)


def test_phi_uses_the_distance_only_for_nested_projections():
    from phasebench.suites.objectives.parameter_transition import phi_excess

    rec = {"local": np.full((1, 1, 3), 2.0), "global": np.full((1, 1, 3), 1.5), "local_to_global": np.full((1, 1, 3), 0.4)}
    assert (phi_excess({**rec, "nested_projections": True}) == 0.4).all()
    assert (phi_excess({**rec, "nested_projections": False}) == 0.5).all()


def test_values_evaluated_on_worker_processes_give_the_same_bytes(monkeypatch, tmp_path):
    """Above PARALLEL_SITE_EVALUATIONS the values of T are evaluated on the executor's workers: the records equal
    the in-process evaluation's bit for bit (a tiny torch cnn, with the threshold at 0 and two local worker
    processes)."""
    from phasebench.suites import executors
    from phasebench.suites.evaluators import parameter_scan

    monkeypatch.setenv("PHASEBENCH_CACHE", str(tmp_path))
    task = IsingTemperatureTask()
    cfg = TaskConfig(L=(6,), levels=(0.3, 1.0), radii=(), n_train=200, n_test=40, budget=0.3,
                     model_params_grid=({"T": 2.0}, {"T": 2.3}, {"T": 2.6}),
                     family_options={"cnn": {"width": 4, "depth": 0, "embed_dim": 4}},
                     extra={"exact_max_L": 6, "exact_n": 10, "data_n": 50})
    families = ["cnn"]
    with executors.activate(executors.SerialExecutor()):
        serial = evaluate_task(task, families, cfg, lambda msg: None)
    monkeypatch.setattr(parameter_scan, "PARALLEL_SITE_EVALUATIONS", 0)
    calls = []
    pool = executors.ProcessExecutor(workers=2)
    original = pool.map_unordered
    monkeypatch.setattr(pool, "map_unordered", lambda fn, items, *a, **kw: calls.append(len(items)) or original(fn, items, *a, **kw))
    with executors.activate(pool):
        parallel = evaluate_task(task, families, cfg, lambda msg: None)
    assert calls.count(3) == 1  # the three values went to the pool
    assert [r["family"] for r in parallel] == families
    for one, other in zip(serial, parallel):
        for key in ("local", "global", "local_to_global", "local_dist_to_exact", "global_dist_to_exact", "exact"):
            assert np.array_equal(one[key], other[key]), (one["family"], key)
