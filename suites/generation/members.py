"""Fitted denoiser members for a generation schedule, and their fit provenance.

A member is one radius of a registered family (``radius=None``: the global member), fitted for the model and
channel at size L on the levels the reverse process visits.  Families that learn from data (``trainable``)
fit on the model's validated sampler (the dataset cache of :mod:`phasebench.lattice_models.datasets`); the
others (exact oracles, belief propagation) read only the model.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional, Sequence

import numpy as np

from phasebench.denoisers import DENOISERS, make_family
from phasebench.lattice_models import datasets

#: training configurations of a trainable member unless asked otherwise
DEFAULT_N_TRAIN = 2000


def check_member(family: str, radius: Optional[int], model: Any, channel: Any, L: int) -> None:
    """ValueError naming the family and radius when the family has no such member for the model, channel and L."""
    cls = DENOISERS.get(family)  # ValueError naming an unknown family
    if not cls.supports_member(model, channel, radius, L):
        what = "global member" if radius is None else f"radius-{radius} member"
        raise ValueError(f"family {family!r} has no {what} for model {model.name!r} under the {channel.name} channel "
                         f"at L={L}")


def fit_member(family: str, radius: Optional[int], model: Any, channel: Any, L: int, levels: Sequence[float],
               seed: int, budget: Optional[float] = None, n_train: int = DEFAULT_N_TRAIN,
               options: Optional[Dict[str, Any]] = None):
    """The fitted member and its provenance record (family, radius, hyperparameters, training data, cost)."""
    check_member(family, radius, model, channel, L)
    member = make_family(family, radius, **(options or {}))
    levels = sorted({channel.validate_level(v) for v in levels})
    t0 = time.perf_counter()
    data: Dict[str, Any] = {}
    if member.trainable:
        ds = datasets.load_or_generate(model, n_train, L, seed)
        clean = ds.samples
        data = {"n_train": int(n_train), "dataset_sha256": ds.sha256, "dataset_seed": int(seed)}
    else:
        clean = np.zeros((1, model.channels, L, L), dtype=model.storage_dtype())
    member.fit(clean, channel, levels, seed=seed, budget=budget, model=model)
    record = {**member.describe(), "trainable": member.trainable, "fit_levels": len(levels), "budget": budget,
              "fit_seconds": time.perf_counter() - t0, **data}
    return member, record
