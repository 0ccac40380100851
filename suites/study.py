"""What an objective asks the runner to do, as plain data: a list of :class:`Study`.

An objective never fits or evaluates a member itself.  It *plans*: each study names its datasets
(:class:`Split`: model parameters, lattice size, seed key, common noise), the members it needs
(:class:`MemberRequest`: family, radius, training sets, seed, conditions) and the evaluation it
wants of them (``evaluation``: a name in :data:`phasebench.suites.evaluators.EVALUATIONS`, with its
``settings``).  The runner (:func:`phasebench.suites.evaluators.evaluate_task`) loads every dataset,
fits every member of every study in one pass through the worker pool and the fit cache, runs each
study's evaluation, and hands the records to the objective's ``summarize``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Hashable, List, Optional, Tuple


@dataclass(frozen=True)
class Split:
    """A train/test pair of the task's model at size ``L`` and its noisy test sets, one per level of the study.

    ``params`` override the task's model parameters; ``key`` enters the dataset seeds
    (:func:`phasebench.suites.evaluation.task_split`); ``common_noise``: one noise draw for every level;
    ``n_test``: test configurations, where not the grid's ``n_test``."""

    L: int
    params: Tuple[Tuple[str, float], ...] = ()
    key: Tuple[int, ...] = ()
    common_noise: bool = False
    n_test: Optional[int] = None


@dataclass(frozen=True)
class MemberRequest:
    """One member to fit: its training set is the concatenation of the training sets of the study's
    ``train`` splits; ``conditions`` (a conditioned family) gives one condition per training split,
    shared by its configurations; the fit sees the model of split ``model``."""

    family: str
    radius: Optional[int]
    train: Tuple[int, ...]
    seed: int
    conditions: Optional[Tuple[float, ...]] = None
    model: int = 0


@dataclass
class Study:
    """Datasets, members and the evaluation of them that an objective needs (module doc)."""

    evaluation: str
    label: str
    levels: List[float]
    splits: List[Split] = field(default_factory=list)
    members: Dict[Hashable, MemberRequest] = field(default_factory=dict)
    settings: Dict[str, Any] = field(default_factory=dict)
    #: False: the study reads no noisy test sets (its ``levels`` are its members' fit levels only, e.g. the
    #: hundreds of levels of a reverse diffusion path)
    noisy_tests: bool = True
