"""Resumable, crash-safe runs (suites/results_store.py): a run killed mid-sweep loses only the cell in flight,
a rerun completes it to the uninterrupted results, the store never holds a partial line, code versions are
never mixed, and ``--dry-run`` plans the cells that the run then computes."""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from test_interrupts import _untimed as untimed  # results.json less timings and provenance

from phasebench.suites.cli import main
from phasebench.suites.results_store import ResultsStore, cell_key

# two cells of a few seconds each: gff-markov with linear, toric-gaussian with mwpm (each task takes the families
# it accepts)
GRID = ["--task", "gff-markov", "--task", "toric-gaussian", "--family", "linear", "--family", "mwpm", "--L", "8",
        "--levels", "0.3", "1", "3", "--radii", "1", "2", "--n-train", "64", "--n-test", "32", "--no-progress"]
TIMEOUT_SECONDS = 300



@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    return tmp_path_factory.mktemp("datasets")


def start(out, datasets, *extra):
    env = dict(os.environ, PHASEBENCH_CACHE=str(datasets), PHASEBENCH_WORKERS="1")
    env.pop("PHASEBENCH_FIT_CACHE", None)
    return subprocess.Popen([sys.executable, "-m", "phasebench.suites.cli", "run", *GRID, "--out", str(out), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def store_lines(out):
    """The store's lines, each checked to be a whole line of valid JSON (a partial line fails here)."""
    path = out / "cells.jsonl"
    if not path.exists():
        return []
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "the store ends in a partial line"
    lines = text.splitlines()
    for line in lines:
        json.loads(line)
    return lines


def watch(proc, out, until=lambda lines: False):
    """Poll the store every 10 ms until the run exits or ``until(lines)``; every poll checks every line."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while proc.poll() is None and time.monotonic() < deadline:
        lines = store_lines(out)
        if until(lines):
            return lines
        time.sleep(0.01)
    return store_lines(out)


def dry_run(out, datasets, capsys):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PHASEBENCH_CACHE", str(datasets))
        assert main(["run", *GRID, "--out", str(out), "--dry-run"]) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, datasets):
    out = tmp_path_factory.mktemp("uninterrupted")
    proc = start(out, datasets)
    lines = watch(proc, out)
    assert proc.wait() == 0, proc.stderr.read()
    assert len(lines) == 2
    return out, untimed(json.loads((out / "results.json").read_text()))


def test_dry_run_plans_the_cells_that_the_run_computes(tmp_path, datasets, uninterrupted, capsys):
    fresh = dry_run(tmp_path / "fresh", datasets, capsys)
    assert fresh.startswith("plan: 2 cells, 0 done") and "2 to run" in fresh
    assert "gff-markov [linear]" in fresh and "toric-gaussian [mwpm]" in fresh
    assert not (tmp_path / "fresh").exists()  # no work, no output
    out, _ = uninterrupted
    assert len(store_lines(out)) == 2  # what the fresh plan said the run would compute
    again = dry_run(out, datasets, capsys)
    assert again.startswith("plan: 2 cells, 2 done") and "0 to run" in again and "to run\n" not in again


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_run_keeps_its_finished_cells_and_a_rerun_completes_it(tmp_path, datasets, uninterrupted, capsys,
                                                                      signum):
    out = tmp_path / "out"
    proc = start(out, datasets)
    first = watch(proc, out, until=lambda lines: len(lines) >= 1)
    proc.send_signal(signum)
    status = proc.wait(timeout=60)
    assert len(first) == 1, "the run ended before it could be interrupted"
    kept = store_lines(out)
    assert kept[0] == first[0]  # the finished cell kept whole
    # on a starved machine the second cell may finish between the poll and the signal: then nothing is in flight
    if len(kept) == 1:  # the cell in flight was lost
        if signum == signal.SIGINT:
            err = proc.stderr.read().strip().splitlines()
            assert status == 130, "\n".join(err)
            assert len(err) == 1 and f"the finished cells are in {out / 'cells.jsonl'}" in err[0]
        plan = dry_run(out, datasets, capsys)
        assert plan.startswith("plan: 2 cells, 1 done") and "1 to run" in plan

    proc = start(out, datasets)
    lines = watch(proc, out)
    assert proc.wait() == 0, proc.stderr.read()
    assert lines[0] == first[0] and len(lines) == 2  # the finished cell was not recomputed
    assert len({json.loads(line)["key"] for line in lines}) == 2
    assert untimed(json.loads((out / "results.json").read_text())) == uninterrupted[1]


def test_other_code_versions_are_kept_apart_and_never_mixed(tmp_path, datasets, uninterrupted, capsys):
    out = tmp_path / "out"
    shutil.copytree(uninterrupted[0], out)
    store = ResultsStore(out)
    ours = store.entries()
    foreign = json.loads(json.dumps(ours[0]))
    foreign["code_version"] = foreign["spec"]["code_version"] = "0.0.1+gdeadbeef0000"
    foreign["key"] = cell_key(foreign["spec"])
    foreign["record"]["summary"]["linear/L8"]["xi_ratio_worst"] = 123.0  # what the other code scored
    store.append({k: v for k, v in foreign.items() if k != "format"})
    assert store.versions() == [ours[0]["code_version"], "0.0.1+gdeadbeef0000"]

    assert main(["leaderboard", str(out)]) == 2  # a store that mixes versions
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mixes code versions" in err[0] and "0.0.1+gdeadbeef0000" in err[0]

    with pytest.MonkeyPatch.context() as mp:  # the rerun takes its own version's cells and computes nothing
        mp.setenv("PHASEBENCH_CACHE", str(datasets))
        assert main(["run", *GRID, "--out", str(out)]) == 0
    capsys.readouterr()
    results = json.loads((out / "results.json").read_text())
    assert untimed(results) == uninterrupted[1] and results["provenance"]["cells"] == {"planned": 2, "from_store": 2}
    assert len(store.entries()) == 3  # the other version's cell stays, unused
    version = results["provenance"]["code_version"]
    assert f"code version {version} (every task below)" in (out / "leaderboard.md").read_text()

    other = dict(results, provenance={**results["provenance"], "code_version": "0.0.1+gdeadbeef0000"})
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert main(["leaderboard", str(out / "results.json"), str(tmp_path / "other.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different code versions" in err[0]
    assert main(["leaderboard", str(out / "results.json")]) == 0


def test_a_corrupted_store_is_refused_with_its_line(tmp_path, capsys):
    (tmp_path / "cells.jsonl").write_text('{"format": "phasebench-cell/1"\n')
    assert main(["run", *GRID, "--out", str(tmp_path), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cells.jsonl:1: not a phasebench cell line" in err[0]


def test_the_cost_model_scales_a_stored_cell_of_the_task(tmp_path):
    """Without history the reference rates (built-in tasks) or the defaults; with a stored cell of the task, its measured seconds scaled: the data
    part by units, the scoring by score entries, learned fits by the budgets per slot (suites/sweep_plan.py)."""
    from types import SimpleNamespace

    from phasebench.suites.sweep_plan import (DEFAULT_SECONDS_PER_SCORE, DEFAULT_SECONDS_PER_UNIT, REFERENCE_RATES,
                                              Cell, estimate_seconds, fixed_seconds, history_rates)

    store = ResultsStore(tmp_path)
    old = {"units": 1000.0, "score_units": 4.0, "learned_budget_seconds": 40.0, "slots": 2, "pool": 1.0}
    store.append({"key": "k", "code_version": "v0", "spec": {"task": "t"}, "provenance": {}, "cost": old,
                  "record": {"wall_seconds": 106.0 + 8.0 + fixed_seconds(old),
                             "stage_seconds": {"t:fit": 60.0, "scoring": 8.0}}})
    rates = history_rates(store)
    # the rest: 46 s of 1000 units; scoring 2 s per entry; fits 3 times their budget per slot
    assert rates["t"] == {"rate": 46.0 / 1000.0, "score_rate": 2.0, "speed": 60.0 / 20.0}

    def cell(task, **cost):
        return Cell(SimpleNamespace(name=task), [], None, {}, "", {"pool": 0.0, **cost})

    new = cell("t", units=3000.0, score_units=10.0, learned_budget_seconds=80.0, slots=4)
    assert estimate_seconds(new, rates) == pytest.approx(80.0 / 4 * 3.0 + fixed_seconds(new.cost) + 3 * 46.0 + 20.0)
    other = cell("u", units=3000.0, score_units=2.0, learned_budget_seconds=0.0, slots=1)
    assert estimate_seconds(other, rates) == pytest.approx(
        fixed_seconds(other.cost) + 3000 * DEFAULT_SECONDS_PER_UNIT + 2 * DEFAULT_SECONDS_PER_SCORE)
    # a built-in task without history: its reference rates, then a stored cell of it overrides them
    builtin = cell("toric-bitflip", units=3000.0, score_units=2.0, learned_budget_seconds=30.0, slots=2)
    ref = REFERENCE_RATES["toric-bitflip"]
    assert estimate_seconds(builtin, {}) == pytest.approx(
        30.0 / 2 * ref["speed"] + fixed_seconds(builtin.cost) + 3000 * ref["rate"] + 2 * ref["score_rate"])
    assert estimate_seconds(builtin, {"toric-bitflip": rates["t"]}) == pytest.approx(
        30.0 / 2 * 3.0 + fixed_seconds(builtin.cost) + 3000 * 46.0 / 1000.0 + 2 * 2.0)


def test_a_plan_with_members_given_a_step_count_is_a_lower_bound(tmp_path):
    """Members trained for a fixed step count (the full division's toric-bitflip cnn) are not costed: the cell
    and the total say so."""
    from phasebench.suites.sweep_plan import Cell, cost_figures, estimate_seconds, render_plan
    from phasebench.suites.tasks import get_task

    task = get_task("toric-bitflip")
    cost = cost_figures(task, ["cnn"], task.config("full"), 2)
    assert cost["fixed_step_members"] == 6 and cost["learned_members"] == 0 and cost["learned_budget_seconds"] == 0
    cell = Cell(task, ["cnn"], None, {}, "k" * 12, cost)
    cell.estimate_seconds = estimate_seconds(cell, {})
    text = render_plan([cell], ResultsStore(tmp_path), "v", {"executor": "processes", "slots": 2})
    assert f">={cell.estimate_seconds:>6.0f} s" in text
    assert f"at least {cell.estimate_seconds:.0f} s" in text
    assert "not counting the fits of 6 member(s) given a step count" in text


def test_a_family_slower_per_budget_second_is_priced_by_its_wall_factor():
    """The budget's cost model counts multiply-adds; ``attention``'s window gathers are not among them, so its fits
    are priced at its measured wall factor times the budget, the ``cnn``'s and ``patch_mlp``'s at the budget."""
    from phasebench.denoisers import DENOISERS
    from phasebench.suites.sweep_plan import cost_figures
    from phasebench.suites.tasks import get_task

    task = get_task("ising-temperature")
    cfg = task.config("quick")
    plain = cost_figures(task, ["patch_mlp"], cfg, 2)
    slow = cost_figures(task, ["attention"], cfg, 2)
    assert plain["learned_members"] == slow["learned_members"] > 0
    assert plain["learned_budget_seconds"] == pytest.approx(plain["learned_members"] * cfg.budget)
    factor = DENOISERS.get("attention").wall_per_budget_second
    assert factor > 2 and slow["learned_budget_seconds"] == pytest.approx(factor * plain["learned_budget_seconds"])


def test_the_exact_windows_are_priced_by_radius_and_left_out_of_the_measured_rate(tmp_path):
    """The toric window oracle's cost per window grows steeply with r: the exact family's windows are priced from
    the model's table, per radius, over the slots; a stored cell's rate is what remains after them."""
    from phasebench.lattice_models.exact.toric_window import WINDOW_CPU_SECONDS
    from phasebench.suites.sweep_plan import cost_figures, fixed_seconds, history_rates
    from phasebench.suites.tasks import get_task

    task = get_task("toric-bitflip")
    cfg = task.config("full")
    cost = cost_figures(task, ["exact"], cfg, 2)
    centres, levels = cfg.extra["centres_per_config"], cfg.extra["exact_levels"]
    small = cfg.n_test * centres * len(cfg.levels) * sum(WINDOW_CPU_SECONDS[r] for r in range(1, 7))
    large = cfg.extra["exact_n_test"] * centres * len(levels) * sum(WINDOW_CPU_SECONDS[r] for r in range(1, 11))
    assert cost["exact_window_seconds"] == pytest.approx((small + large) / 2)
    assert WINDOW_CPU_SECONDS[10] > 100 * WINDOW_CPU_SECONDS[4]  # not a per-site rate
    assert cost_figures(task, ["linear"], cfg, 2)["exact_window_seconds"] == 0.0
    assert cost_figures(get_task("gff-markov"), ["exact"], get_task("gff-markov").config("full"), 2)[
        "exact_window_seconds"] == 0.0  # closed forms: within the per-site rate

    store = ResultsStore(tmp_path)
    stored = {**cost, "learned_budget_seconds": 0.0, "fixed_step_members": 0}
    store.append({"key": "k", "code_version": "v0", "spec": {"task": "toric-bitflip"}, "provenance": {},
                  "cost": stored, "record": {"wall_seconds": fixed_seconds(stored) + 50.0, "stage_seconds": {}}})
    assert history_rates(store)["toric-bitflip"]["rate"] == pytest.approx(50.0 / cost["units"])


def test_each_family_is_priced_by_its_own_measured_rate(tmp_path):
    """A stored cell's evaluation stages, by family (``TASK:FAMILY:...``), give each family its seconds per unit
    of its test data; the rest is shared.  A cheap family's cell is then priced at its own rate, not at the
    mixed rate of the cell it was measured in (suites/sweep_plan.py)."""
    from types import SimpleNamespace

    from phasebench.suites.sweep_plan import Cell, cost_figures, estimate_seconds, fixed_seconds, history_rates
    from phasebench.suites.tasks import get_task

    task = get_task("ising-temperature")
    cfg = dataclasses.replace(task.config("full"), train_seeds=3)
    cost = cost_figures(task, ["linear", "bp"], cfg, 2)
    per_copy = cost["family_units"]["bp"]  # bp has no seed dependence: one copy; linear is fitted per seed
    assert cost["family_units"]["linear"] == pytest.approx(3 * per_copy)
    assert cost["units"] - sum(cost["family_units"].values()) == pytest.approx(
        sum(s.L ** 2 for st in task.plan(["linear", "bp"], cfg) for s in st.splits) * cfg.n_train)

    store = ResultsStore(tmp_path)
    stored = {"units": 3000.0, "family_units": {"a": 1000.0, "b": 1000.0}, "score_units": 0.0,
              "learned_budget_seconds": 0.0, "slots": 2, "pool": 0.0}
    stages = {"t:datasets": 5.0, "t:a:L6": 4.0, "t:a:L6:generate": 6.0, "t:b:L6": 100.0, "t:ab:L6": 1.0}
    store.append({"key": "k", "code_version": "v0", "spec": {"task": "t"}, "provenance": {}, "cost": stored,
                  "record": {"wall_seconds": fixed_seconds(stored) + 120.0, "stage_seconds": stages}})
    rates = history_rates(store)["t"]
    assert rates["family_rates"] == {"a": pytest.approx(0.01), "b": pytest.approx(0.1)}
    assert rates["shared_rate"] == pytest.approx(10.0 / 1000.0) and rates["rate"] == pytest.approx(120.0 / 3000.0)

    def cell(family_units, task="t"):
        units = 1000.0 + sum(family_units.values())
        return Cell(SimpleNamespace(name=task), [], None, {}, "",
                    {"units": units, "family_units": family_units, "learned_budget_seconds": 0.0, "slots": 2,
                     "pool": 0.0})

    base = fixed_seconds(cell({}).cost) + 10.0  # the shared data
    assert estimate_seconds(cell({"a": 2000.0}), {"t": rates}) == pytest.approx(base + 20.0)
    assert estimate_seconds(cell({"b": 2000.0}), {"t": rates}) == pytest.approx(base + 200.0)
    assert estimate_seconds(cell({"c": 2000.0}), {"t": rates}) == pytest.approx(base + 2000.0 * 0.04)  # unmeasured
    # history without family figures prices as before: its mixed rate, the reference's family rates set aside
    old = {"rate": 0.05}
    assert estimate_seconds(cell({"a": 2000.0}, "ising-temperature"), {"ising-temperature": old}) == pytest.approx(
        fixed_seconds(cell({}).cost) + 3000.0 * 0.05 + 0.0)
