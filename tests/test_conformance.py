"""The conformance check: every registered family passes; broken families are caught, each with
a one-line message naming the family, the model and the property violated."""

import os
import subprocess
import sys
import textwrap
from collections import namedtuple

import numpy as np
import pytest

from phasebench.denoisers import DENOISERS, DenoiserFamily
from phasebench.denoisers.conformance import ConformanceError, check_family
from phasebench.lattice_models import MODELS, make_model
from phasebench.lattice_models.geometry import apply_window_kernel
from test_plugins import make_plugin


@pytest.mark.parametrize("name", DENOISERS.names())
def test_every_registered_family_conforms(name):
    cls = DENOISERS.get(name)
    report = check_family(name)
    assert report.fitted_members > 0
    supported = {m for m in MODELS.names() if cls.supports(make_model(m))}
    assert {r.model for r in report.records if r.prop == "fit and denoise"} == supported
    if cls.local_members:  # the audit ran on every supported model where a local member exists
        audited = {r.model for r in report.records if r.prop == "locality"}
        declined = {r.model for r in report.records if r.outcome == "skipped" and r.radius != "global"}
        assert audited | declined == supported
    assert any(r.prop.startswith("same seed") for r in report.records)
    declared = {h.name for h in getattr(cls, "hyperparameters", ())}
    assert {r.detail for r in report.records if r.prop == "bad hyperparameter"} == declared


# -- families that break one property each -------------------------------------------------
Hyper = namedtuple("Hyper", "name default")


class BoxMean(DenoiserFamily):
    """A minimal conformant local family: ``shrink`` times the radius-r box average of the
    centred noisy input, plus the training mean (global member: the lattice average).  It
    validates its one hyperparameter itself."""

    trainable = False
    hyperparameters = (Hyper("shrink", 0.5),)

    def __init__(self, radius=None, **hyper):
        DenoiserFamily.__init__(self, radius)
        unknown = sorted(set(hyper) - {"shrink"})
        if unknown:
            raise ValueError(f"family {self.name!r} has no hyperparameter {unknown[0]!r}")
        self.shrink = self.validate_shrink(hyper.get("shrink", 0.5))

    @staticmethod
    def validate_shrink(shrink):
        if isinstance(shrink, bool) or not isinstance(shrink, (int, float)):
            raise ValueError(f"shrink must be a number, got {shrink!r}")
        return float(shrink)

    def _fit(self, clean_train, channel, levels, seed, budget, model):
        self.mean_ = float(np.mean(clean_train))

    def _denoise(self, y, level):
        yc = np.asarray(y, dtype=np.float64) - self.mean_
        if self.covers_torus():
            box = np.broadcast_to(yc.mean(axis=(2, 3), keepdims=True), yc.shape)
        else:
            side = 2 * self.radius + 1
            box = apply_window_kernel(yc, np.full((side, side), 1.0 / side**2))
        return self.mean_ + self.shrink * box


class HoldsLambda(BoxMean):
    def _fit(self, clean_train, channel, levels, seed, budget, model):
        super()._fit(clean_train, channel, levels, seed, budget, model)
        self.centre_ = lambda y: y - self.mean_


class HoldsOpenFile(BoxMean):
    def _fit(self, clean_train, channel, levels, seed, budget, model):
        super()._fit(clean_train, channel, levels, seed, budget, model)
        self.log_ = open(os.devnull, "w")


class UnseededRNG(BoxMean):
    """'Trains' its shrinkage from an unseeded generator."""

    trainable = True

    def _fit(self, clean_train, channel, levels, seed, budget, model):
        super()._fit(clean_train, channel, levels, seed, budget, model)
        self.shrink = float(np.random.default_rng().uniform(0.4, 0.6))


class SeededByClock(UnseededRNG):
    def _fit(self, clean_train, channel, levels, seed, budget, model):
        BoxMean._fit(self, clean_train, channel, levels, seed, budget, model)
        self.shrink = 0.4 + 0.2 * (__import__("time").perf_counter_ns() % 1000) / 1000


class SeedDependentOracle(BoxMean):
    """Non-trainable, yet its fit depends on the seed."""

    def _fit(self, clean_train, channel, levels, seed, budget, model):
        super()._fit(clean_train, channel, levels, seed, budget, model)
        self.shrink = 0.4 + 0.01 * seed


class LeaksLatticeMean(BoxMean):
    """Claims radius r but adds a fraction of the lattice mean of the input."""

    def _denoise(self, y, level):
        return super()._denoise(y, level) + 0.01 * np.asarray(y, float).mean(axis=(2, 3), keepdims=True)


class UnvalidatedHyperparameter(BoxMean):
    validate_shrink = staticmethod(lambda shrink: shrink)


class SwallowsKeywords(BoxMean):
    def __init__(self, radius=None, **hyper):
        super().__init__(radius, **{k: v for k, v in hyper.items() if k == "shrink"})


class CentresInPlace(BoxMean):
    def _denoise(self, y, level):
        y -= self.mean_  # the caller's array changes
        return super()._denoise(y + self.mean_, level)


class WrongShape(BoxMean):
    def _denoise(self, y, level):
        return super()._denoise(y, level)[:, :, :-1]


@pytest.fixture
def register(monkeypatch):
    """Register a test family under ``name`` for one test (the registry is restored after)."""

    def add(name, cls):
        DENOISERS.load_plugins()
        monkeypatch.setitem(DENOISERS._entries, name, cls)
        monkeypatch.setattr(cls, "name", name)
        return name

    return add


def test_a_minimal_local_family_conforms(register):
    report = check_family(register("boxmean", BoxMean), ["gff", "toric_loops"])
    assert {r.prop for r in report.records} >= {"unknown keyword", "bad hyperparameter", "fit and denoise",
                                                  "pickling", "locality", "same seed, same fit"}


@pytest.mark.parametrize("cls,message", [
    (HoldsLambda, r"family 'bad' on model 'gff' \(gaussian channel, radius global\): pickling: a fitted member does "
                  r"not pickle \(.*lambda"),
    (HoldsOpenFile, r"family 'bad' on model 'gff' .*: pickling: a fitted member does not pickle \(.*TextIOWrapper"),
    (UnseededRNG, r"family 'bad' on model 'gff' .*: same seed, same fit: two fits with seed 0 denoise differently "
                  r"\(max \|difference\| .*\): the fit is not reproducible from its seed"),
    (SeededByClock, r"family 'bad' on model 'gff' .*: same seed, same fit: .* not reproducible from its seed"),
    (SeedDependentOracle, r"family 'bad' on model 'gff' .*: seed: a non-trainable family's fit changed with the seed"),
    (LeaksLatticeMean, r"family 'bad' on model 'gff' \(gaussian channel, radius 1\): locality: family 'bad' claims "
                       r"radius 1 but its output changed by .* when only inputs outside the window changed"),
    (UnvalidatedHyperparameter, r"family 'bad': bad hyperparameter: shrink=<object object at .*> was accepted"),
    (CentresInPlace, r"family 'bad' on model 'gff' .*: denoise: modified its input in place"),
    (WrongShape, r"family 'bad' on model 'gff' .*: denoise: raised AssertionError: bad returned shape"),
])
def test_a_broken_family_is_caught_with_a_one_line_message(register, cls, message):
    with pytest.raises(ConformanceError, match=message) as err:
        check_family(register("bad", cls), ["gff"])
    assert "\n" not in str(err.value)


def test_an_unregistered_class_that_swallows_unknown_keywords_is_caught():
    with pytest.raises(ConformanceError, match=r"^family 'SwallowsKeywords': unknown keyword: "
                                               r"no_such_hyperparameter=1 was accepted$"):
        check_family(SwallowsKeywords, ["gff"])


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="does not support model 'gff'"):
        check_family("mwpm", ["gff"])
    with pytest.raises(ValueError, match="unknown denoiser family 'nope'"):
        check_family("nope")
    with pytest.raises(ValueError, match="family name or a DenoiserFamily subclass"):
        check_family(42)


# -- a plugin family, installed through the entry point, checked as the docs say -------------
PLUGIN = textwrap.dedent('''
    import numpy as np
    from phasebench.denoisers import DenoiserFamily
    from phasebench.lattice_models.geometry import apply_window_kernel

    class BoxMean(DenoiserFamily):
        description = "tiny plugin family: half the radius-r box average"
        trainable = False
        supported_models = ("gff", "checkerboard")

        def _fit(self, *args):
            pass

        def _denoise(self, y, level):
            y = np.asarray(y, float)
            if self.radius is None:
                return 0.5 * np.broadcast_to(y.mean(axis=(2, 3), keepdims=True), y.shape)
            side = 2 * self.radius + 1
            return 0.5 * apply_window_kernel(y, np.full((side, side), 1.0 / side**2))

    class LeakyBox(BoxMean):
        def _denoise(self, y, level):
            return super()._denoise(y, level) + 0.01 * np.asarray(y, float).mean()
''')


def test_a_plugin_family_is_checked_by_name(tmp_path):
    """The family-extension story: a user's package registers families (and the model
    ``checkerboard`` of test_plugins' tinyplugin) through entry points and runs the check by name."""
    env = make_plugin(tmp_path)
    (tmp_path / "boxplugin.py").write_text(PLUGIN)
    dist = tmp_path / "boxplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: boxplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[phasebench.denoisers]\nboxmean = boxplugin:BoxMean\nleakybox = boxplugin:LeakyBox\n")
    code = ("from phasebench.denoisers.conformance import check_family; "
            "print(check_family('boxmean').summary())")
    ok = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "family 'boxmean': conformant" in ok.stdout
    assert "locality on checkerboard (bitflip, radius 1): ok" in ok.stdout  # the plugin model is checked too
    cli = subprocess.run([sys.executable, "-m", "phasebench.denoisers.conformance", "boxmean", "leakybox"],
                         capture_output=True, text=True, env=env)
    assert cli.returncode == 1
    assert "FAILED: family 'leakybox' on model 'checkerboard' (bitflip channel, radius 1): locality:" in cli.stdout
