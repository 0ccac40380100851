"""The denoiser-family interface.

A family is a small estimator object (scikit-learn style): hyperparameters in
the constructor, validated; ``fit`` on clean training data and a channel;
``denoise`` a noisy batch at a known level.  Arrays are numpy, shape
``(n, C, L, L)``; torch is used inside families, on CPU by default and on
CUDA when available.

``radius`` is an int r >= 0 (the output at a site depends only on noisy inputs
within Chebyshev distance r, cyclically; the locality audit checks it) or
``None`` for a global family.

Hyperparameters are declared once, as the class attribute ``hyperparameters`` (a tuple of
:class:`Hyperparameter`): the constructor validates them (a ValueError names the bad one and what
is allowed, unknown names too) and sets them as attributes; ``describe()``, the CLI's listing and the
runner's check of ``--family-option`` derive from the declaration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from phasebench.lattice_models.channels import NoiseChannel
from phasebench.lattice_models.devices import torch_device  # noqa: F401  (re-exported: families and the runner use it)
from phasebench.lattice_models.registry import Registry

DENOISERS: Registry[type] = Registry("denoiser family", "phasebench.denoisers")


def validate_radius(radius: Any) -> Optional[int]:
    if radius is None:
        return None
    try:
        r = int(radius)
    except (TypeError, ValueError):
        raise ValueError(f"radius r must be an integer >= 0 or None, got {radius!r}") from None
    if r != radius or r < 0:
        raise ValueError(f"radius r must be an integer >= 0, got {radius!r}")
    return r


KINDS = ("int", "float", "bool", "choice", "str")


@dataclass(frozen=True)
class Hyperparameter:
    """One constructor option of a family: its name, default, what values it takes, and what it does.

    ``kind``: ``"int"`` or ``"float"`` (a number in the interval ``low``..``high``, ends included unless
    ``low_inclusive`` / ``high_inclusive`` say otherwise; floats must be finite), ``"bool"`` (true or false),
    ``"choice"`` (one of ``choices``) or ``"str"`` (any string).  A default of ``None`` means "automatic"
    (resolved when the family is fitted, from the data and the channel), and then ``None`` is allowed too.
    """

    name: str
    default: Any
    kind: str
    doc: str = ""
    low: float = -math.inf
    high: float = math.inf
    low_inclusive: bool = True
    high_inclusive: bool = True
    choices: Tuple[Any, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"hyperparameter {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.default is not None:
            self.validate(self.default)

    def allowed(self) -> str:
        """What the hyperparameter accepts, in words (for error messages and the CLI's listing)."""
        if self.kind in ("int", "float"):
            noun = "an integer" if self.kind == "int" else "a number"
            if self.high == math.inf and self.low_inclusive:
                text = f"{noun} >= {self.low:g}"
            elif self.high == math.inf:
                text = f"{noun} > {self.low:g}"
            else:
                text = f"{noun} in {'[' if self.low_inclusive else '('}{self.low:g}, {self.high:g}{']' if self.high_inclusive else ')'}"
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            text = "a string"
        return text + (" or None (automatic)" if self.default is None else "")

    def validate(self, value: Any) -> Any:
        """The value, converted to its kind (int, float, bool); ValueError naming the hyperparameter otherwise."""
        if value is None and self.default is None:
            return None
        bad = ValueError(f"hyperparameter {self.name!r} must be {self.allowed()}, got {value!r}")
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
                return bool(value)
            raise bad
        if self.kind == "choice":
            if any(value == c and type(value) is type(c) for c in self.choices):
                return value
            raise bad
        if self.kind == "str":
            if isinstance(value, str):
                return value
            raise bad
        try:
            v = int(value) if self.kind == "int" else float(value)
        except (TypeError, ValueError, OverflowError):
            raise bad from None
        if isinstance(value, str) or v != value or not math.isfinite(v):
            raise bad  # not a whole number (int), NaN or infinite, or a number given as text
        if not ((v >= self.low if self.low_inclusive else v > self.low) and (v <= self.high if self.high_inclusive else v < self.high)):
            raise bad
        return v

    def describe(self) -> dict:
        return {"name": self.name, "default": self.default, "allowed": self.allowed(), "doc": self.doc}


class DenoiserFamily:
    """Base class; subclasses implement ``_fit`` and ``_denoise``."""

    name: ClassVar[str] = "?"
    description: ClassVar[str] = ""
    radius_semantics: ClassVar[str] = "Chebyshev radius r of the light cone of each output site"
    trainable: ClassVar[bool] = True
    supports_global: ClassVar[bool] = True
    #: False for global-only families (no finite-radius members)
    local_members: ClassVar[bool] = True
    #: model names, or ("*",) for any model
    supported_models: ClassVar[Tuple[str, ...]] = ("*",)
    #: True if one fit can cover several model parameters (e.g. temperatures): ``fit`` then
    #: takes ``conditions`` (one scalar per training configuration) and ``denoise`` a ``condition``
    conditionable: ClassVar[bool] = False
    #: True if every member is the least-squares projection of the clean data onto a class of
    #: estimators that contains the classes of the smaller radii (under the statistics the family
    #: is fitted on): then a member's excess MSE over a larger member equals the mean squared
    #: distance between their outputs, a far less noisy estimate than the difference of two MSEs
    #: (the Wiener filters of ``linear``; the posterior means of ``exact``)
    nested_projections: ClassVar[bool] = False
    #: the name of the family this one repeats under another name (kept for old scripts and results
    #: files); tasks leave aliases out of their default family lists
    alias_of: ClassVar[Optional[str]] = None
    #: False: the family runs only where asked for by name (``--family NAME``), not in a task's default
    #: family list (e.g. an architecture whose training the divisions do not budget yet)
    default_run: ClassVar[bool] = True
    #: the constructor's options besides the radius (see :class:`Hyperparameter`); set as attributes
    hyperparameters: ClassVar[Tuple[Hyperparameter, ...]] = ()

    def __init__(self, radius: Optional[int] = None, **hyper: Any):
        self.radius = validate_radius(radius)
        if self.radius is None and not self.supports_global:
            raise ValueError(f"family {self.name!r} has no global member: give a radius")
        for name, value in self.validate_hyperparameters(hyper).items():
            setattr(self, name, value)
        self.fitted_ = False

    @classmethod
    def validate_hyperparameters(cls, hyper: Mapping[str, Any]) -> Dict[str, Any]:
        """Every declared hyperparameter's value (given, else its default), validated; ValueError naming the
        first bad or unknown one and what is allowed.  Families with constraints between hyperparameters
        add them in :meth:`check_hyperparameters`."""
        declared = {h.name: h for h in cls.hyperparameters}
        unknown = sorted(set(hyper) - set(declared))
        if unknown:
            known = ", ".join(declared) if declared else "none"
            raise ValueError(f"family {cls.name!r} has no hyperparameter {unknown[0]!r} (hyperparameters: {known})")
        try:
            values = {name: h.validate(hyper[name]) if name in hyper else h.default for name, h in declared.items()}
            cls.check_hyperparameters(values)
        except ValueError as err:
            raise ValueError(f"family {cls.name!r}: {err}") from None
        return values

    @classmethod
    def check_hyperparameters(cls, values: Dict[str, Any]) -> None:
        """Constraints between hyperparameters (ValueError); none by default."""

    # -- estimator API --------------------------------------------------------------------
    def fit(
        self,
        clean_train: np.ndarray,
        channel: NoiseChannel,
        levels: Sequence[float],
        seed: int = 0,
        budget: Optional[float] = None,
        model: Any = None,
        conditions: Optional[np.ndarray] = None,
    ) -> "DenoiserFamily":
        """Fit on clean configurations ``(n, C, L, L)`` for the channel at ``levels``.

        ``budget`` is the training budget of trainable families in reference seconds: the work
        that takes that long on the reference machine (:mod:`phasebench.denoisers.harness.budget`), so that
        a fit does not depend on the machine's speed or load;
        ``model`` is the lattice model (needed by oracle families); ``conditions``
        (conditionable families only) holds one scalar per configuration.  A radius
        whose window covers the torus (2r + 1 >= L) is a global member.
        """
        clean_train = np.asarray(clean_train)
        if clean_train.ndim != 4 or clean_train.shape[2] != clean_train.shape[3]:
            raise ValueError(f"clean_train must have shape (n, C, L, L), got {clean_train.shape}")
        levels = [channel.validate_level(lv) for lv in levels]
        if not levels:
            raise ValueError("fit needs at least one noise level")
        L = clean_train.shape[-1]
        if conditions is not None:
            if not self.conditionable:
                raise ValueError(f"family {self.name!r} cannot be conditioned: fit it once per model parameter")
            conditions = np.asarray(conditions, dtype=np.float64)
            if conditions.shape != (len(clean_train),):
                raise ValueError(f"conditions must have shape ({len(clean_train)},), got {conditions.shape}")
        self.conditions_ = conditions
        if not self.supports(model):
            raise ValueError(f"family {self.name!r} does not support model {getattr(model, 'name', model)!r}")
        self.channel_ = channel
        self.levels_ = levels
        self.L_ = L
        self._fit(clean_train, channel, levels, int(seed), budget, model)
        self.fitted_ = True
        return self

    def denoise(self, y: np.ndarray, level: float, condition: Optional[float] = None) -> np.ndarray:
        """The posterior-mean estimate of the clean data, same shape as ``y``."""
        if not self.fitted_:
            raise RuntimeError(f"family {self.name!r} must be fitted before denoise")
        level = self.channel_.validate_level(level)
        y = np.asarray(y)
        if y.ndim != 4:
            raise ValueError(f"y must have shape (n, C, L, L), got {y.shape}")
        if (condition is None) != (getattr(self, "conditions_", None) is None):
            raise ValueError("give a condition exactly when the family was fitted with conditions")
        out = self._denoise(y, level) if condition is None else self._denoise(y, level, condition=float(condition))
        if out.shape != y.shape:
            raise AssertionError(f"{self.name} returned shape {out.shape} for input {y.shape}")
        return out

    @classmethod
    def supports(cls, model: Any) -> bool:
        if model is None or "*" in cls.supported_models:
            return True
        return getattr(model, "name", None) in cls.supported_models

    @classmethod
    def supports_member(cls, model: Any, channel: NoiseChannel, radius: Optional[int], L: int) -> bool:
        """True if the member of this radius (None: global) can be fitted for the model and channel at size L."""
        if not cls.supports(model):
            return False
        return cls.supports_global if radius is None else cls.local_members

    # -- to implement -------------------------------------------------------------------------
    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        raise NotImplementedError

    def _denoise(self, y: np.ndarray, level: float, **condition: float) -> np.ndarray:
        raise NotImplementedError

    def covers_torus(self) -> bool:
        """True for the global member and for radii whose window covers the torus."""
        return self.radius is None or 2 * self.radius + 1 >= self.L_

    @property
    def n_params(self) -> int:
        return 0

    @property
    def flops_per_site(self) -> float:
        return float("nan")

    def describe(self) -> dict:
        return {
            "name": self.name,
            "radius": self.radius,
            "n_params": self.n_params,
            "flops_per_site": self.flops_per_site,
            **{h.name: getattr(self, h.name) for h in self.hyperparameters},
        }

    @classmethod
    def describe_family(cls) -> dict:
        return {
            "name": cls.name,
            "description": cls.description,
            "radius_semantics": cls.radius_semantics,
            "trainable": cls.trainable,
            "global_member": cls.supports_global,
            "local_members": cls.local_members,
            "models": list(cls.supported_models),
            "hyperparameters": [h.describe() for h in cls.hyperparameters],
        }


def make_family(name: str, radius: Optional[int] = None, **hyper: Any) -> DenoiserFamily:
    """A member of the registered family ``name``; its hyperparameters are validated here (ValueError)."""
    return DENOISERS.get(name)(radius=radius, **hyper)
