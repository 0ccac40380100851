"""Fit independent members of trainable families in worker processes.

Every fit is a pure function of its inputs: a budget in reference seconds fixes the work
(:mod:`phasebench.denoisers.harness.budget`), and torch runs on one thread, where training is bitwise
reproducible (:func:`phasebench.denoisers.harness.noisy_batches.set_torch_threads`).  So fitting members side by side,
one per core, changes the wall time and nothing else; ``tests/test_parallel_fit.py`` checks
that the members fitted in workers denoise bit for bit like those fitted in the process.

The fits are mapped by the run's executor (:mod:`phasebench.suites.executors`: this process, local
processes, or a Dask cluster).  Fitted members are stored in and taken from ``PHASEBENCH_FIT_CACHE`` when it is set (:mod:`phasebench.suites.fit_cache`).
Workers: ``PHASEBENCH_WORKERS`` (default: the cores this process may use, or 1 when the
families train on a GPU; 1 fits in-process).  Several processes may share one GPU, each with its own
CUDA context, which raised the throughput but costs GPU memory, so the default stays 1 there (measured:
docs/decisions/gpu-training-and-workers.md).
Non-trainable families (exact oracles, closed forms) fit in-process: they are fast, and some
hold large tables; so do families defined in ``__main__``, which a fresh interpreter may lack.
Workers start with ``spawn`` (a fresh interpreter: forking a process that has run torch's or
numba's thread pools can deadlock); an interrupt or a failed fit kills them at once, and they never
outlive this process (:mod:`phasebench.suites.interrupts`).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import numpy as np

from . import executors


@dataclass
class MemberSpec:
    """Everything one member's fit needs (arguments of :func:`fit_member`)."""

    family: str
    radius: Optional[int]
    train: np.ndarray
    channel: Any
    levels: List[float]
    seed: int
    budget: Optional[float]
    model: Any
    options: dict = field(default_factory=dict)
    conditions: Optional[np.ndarray] = None


def fit_member(family_name: str, radius, train: np.ndarray, channel, levels, seed: int, budget, model,
               options: Optional[dict] = None, conditions: Optional[np.ndarray] = None):
    """Fit one member of a family; returns (family, info with fit_seconds)."""
    from phasebench.denoisers import make_family

    fam = make_family(family_name, radius, **(options or {}))
    t0 = time.perf_counter()
    fam.fit(train, channel, levels, seed=seed, budget=budget, model=model, conditions=conditions)
    info = fam.describe()
    info["fit_seconds"] = time.perf_counter() - t0
    return fam, info


def _fit(spec: MemberSpec):
    return fit_member(spec.family, spec.radius, spec.train, spec.channel, spec.levels, spec.seed, spec.budget,
                      spec.model, spec.options, spec.conditions)


def fit_members(specs: List[MemberSpec], workers: Optional[int] = None) -> List[Tuple[Any, dict]]:
    """``[(family, info)]`` for each spec, in order; trainable members on the run's executor
    (:func:`phasebench.suites.executors.current`), or with ``workers`` in up to that many local processes."""
    from phasebench.denoisers import DENOISERS

    from . import fit_cache

    directory = fit_cache.cache_directory()
    trainable = [DENOISERS.get(s.family).trainable for s in specs]
    done = {i: hit for i, s in enumerate(specs) if trainable[i] and (hit := fit_cache.load(s, directory)) is not None}
    todo = [i for i in range(len(specs)) if i not in done]
    # a family defined in __main__ (a notebook, say) may not exist in a fresh interpreter: fit it here
    remote = [i for i in todo if trainable[i] and DENOISERS.get(specs[i].family).__module__ != "__main__"]
    fitted = {}

    def keep(i, result):  # each member is stored as soon as it is fitted: an interrupted run keeps the finished ones
        fitted[i] = result
        if trainable[i]:
            fit_cache.store(specs[i], *result, directory)

    executor = executors.current() if workers is None else (
        executors.SerialExecutor() if workers < 2 else executors.ProcessExecutor(workers))

    def fit_here():  # while the workers train
        for i in todo:
            if i not in remote:
                keep(i, _fit(specs[i]))

    with contextlib.closing(executor.map_unordered(_fit, [specs[i] for i in remote], fit_here)) as finished:
        for j, result in finished:
            keep(remote[j], result)
    return [done[i] if i in done else fitted[i] for i in range(len(specs))]
