"""Hyperparameters declared once (denoisers.base.Hyperparameter): validation, describe(), the CLI and the runner."""

import math
import re

import numpy as np
import pytest

from phasebench.denoisers import DENOISERS, DenoiserFamily, Hyperparameter, make_family
from phasebench.denoisers.harness.fit_record import COLLAPSE_FRACTION, FitRecord, fit_collapsed


@pytest.mark.parametrize("h,good,bad", [
    (Hyperparameter("n", 3, "int", low=1), [(1, 1), (np.int64(7), 7), (True, 1)], [0, 2.5, "3", None, math.inf]),
    (Hyperparameter("f", 0.5, "float", low=0.0, high=1.0, high_inclusive=False), [(0, 0.0), (0.25, 0.25)],
     [1.0, -0.1, math.nan, "0.5", None]),
    (Hyperparameter("r", None, "float", low=0.0, low_inclusive=False), [(None, None), (1e-3, 1e-3)], [0.0, -1.0, math.inf]),
    (Hyperparameter("b", None, "bool"), [(True, True), (0, False), (None, None)], ["yes", 2]),
    (Hyperparameter("c", "a", "choice", choices=("a", "b")), [("b", "b")], ["x", None, 1]),
    (Hyperparameter("s", None, "str"), [("cpu", "cpu"), (None, None)], [3]),
])
def test_a_declaration_validates_and_converts_its_values(h, good, bad):
    for value, expected in good:
        out = h.validate(value)
        assert out == expected and type(out) is type(expected)
    for value in bad:
        with pytest.raises(ValueError, match=re.escape(f"hyperparameter {h.name!r} must be {h.allowed()}")):
            h.validate(value)


def test_allowed_values_in_words():
    assert Hyperparameter("n", 1, "int", low=1).allowed() == "an integer >= 1"
    assert Hyperparameter("x", None, "float", low=0.0, high=1.0, high_inclusive=False).allowed() == \
        "a number in [0, 1) or None (automatic)"
    assert Hyperparameter("lr", None, "float", low=0.0, low_inclusive=False).allowed() == "a number > 0 or None (automatic)"
    assert Hyperparameter("o", "a", "choice", choices=("a", "b")).allowed() == "one of 'a', 'b'"
    with pytest.raises(ValueError, match="kind"):
        Hyperparameter("k", 1, "integer")
    with pytest.raises(ValueError, match="'n' must be an integer >= 1"):  # a bad default is caught where it is declared
        Hyperparameter("n", 0, "int", low=1)


def test_every_registered_family_declares_its_own_hyperparameters():
    for name in DENOISERS.names():
        cls = DENOISERS.get(name)
        assert any("hyperparameters" in vars(k) for k in cls.__mro__[:-2]), name  # not only DenoiserFamily's ()
        names = [h.name for h in cls.hyperparameters]
        assert len(names) == len(set(names)) and "radius" not in names, name
        member = make_family(name, 1 if cls.local_members else None)
        assert all(getattr(member, h.name) == h.default for h in cls.hyperparameters), name
        assert [h["name"] for h in cls.describe_family()["hyperparameters"]] == names


def test_bad_and_unknown_hyperparameters_name_the_family_and_the_parameter():
    with pytest.raises(ValueError, match=r"family 'cnn': hyperparameter 'width' must be an integer >= 1, got 0"):
        make_family("cnn", 1, width=0)
    with pytest.raises(ValueError, match=r"family 'cnn' has no hyperparameter 'widht' \(hyperparameters: width, depth"):
        make_family("cnn", 1, widht=8)
    with pytest.raises(ValueError, match=r"family 'linear' has no hyperparameter 'alpha' \(hyperparameters: none\)"):
        make_family("linear", 1, alpha=1.0)
    with pytest.raises(ValueError, match="periodic must be < width=8"):  # a constraint between two of them
        make_family("cnn", 1, width=8, periodic=8)
    member = make_family("cnn", 1, width=8, lr=1, checks=1)
    assert (member.width, member.lr, member.checks) == (8, 1.0, True) and type(member.lr) is float


def test_a_family_without_declarations_takes_no_options():
    class Plain(DenoiserFamily):
        name = "plain"

    assert Plain(2).radius == 2
    with pytest.raises(ValueError, match="'plain' has no hyperparameter 'k'"):
        Plain(2, k=1)


def test_the_runner_and_the_cli_listing_read_the_declaration(capsys):
    from phasebench.suites.cli import main
    from phasebench.suites.runner import validate_family_options

    validate_family_options("cnn", {"batch": 4, "lr": 1e-3})
    with pytest.raises(ValueError, match="'cnn': hyperparameter 'batch'"):
        validate_family_options("cnn", {"batch": 0})
    with pytest.raises(ValueError, match="'mwpm' has no hyperparameter 'batch'"):
        validate_family_options("mwpm", {"batch": 4})
    assert main(["denoisers"]) == 0
    out = capsys.readouterr().out
    assert "hyperparameter width = 32, an integer >= 1: channels of every trunk layer" in out
    assert "hyperparameter output = 'auto', one of 'auto', 'linear', 'bayes'" in out


def test_the_fit_record_flags_a_collapse():
    learned = FitRecord(steps=10, initial_loss=1.0, final_loss=0.4, n_params=5, flops_per_site=2.0, details={"x": 1})
    stuck = FitRecord(steps=10, initial_loss=1.0, final_loss=COLLAPSE_FRACTION, n_params=5, flops_per_site=2.0)
    assert not learned.collapsed and stuck.collapsed
    assert learned.as_dict() == {"x": 1, "steps": 10, "initial_loss": 1.0, "final_loss": 0.4, "n_params": 5,
                                 "flops_per_site": 2.0, "collapsed": False}
    assert not fit_collapsed({}) and not fit_collapsed({"initial_loss": math.nan, "final_loss": 2.0})
    assert not fit_collapsed({"initial_loss": 0.0, "final_loss": 2.0})


def test_a_cnn_fit_records_its_size_cost_and_collapse_flag():
    x = np.where(np.random.default_rng(0).random((8, 1, 6, 6)) < 0.5, -1, 1).astype(np.int8)
    from phasebench.lattice_models.channels import GaussianChannel

    fam = make_family("cnn", 1, width=8, depth=1, embed_dim=8, steps=3).fit(x, GaussianChannel(), [0.5], seed=0)
    described = fam.describe()
    assert all(described[h.name] == getattr(fam, h.name) for h in fam.hyperparameters)
    fit = described["fit"]
    assert fit["steps"] == 3 and fit["n_params"] == fam.n_params > 0 and fit["flops_per_site"] == fam.flops_per_site
    assert fit["collapsed"] == fit_collapsed(fit) and math.isfinite(fit["initial_loss"])
