"""Generic objectives: targets read from the model's declared transitions, ``phasebench run --model`` on any
registered model (the example plugin included, installed through its entry point), default family lists."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from phasebench.denoisers import DENOISERS
from phasebench.denoisers.linear import LinearWiener
from phasebench.lattice_models import make_model
from phasebench.lattice_models.exact.ising_exact import T_CRITICAL
from phasebench.suites.cli import main
from phasebench.suites.objectives import DecayLength, NoiseTransition, ParameterTransition, objective_for_model
from phasebench.suites.runner import apply_overrides, resolve_families
from phasebench.suites.tasks import get_task

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "anisotropic_ising"


def test_tasks_read_their_targets_from_the_declared_transitions():
    ising_t = get_task("ising-temperature")
    assert isinstance(ising_t, ParameterTransition) and ising_t.transition().value == T_CRITICAL
    assert (ising_t.transition().crossing_exponent, ising_t.transition().nu) == (0.25, 1.0)
    declared = {t.channel: t for t in make_model("toric_loops", x=1.0).transitions() if t.along_noise}
    bitflip, gaussian = get_task("toric-bitflip"), get_task("toric-gaussian")
    assert isinstance(bitflip, NoiseTransition) and bitflip.target == declared["bitflip"].value and bitflip.scored
    assert bitflip.transition().nu == declared["bitflip"].nu
    assert gaussian.target == declared["gaussian"].value and not gaussian.scored  # unverified: measured, not scored
    assert isinstance(get_task("gff-markov"), DecayLength)


@pytest.mark.parametrize("model, params, channel, options, objective, scored", [
    ("ising", {}, None, None, ParameterTransition, True),
    ("toric_loops", {}, "bitflip", None, NoiseTransition, True),
    ("toric_loops", {}, "gaussian", {"encode_binary_as_spin": True}, NoiseTransition, False),
    ("gff", {}, None, None, DecayLength, True),  # no transition; scored against its exact Markov length
    ("toric_loops", {"x": 0.5}, "bitflip", None, DecayLength, False),  # no declared level transition: a plain scan
    ("ising", {"T": 2.0}, None, None, DecayLength, False),  # the parameter axis is fixed by the user
])
def test_the_declarations_choose_the_objective(model, params, channel, options, objective, scored):
    task = objective_for_model(model, params, channel, options)
    assert type(task) is objective and task.scored == scored
    task.validate_config(task.config("quick"))


def test_a_parameter_grid_is_centred_on_the_declared_value():
    task = objective_for_model("ising", {})
    values = [p["T"] for p in task.config("quick").model_params_grid]
    assert min(values) < T_CRITICAL < max(values) and any(abs(v - T_CRITICAL) < 1e-3 for v in values)


def test_default_families_are_every_registered_family_that_fits_the_members(monkeypatch):
    ising_t, toric = get_task("ising-temperature"), get_task("toric-bitflip")
    # exact: no r-local Ising oracle; mwpm: toric only; cnn-bayes: an alias of cnn; bp: every built-in model;
    # patch_mlp, attention, unet (default_run False): where a quick grid opts them in (patch_mlp and attention on
    # gff-markov and toric-bitflip, unet on toric-bitflip), and everywhere in the full division; unet has no r-local member, so no task that scores r-local members takes it
    assert resolve_families(ising_t, None, ising_t.config("quick")) == ["bp", "cnn", "linear"]
    full = resolve_families(ising_t, None, ising_t.division_config("full"))
    assert full == ["bp", "attention", "cnn", "linear", "patch_mlp"]
    assert resolve_families(toric, None, toric.config("quick")) == ["bp", "exact", "mwpm", "attention", "cnn", "linear",
                                                                     "patch_mlp", "unet"]
    gff = get_task("gff-markov")
    assert resolve_families(gff, None, gff.config("quick")) == ["bp", "exact", "attention", "cnn", "linear", "patch_mlp"]
    assert "unet" in resolve_families(toric, None, toric.division_config("full"))

    class Newcomer(LinearWiener):  # a new family appears with no task edited
        pass

    monkeypatch.setitem(DENOISERS._entries, "newcomer", Newcomer)
    assert "newcomer" in resolve_families(ising_t, None, ising_t.config("quick"))
    assert "newcomer" in resolve_families(get_task("gff-markov"), None, get_task("gff-markov").config("quick"))


def test_a_grid_that_opts_in_an_unknown_family_is_refused_before_any_work():
    toric = get_task("toric-bitflip")
    cfg = dataclasses.replace(toric.config("quick"), opt_in_families=("unet", "no_such_family"))
    with pytest.raises(ValueError, match="no_such_family"):
        apply_overrides(toric, cfg, {})


def test_family_radii_restrict_a_family_to_the_grid_radii_it_lists():
    from phasebench.denoisers.base import DENOISERS

    gff, toric = get_task("gff-markov"), get_task("toric-bitflip")
    cfg = dataclasses.replace(gff.config("quick"), family_radii={"patch_mlp": (0, 2, 7)})
    members = {st.label: sorted(st.members) for st in gff.plan(["linear", "patch_mlp"], cfg)}
    assert members == {"linear:L32": [0, 1, 2, 3, 4], "patch_mlp:L32": [0, 2]}  # 7 is not a grid radius
    tcfg = dataclasses.replace(toric.config("quick"), family_radii={"cnn": (2,)})
    assert toric.members_needed(DENOISERS.get("cnn"), tcfg, 16) == [2]
    assert toric.members_needed(DENOISERS.get("exact"), tcfg, 16) == [1, 2, 3, 4, 5, 6]
    # a family with none of the grid's radii has no member, so the task does not accept it
    assert not gff.accepts_family(DENOISERS.get("patch_mlp"), dataclasses.replace(cfg, family_radii={"patch_mlp": (9,)}))


@pytest.mark.parametrize("task, family_radii, named", [
    ("gff-markov", {"no_such_family": (1,)}, "no_such_family"),
    ("gff-markov", {"cnn": (-1,)}, "-1"),
    ("ising-temperature", {"cnn": (1,)}, "family_radii"),  # its members are set per L, not by the grid's radii
])
def test_bad_family_radii_are_refused_before_any_work(task, family_radii, named):
    t = get_task(task)
    with pytest.raises(ValueError, match=named):
        apply_overrides(t, dataclasses.replace(t.config("quick"), family_radii=family_radii), {})


def test_toric_bitflip_with_common_noise_nests_each_configurations_flips_along_p():
    from phasebench.suites.evaluation import task_split

    toric = get_task("toric-bitflip")
    base = dataclasses.replace(toric.config("quick"), n_train=4, n_test=6, L=(6,), radii=(1,))
    levels = [0.05, 0.1, 0.2]
    for common in (False, True):
        cfg = dataclasses.replace(base, extra={**base.extra, "common_noise": common})
        (study,) = [s for s in toric.plan(["exact"], cfg) if s.evaluation == "sampled-edges"]
        assert study.splits[0].common_noise is common
        _, test, noisy = task_split(toric.model(), toric.channel(), cfg, 6, levels, common_noise=common)
        flips = [y != test.samples for y in noisy]
        nested = all(np.all(flips[j] <= flips[j + 1]) for j in range(len(levels) - 1))
        assert nested is common  # independent draws at each level do not nest


def cli(env, *args):
    return subprocess.run([sys.executable, "-m", "phasebench.suites.cli", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("args, named", [
    (["--model", "no_such_model"], "no_such_model"),
    (["--model", "ising", "-p", "Q=1"], "Q"),
    (["--model", "ising", "-p", "T=-1"], "T"),
    (["--model", "ising", "--channel", "no_such_channel"], "no_such_channel"),
    (["--model", "ising", "--task", "gff-markov"], "--task"),
    (["--task", "gff-markov", "--values", "1", "2"], "--values"),
])
def test_bad_model_input_is_one_line_and_exit_2(tmp_path, capsys, args, named):
    assert main(["run", *args, "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "results.json").exists()


def install_example(tmp_path) -> dict:
    """The example plugin on sys.path with a dist-info carrying its entry point (what pip would install)."""
    dist = tmp_path / "phasebench_anisotropic_ising-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: phasebench-anisotropic-ising\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[phasebench.lattice_models]\naniso_ising = anisotropic_ising:AnisotropicIsing\n")
    path = [str(tmp_path), str(EXAMPLE), os.environ.get("PYTHONPATH")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path)), "PHASEBENCH_WORKERS": "1"}


def test_a_plugin_model_is_scored_against_its_declared_transition(tmp_path):
    """aniso_ising, installed only through its entry point, is scored by ``run --model`` with no task file."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        from anisotropic_ising.exact import critical_temperature
    finally:
        sys.path.remove(str(EXAMPLE))
    env, out = install_example(tmp_path), tmp_path / "run"
    res = cli(env, "run", "--model", "aniso_ising", "-p", "Jx=1", "-p", "Jy=0.5", "--family", "linear",
              "--L", "6", "10", "--values", "1.45", "1.55", "1.64", "1.75", "1.85", "--levels", "0.01", "0.0316", "0.1",
              "--n-train", "200", "--n-test", "100", "--out", str(out), "--no-progress")
    assert res.returncode == 0, res.stderr
    results = json.loads((out / "results.json").read_text())
    (name, task), = results["tasks"].items()
    assert name == "aniso_ising-T" and task["scored"] and task["task"]["objective"] == "parameter-transition"
    assert task["model"] == "aniso_ising" and task["model_params"] == {"Jx": 1, "Jy": 0.5}
    est = task["summary"]["linear"]["estimate"]
    tc = critical_temperature(1.0, 0.5)
    assert math.isfinite(est["value"]) and est["rel_error"] == pytest.approx(abs(est["value"] - tc) / tc)
    assert "T_c estimate" in (out / "leaderboard.md").read_text()  # the objective is rebuilt from the results file
