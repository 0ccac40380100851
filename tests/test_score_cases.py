"""Score cases (suites/cases.py): generated from the registries, joined into the run's leaderboard, compared."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from phasebench.suites.case_records import CASE_FORMAT, join_task_cases, plain_json
from phasebench.suites.cases import case_id, companions, run_case, score_cases
from phasebench.suites.cli import main
from phasebench.suites.leaderboard import render_file
from phasebench.suites.runner import resolve_families, run
from phasebench.suites.tasks import TASKS, get_task

ROOT = Path(__file__).resolve().parent.parent
TINY = {"L": [8], "levels": [0.3, 1.0, 3.0], "radii": [0, 1, 2], "n_train": 200, "n_test": 100}
TIMING_KEYS = ("seconds", "fit_seconds", "wall_seconds")


def test_cases_cover_every_task_and_family_of_the_quick_division():
    cases = score_cases(["quick"])
    for name in TASKS.names():
        task = get_task(name)
        assert [f for d, t, f in cases if t == name] == resolve_families(task, None, task.config("quick"))
    ids = [case_id(*c) for c in cases]
    assert "toric-bitflip-cnn" in ids and len(set(ids)) == len(ids)
    assert case_id("full", "toric-bitflip", "cnn") == "toric-bitflip-cnn-full"


def test_companions_are_what_the_task_scores_against():
    toric = get_task("toric-bitflip")
    cfg = toric.config("quick")
    assert companions(toric, "cnn", cfg) == ["exact"]  # excess over q_r and gain shares need the exact oracle
    assert companions(toric, "exact", cfg) == [] and companions(toric, "mwpm", cfg) == []  # mwpm: global only
    gff = get_task("gff-markov")
    assert companions(gff, "cnn", gff.config("quick")) == []


def test_example_plugin_family_appears_as_cases(tmp_path):
    """The example plugin family (examples/window_mean), installed through its entry point, becomes cases with no
    edit to suites/: on every task whose model it supports (the GFF and Ising tasks, generation included), in both
    divisions."""
    dist = tmp_path / "phasebench_window_mean-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: phasebench-window-mean\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[phasebench.denoisers]\nwindow_mean = window_mean:WindowMean\n")
    path = [str(tmp_path), str(ROOT / "examples" / "window_mean"), os.environ.get("PYTHONPATH", "")]
    out = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "suites" / "benchmarks" / "test_scores.py"),
                          "--collect-only", "-q", "-p", "no:cacheprovider", "-k", "window_mean"],
                         capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))})
    assert out.returncode == 0, out.stdout + out.stderr
    cases = set(re.findall(r"test_score\[([\w-]+)\]", out.stdout))
    tasks = ("gff-generation", "gff-markov", "ising-generation", "ising-speciation", "ising-temperature")
    assert cases == {f"{t}-window_mean{d}" for t in tasks for d in ("", "-full")}


def toric_like_cases():
    """The case records of a noise-axis task with families exact, mwpm (global only), linear and cnn, and the
    summary of the run of all four as the runner orders it (the families untrainable first, each group by name;
    the local entries, exact first, then the global-only ones, then the exact global decoder, which comes with
    the exact family)."""
    entry = lambda fam, v: {"family": fam, "value": v}  # noqa: E731
    full = {"exact/L16": entry("exact", 1), "cnn/L16": entry("cnn", 3), "linear/L16": entry("linear", 2),
            "_mwpm/L16": entry("mwpm", 4), "_global_decoder": entry("exact-global decoder", 5)}
    order = ["exact", "mwpm", "cnn", "linear"]
    runs = {"exact": ["exact"], "mwpm": ["mwpm"], "cnn": ["exact", "cnn"], "linear": ["exact", "linear"]}
    cases = []
    for fam in order:
        summary = {k: copy.deepcopy(v) for k, v in full.items()
                   if v["family"] in runs[fam] or (k == "_global_decoder" and "exact" in runs[fam])}
        cells = [{"family": f, "value": full[f"{'_' if f == 'mwpm' else ''}{f}/L16"]["value"]} for f in runs[fam]]
        record = {"summary": summary, "cells": cells, "families": runs[fam], "wall_seconds": 1.0, "stage_seconds": {}}
        cases.append({"format": CASE_FORMAT, "task": "t", "family": fam, "division": "quick", "families": runs[fam],
                      "family_order": order, "provenance": {}, "record": record})
    return cases, full


def test_joined_cases_give_the_runs_summary_in_its_order():
    cases, full = toric_like_cases()
    cases[2]["record"]["summary"]["exact/L16"]["value"] = -1  # a companion's copy never replaces the own case's
    for shuffled in (cases, cases[::-1]):
        joined = join_task_cases(shuffled)
        assert list(joined["summary"]) == list(full) and joined["summary"] == full
        assert [c["family"] for c in joined["cells"]] == ["exact", "mwpm", "cnn", "linear"]
    alone = join_task_cases([cases[2]])  # the cnn case alone still carries its exact companion
    assert list(alone["summary"]) == ["exact/L16", "cnn/L16", "_global_decoder"]


def test_per_size_entries_of_every_family_merge():
    """ising-speciation keeps one entry per L with every family under ``local``: the cases' entries merge."""
    cases = []
    for fam in ("cnn", "linear"):
        summary = {"L8": {"family": "all", "lambda_global": {"value": 0.1}, "local": {fam: {"0": {"v": fam}}}}}
        cases.append({"format": CASE_FORMAT, "task": "s", "family": fam, "division": "quick", "families": [fam],
                      "family_order": ["cnn", "linear"], "provenance": {},
                      "record": {"summary": summary, "cells": [], "families": [fam]}})
    local = join_task_cases(cases)["summary"]["L8"]["local"]
    assert local == {"cnn": {"0": {"v": "cnn"}}, "linear": {"0": {"v": "linear"}}}


def without_timing(obj):
    if isinstance(obj, dict):
        return {k: 0.0 if k in TIMING_KEYS else without_timing(v) for k, v in obj.items() if k != "stage_seconds"}
    if isinstance(obj, list):
        return [without_timing(v) for v in obj]
    return obj


def benchmark_json(cases):
    return {"machine_info": {"cpu": {"count": 2}}, "datetime": "2026-12-02", "benchmarks": [
        {"name": f"test_score[{case_id(c['division'], c['task'], c['family'])}]", "stats": {"median": 1.0, "rounds": 1},
         "extra_info": plain_json(c)} for c in cases]}


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """gff-markov on a tiny grid: the run of exact and linear, and their two cases, with the same seeds."""
    out = tmp_path_factory.mktemp("scores")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PHASEBENCH_WORKERS", "1")  # fits in-process: no worker pool to start
        results = run(tasks=["gff-markov"], families=["exact", "linear"], out_dir=str(out / "run"), progress=False,
                      overrides=TINY)
        cases = [run_case("gff-markov", fam, overrides=TINY) for fam in ("linear", "exact")]
    return out, results, cases


def test_leaderboard_from_benchmark_json_equals_the_runs(tiny_runs):
    out, results, cases = tiny_runs
    speed = {"name": "test_speed", "fullname": "suites/benchmarks/test_x.py::test_speed",
             "stats": {"median": 0.002, "iqr": 0.0001, "rounds": 5}, "extra_info": {"ratio": 3.0}}
    bench = benchmark_json(cases)
    bench["benchmarks"].append(speed)
    # the cases draw no plots
    same = without_timing({**results, "tasks": {n: {**t, "plots": []} for n, t in results["tasks"].items()}})
    same["provenance"] = {**same["provenance"], "cases": 2}
    (out / "results.json").write_text(json.dumps(plain_json(same)))
    (out / "bench.json").write_text(json.dumps(without_timing(bench)))
    from_run, from_bench = render_file(out / "results.json"), render_file(out / "bench.json")
    scores, speeds = from_bench.split("# phasebench speed benchmarks")
    assert "| exact | 8 |" in from_run and "| linear | 8 |" in from_run
    assert scores.rstrip("\n") == from_run.rstrip("\n")  # the same leaderboard, numbers and all
    assert "test_speed" in speeds and "test_score" not in speeds  # speed benchmarks keep their own section


def test_compare_flags_a_degraded_score_and_exits_1(tiny_runs, tmp_path, capsys):
    out, results, cases = tiny_runs
    (tmp_path / "old.json").write_text(json.dumps(benchmark_json(cases)))
    (tmp_path / "same.json").write_text(json.dumps(plain_json(results)))
    assert main(["leaderboard", "--compare", str(tmp_path / "old.json"), str(tmp_path / "same.json"),
                 "--fail-on-regression"]) == 0
    assert "**0 regressions**, 0 other changes" in capsys.readouterr().out
    worse = plain_json(results)
    row = worse["tasks"]["gff-markov"]["summary"]["linear/L8"]["levels"][1]
    row["excess"][2] = {k: 10 * v for k, v in row["excess"][2].items()}  # r = 2 at lambda = 1: excess x 10
    (tmp_path / "worse.json").write_text(json.dumps(worse))
    args = ["leaderboard", "--compare", str(tmp_path / "old.json"), str(tmp_path / "worse.json")]
    assert main(args) == 0  # without the option, a regression is reported only
    text = capsys.readouterr().out
    assert "| linear | levels[level=1].excess[2] |" in text and "**REGRESSION**" in text and "**1 regression**" in text
    assert main(args + ["--fail-on-regression"]) == 1
    capsys.readouterr()
    assert main(args[:-1] + [str(tmp_path / "missing.json"), "--fail-on-regression"]) == 2
    assert main(["leaderboard", "--fail-on-regression", str(tmp_path / "old.json")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 2
