"""The closed rules: the same training compute for every learned family, counted from the network; a parameter
band; results of different rules never merged."""

import json

import pytest

from phasebench.denoisers.base import make_family
from phasebench.denoisers.harness.fit_record import TRAINING_PASS_FACTOR
from phasebench.lattice_models import make_channel, make_model
from phasebench.suites.merge import MergeRefused, merge_results
from phasebench.suites.placement import _infos
from phasebench.suites.rules import CLOSED_TRAIN_FLOPS, PARAM_BAND, closed_family_options
from phasebench.suites.runner import prepare, run


def test_train_flops_fixes_the_steps_from_the_networks_multiply_adds():
    model, channel = make_model("gff", m=0.5), make_channel("gaussian")
    x = model.sample(64, 8, seed=1)
    fits = {}
    for name in ("cnn", "patch_mlp"):
        fam = make_family(name, 1, train_flops=4e9, batch=2)
        fam.fit(x, channel, [0.3, 1.0], seed=0, budget=5.0, model=model)
        info = fam.fit_info_
        spent = TRAINING_PASS_FACTOR * info["flops_per_site"] * info["train_sites"]
        assert spent <= 4e9 and spent > 4e9 - TRAINING_PASS_FACTOR * info["flops_per_site"] * info["train_sites"] / info["steps"]
        fits[name] = info
    # a cheaper network per site takes more steps for the same compute
    (a, b) = sorted(fits.values(), key=lambda i: i["flops_per_site"])
    assert a["steps"] >= b["steps"]
    with pytest.raises(ValueError, match="steps or train_flops"):
        make_family("cnn", 1, steps=10, train_flops=1e9)


def test_closed_options_replace_the_tasks_step_count_for_learned_families_only():
    opts = closed_family_options(["exact", "cnn", "linear"], {"cnn": {"steps": 24000, "lr": 3e-3}}, "full")
    assert opts == {"cnn": {"lr": 3e-3, "train_flops": CLOSED_TRAIN_FLOPS["full"]}}
    (task, fams, cfg), = prepare(["toric-bitflip"], ["exact", "cnn"], "full", {"rules": "closed"}, None)
    assert cfg.rules == "closed" and cfg.family_options["cnn"]["train_flops"] == CLOSED_TRAIN_FLOPS["full"]
    assert "steps" not in cfg.family_options["cnn"]
    with pytest.raises(ValueError, match="cnn.steps cannot be set"):
        prepare(["gff-markov"], None, "quick", {"rules": "closed", "family_options": {"cnn": {"steps": 5}}}, None)
    with pytest.raises(ValueError, match="unknown rules"):
        prepare(["gff-markov"], None, "quick", {"rules": "fair"}, None)


def test_closed_run_records_its_rules_and_is_not_merged_with_an_open_one(tmp_path, monkeypatch):
    from phasebench.suites import rules

    monkeypatch.setenv("PHASEBENCH_FIT_CACHE", str(tmp_path / "fits"))
    monkeypatch.setitem(rules.CLOSED_TRAIN_FLOPS, "quick", 2e9)  # a hundredth of the rule: the test's time
    over = {"L": (16,), "levels": (0.3, 1.0), "radii": (1, 2), "n_train": 50, "n_test": 50}
    closed = run(tasks=["gff-markov"], families=["linear", "cnn"], out_dir=str(tmp_path / "c"), progress=False,
                 overrides={**over, "rules": "closed"}, executor="serial")
    rec = closed["tasks"]["gff-markov"]
    assert rec["rules"]["rules"] == "closed" and rec["rules"]["param_band"] == list(PARAM_BAND)
    assert rec["rules"]["train_flops_per_member"] == 2e9
    fits = [m["fit"] for m in _infos(rec["summary"]) if m.get("name") == "cnn"]
    assert fits and all(TRAINING_PASS_FACTOR * f["flops_per_site"] * f["train_sites"] <= 2e9 for f in fits)
    assert "closed rules" in (tmp_path / "c" / "leaderboard.md").read_text()
    opened = run(tasks=["gff-markov"], families=["exact"], out_dir=str(tmp_path / "o"), progress=False,
                 overrides=over, executor="serial")
    with pytest.raises(MergeRefused, match="rules"):
        merge_results([("closed", json.loads((tmp_path / "c" / "results.json").read_text())),
                       ("open", json.loads((tmp_path / "o" / "results.json").read_text()))])
