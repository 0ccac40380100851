"""A cell resumed part-way (suites/evaluators/resume.py): with ``PHASEBENCH_FIT_CACHE`` each family's records of
each study are kept; a rerun reads them back with the results of an uninterrupted run, a cell stopped after some
families computes only the others, another code version reads nothing, and the cost model leaves a resumed cell
out of its rates."""

import json

import pytest
from test_interrupts import _untimed

from phasebench.suites import sweep_plan
from phasebench.suites.cli import main
from phasebench.suites.evaluators import resume, sampled_edges
from phasebench.suites.results_store import ResultsStore

# toric-bitflip: sampled edges (exact first, then linear, whose increments use the exact marginals; mwpm global
# only) and the global decoder; ising-temperature: member pairs with the transfer-matrix oracle at L = 6
TORIC = ["--task", "toric-bitflip", "--family", "exact", "--family", "linear", "--family", "mwpm", "--L", "8",
         "--levels", "0.08", "0.11", "0.14", "--radii", "1", "2"]
ISING = ["--task", "ising-temperature", "--family", "linear", "--family", "bp", "--L", "6"]
COMMON = ["--n-train", "64", "--n-test", "16", "--no-progress"]
# the two other evaluations: aligned magnetisation (one record of every family) and generation
SPECIATION = ["--task", "ising-speciation", "--family", "linear", "--L", "6"]
GENERATION = ["--task", "gff-generation", "--family", "linear", "--L", "8"]


def run(out, fit_cache, grid, monkeypatch):
    monkeypatch.setenv("PHASEBENCH_WORKERS", "1")
    if fit_cache is None:
        monkeypatch.delenv("PHASEBENCH_FIT_CACHE", raising=False)
    else:
        monkeypatch.setenv("PHASEBENCH_FIT_CACHE", str(fit_cache))
    rc = main(["run", *grid, *COMMON, "--out", str(out)])
    return rc, (json.loads((out / "results.json").read_text()) if rc == 0 else None)


def reused(results):
    return {t: rec["reused_evaluations"] for t, rec in results["tasks"].items()}


def compared(results):
    return _untimed({t: {k: v for k, v in rec.items() if k != "reused_evaluations"} for t, rec in results["tasks"].items()})


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    return tmp_path_factory.mktemp("datasets")


@pytest.fixture
def env(monkeypatch, datasets):
    monkeypatch.setenv("PHASEBENCH_CACHE", str(datasets))
    return monkeypatch


@pytest.mark.parametrize("grid, names", [
    (TORIC, ["L8:exact", "L8:linear", "L8:mwpm", "global-decoder:exact-global"]),
    (ISING, ["L6:linear", "L6:bp"]), (SPECIATION, ["L6:linear"]),
    (GENERATION, ["linear:L8:linear"])],
    ids=["toric-bitflip", "ising-temperature", "ising-speciation", "gff-generation"])
def test_a_rerun_reads_every_familys_records_back_with_the_same_results(tmp_path, env, grid, names):
    task = grid[1]
    rc, plain = run(tmp_path / "plain", None, grid, env)
    assert rc == 0
    rc, first = run(tmp_path / "first", tmp_path / "fc", grid, env)
    assert rc == 0 and reused(first) == {task: []}
    rc, second = run(tmp_path / "second", tmp_path / "fc", grid, env)
    assert rc == 0 and reused(second) == {task: [f"{task}:{name}" for name in names]}
    assert compared(first) == compared(plain)
    assert compared(second) == compared(plain)
    # the cost model learns from the first run's cell, not from the resumed one
    assert task in sweep_plan.history_rates(ResultsStore(tmp_path / "first"))
    assert sweep_plan.history_rates(ResultsStore(tmp_path / "second")) == {}


def test_a_cell_stopped_after_a_family_computes_only_the_others(tmp_path, env):
    rc, plain = run(tmp_path / "plain", None, TORIC, env)
    assert rc == 0
    made = []
    original = sampled_edges.edge_record

    def stopping(task, study, data, fitted, fam_name, mask, exact, tick):
        made.append(fam_name)
        if fam_name == "linear":
            raise KeyboardInterrupt  # stopped while the second family is evaluated
        return original(task, study, data, fitted, fam_name, mask, exact, tick)

    env.setattr(sampled_edges, "edge_record", stopping)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "stopped", tmp_path / "fc", TORIC, env)
    assert made == ["exact", "linear"] and not (tmp_path / "stopped" / "results.json").exists()
    env.setattr(sampled_edges, "edge_record", original)
    made.clear()
    counting = lambda *a: made.append(a[4]) or original(*a)  # noqa: E731
    env.setattr(sampled_edges, "edge_record", counting)
    rc, resumed = run(tmp_path / "resumed", tmp_path / "fc", TORIC, env)
    assert rc == 0 and made == ["linear", "mwpm"]  # the exact family's record was read back, not recomputed
    assert reused(resumed)["toric-bitflip"] == ["toric-bitflip:L8:exact"]
    # linear, computed after a read-back exact record, still scored against the exact marginals: the same results
    assert compared(resumed) == compared(plain)


def test_records_of_another_code_version_are_not_read(tmp_path, env):
    rc, first = run(tmp_path / "first", tmp_path / "fc", TORIC, env)
    assert rc == 0
    env.setattr(resume, "_version", lambda: "0.0.0+gother")
    rc, other = run(tmp_path / "other", tmp_path / "fc", TORIC, env)
    assert rc == 0 and reused(other) == {"toric-bitflip": []}
    assert compared(other) == compared(first)


def overrides_of(grid):
    """runner.plan's overrides of a grid above (its --L, --levels, --radii and the common set sizes)."""
    out, key = {"n_train": 64, "n_test": 16}, None
    for arg in grid:
        if arg.startswith("--"):
            key = arg[2:].replace("-", "_")
        elif key in ("L", "radii"):
            out.setdefault(key, []).append(int(arg))
        elif key == "levels":
            out.setdefault(key, []).append(float(arg))
        elif key == "train_seeds":
            out[key] = int(arg)
    return out


@pytest.mark.parametrize("grid", [TORIC + ["--train-seeds", "2"], ISING,
                                  ["--task", "gff-markov", "--family", "linear", "--L", "8", "--radii", "1", "2"],
                                  SPECIATION, GENERATION],
                         ids=["toric-bitflip-2-seeds", "ising-temperature", "gff-markov", "ising-speciation",
                              "gff-generation"])
def test_the_dry_run_prices_only_what_is_not_in_the_fit_cache(tmp_path, env, grid):
    from phasebench.denoisers import DENOISERS
    from phasebench.suites.runner import plan

    def cell():
        env.setenv("PHASEBENCH_FIT_CACHE", str(tmp_path / "fc"))
        (c,) = plan([grid[1]], [a for a, b in zip(grid[2:], grid[1:]) if b == "--family"], "quick",
                    str(tmp_path / "plan"), overrides_of(grid), slots=1)
        return c

    fresh = cell()
    assert fresh.cost.get("cached_fits", 0) == 0 and fresh.cost.get("cached_records", 0) == 0
    rc, results = run(tmp_path / "run", tmp_path / "fc", grid, env)
    assert rc == 0
    resumed = cell()
    seeds = int(dict(zip(grid, grid[1:])).get("--train-seeds", 1))
    trainable = sum(DENOISERS.get(f).trainable for f in resumed.families)
    assert resumed.cost["cached_fits"] > 0 and resumed.cost["cached_fits"] % seeds == 0 and trainable
    # every family's test data is read back, so only the shared work and the scoring are priced
    assert resumed.cost["cached_family_units"] == pytest.approx(resumed.cost["family_units"])
    assert resumed.cost["cached_budget_seconds"] == pytest.approx(resumed.cost["learned_budget_seconds"])
    rerun_reused = sum(len(v) for v in reused(run(tmp_path / "again", tmp_path / "fc", grid, env)[1]).values())
    assert resumed.cost["cached_records"] == rerun_reused > 0
    assert resumed.estimate_seconds <= fresh.estimate_seconds
    if resumed.cost["family_units"]:  # a generation study's work is not priced by family
        assert resumed.estimate_seconds < fresh.estimate_seconds


def test_a_plugin_familys_source_is_in_the_records_key(tmp_path, monkeypatch):
    """The code version sees phasebench's code only: editing a plugin family's class changes its records' key."""
    import importlib
    import sys

    from phasebench.denoisers import DENOISERS
    from phasebench.suites.study import MemberRequest, Study
    from phasebench.suites.tasks import get_task

    source = tmp_path / "resume_plugin.py"
    source.write_text("from phasebench.denoisers.linear import LinearWiener\n\n\nclass Plugin(LinearWiener):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("resume_plugin")
    DENOISERS.register("resume_plugin")(module.Plugin)
    try:
        task = get_task("gff-markov")
        cfg = task.division_config("quick")
        study = Study("grid", "L8", [1.0], members={1: MemberRequest("resume_plugin", 1, (0,), 0)},
                      settings={"family": "resume_plugin"})
        builtin = Study("grid", "L8", [1.0], members={1: MemberRequest("linear", 1, (0,), 0)}, settings={"family": "linear"})
        before, builtin_before = resume.study_key(task, study, cfg, [], 0), resume.study_key(task, builtin, cfg, [], 0)
        source.write_text(source.read_text() + "    scale = 2\n")
        assert resume.study_key(task, study, cfg, [], 0) != before
        assert resume.study_key(task, builtin, cfg, [], 0) == builtin_before
        assert list(resume.plugin_code(study)) == ["resume_plugin"] and resume.plugin_code(builtin) == {}
    finally:
        DENOISERS._entries.pop("resume_plugin", None)
        sys.modules.pop("resume_plugin", None)
