"""The generation tasks (:class:`phasebench.suites.objectives.Generation`) on the runner's path."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from phasebench.lattice_models.provenance import strict_json
from phasebench.suites import executors
from phasebench.suites.compare import ScoreChange, classify
from phasebench.suites.evaluation import speciation_level
from phasebench.suites.generation.schedule import denoiser_levels
from phasebench.suites.runner import apply_overrides, task_record
from phasebench.suites.sweep_plan import cost_figures
from phasebench.suites.tasks import get_task


def tiny(task_name: str, **extra):
    """A task and a small grid of it: L = 8, one radius, 40 samples on a 20-step path."""
    task = get_task(task_name)
    cfg = task.config("quick")
    settings = {"n_generated": 40, "steps": 20, **extra}
    cfg = apply_overrides(task, cfg, {"L": (8,), "radii": (1,), "n_train": 300, "n_test": 200, "budget": 1.0,
                                      "extra": settings})
    return task, cfg


def untimed(obj):
    """``obj`` without its clock readings (``*_seconds``)."""
    if isinstance(obj, dict):
        return {k: untimed(v) for k, v in obj.items() if not k.endswith("seconds")}
    return [untimed(v) for v in obj] if isinstance(obj, list) else obj


def test_plan_fits_members_on_the_path_and_reads_no_noisy_test_sets():
    task, cfg = tiny("gff-generation", windows=((0.1, 1.0), (1.0, 10.0)), hybrid_radii=(1,))
    studies = {s.label: s for s in task.plan(["exact", "linear"], cfg)}
    assert set(studies) == {"exact:L8", "linear:L8"}
    levels = denoiser_levels(task.path(cfg, 8))
    for study in studies.values():
        assert study.evaluation == "generation" and not study.noisy_tests and study.levels == levels
    names = [s["name"] for s in studies["exact:L8"].settings["schedules"]]
    assert names == ["r1", "global", "r1+global[0.1:1]", "r1+global[1:10]"]  # the self-check only for the global family
    linear = studies["linear:L8"]
    assert [s["name"] for s in linear.settings["schedules"]] == ["r1", "r1+global[0.1:1]", "r1+global[1:10]"]
    assert linear.members["global"].family == "exact" and linear.members[1].family == "linear"
    seeds = {s.settings["seed"] for s in studies.values()}
    assert len(seeds) == 1  # common random numbers across families
    # the cost model counts the schedules' denoiser calls, not noisy test sets
    units = cost_figures(task, ["linear"], cfg, 1)["units"]
    assert units == 64 * (300 + 200 + 40 * len(levels) * 3)


def test_hybrid_windows_run_only_where_asked():
    task, cfg = tiny("ising-generation", windows=((0.1, 0.2),), hybrid_radii=(1,), self_check=False,
                     hybrid_at=[{"L": 8, "T": 2.0}])
    cfg = dataclasses.replace(cfg, model_params_grid=({"T": 2.0}, {"T": 2.6}))
    names = {s.label: [x["name"] for x in s.settings["schedules"]] for s in task.plan(["bp"], cfg)}
    assert names == {"bp:L8 T=2": ["r1", "r1+global[0.1:0.2]"], "bp:L8 T=2.6": ["r1"]}


def test_bad_grids_are_refused_before_any_work():
    task = get_task("gff-generation")
    cfg = task.config("quick")
    with pytest.raises(ValueError, match="outside the path"):
        apply_overrides(task, cfg, {"extra": {"windows": ((1e-9, 1.0),)}})
    with pytest.raises(ValueError, match="hybrid radii"):
        apply_overrides(task, cfg, {"extra": {"windows": ((0.1, 1.0),), "hybrid_radii": (2,)}})
    ising = get_task("ising-generation")
    with pytest.raises(ValueError, match="no global member at L=16"):  # the transfer matrix stops at L = 12
        apply_overrides(ising, ising.config("quick"), {"L": (16,), "extra": {"self_check": True}})


def test_a_gff_run_records_every_schedule_reproducibly_in_strict_json(tmp_path, monkeypatch):
    monkeypatch.delenv("PHASEBENCH_FIT_CACHE", raising=False)  # a cached fit's record names the cache
    task, cfg = tiny("gff-generation", windows=((0.1, 1.0),), hybrid_radii=(1,))
    with executors.activate(executors.SerialExecutor()):
        first = task_record(task, ["exact", "linear"], cfg, tmp_path)
        second = task_record(task, ["exact", "linear"], cfg)
    summaries = [json.dumps(untimed(strict_json(r["summary"])), allow_nan=False) for r in (first, second)]
    assert summaries[0] == summaries[1]
    exact = first["summary"]["exact:L8"]
    assert set(exact["schedules"]) == {"r1", "global", "r1+global[0.1:1]"}
    hybrid = exact["schedules"]["r1+global[0.1:1]"]
    assert 0 < hybrid["global_fraction"] < 1 and hybrid["denoiser_calls"]["global"] > 0
    assert exact["schedules"]["global"]["global_fraction"] == 1 and exact["schedules"]["global"]["denoiser_calls"]["local"] == 0
    assert exact["schedules"]["r1"]["global_fraction"] == 0 and exact["schedules"]["r1"]["denoiser_calls"]["global"] == 0
    assert exact["hybrid"]["r1"]["best_window"] == [0.1, 1.0]
    assert exact["hybrid"]["r1"]["transition"]["speciation"] > 0
    assert {c["schedule"] for c in first["cells"]} == {"r1", "global", "r1+global[0.1:1]"}
    assert len(first["plots"]) == 4  # W1 against r, histograms, samples, hybrid windows
    header, rows = task.leaderboard_rows(first["summary"])
    assert all(len(r) == len(header) for r in rows)


def test_local_generation_below_tc_loses_the_order_the_theory_says_it_must():
    """Ising T = 2, L = 6: a radius-1 member decides the sign of m region by region, so <|m|> and the Binder
    cumulant fall far below the ordered ensemble's and W1 of m exceeds its permutation null (the quick grid)."""
    task = get_task("ising-generation")
    cfg = dataclasses.replace(task.config("quick"), radii=(1,), extra={"n_generated": 100, "self_check": False})
    with executors.activate(executors.SerialExecutor()):
        record = task_record(task, ["bp"], cfg)
    r1 = record["summary"]["bp:L6"]["schedules"]["r1"]
    abs_m = r1["observables"]["abs_m"]
    assert not abs_m["consistent"] and abs_m["hi"] < 0.6 * abs_m["reference"]
    assert not r1["observables"]["binder"]["consistent"]
    assert not r1["wasserstein"]["consistent"] and r1["wasserstein"]["lo"] > r1["wasserstein"]["null_quantile"]


def test_speciation_level_is_the_inverse_top_covariance_eigenvalue():
    rng = np.random.default_rng(0)
    m = rng.choice([-1.0, 1.0], size=4000)  # perfectly ordered 2 x 2 spins: covariance 1 in every entry
    x = np.repeat(m[:, None], 4, axis=1).reshape(-1, 1, 2, 2)
    assert speciation_level(x) == pytest.approx(1 / 4, rel=0.01)


def test_a_w1_that_grows_outside_both_intervals_is_a_regression():
    change = classify(ScoreChange("t", "f", "s.wasserstein", (0.01, 0.005, 0.015), (0.1, 0.09, 0.11)), None)
    assert change.flagged and change.regression


def test_the_best_window_is_the_cheapest_consistent_one_else_the_smallest_w1():
    task = get_task("ising-generation")

    def run(window, fraction, consistent, w1):
        return {"name": f"r1+global[{window[0]}:{window[1]}]", "radius": 1, "window": list(window),
                "global_fraction": fraction, "all_consistent": consistent, "wasserstein": {"value": w1}}

    def summary(*runs):
        rec = {"schedules": [dict(r) for r in runs], "speciation_lambda": 0.03}  # p_S = 0.4154 under bit flips
        return task.hybrid_summary(rec, {r["name"]: r for r in runs})["r1"]

    h = summary(run((0.25, 0.35), 0.1, False, 0.04), run((0.15, 0.45), 0.4, True, 0.06), run((0.25, 0.5), 0.66, True, 0.1))
    assert h["minimal_global_fraction"] == 0.4 and h["best_window"] == [0.15, 0.45] and h["speciation_in_best_window"]
    h = summary(run((0.25, 0.35), 0.1, False, 0.04), run((0.45, 0.5), 0.3, False, 0.4))
    assert h["minimal_global_fraction"] is None and h["best_window"] == [0.25, 0.35] and not h["speciation_in_best_window"]
