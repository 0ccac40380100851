"""toric-bitflip end to end on a tiny grid: records, the excess over the exact r-local optimum, the summary."""

import math

import numpy as np
import pytest

from suites.tasks.base import TaskConfig
from suites.tasks.toric_bitflip import ToricBitflipTask


@pytest.fixture(scope="module")
def tiny():
    task = ToricBitflipTask()
    cfg = TaskConfig(L=(8,), levels=(0.06, 0.12), radii=(1, 2), n_train=60, n_test=40, budget=2.0,
                     families=("exact", "linear"),
                     extra={"centres_per_config": 6, "learned_radii": (1, 2), "global_L": (), "global_n": 10})
    records = task.evaluate_all(["exact", "linear"], cfg, lambda msg: None)
    return task, records, task.summarize(records)


def test_excess_over_exact_local_is_the_orthogonal_distance(tiny):
    """E mse(f_r) - E mse(q_r) = E|f_r - q_r|^2 for an r-local f_r: the reported excess agrees with the paired
    MSE difference within the latter's error bar, and it is strictly positive (a linear filter is not Bayes-optimal)."""
    task, records, summary = tiny
    exact, linear = (next(r for r in records if r["kind"] == "local" and r["family"] == f) for f in ("exact", "linear"))
    assert np.isnan(exact["dist_to_exact"]).all()  # the oracle has no excess over itself
    for i, r in enumerate(linear["radii"]):
        for j in range(len(linear["levels"])):
            d = linear["dist_to_exact"][i, j]
            paired = linear["mse"][i, j] - exact["mse"][exact["radii"].index(r), j]
            se = paired.std(ddof=1) / math.sqrt(len(paired))
            assert d.mean() > 0
            assert abs(paired.mean() - d.mean()) < 4 * se + 1e-12
    entry = summary["linear/L8"]["excess_over_exact_local"]
    assert entry[0][0]["mean"] == pytest.approx(linear["dist_to_exact"][0, 0].mean())
    header, rows = task.leaderboard_rows(summary)
    row = next(r for r in rows if r[0] == "linear")
    assert len(row) == len(header) and "r=1:" in row[header.index("excess over exact r-local, worst p per r (relative)")]
    cells = [c for c in task.cells(records) if c["family"] == "linear"]
    assert all(c["excess_over_exact_local"] > 0 for c in cells)
