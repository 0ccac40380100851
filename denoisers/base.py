"""The denoiser-family interface.

A family is a small estimator object (scikit-learn style): hyperparameters in
the constructor, validated; ``fit`` on clean training data and a channel;
``denoise`` a noisy batch at a known level.  Arrays are numpy, shape
``(n, C, L, L)``; torch is used inside families, on CPU by default and on
CUDA when available.

``radius`` is an int r >= 0 (the output at a site depends only on noisy inputs
within Chebyshev distance r, cyclically; the locality audit checks it) or
``None`` for a global family.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Optional, Sequence, Tuple

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

    def __init__(self, radius: Optional[int] = None):
        self.radius = validate_radius(radius)
        if self.radius is None and not self.supports_global:
            raise ValueError(f"family {self.name!r} has no global member: give a radius")
        self.fitted_ = False

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
        that takes that long on the reference machine (:mod:`phasebench.denoisers.reference_cost`), so that
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
        }


def _constructor_keywords(cls: type) -> set:
    """Keywords the constructors along the MRO name, up to the first without ``**kwargs``."""
    names: set = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def make_family(name: str, radius: Optional[int] = None, **hyper: Any) -> DenoiserFamily:
    """A member of the registered family ``name``; a keyword that neither its constructors nor its
    declared ``hyperparameters`` name is a ValueError."""
    cls = DENOISERS.get(name)
    accepted = (_constructor_keywords(cls) | {h.name for h in getattr(cls, "hyperparameters", ())}) - {"radius"}
    unknown = sorted(set(hyper) - accepted)
    if unknown:
        raise ValueError(f"family {name!r} has no hyperparameter {unknown[0]!r} "
                         f"(hyperparameters: {', '.join(sorted(accepted)) or 'none'})")
    return cls(radius=radius, **hyper)
