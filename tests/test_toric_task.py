"""toric-bitflip end to end on a tiny grid: records, the excess over the exact r-local optimum, the summary."""

import math

import numpy as np
import pytest

from phasebench.suites.estimators import BootstrapConfig
from phasebench.suites.evaluators import evaluate_task
from phasebench.suites.tasks.base import TaskConfig
from phasebench.suites.tasks.toric_bitflip import ToricBitflipTask


@pytest.fixture(scope="module")
def tiny():
    task = ToricBitflipTask()
    cfg = TaskConfig(L=(8,), levels=(0.06, 0.12), radii=(1, 2), n_train=60, n_test=40, budget=2.0,
                     extra={"centres_per_config": 6, "learned_radii": (1, 2), "global_L": (), "global_n": 10})
    records = evaluate_task(task, ["exact", "linear"], cfg, lambda msg: None)
    return task, records, task.summarize(records, BootstrapConfig(seed=cfg.seed))


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
    cells = [c for c in task.cells(records, BootstrapConfig()) if c["family"] == "linear"]
    assert all(c["excess_over_exact_local"] > 0 for c in cells)


def test_learned_increments_are_rao_blackwellised_and_agree_with_mse_differences(tiny):
    """A learned family's MSE(r) - MSE(r+1) is estimated against the exact largest-radius posterior q_R; in
    expectation it equals the raw paired MSE difference (both r-local members are functions of q_R's window), so the
    two agree within the raw difference's error bar, and the estimator's spread is smaller."""
    task, records, summary = tiny
    linear = next(r for r in records if r["kind"] == "local" and r["family"] == "linear")
    assert linear["increments_method"] == "against the exact radius-2 posterior"
    assert summary["linear/L8"]["increments_method"] == linear["increments_method"]
    raw = linear["mse"][:-1] - linear["mse"][1:]
    for j in range(len(linear["levels"])):
        rb, d = linear["increments"][0, j], raw[0, j]
        se = d.std(ddof=1) / math.sqrt(len(d))
        assert abs(rb.mean() - d.mean()) < 4 * se + 1e-12
        assert rb.std() < d.std()
    exact = next(r for r in records if r["kind"] == "local" and r["family"] == "exact")
    assert exact["increments_method"] == "E (q_{r+1} - q_r)^2"


def test_the_global_decoder_runs_with_the_exact_family_only():
    """The exact global decoder is the exact family's reference: a run of learned families alone skips its cost."""
    task = ToricBitflipTask()
    cfg = TaskConfig(L=(6,), levels=(0.08, 0.12), radii=(1,), n_train=20, n_test=10, budget=1.0,
                     extra={"centres_per_config": 4, "learned_radii": (1,), "global_L": (4,), "global_n": 6,
                            "global_levels": (0.1, 0.12)})
    kinds = {fams: [r["kind"] for r in evaluate_task(task, list(fams), cfg, lambda msg: None)]
             for fams in (("linear",), ("exact",))}
    assert kinds[("linear",)] == ["local"]
    assert kinds[("exact",)] == ["local", "global-decoder"]


def test_collapsed_fits_are_named_in_the_summary_and_the_status_column(tiny):
    """A member whose final training loss is >= COLLAPSE_FRACTION x its untrained network's is listed (the toric
    r = 5 / 6 cnn members at 24000 steps ended at 1.10 / 1.15 of about 1); members without losses never are."""
    import copy

    from phasebench.suites.evaluation import COLLAPSE_FRACTION, collapsed_members

    members = {"1": {"fit": {"initial_loss": 1.02, "final_loss": 0.60}},
               "5": {"fit": {"initial_loss": 1.02, "final_loss": 1.10}},
               "6": {"fit": {"initial_loss": 1.0, "final_loss": COLLAPSE_FRACTION * 1.0}},
               "7": {"fit": {"initial_loss": 1.0, "final_loss": float("nan")}},
               "global": {"name": "exact"}}
    assert collapsed_members(members) == ["5", "6"]
    task, records, summary = tiny
    assert summary["linear/L8"]["collapsed_fits"] == [] and summary["exact/L8"]["collapsed_fits"] == []
    header, rows = task.leaderboard_rows(summary)
    assert next(r for r in rows if r[0] == "linear")[header.index("status")] == "ok"
    records = copy.deepcopy(records)  # the linear member at r = 2 as if its fit had ended at its initial loss
    linear = next(r for r in records if r["kind"] == "local" and r["family"] == "linear")
    linear["members"]["2"]["fit"] = {**linear["members"]["2"].get("fit", {}), "initial_loss": 1.0, "final_loss": 1.0}
    broken = task.summarize(records, BootstrapConfig())
    assert broken["linear/L8"]["collapsed_fits"] == ["2"]
    header, rows = task.leaderboard_rows(broken)
    status = next(r for r in rows if r[0] == "linear")[header.index("status")]
    assert status.startswith("ok; fits at r = 2 collapsed")


def test_gain_captured_is_the_family_increment_over_the_exact_one(tiny):
    """The share of the exact gain per ring is mean(family increment) / mean(exact increment), and it equals
    1 - (excess_{r+1} - excess_r) / (exact gain) up to the orthogonal cross term 2 (f_r - q_r)(q_r - q_{r+1}), whose
    mean is zero: the two computations agree within 4 of its standard errors.  The exact family has no share."""
    task, records, summary = tiny
    exact, linear = (next(r for r in records if r["kind"] == "local" and r["family"] == f) for f in ("exact", "linear"))
    assert "gain_captured" not in summary["exact/L8"]
    rings = summary["linear/L8"]["gain_captured"]
    assert [g["r"] for g in rings] == [1]
    for j in range(len(linear["levels"])):
        share = rings[0]["share"][j]
        gain = exact["increments"][0, j]
        assert share["mean"] == pytest.approx(linear["increments"][0, j].mean() / gain.mean(), rel=1e-12)
        assert share["lo"] < share["mean"] < share["hi"]
        cross = linear["increments"][0, j] - (linear["dist_to_exact"][0, j] + gain - linear["dist_to_exact"][1, j])
        via_excess = 1 - (linear["dist_to_exact"][1, j].mean() - linear["dist_to_exact"][0, j].mean()) / gain.mean()
        se = cross.std(ddof=1) / math.sqrt(len(cross))
        assert abs(share["mean"] - via_excess) < 4 * se / gain.mean() + 1e-12
    header, rows = task.leaderboard_rows(summary)
    column = header.index("share of the exact gain per ring r -> r+1 at the exact p_c^")
    assert next(r for r in rows if r[0] == "exact")[column] == "n/a"
    text = next(r for r in rows if r[0] == "linear")[column]
    assert text.startswith("p=") and "1->2: " in text
    assert all(len(r) == len(header) for r in rows)


def test_plots_include_the_gain_share_only_beside_a_learned_family(tiny, tmp_path):
    """With a learned family the toric plots add the share of the exact gain per ring; with the exact family alone
    there is nothing to plot there."""
    task, records, summary = tiny
    paths = task.plots(records, summary, tmp_path)
    assert [p.endswith(s) for p, s in zip(paths, ("-xi-eff.png", "-mse-heatmap.png", "-gain-share.png"))] == [True] * 3
    assert all((tmp_path / p).stat().st_size > 1000 for p in paths)
    exact_only = {k: v for k, v in summary.items() if not k.startswith("linear")}
    assert len(task.plots([r for r in records if r.get("family") != "linear"], exact_only, tmp_path / "x")) == 2


def test_the_full_division_trains_cnn_with_its_own_schedule_over_the_bitflip_defaults():
    from phasebench.denoisers import DENOISERS
    from phasebench.denoisers.cnn.settings import BITFLIP_DEFAULTS, resolve_settings
    from phasebench.lattice_models.channels import BitFlipChannel
    from phasebench.suites.runner import apply_overrides
    from phasebench.suites.tasks.toric_bitflip import FULL_CNN_TRAINING

    task = ToricBitflipTask()
    assert "cnn" not in task.config("quick").family_options  # the quick division keeps the budgeted defaults
    cfg = apply_overrides(task, task.config("full"), {})
    assert cfg.family_options["cnn"] == FULL_CNN_TRAINING
    fam = DENOISERS.get("cnn")(radius=6, **cfg.family_options["cnn"])
    settings = resolve_settings(fam, BitFlipChannel(), bayes=True, model=task.model())
    assert fam.steps == FULL_CNN_TRAINING["steps"] and settings["grad_clip"] == FULL_CNN_TRAINING["grad_clip"]
    assert settings["lr"] == FULL_CNN_TRAINING["lr"] != BITFLIP_DEFAULTS["lr"]
    assert settings["lr_final"] == BITFLIP_DEFAULTS["lr_final"]  # what the task does not set stays the default
    # the user's options still win, name by name
    cfg = apply_overrides(task, task.config("full"), {"family_options": {"cnn": {"lr": 1e-2}}})
    assert cfg.family_options["cnn"] == {**FULL_CNN_TRAINING, "lr": 1e-2}


def test_an_exact_only_size_runs_the_exact_family_alone_at_its_own_radii():
    """``extra["exact_L"]``: at that size only the exact family runs, at ``exact_radii`` (those that fit); the grid's
    sizes keep every family; the full division places the yardstick at L = 22, r <= 10."""
    task = ToricBitflipTask()
    cfg = TaskConfig(L=(6,), levels=(0.08, 0.12), radii=(1,), n_train=20, n_test=8, budget=1.0,
                     extra={"centres_per_config": 3, "learned_radii": (1,), "exact_L": (10,), "exact_radii": (1, 2, 3, 4, 5)})
    task.validate_config(cfg)
    studies = task.plan(["exact", "linear"], cfg)
    sizes = {s.splits[0].L: s.settings for s in studies if s.evaluation == "sampled-edges"}
    assert sizes[6]["radii"] == {"exact": [1], "linear": [1]}
    assert sizes[10]["radii"] == {"exact": [1, 2, 3, 4]} and sizes[10]["families"] == ["exact"]
    assert [s.splits[0].L for s in task.plan(["linear"], cfg) if s.evaluation == "sampled-edges"] == [6]
    with_mwpm = {s.splits[0].L: s.settings for s in task.plan(["exact", "mwpm"], cfg) if s.evaluation == "sampled-edges"}
    assert with_mwpm[6]["global_only"] == ["mwpm"] and with_mwpm[10]["global_only"] == []
    records = evaluate_task(task, ["exact", "linear"], cfg, lambda msg: None)
    assert sorted((r["family"], r["L"]) for r in records if r["kind"] == "local") == [
        ("exact", 6), ("exact", 10), ("linear", 6)]
    full = task.config("full")
    task.validate_config(full)
    assert max(next(s for s in task.plan(["exact"], full) if s.splits and s.splits[0].L == 22).settings["radii"]["exact"]) == 10
    both = TaskConfig(L=(6, 10), levels=(0.1,), radii=(1,), n_train=4, n_test=4, budget=1.0,
                      extra={**cfg.extra, "exact_L": (10,)})  # a grid size stays one: every family runs there
    assert {s.splits[0].L: s.settings["families"] for s in task.plan(["exact", "linear"], both)
            if s.evaluation == "sampled-edges"} == {6: ["exact", "linear"], 10: ["exact", "linear"]}
    own = TaskConfig(L=(6,), levels=(0.08, 0.12), radii=(1,), n_train=20, n_test=8, budget=1.0,
                     extra={**cfg.extra, "exact_levels": (0.1, 0.11), "exact_n_test": 5})
    records = evaluate_task(task, ["exact"], own, lambda msg: None)
    sizes = {r["L"]: r for r in records if r["kind"] == "local"}
    assert sizes[6]["levels"] == [0.08, 0.12] and sizes[6]["mse"].shape[-1] == 8
    assert sizes[10]["levels"] == [0.1, 0.11] and sizes[10]["mse"].shape[-1] == 5
    assert task.summarize(records, BootstrapConfig(seed=0))["exact/L10"]["n_test"] == 5
    for bad in ({"exact_L": (10,)}, {"exact_L": (10,), "exact_radii": (5,)},
                {"exact_L": (10,), "exact_radii": (1,), "exact_n_test": 0},
                {"exact_L": (10,), "exact_radii": (1,), "exact_levels": (0.7,)}):
        with pytest.raises(ValueError, match="exact_|level"):
            task.validate_config(TaskConfig(L=(6,), levels=(0.1,), radii=(1,), n_train=4, n_test=4, budget=1.0,
                                                 extra={"centres_per_config": 3, **bad}))


def test_the_exact_marginals_are_the_same_bytes_on_the_executor(monkeypatch, tmp_path):
    """Above the threshold the exact family's (radius, level) pairs run on the run's executor: the same bytes as
    in this process, the Pfaffian radii included."""
    from phasebench.denoisers import DENOISERS
    from phasebench.suites import executors
    from phasebench.suites.evaluators import references, sampled_edges

    task = ToricBitflipTask()
    model, channel = task.model(), task.channel()
    x = model.sample(3, 16, seed=5)
    levels = (0.09, 0.11)
    noisy = [channel.corrupt(x, lv, 7 + j, model.variable_type) for j, lv in enumerate(levels)]
    mask = sampled_edges.sampled_edge_mask(3, 2, 16, 2, 11)
    fam = DENOISERS.get("exact")(radius=1).fit(x, channel, levels, model=model)
    radii = (1, 7)
    serial = sampled_edges.exact_marginals(fam, radii, levels, noisy, mask)
    references.forget()
    monkeypatch.setattr(sampled_edges, "PARALLEL_EXACT_WINDOWS", 0)
    monkeypatch.setenv("PHASEBENCH_WORKERS", "2")
    with executors.activate(executors.make_executor("processes")):
        pooled = sampled_edges.exact_marginals(fam, radii, levels, noisy, mask)
    assert sorted(pooled) == sorted(serial) == [(r, j) for r in radii for j in range(2)]
    for k in serial:
        assert np.array_equal(pooled[k], serial[k], equal_nan=True)
    # with the fit cache each pair is stored as it finishes and read back on the next run, the same bytes
    monkeypatch.setenv("PHASEBENCH_FIT_CACHE", str(tmp_path))
    monkeypatch.setattr(sampled_edges, "PARALLEL_EXACT_WINDOWS", 1e12)
    first = sampled_edges.exact_marginals(fam, radii, levels, noisy, mask)
    assert len(list((tmp_path / "exact-windows").glob("*.npz"))) == 4
    monkeypatch.setattr(sampled_edges, "_exact_pair", lambda item: pytest.fail("recomputed a stored pair"))
    again = sampled_edges.exact_marginals(fam, radii, levels, noisy, mask)
    for k in serial:
        assert np.array_equal(first[k], serial[k]) and np.array_equal(again[k], serial[k])
    with pytest.raises(pytest.fail.Exception):  # another level is another entry: computed, not read
        sampled_edges.exact_marginals(fam, (1,), (0.1,), noisy[:1], mask)
