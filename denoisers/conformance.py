"""The conformance check of a denoiser family (scikit-learn's ``check_estimator`` is the model).

``check_family("myfamily")`` runs, for a registered family (plugins included) or a family
class, every property the benchmark relies on, on small data:

* **construction**: an unknown keyword, and values of the wrong kind for each declared
  hyperparameter (``cls.hyperparameters``: objects with ``.name``, ``.default`` and optionally
  ``.kind`` and ``.choices``), raise ValueError naming the parameter; the declared defaults are
  accepted;
* **fit and denoise**: on every registered model the family supports (``cls.supports``),
  with each noise channel the model's data admit (quick: the first one), every member kind
  (global, radius ``r``) fits, ``fit`` returns the family, ``denoise`` returns finite real
  floats of the input's shape, and neither modifies its input in place (datasets are shared);
* **pickling**: a fitted member survives a pickle round trip (workers and the fit cache ship
  members that way) and denoises bit for bit as before;
* **locality**: every finite-radius member passes :func:`phasebench.denoisers.locality.audit_locality`
  (its output at a site ignores the inputs outside its radius-r window) on every model;
* **seeds**: two fits with one seed denoise bit for bit alike.  A trainable family may
  differ under another seed; a non-trainable one may not.

A member that its family declines with ValueError at ``fit`` (an oracle that does not exist for
that model, channel or radius) is skipped and listed in the report; a family that fits no member
at all fails.  The first violated property raises :class:`ConformanceError`, whose one-line
message names the family, the model, the channel, the radius and the property.

Physics note: the data are the model's own samples at a small L under a noise channel at one
level (SNR lambda = 1 for the Gaussian channel, flip probability p = 0.1 for bit flip), so the
posterior is non-trivial and a family that ignored its inputs would fail the locality audit's
inside check.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Optional, Sequence, Union

import numpy as np

from phasebench.lattice_models import CHANNELS, MODELS, LatticeModel, NoiseChannel, make_channel, make_model

from .base import DENOISERS, DenoiserFamily, make_family
from .locality import audit_locality

#: small settings (quick) and a fuller pass; ``budget`` is in reference seconds
#: (:mod:`phasebench.denoisers.harness.budget`): 0.05 is 5 Adam steps and a 192-configuration readout
#: refit of an r = 1 ``cnn`` at L = 6, enough to run every stage of a learned fit
QUICK = dict(L=6, n_train=16, n_test=2, budget=0.05, radii=(1,), audit_sites=3, all_channels=False, repeat_all=False)
FULL = dict(L=8, n_train=32, n_test=4, budget=0.2, radii=(0, 1, 2), audit_sites=6, all_channels=True, repeat_all=True)
#: candidate noise levels, the first one a channel accepts is used (lambda = 1; p = 0.1)
LEVEL_CANDIDATES = (1.0, 0.1)
UNKNOWN_KEYWORD = "no_such_hyperparameter"
SEED = 0


class ConformanceError(AssertionError):
    """A family violates a property of the family interface (one-line message)."""


@dataclass
class CheckRecord:
    """One property checked on one member: ``outcome`` is "passed" or "skipped"."""

    prop: str
    outcome: str
    model: Optional[str] = None
    channel: Optional[str] = None
    radius: Any = "-"
    detail: str = ""

    def line(self) -> str:
        where = "" if self.model is None else f" on {self.model} ({self.channel}, radius {self.radius})"
        return f"{self.outcome:7s} {self.prop}{where}" + (f": {self.detail}" if self.detail else "")


@dataclass
class ConformanceReport:
    family: str
    records: List[CheckRecord] = field(default_factory=list)

    @property
    def fitted_members(self) -> int:
        return sum(r.prop == "fit and denoise" and r.outcome == "passed" for r in self.records)

    def summary(self) -> str:
        return "\n".join([f"family {self.family!r}: conformant"] + ["  " + r.line() for r in self.records])


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


class _Context:
    """Where a check runs (family, model, channel, radius): formats failures and records."""

    def __init__(self, report: ConformanceReport, model: Optional[str] = None, channel: Optional[str] = None,
                 radius: Any = "-"):
        self.report, self.model, self.channel, self.radius = report, model, channel, radius

    def fail(self, prop: str, detail: Any) -> ConformanceError:
        where = "" if self.model is None else f" on model {self.model!r} ({self.channel} channel, radius {self.radius})"
        return ConformanceError(f"family {self.report.family!r}{where}: {prop}: {_one_line(detail)}")

    def record(self, prop: str, outcome: str = "passed", detail: str = "") -> None:
        self.report.records.append(CheckRecord(prop, outcome, self.model, self.channel, self.radius, _one_line(detail)))


# -- resolution of the family, models and channels ------------------------------------------
def _resolve_family(name_or_class: Union[str, type]) -> tuple[str, type]:
    if isinstance(name_or_class, str):
        return name_or_class, DENOISERS.get(name_or_class)
    if isinstance(name_or_class, type) and issubclass(name_or_class, DenoiserFamily):
        name = getattr(name_or_class, "name", "?")
        return (name_or_class.__name__ if name == "?" else name), name_or_class
    raise ValueError(f"check_family needs a family name or a DenoiserFamily subclass, got {name_or_class!r}")


def _construct(name: str, cls: type, radius: Optional[int], **hyper: Any) -> DenoiserFamily:
    """Through :func:`make_family` where ``cls`` is the registered family of that name."""
    if name in DENOISERS and DENOISERS.get(name) is cls:
        return make_family(name, radius, **hyper)
    return cls(radius, **hyper)


def _resolve_models(cls: type, name: str, models: Optional[Iterable[Union[str, LatticeModel]]]) -> List[LatticeModel]:
    if models is None:
        return [m for m in (make_model(n) for n in MODELS.names()) if cls.supports(m)]
    out = [make_model(m) if isinstance(m, str) else m for m in models]
    for m in out:
        if not isinstance(m, LatticeModel):
            raise ValueError(f"models must hold model names or LatticeModel instances, got {m!r}")
        if not cls.supports(m):
            raise ValueError(f"family {name!r} does not support model {m.name!r}")
    return out


def level_for(channel: NoiseChannel) -> float:
    """The first of :data:`LEVEL_CANDIDATES` the channel accepts."""
    for level in LEVEL_CANDIDATES:
        try:
            return channel.validate_level(level)
        except ValueError:
            continue
    raise ValueError(f"channel {channel.name!r} accepts none of the levels {LEVEL_CANDIDATES}")


def model_channels(model: LatticeModel, clean: np.ndarray) -> List[NoiseChannel]:
    """The registered channels (default options) that can corrupt the model's data (e.g. bit flip
    needs spins or bits); a channel that refuses the data raises ValueError in ``corrupt``."""
    out = []
    for name in CHANNELS.names():
        channel = make_channel(name)
        try:
            channel.corrupt(clean[:1], level_for(channel), SEED, variable_type=model.variable_type)
        except ValueError:
            continue
        out.append(channel)
    return out


_DATA_CACHE: dict = {}


def _clean(model: LatticeModel, n: int, L: int, seed: int) -> np.ndarray:
    key = (type(model), repr(model), n, L, seed)
    if key not in _DATA_CACHE:
        if len(_DATA_CACHE) > 32:
            _DATA_CACHE.clear()
        _DATA_CACHE[key] = model.sample(n, L, seed=seed)
    return _DATA_CACHE[key]


# -- construction ---------------------------------------------------------------------------
def _kind(hp: Any) -> Optional[str]:
    """The declared ``kind`` ("int", "float", "bool", "choice", "str"), else the default's type."""
    kind = getattr(hp, "kind", None)
    if kind is not None or hp.default is None:
        return kind
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if isinstance(hp.default, types):
            return kind
    return None


def _wrong_kind_values(hp: Any) -> list:
    """Values no hyperparameter of this kind accepts: a bare object, and values of other Python
    types (a fraction or text for an integer, text for a number, a number for a flag or a string)."""
    other = {"int": [2.5, "3"], "float": ["0.5"], "bool": ["yes", 0.5], "str": [1.5]}
    if _kind(hp) == "choice":
        choices = tuple(getattr(hp, "choices", ()))
        other["choice"] = [1.5] if all(isinstance(c, str) for c in choices) else ["not-a-choice"]
    return [object()] + other.get(_kind(hp), [])


def check_hyperparameters(name: str, cls: type, report: ConformanceReport, radius: Optional[int]) -> None:
    """Unknown keywords and wrong-kind values raise ValueError naming the parameter."""
    ctx = _Context(report)

    def expect_value_error(prop: str, param: str, value: Any) -> None:
        try:
            _construct(name, cls, radius, **{param: value})
        except ValueError as err:
            if param not in str(err):
                raise ctx.fail(prop, f"{param}={value!r} raised ValueError {str(err)!r}, which does not name {param!r}")
            return
        except Exception as err:  # noqa: BLE001 - any other error is the violation reported
            raise ctx.fail(prop, f"{param}={value!r} raised {type(err).__name__} ({err}), not ValueError")
        raise ctx.fail(prop, f"{param}={value!r} was accepted")

    expect_value_error("unknown keyword", UNKNOWN_KEYWORD, 1)
    ctx.record("unknown keyword")
    for hp in getattr(cls, "hyperparameters", ()):
        try:
            _construct(name, cls, radius, **{hp.name: hp.default})
        except Exception as err:  # noqa: BLE001
            raise ctx.fail("declared default", f"{hp.name}={hp.default!r} raised {type(err).__name__} ({err})")
        for value in _wrong_kind_values(hp):
            expect_value_error("bad hyperparameter", hp.name, value)
        ctx.record("bad hyperparameter", detail=hp.name)


# -- fitted members --------------------------------------------------------------------------
def _fit(ctx: _Context, name: str, cls: type, radius, clean, channel, level, budget, model, seed: int):
    family = _construct(name, cls, radius)
    data = clean.copy()
    try:
        fitted = family.fit(data, channel, [level], seed=seed, budget=budget, model=model)
    except ValueError:
        raise
    except Exception as err:  # noqa: BLE001
        raise ctx.fail("fit", f"raised {type(err).__name__}: {err}") from err
    if not np.array_equal(data, clean):
        raise ctx.fail("fit", "modified its training data in place")
    if fitted is not family:
        raise ctx.fail("fit", f"returned {type(fitted).__name__}, not the family itself")
    return family


def _denoise(ctx: _Context, family: DenoiserFamily, y: np.ndarray, level: float, prop: str = "denoise") -> np.ndarray:
    data = y.copy()
    try:
        out = family.denoise(data, level)
    except Exception as err:  # noqa: BLE001
        raise ctx.fail(prop, f"raised {type(err).__name__}: {err}") from err
    if not np.array_equal(data, y):
        raise ctx.fail(prop, "modified its input in place")
    if not isinstance(out, np.ndarray):
        raise ctx.fail(prop, f"returned {type(out).__name__}, not a numpy array")
    if out.shape != y.shape:
        raise ctx.fail(prop, f"returned shape {out.shape} for input {y.shape}")
    if not np.issubdtype(out.dtype, np.floating):
        raise ctx.fail(prop, f"returned dtype {out.dtype}, not a real floating dtype")
    if not np.isfinite(out).all():
        raise ctx.fail(prop, "returned non-finite values")
    return out


def _max_difference(a: np.ndarray, b: np.ndarray) -> str:
    return f"max |difference| {float(np.max(np.abs(a - b))):.3g}"


def check_pickling(ctx: _Context, family: DenoiserFamily, y: np.ndarray, level: float, expected: np.ndarray) -> None:
    try:
        copy = pickle.loads(pickle.dumps(family))
    except Exception as err:  # noqa: BLE001
        raise ctx.fail("pickling", f"a fitted member does not pickle ({type(err).__name__}: {err})") from err
    out = _denoise(ctx, copy, y, level, "pickling")
    if not np.array_equal(out, expected):
        raise ctx.fail("pickling", f"the unpickled member denoises differently ({_max_difference(out, expected)})")
    ctx.record("pickling")


def check_locality(ctx: _Context, family: DenoiserFamily, y: np.ndarray, level: float, n_sites: int) -> None:
    report = audit_locality(family, y[:1], level, n_sites=n_sites, seed=SEED)
    if not report.passed:
        raise ctx.fail("locality", report.message)
    ctx.record("locality", detail=report.message)


def check_seeds(ctx: _Context, refit, y: np.ndarray, level: float, expected: np.ndarray, trainable: bool) -> None:
    """Same seed, same fit; a non-trainable family must not depend on the seed at all."""
    try:
        first, second = refit(SEED), refit(SEED + 1)
    except ValueError as err:
        raise ctx.fail("same seed, same fit", f"a refit raised ValueError ({err}) after the first fit succeeded") from err
    again = _denoise(ctx, first, y, level, "same seed, same fit")
    if not np.array_equal(again, expected):
        raise ctx.fail("same seed, same fit",
                       f"two fits with seed {SEED} denoise differently ({_max_difference(again, expected)}): "
                       "the fit is not reproducible from its seed")
    other = _denoise(ctx, second, y, level, "seed")
    differs = not np.array_equal(other, expected)
    if differs and not trainable:
        raise ctx.fail("seed", f"a non-trainable family's fit changed with the seed ({_max_difference(other, expected)})")
    ctx.record("same seed, same fit", detail=f"seed {SEED + 1} {'differs' if differs else 'gives the same fit'}")


# -- the check --------------------------------------------------------------------------------
def member_radii(cls: type, radii: Sequence[int]) -> List[Optional[int]]:
    """The members to check: the global one where the family has it, and finite radii."""
    return ([None] if cls.supports_global else []) + (list(radii) if cls.local_members else [])


def check_family(name_or_class: Union[str, type], models: Optional[Iterable[Union[str, LatticeModel]]] = None, *,
                 quick: bool = True, channels: Optional[Sequence[NoiseChannel]] = None) -> ConformanceReport:
    """Run the conformance check; return its report, or raise :class:`ConformanceError` at the
    first violated property.

    ``models``: names or instances (default: every registered model the family supports, at its
    default parameters).  ``channels``: the channels to try (default: every registered channel
    that can corrupt the model's data).  ``quick`` (default): L = 6, a tiny training budget, one
    channel per model, radius 1, seeds checked on the first member; ``quick=False``: L = 8,
    radii 0, 1, 2, every channel, seeds checked on every member.
    """
    name, cls = _resolve_family(name_or_class)
    cfg = QUICK if quick else FULL
    report = ConformanceReport(name)
    radii = member_radii(cls, cfg["radii"])
    if not radii:
        raise _Context(report).fail("members", "the family declares neither a global member nor local members")
    check_hyperparameters(name, cls, report, radii[-1])
    seeds_checked = False
    for model in _resolve_models(cls, name, models):
        L = max(cfg["L"], model.min_L)
        train = _clean(model, cfg["n_train"], L, seed=SEED)
        test = _clean(model, cfg["n_test"], L, seed=SEED + 1)
        chans = list(channels) if channels is not None else model_channels(model, train)
        if not cfg["all_channels"]:
            chans = chans[:1]
        if not chans:
            _Context(report, model.name, "-").record("fit and denoise", "skipped", "no channel can corrupt its data")
        for channel in chans:
            level = level_for(channel)
            y = channel.corrupt(test, level, SEED + 2, variable_type=model.variable_type)
            for radius in radii:
                ctx = _Context(report, model.name, channel.name, "global" if radius is None else radius)

                def refit(seed: int, radius=radius, channel=channel, level=level, ctx=ctx) -> DenoiserFamily:
                    return _fit(ctx, name, cls, radius, train, channel, level, cfg["budget"], model, seed)

                try:
                    family = refit(SEED)
                except ValueError as err:  # the family declines this member (no oracle, wrong data, ...)
                    ctx.record("fit and denoise", "skipped", f"declined: {err}")
                    continue
                expected = _denoise(ctx, family, y, level)
                ctx.record("fit and denoise")
                check_pickling(ctx, family, y, level, expected)
                if radius is not None:
                    check_locality(ctx, family, y, level, cfg["audit_sites"])
                if cfg["repeat_all"] or not seeds_checked:
                    check_seeds(ctx, refit, y, level, expected, cls.trainable)
                    seeds_checked = True
    if report.fitted_members == 0:
        raise _Context(report).fail("fit and denoise", "no member fitted on any supported model and channel "
                                    f"({'; '.join(r.line() for r in report.records if r.outcome == 'skipped')})")
    return report


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m phasebench.denoisers.conformance NAME [--full] [--model M ...]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m phasebench.denoisers.conformance", description=__doc__.split("\n")[0])
    parser.add_argument("family", nargs="+", help="registered family names (plugins included)")
    parser.add_argument("--model", action="append", help="check on this model only (repeatable)")
    parser.add_argument("--full", action="store_true", help="more radii, every channel, seeds on every member")
    args = parser.parse_args(argv)
    status = 0
    for fam in args.family:
        try:
            print(check_family(fam, args.model, quick=not args.full).summary())
        except (ConformanceError, ValueError) as err:
            print(f"FAILED: {err}")
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
