"""The lattice-model interface: typed parameters, samples, metadata, exact theory.

A model is a small object with validated parameters (scikit-learn style). It
knows how to draw samples of shape ``(n, C, L, L)`` on the periodic L x L
lattice and what is known exactly about it.  Samplers live in
``lattice_models/kernels``; exact theory in ``lattice_models/exact``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Dict, Optional, Tuple

import numpy as np

from .registry import Registry

VARIABLE_TYPES = ("spin", "binary", "real")


@dataclass(frozen=True)
class Param:
    """A typed, range-checked model parameter."""

    name: str
    default: float
    low: float = -math.inf
    high: float = math.inf
    low_inclusive: bool = True
    high_inclusive: bool = True
    doc: str = ""

    def range_text(self) -> str:
        lo = "[" if self.low_inclusive else "("
        hi = "]" if self.high_inclusive else ")"
        return f"{lo}{self.low:g}, {self.high:g}{hi}"

    def validate(self, value: Any) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"parameter {self.name!r} must be a number, got {value!r}") from None
        ok = math.isfinite(v) or v in (self.low, self.high)
        ok = ok and (v >= self.low if self.low_inclusive else v > self.low)
        ok = ok and (v <= self.high if self.high_inclusive else v < self.high)
        if not ok:
            raise ValueError(f"parameter {self.name!r}={value!r} is outside its allowed range {self.range_text()}")
        return v


@dataclass(frozen=True)
class Transition:
    """A known phase transition of a model, or of a (model, channel) pair, and how to place it.

    ``channel`` None: a transition of the clean model along one of its parameters (``axis``,
    e.g. T).  ``channel`` set: a transition of the noisy data along that channel's level
    (``axis`` is the level's name, ``p`` or ``lambda``).  ``reference`` is the source of
    ``value`` and ``uncertainty``; an unverified value is declared with ``scored=False``
    (measured, never scored against).  The finite-size data tell an objective how to place it:

    * ``crossing_exponent``: the exponent ``a`` with which the nonlocality of the local
      denoisers, ``Phi L^a``, is size-independent at the transition (``2 beta / nu`` when Phi
      measures the order parameter's square: 1/4 in the 2D Ising class).  A parameter
      transition without it has no crossing estimator;
    * ``nu``: the correlation-length exponent; the crossing fits use the scaling variable
      ``(g - g_c) L^{1/nu}`` and the noise-axis estimator extrapolates the peak of xi_eff at
      scale rho as ``g_c + b rho^{-1/nu}``.
    """

    axis: str
    value: float
    uncertainty: float
    reference: str
    channel: Optional[str] = None
    scored: bool = True
    crossing_exponent: Optional[float] = None
    nu: Optional[float] = None

    @property
    def along_noise(self) -> bool:
        """True for a transition along a channel's level, False for one along a model parameter."""
        return self.channel is not None

    def to_dict(self) -> dict:
        return asdict(self)


def validate_size(L: Any, *, minimum: int = 2, even: bool = False) -> int:
    try:
        L_int = int(L)
    except (TypeError, ValueError):
        raise ValueError(f"L must be an integer >= {minimum}, got {L!r}") from None
    if L_int != L or L_int < minimum:
        raise ValueError(f"L must be an integer >= {minimum}, got {L!r}")
    if even and L_int % 2:
        raise ValueError(f"L must be even for this sampler, got {L_int}")
    return L_int


def validate_int(value: Any, name: str, minimum: int = 1) -> int:
    """An integer >= minimum, or ValueError naming the parameter and the bound."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if v != value or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return v


def validate_count(n: Any, name: str = "n") -> int:
    return validate_int(n, name, 1)


def validate_positive(value: Any, name: str) -> float:
    """A finite number > 0, or ValueError naming the parameter ("NAME must be > 0, got ...")."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number > 0, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


class LatticeModel:
    """Base class for lattice models.

    Subclasses set ``params`` (a tuple of :class:`Param`), ``variable_type``,
    ``channels`` (1 for site variables, 2 for edge variables) and implement
    :meth:`_sample`.
    """

    name: ClassVar[str] = "?"
    description: ClassVar[str] = ""
    params: ClassVar[Tuple[Param, ...]] = ()
    variable_type: ClassVar[str] = "real"
    channels: ClassVar[int] = 1
    boundary: ClassVar[str] = "periodic"
    sampler_name: ClassVar[str] = "?"
    #: raised when a change of the sampler changes the samples drawn for the same (parameters, L, n, seed,
    #: options); above 1 it is part of the dataset cache key, so datasets of an older sampler are not reused
    #: (version 1 keeps the key of the datasets written before samplers had versions)
    sampler_version: ClassVar[int] = 1
    #: sampler options that choose where the sampler runs but change no bit of the samples (tested
    #: per model); they are recorded in the diagnostics and left out of the dataset's cache key
    execution_options: ClassVar[Tuple[str, ...]] = ()
    min_L: ClassVar[int] = 2
    #: local parity constraints every clean configuration satisfies, one stencil per check: the
    #: check at site (i, j) multiplies the +-1 values of channel c at (i + di, j + dj) for each
    #: (c, di, dj), and is +1 on clean data (e.g. the toric code's vertex checks).  Learned
    #: families may feed their values on noisy data (the syndrome) to the network
    parity_checks: ClassVar[Tuple[Tuple[Tuple[int, int, int], ...], ...]] = ()

    def __init__(self, **values: Any):
        known = {p.name: p for p in self.params}
        unknown = set(values) - set(known)
        if unknown:
            names = ", ".join(sorted(known)) or "none"
            raise ValueError(f"model {self.name!r} has no parameter {sorted(unknown)[0]!r} (parameters: {names})")
        self.values: Dict[str, float] = {
            p.name: p.validate(values.get(p.name, p.default)) for p in self.params
        }

    def __getattr__(self, item: str) -> float:
        values = self.__dict__.get("values")
        if values is not None and item in values:
            return values[item]
        raise AttributeError(item)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.values.items())
        return f"{type(self).__name__}({args})"

    # -- sampling -------------------------------------------------------------------------
    def validate_L(self, L: Any) -> int:
        return validate_size(L, minimum=self.min_L)

    def sample(self, n: int, L: int, seed: int, **sampler_options: Any) -> np.ndarray:
        """Draw ``n`` configurations of the L x L torus; returns ``(n, C, L, L)``."""
        samples, _ = self.sample_with_diagnostics(n, L, seed, **sampler_options)
        return samples

    def sample_with_diagnostics(self, n: int, L: int, seed: int, **sampler_options: Any):
        n = validate_count(n)
        L = self.validate_L(L)
        samples, diagnostics = self._sample(n, L, int(seed), **sampler_options)
        expected = (n, self.channels, L, L)
        if samples.shape != expected:
            raise AssertionError(f"{self.name} sampler returned {samples.shape}, expected {expected}")
        return samples, diagnostics

    def _sample(self, n: int, L: int, seed: int, **options: Any) -> Tuple[np.ndarray, dict]:
        raise NotImplementedError

    def storage_dtype(self) -> np.dtype:
        return np.dtype(np.int8) if self.variable_type in ("spin", "binary") else np.dtype(np.float64)

    def validate_samples(self, samples: np.ndarray) -> None:
        """Raise ValueError if loaded samples are not valid configurations of this model."""
        if samples.ndim != 4 or samples.shape[1] != self.channels or samples.shape[2] != samples.shape[3]:
            raise ValueError(f"samples must have shape (n, {self.channels}, L, L), got {samples.shape}")
        if self.variable_type == "spin" and not np.isin(samples, (-1, 1)).all():
            raise ValueError("spin samples must be +-1")
        if self.variable_type == "binary" and not np.isin(samples, (0, 1)).all():
            raise ValueError("binary samples must be 0/1")

    # -- metadata and exact theory ---------------------------------------------------------
    def transitions(self) -> list[Transition]:
        return []

    def observables(self, samples: np.ndarray) -> Dict[str, Tuple[float, float]]:
        """Per-configuration observables as (mean, standard error) over samples."""
        return {}

    def exact_observables(self, L: int) -> Dict[str, float]:
        return {}

    def supports_exact_posterior(self, channel: "Any", radius: Optional[int], L: int) -> bool:
        return False

    def exact_posterior_mean(self, y: np.ndarray, channel: "Any", level: float, radius: Optional[int]) -> np.ndarray:
        """E[x | y] (radius None) or the exact best radius-r local estimate."""
        raise NotImplementedError(f"model {self.name!r} has no exact posterior")

    def exact_posterior_mean_at(self, y: np.ndarray, channel: "Any", level: float, radius: Optional[int],
                                mask: np.ndarray) -> np.ndarray:
        """:meth:`exact_posterior_mean` where ``mask`` (the shape of y) is True, 0 elsewhere; a model whose
        r-local oracle costs one window per site overrides it to evaluate the masked sites only."""
        return np.where(mask, self.exact_posterior_mean(y, channel, level, radius), 0.0)

    def exact_window_seconds(self, radius: int) -> float:
        """Reference-machine CPU seconds of :meth:`exact_posterior_mean_at` per masked site at ``radius``, for a
        model whose oracle costs one window per site and grows steeply with r (the cost model's price,
        :mod:`phasebench.suites.sweep_plan`); 0 where that cost is within the data's per-site rate."""
        return 0.0

    def exact_failure_probability(self, y: np.ndarray, channel: "Any", level: float) -> Optional[np.ndarray]:
        """Per configuration, the failure probability of exact optimal decoding of the model's global
        (topological) information given y, where the model has such a decoder; None otherwise."""
        return None

    def exact_mmse(self, channel: "Any", level: float, L: int) -> Optional[float]:
        """Exact per-site MMSE of the global posterior mean, where known in closed form."""
        return None

    def exact_local_mse(self, channel: "Any", level: float, L: int, radius: int) -> Optional[float]:
        """Exact per-site MSE of the best radius-r estimator, where known."""
        return None

    def markov_length(self, channel: "Any", level: float) -> Optional[float]:
        return None

    @classmethod
    def describe(cls) -> dict:
        return {
            "name": cls.name,
            "description": cls.description,
            "variable_type": cls.variable_type,
            "channels": cls.channels,
            "boundary": cls.boundary,
            "sampler": cls.sampler_name,
            "params": [
                {"name": p.name, "default": p.default, "range": p.range_text(), "doc": p.doc} for p in cls.params
            ],
            "transitions": [t.to_dict() for t in cls().transitions()],
        }


MODELS: Registry[type] = Registry("model", "phasebench.lattice_models")


def make_model(name: str, **values: Any) -> LatticeModel:
    return MODELS.get(name)(**values)


def _parse_value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_param_assignments(items: list[str] | None, what: str = "parameter assignment") -> Dict[str, Any]:
    """Parse ``["T=2.2", "algorithm=wolff"]`` into ``{"T": 2.2, "algorithm": "wolff"}`` (numbers cast)."""
    out: Dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"{what} {item!r} must look like NAME=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = _parse_value(v.strip())
    return out
