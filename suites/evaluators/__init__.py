"""The runner's evaluation loop: datasets -> fitted members -> evaluations -> records.

:func:`evaluate_task` takes an objective's plan (:meth:`Task.plan`, a list of
:class:`phasebench.suites.study.Study`), loads every study's datasets, fits every requested member of
every study in one :func:`phasebench.suites.parallel_fit.fit_members` call (so all fits of a task share
the worker pool and the fit cache), then runs each study's evaluation (:data:`EVALUATIONS`), which
returns the records that the objective's ``summarize`` reads.  Exact references that are not family
members (the window oracle on sampled edges, the transfer-matrix posterior, the global decoder) are
computed inside the evaluations, each once per process (:mod:`.references`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..evaluation import task_split
from ..parallel_fit import MemberSpec, fit_members
from ..study import Study
from .generation import evaluate_generation
from .grid import evaluate_grid
from .magnetisation import evaluate_aligned_magnetisation
from .parameter_scan import evaluate_member_pairs
from .sampled_edges import evaluate_global_decoder, evaluate_sampled_edges

if TYPE_CHECKING:
    from ..objectives.base import Task, TaskConfig

#: evaluation name -> function(task, study, data, fitted, cfg, tick) -> list of records; ``data``: one
#: (train, test, noisy test sets) per split; ``fitted``: member key -> (fitted family, fit info)
EVALUATIONS: Dict[str, Callable[..., List[Any]]] = {
    "grid": evaluate_grid,
    "member-pairs": evaluate_member_pairs,
    "sampled-edges": evaluate_sampled_edges,
    "global-decoder": evaluate_global_decoder,
    "aligned-magnetisation": evaluate_aligned_magnetisation,
    "generation": evaluate_generation,
}


def load_splits(task: "Task", study: Study, cfg: "TaskConfig") -> List[Tuple[Any, Any, List[np.ndarray]]]:
    """(train, test, noisy test sets) per split of ``study`` (cached datasets, seeded noise)."""
    channel = task.channel()
    levels = study.levels if study.noisy_tests else []
    return [task_split(task.model(**dict(s.params)), channel, cfg, s.L, levels, key=s.key,
                       common_noise=s.common_noise) for s in study.splits]


def member_spec(task: "Task", study: Study, data, request, cfg: "TaskConfig") -> MemberSpec:
    """The fit of one requested member: its training splits concatenated, one condition per split."""
    trains = [data[i][0].samples for i in request.train]
    x = trains[0] if len(trains) == 1 else np.concatenate(trains)
    conditions = None
    if request.conditions is not None:
        conditions = np.repeat(np.asarray(request.conditions, float), [len(t) for t in trains])
    model = task.model(**dict(study.splits[request.model].params))
    return MemberSpec(request.family, request.radius, x, task.channel(), study.levels, request.seed, cfg.budget, model,
                      cfg.family_options.get(request.family, {}), conditions)


def dataset_label(task: "Task", split) -> str:
    """A split's datasets, named by L, the model parameters and the split's key: ``L10 T=2.27``."""
    params = " ".join(f"{k}={v:g}" for k, v in sorted(dict(split.params).items()))
    key = "/".join(str(k) for k in split.key)
    return " ".join(part for part in (f"L{split.L}", params, f"key {key}" if key else "") if part)


def evaluate_task(task: "Task", families: List[str], cfg: "TaskConfig", tick: Callable[[str], None],
                  datasets: Optional[Dict[str, Dict[str, str]]] = None) -> List[Any]:
    """Every record of ``task`` on its grid for ``families`` (module doc).  ``datasets``, where given, receives
    the content hash (sha256) of every train and test dataset, by :func:`dataset_label`."""
    studies = task.plan(families, cfg)
    unknown = sorted({s.evaluation for s in studies} - EVALUATIONS.keys())
    if unknown:  # before any data is loaded or member fitted
        raise ValueError(f"task {task.name!r} plans unknown evaluations {unknown} (known: {', '.join(EVALUATIONS)})")
    tick(f"{task.name}:datasets")
    data = [load_splits(task, s, cfg) for s in studies]
    if datasets is not None:
        for study, splits in zip(studies, data):
            for split, (train, test, _) in zip(study.splits, splits):
                datasets[dataset_label(task, split)] = {"train": train.sha256, "test": test.sha256}
    keys = [(i, key) for i, s in enumerate(studies) for key in s.members]
    specs = [member_spec(task, studies[i], data[i], studies[i].members[key], cfg) for i, key in keys]
    tick(f"{task.name}:fit")
    fits = dict(zip(keys, fit_members(specs)))
    records: List[Any] = []
    for i, study in enumerate(studies):
        tick(f"{task.name}:{study.label}")
        fitted = {key: fits[i, key] for key in study.members}
        records += EVALUATIONS[study.evaluation](task, study, data[i], fitted, cfg, tick)
    return records
