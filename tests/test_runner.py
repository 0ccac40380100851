"""End to end: a small run writes results.json, leaderboard.md and plots; leaderboards re-render."""

import json

import pytest

from phasebench.suites.cli import main
from phasebench.suites.estimators import N_RESAMPLES
from phasebench.suites.leaderboard import render_file
from phasebench.suites.runner import run


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    overrides = {"L": [16], "levels": [0.3, 1.0, 3.0], "radii": [0, 1, 2], "n_train": 400, "n_test": 300}
    results = run(tasks=["gff-markov"], families=["exact", "linear"], out_dir=str(out), progress=False, overrides=overrides)
    return out, results


def test_run_writes_all_outputs(small_run):
    out, results = small_run
    assert (out / "results.json").exists() and (out / "leaderboard.md").exists()
    task = results["tasks"]["gff-markov"]
    for p in task["plots"]:
        assert (out / p).stat().st_size > 1000
    prov = results["provenance"]
    for key in ("package_version", "git_commit", "hardware", "wall_seconds", "division"):
        assert key in prov
    cell = task["cells"][0]
    for key in ("mse", "excess", "excess_theory", "n_params", "reference"):
        assert key in cell
    assert cell["mse"]["lo"] <= cell["mse"]["mean"] <= cell["mse"]["hi"]
    s = task["summary"]["exact/L16"]
    assert s["datasets"]["train"] and s["datasets"]["test"]
    assert not s["false_positive"]
    # one bootstrap configuration per task, recorded with its results and stated on the leaderboard
    assert task["bootstrap"]["n_resamples"] == N_RESAMPLES and task["bootstrap"]["seed"] == task["config"]["seed"] == 0
    assert f"{N_RESAMPLES} resamples, seeds derived from the task seed 0" in (out / "leaderboard.md").read_text()


def test_exact_family_decay_length_matches_markov_length(small_run):
    _, results = small_run
    for row in results["tasks"]["gff-markov"]["summary"]["exact/L16"]["levels"]:
        if len(row["xi_eff"]["radii_used"]) >= 2:
            assert row["xi_eff"]["lo"] * 0.9 <= row["xi_markov"] <= row["xi_eff"]["hi"] * 1.1


def test_gff_calibration_is_paired_with_the_exact_oracle(small_run):
    """The score is xi_eff over the exact r-local oracle's from the same fit on the same configurations: 1 in every
    replicate for the oracle itself, whatever the fit's bias against the Markov length (fit_bias, below 1 here)."""
    _, results = small_run
    summary = results["tasks"]["gff-markov"]["summary"]
    for key in ("exact/L16", "linear/L16"):
        assert summary[key]["score_reference"] == "exact r-local oracle, paired"
    exact = summary["exact/L16"]
    assert exact["xi_ratio_worst"] == 0.0 and exact["levels_consistent"] == exact["levels_resolved"] == 3
    for row in exact["levels"]:
        assert row["xi_ratio"] == {"value": 1.0, "lo": 1.0, "hi": 1.0}
        assert row["fit_bias"] < 1.0
    for row in summary["linear/L16"]["levels"]:  # the oracle's fit shares the family's radii and weights
        assert row["xi_paired"]["radii_used"] and row["xi_paired"]["xi_oracle"]["value"] > 0


def test_excess_ratio_to_the_exact_r_local_oracle(small_run):
    """Per radius, excess(family) / excess(oracle) on the same configurations: exactly 1 for the oracle itself (no
    interval where its excess is not resolved: r = 2 at lambda = 3, excess 3e-5), and for the r-local linear family
    (the Gaussian optimum's form, fitted on 400 configurations) 1 inside or below its interval."""
    _, results = small_run
    summary = results["tasks"]["gff-markov"]["summary"]
    oracle = [e for row in summary["exact/L16"]["levels"] for e in row["excess_ratio"]]
    assert all(e["mean"] == 1.0 for e in oracle)
    assert sum((e["lo"], e["hi"]) == (1.0, 1.0) for e in oracle) == 8
    resolved = 0
    for row in summary["linear/L16"]["levels"]:
        assert len(row["excess_ratio"]) == 3
        for e in row["excess_ratio"]:
            if e["lo"] == e["lo"]:  # an interval
                resolved += 1
                assert e["hi"] >= 1.0 and e["lo"] <= e["mean"] <= e["hi"]
    assert resolved == 8


def test_leaderboard_rerenders_from_results(small_run, capsys):
    out, _ = small_run
    text = render_file(out / "results.json")
    assert "gff-markov" in text and "| exact |" in text and "| linear |" in text
    assert main(["leaderboard", str(out / "results.json"), "--out", str(out / "lb.md")]) == 0
    assert (out / "lb.md").read_text() == text
    assert text == (out / "leaderboard.md").read_text()  # rendered from the file as from the run's own records


def test_results_are_strict_json(small_run):
    """No NaN or Infinity tokens: a missing number is null (a browser's JSON.parse accepts the file)."""
    out, _ = small_run

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    json.loads((out / "results.json").read_text(), parse_constant=refuse)


def test_strict_json_round_trip_keeps_missing_numbers_and_meaningful_nulls():
    import math

    import numpy as np

    from phasebench.lattice_models.provenance import strict_json
    from phasebench.suites.results_format import missing_numbers_as_nan

    record = {"value": float("nan"), "lo": np.float64("inf"), "hi": 1.0, "cells": [{"radius": None, "xi": float("nan")}],
              "arr": np.array([1.0, np.nan])}
    strict = strict_json(record)
    assert strict["value"] is None and strict["lo"] is None and strict["arr"] == [1.0, None]
    back = missing_numbers_as_nan(json.loads(json.dumps(strict, allow_nan=False)))
    assert math.isnan(back["value"]) and math.isnan(back["lo"]) and back["hi"] == 1.0
    assert back["cells"][0]["radius"] is None and math.isnan(back["cells"][0]["xi"])


def test_leaderboard_renders_pytest_benchmark_json(tmp_path):
    bench = {"machine_info": {"cpu": {"brand_raw": "TestCPU", "count": 2}, "python_version": "3.11"},
             "datetime": "2026-11-26", "benchmarks": [
                 {"fullname": "suites/benchmarks/test_x.py::test_a", "stats": {"median": 0.0012, "iqr": 0.0001, "rounds": 5},
                  "extra_info": {"ratio": 12.5}}]}
    p = tmp_path / "b.json"
    p.write_text(json.dumps(bench))
    text = render_file(p)
    assert "TestCPU" in text and "1.2 ms" in text and "ratio=12.5" in text


def test_refused_family_is_marked(tmp_path):
    from phasebench.denoisers import DENOISERS, DenoiserFamily

    class Leaky(DenoiserFamily):
        def _fit(self, *a):
            pass

        def _denoise(self, y, level):
            return 0.5 * y + 0.01 * y.mean(axis=(2, 3), keepdims=True)

    DENOISERS.register("test-leaky")(Leaky)
    try:
        res = run(tasks=["gff-markov"], families=["test-leaky"], out_dir=str(tmp_path), progress=False,
                  overrides={"L": [8], "levels": [1.0], "radii": [1], "n_train": 20, "n_test": 20})
    finally:
        DENOISERS._entries.pop("test-leaky")
    s = res["tasks"]["gff-markov"]["summary"]["test-leaky/L8"]
    assert s["refused"]
    assert "REFUSED" in (tmp_path / "leaderboard.md").read_text()
