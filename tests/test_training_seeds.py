"""The placement score over training seeds: the estimator against hand computations, the seed axis of the
evaluation loop (one pass of fits, the further seeds' records), and the placement table of a run."""

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import stats

from phasebench.suites import evaluators
from phasebench.suites.estimators.training_seeds import placement_over_seeds, separated
from phasebench.suites.objectives.base import FULL_TRAIN_SEEDS
from phasebench.suites.placement import member_costs, placement_rows
from phasebench.suites.tasks import get_task


def _est(v, half=0.0196, sys=None):
    e = {"value": v, "lo": v - half, "hi": v + half}
    if sys is not None:
        e["systematic"] = {"lo": v - sys[0], "hi": v + sys[1]}
    return e


def test_rmse_and_mean_by_hand():
    """Three seeds: the mean's t interval, the RMSE's point and simultaneous limits, computed by hand."""
    vals, g = [1.01, 1.03, 0.99], 1.0
    s = placement_over_seeds([_est(v) for v in vals], g)
    sigma_c = 0.0196 / stats.norm.ppf(0.975)
    s2 = np.var(vals, ddof=1)
    se = math.sqrt(sigma_c**2 + s2 / 3)
    nu = se**4 / ((s2 / 3) ** 2 / 2)
    assert s["mean"]["value"] == pytest.approx(1.01)
    assert s["mean"]["hi"] - 1.01 == pytest.approx(stats.t.ppf(0.975, nu) * se)
    d = 0.01
    assert s["rmse"]["value"] == pytest.approx(math.sqrt(max(0, d * d - se * se) + sigma_c**2 + s2))
    tau2_hi = 2 * s2 / stats.chi2.ppf(0.0125, 2)
    assert s["rmse"]["hi"] == pytest.approx(math.sqrt((d + stats.t.ppf(1 - 0.0125, nu) * se) ** 2 + sigma_c**2 + tau2_hi))
    assert s["rmse"]["lo"] <= s["rmse"]["value"] <= s["rmse"]["hi"]
    assert s["consistent"] is True and s["point_errors"][0] == pytest.approx(0.01)


def test_unseeded_and_single_seed_and_failures():
    one = placement_over_seeds([_est(1.05)], 1.0, seeded=False)  # tau = 0: a bias 2.5 sigma_c off
    assert one["rmse"]["value"] == pytest.approx(0.05, rel=0.1) and one["rmse"]["hi"] is not None
    assert one["rmse"]["lo"] > 0.01 and one["consistent"] is False
    learned_once = placement_over_seeds([_est(1.05)], 1.0, seeded=True)  # seed spread unmeasured
    assert learned_once["rmse"]["hi"] is None and learned_once["seed_sd"] is None
    failed = placement_over_seeds([_est(1.0), {"value": float("nan"), "lo": None, "hi": None}], 1.0)
    assert failed["rmse"] is None and failed["failed_seeds"] == 1 and "without an estimate" in failed["undefined"]
    no_ci = placement_over_seeds([{"value": 1.0, "lo": None, "hi": None}], 1.0)
    assert no_ci["rmse"] is None and "without an interval" in no_ci["undefined"]


def test_systematic_offsets_widen_the_mean_and_separation():
    s = placement_over_seeds([_est(1.0, sys=(0.05, 0.0))] * 3, 0.94)
    assert s["mean"]["combined"]["lo"] == pytest.approx(1.0 - math.hypot(0.0196, 0.05), abs=1e-4)
    assert s["consistent"] is False  # 0.94 lies below 1 - 0.0537
    good = placement_over_seeds([_est(v) for v in (1.0, 1.001, 0.999)], 1.0)
    bad = placement_over_seeds([_est(v) for v in (1.3, 1.31, 1.29)], 1.0)
    sep = separated({"good": good, "bad": bad, "none": None})
    assert sep == {"good": ["bad"], "bad": [], "none": []}


def test_full_division_trains_three_seeds_and_quick_one():
    task = get_task("ising-temperature")
    assert task.division_config("full").train_seeds == FULL_TRAIN_SEEDS >= 3
    assert task.division_config("quick").train_seeds == 1
    assert get_task("gff-markov").division_config("full").train_seeds == FULL_TRAIN_SEEDS
    assert get_task("toric-gaussian").division_config("full").train_seeds == 1  # unscored: nothing combines seeds
    assert get_task("gff-generation").division_config("full").train_seeds == 1


def test_further_seeds_refit_only_trainable_members(tmp_path, monkeypatch):
    """toric-bitflip with exact (untrainable, the oracle the others are scored against) and linear: the second
    seed fits linear again with another seed, reuses exact's fit and evaluates both."""
    monkeypatch.setenv("PHASEBENCH_FIT_CACHE", str(tmp_path))
    task = get_task("toric-bitflip")
    cfg = dataclasses.replace(task.config("quick"), L=(8,), levels=(0.06, 0.1, 0.14), radii=(1, 2, 3), n_train=50,
                              n_test=20, train_seeds=2, extra={"centres_per_config": 4, "learned_radii": (1, 2, 3)})
    seen = []
    real = evaluators.fit_members

    def spy(specs, *a, **k):
        seen.extend((s.family, s.radius, s.seed) for s in specs)
        return real(specs, *a, **k)

    monkeypatch.setattr(evaluators, "fit_members", spy)
    replicas = {}
    records = evaluators.evaluate_task(task, ["exact", "linear"], cfg, lambda m: None, replicas=replicas)
    exact_fits = [s for s in seen if s[0] == "exact"]
    linear_fits = [s for s in seen if s[0] == "linear"]
    assert len(linear_fits) == 2 * len(exact_fits) and len({s[2] for s in linear_fits}) == len(linear_fits)
    assert sorted(replicas) == [1] and {r["family"] for r in replicas[1]} == {"exact", "linear"}
    # linear does not depend on its seed: the second seed's records are the first's
    lin0 = next(r for r in records if r["family"] == "linear")
    lin1 = next(r for r in replicas[1] if r["family"] == "linear")
    np.testing.assert_array_equal(lin0["mse"], lin1["mse"])


def test_run_records_a_placement_table_and_renders_it(tmp_path, monkeypatch):
    from phasebench.suites.runner import run

    monkeypatch.setenv("PHASEBENCH_FIT_CACHE", str(tmp_path / "fits"))
    res = run(tasks=["ising-temperature"], families=["linear"], out_dir=str(tmp_path / "out"), progress=False,
              overrides={"train_seeds": 2, "L": (6, 10), "n_train": 100, "n_test": 100,
                         "axis_values": (2.0, 2.2, 2.27, 2.35, 2.6)}, executor="serial")
    t = res["tasks"]["ising-temperature"]
    p = t["placement"]
    assert p["train_seeds"] == 2 and p["families"]["linear"]["seeds"] == 2
    assert {c["train_seed"] for c in t["cells"]} == {0, 1}
    header, rows = placement_rows(p)
    assert rows[0][0] == "linear" and "placement score" in header[2]
    assert "plots/ising-temperature-placement-vs-params.png" in t["plots"]
    assert (tmp_path / "out" / "plots" / "ising-temperature-placement-vs-params.png").stat().st_size > 0
    text = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "Placement scored as an estimator" in text and "2 training seeds" in text
    json.loads((tmp_path / "out" / "results.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def test_member_costs_from_fit_records():
    entry = {"members": {"1": {"n_params": 10, "flops_per_site": 5.0, "fit_seconds": 2.0,
                               "fit": {"train_sites": 100, "device": "cpu"}},
                         "2": {"n_params": 30, "flops_per_site": 7.0, "fit_seconds": 3.0, "fit": {}}}}
    c = member_costs(entry)
    assert c == {"n_params": 30, "flops_per_site": 7.0, "training_flops": 3 * 5.0 * 100, "fit_seconds": 5.0,
                 "members": 2, "device": "cpu"}


def test_merged_placement_tables_keep_each_familys_own_row():
    from phasebench.suites.case_records import join_placements

    def case(fam, rows):
        p = {"target": 1.0, "train_seeds": 3, "families": {k: {"family": k, **placement_over_seeds([_est(v)] * 2, 1.0)}
                                                           for k, v in rows.items()}}
        return {"family": fam, "record": {"placement": p}}

    joined = join_placements([case("exact", {"exact": 1.0, "cnn": 1.5}), case("cnn", {"cnn": 1.3, "exact": 1.0})],
                             ["exact", "cnn"])
    assert joined["families"]["cnn"]["values"] == [1.3, 1.3] and joined["families"]["exact"]["values"] == [1.0, 1.0]
    assert joined["separated_below"]["exact"] == ["cnn"]


def test_overall_ranks_and_mean_rank_interval():
    from phasebench.suites.overall import overall, overall_rows, ranks

    assert ranks({"a": 1.0, "b": 1.0, "c": 0.5, "d": float("nan")}) == {"a": 2.5, "b": 2.5, "c": 1.0, "d": 4.0}
    far = {"t1": {"a": {"value": 1.0, "lo": 0.9, "hi": 1.1}, "b": {"value": 5.0, "lo": 4.9, "hi": 5.1}},
           "t2": {"a": {"value": 1.0, "lo": 0.9, "hi": 1.1}, "b": None}, "t3": {"a": {"value": 1.0, "lo": 0.9, "hi": 1.1}}}
    table = overall(far)
    assert table["tasks"] == ["t1", "t2"]  # a task ranking one family says nothing
    assert table["families"]["a"] == {"tasks": {"t1": 1.0, "t2": 1.0}, "mean_rank": 1.0, "lo": 1.0, "hi": 1.0}
    assert table["families"]["b"]["mean_rank"] == 2.0
    close = overall({"t": {"a": {"value": 1.0, "lo": 0.8, "hi": 1.2}, "b": {"value": 1.05, "lo": 0.85, "hi": None}}})
    assert close["families"]["a"]["lo"] == 1.0 and close["families"]["a"]["hi"] == 2.0
    assert overall_rows(table)[1][0][:3] == ["a", "2", "1.00 [1.00, 1.00]"]


def test_a_placement_table_with_an_undefined_score_renders_after_a_strict_json_round_trip():
    """A family without an estimate has ``mean: null`` in results.json; read back it must render, not crash."""
    from phasebench.lattice_models.provenance import strict_json
    from phasebench.suites.results_format import missing_numbers_as_nan

    row = placement_over_seeds([{"value": float("nan"), "lo": None, "hi": None}], 1.0)
    row.update(family="linear", costs=member_costs({"members": {}}))
    placement = {"target": 1.0, "quantity": "x", "train_seeds": 1, "families": {"linear": row}, "separated_below": {}}
    text = json.dumps(strict_json(placement), allow_nan=False)
    header, rows = placement_rows(missing_numbers_as_nan(json.loads(text)))
    assert rows[0][0] == "linear" and "score undefined" in rows[0][1]
