"""The runner's evaluation loop: datasets -> fitted members -> evaluations -> records.

:func:`evaluate_task` takes an objective's plan (:meth:`Task.plan`, a list of
:class:`phasebench.suites.study.Study`), loads every study's datasets, fits every requested member of
every study in one :func:`phasebench.suites.parallel_fit.fit_members` call (so all fits of a task share
the worker pool and the fit cache), then runs each study's evaluation (:data:`EVALUATIONS`), which
returns the records that the objective's ``summarize`` reads.  Exact references that are not family
members (the window oracle on sampled edges, the transfer-matrix posterior, the global decoder) are
computed inside the evaluations, each once per process (:mod:`.references`).  With ``PHASEBENCH_FIT_CACHE`` set,
each family's records of each study are kept there and a rerun reads them back (:mod:`.resume`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..estimators import derive_seed
from ..evaluation import task_split
from ..parallel_fit import MemberSpec, fit_members
from ..study import Study
from . import resume
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


#: evaluation name -> function(study) -> the names its records are kept under in the fit cache
#: (:func:`.resume.family_records`), each with the families whose members it covers
RECORD_NAMES: Dict[str, Callable[[Study], List[Tuple[str, List[str]]]]] = {
    "grid": lambda s: [(s.settings["family"], [s.settings["family"]])],
    "member-pairs": lambda s: [(f, [f]) for f in s.settings["families"]],
    "sampled-edges": lambda s: [(f, [f]) for f in s.settings["families"]],
    "global-decoder": lambda s: [("exact-global", [])],
    "aligned-magnetisation": lambda s: [("+".join(s.settings["families"]), list(s.settings["families"]))],
    "generation": lambda s: [(s.settings["family"], [s.settings["family"]])],
}


def load_splits(task: "Task", study: Study, cfg: "TaskConfig") -> List[Tuple[Any, Any, List[np.ndarray]]]:
    """(train, test, noisy test sets) per split of ``study`` (cached datasets, seeded noise)."""
    channel = task.channel()
    levels = study.levels if study.noisy_tests else []
    return [task_split(task.model(**dict(s.params)), channel, cfg, s.L, levels, key=s.key,
                       common_noise=s.common_noise, n_test=s.n_test) for s in study.splits]


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


#: evaluations whose studies name their families (settings ``families`` or ``family``) and key members by them, so
#: that a further training seed can be evaluated on the trainable families alone
SEEDABLE_EVALUATIONS = frozenset({"grid", "member-pairs", "sampled-edges", "aligned-magnetisation"})


def study_families(study: Study) -> List[str]:
    s = study.settings
    return list(s["families"]) if "families" in s else [s["family"]] if "family" in s else []


def seed_replica(task: "Task", study: Study, seed_index: int) -> Tuple[Optional[Study], Dict[Any, Any]]:
    """The study for training seed ``seed_index`` >= 1: its trainable families, beside the task's
    ``seed_reference_families`` that it holds, and a map from its member keys to the keys of the fits
    to use: a further seed's fit (key ``("train-seed", seed_index, key)``) for a trainable family's member, the
    seed-0 fit for the others.  (None, {}) where the study has no trainable family or its evaluation cannot be
    split by family (:data:`SEEDABLE_EVALUATIONS`)."""
    from phasebench.denoisers import DENOISERS

    fams = study_families(study)
    trainable = [f for f in fams if DENOISERS.get(f).trainable]
    if study.evaluation not in SEEDABLE_EVALUATIONS or not trainable:
        return None, {}
    keep = [f for f in fams if f in trainable or f in task.seed_reference_families]
    members = {k: m for k, m in study.members.items() if m.family in keep}
    fit_keys = {k: ("train-seed", seed_index, k) if m.family in trainable else k for k, m in members.items()}
    settings = dict(study.settings)
    if "families" in settings:
        settings["families"] = keep
    return dataclasses.replace(study, members=members, settings=settings), fit_keys


def fit_plan(task: "Task", studies: List[Study], data, cfg: "TaskConfig"):
    """The fits of a task's studies: their keys ``(study index, member key)``, their specs, and per further training
    seed the replica studies with the fit keys they use (:func:`seed_replica`).  ``data``: per study, its splits'
    (train, test, ...) datasets; only the training sets are read."""
    keys = [(i, key) for i, s in enumerate(studies) for key in s.members]
    specs = [member_spec(task, studies[i], data[i], studies[i].members[key], cfg) for i, key in keys]
    seeded = {s_i: [seed_replica(task, study, s_i) for study in studies] for s_i in range(1, cfg.train_seeds)}
    for s_i, reps in seeded.items():
        for i, (rep, fit_keys) in enumerate(reps):
            for key, fit_key in fit_keys.items():
                if fit_key != key:
                    request = studies[i].members[key]
                    keys.append((i, fit_key))
                    specs.append(member_spec(task, studies[i], data[i], dataclasses.replace(
                        request, seed=derive_seed(request.seed, s_i)), cfg))
    return keys, specs, seeded


def evaluate_task(task: "Task", families: List[str], cfg: "TaskConfig", tick: Callable[[str], None],
                  datasets: Optional[Dict[str, Dict[str, str]]] = None,
                  replicas: Optional[Dict[int, List[Any]]] = None,
                  reused: Optional[List[str]] = None) -> List[Any]:
    """Every record of ``task`` on its grid for ``families`` (module doc), with the members' seed-0 fits.
    ``datasets``, where given, receives the content hash (sha256) of every train and test dataset, by
    :func:`dataset_label`.  With ``cfg.train_seeds`` > 1 every member of a trainable family is fitted again
    with each further seed (seed ``derive_seed(seed, index)``), on the same data, in the same pass through
    the workers; ``replicas``, where given, receives each further seed's records (its trainable families,
    and the ``seed_reference_families`` they are scored against: :func:`seed_replica`), by seed index.  With
    ``PHASEBENCH_FIT_CACHE`` set each study's records are kept per family and a rerun reads them back
    (:mod:`.resume`); ``reused``, where given, receives the names of those read back."""
    studies = task.plan(families, cfg)
    reused = [] if reused is None else reused
    unknown = sorted({s.evaluation for s in studies} - EVALUATIONS.keys())
    if unknown:  # before any data is loaded or member fitted
        raise ValueError(f"task {task.name!r} plans unknown evaluations {unknown} (known: {', '.join(EVALUATIONS)})")
    tick(f"{task.name}:datasets")
    data = [load_splits(task, s, cfg) for s in studies]
    if datasets is not None:
        for study, splits in zip(studies, data):
            for split, (train, test, _) in zip(study.splits, splits):
                datasets[dataset_label(task, split)] = {"train": train.sha256, "test": test.sha256}
    keys, specs, seeded = fit_plan(task, studies, data, cfg)
    tick(f"{task.name}:fit")
    fits = dict(zip(keys, fit_members(specs)))
    records: List[Any] = []
    for i, study in enumerate(studies):
        tick(f"{task.name}:{study.label}")
        fitted = {key: fits[i, key] for key in study.members}
        with resume.study_scope(task, study, cfg, data[i], 0, reused):
            records += EVALUATIONS[study.evaluation](task, study, data[i], fitted, cfg, tick)
    for s_i, reps in seeded.items():
        out = replicas.setdefault(s_i, []) if replicas is not None else []
        for i, (rep, fit_keys) in enumerate(reps):
            if rep is not None:
                tick(f"{task.name}:{rep.label}:seed{s_i}")
                with resume.study_scope(task, rep, cfg, data[i], s_i, reused):
                    out += EVALUATIONS[rep.evaluation](task, rep, data[i],
                                                       {k: fits[i, fk] for k, fk in fit_keys.items()}, cfg, tick)
    return records
