"""What a cell would read back from the fit cache instead of computing: the fits and the family records already there.

``phasebench run --dry-run`` prices a cell by its cost model (:mod:`phasebench.suites.sweep_plan`); a cell resumed
over several sittings (docs/running.md, "Resuming inside a cell") has part of that work in ``PHASEBENCH_FIT_CACHE``
already.  :func:`cached_work` finds it the way the run would: it builds the cell's member specs from its training
sets and the study keys from its datasets' content hashes (:mod:`phasebench.suites.evaluators.resume`), and
looks up their entries.  It reads only datasets that are in the dataset cache (``PHASEBENCH_CACHE``) and generates
none: a study whose datasets are not there counts as not cached.  Nothing without ``PHASEBENCH_FIT_CACHE``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from phasebench.lattice_models.datasets import load_cached

from . import fit_cache
from .evaluation import split_datasets
from .evaluators import RECORD_NAMES, SEEDABLE_EVALUATIONS, fit_plan
from .evaluators.resume import records_key, study_key


def fit_price(name: str, cfg) -> Optional[float]:
    """How the cost model prices one fit of family ``name`` on grid ``cfg``: its budgeted wall seconds (budget x the
    family's wall factor) for a learned family trained to its budget, None for one given a step count (``steps`` or
    ``train_flops``: not priced), 0 for any other family."""
    from phasebench.denoisers import DENOISERS
    from phasebench.denoisers.harness.learned import LearnedFamily

    family = DENOISERS.get(name)
    if not issubclass(family, LearnedFamily):
        return 0.0
    options = cfg.family_options.get(name, {})
    if options.get("steps") is not None or options.get("train_flops") is not None:
        return None
    return float(cfg.budget) * family.wall_per_budget_second


def cached_work(task, families, cfg, window_seconds: Callable[[Any, int], float] = lambda study, n_test: 0.0
                ) -> Dict[str, Any]:
    """The cell's work found in the fit cache (module doc): ``cached_fits`` (trainable members' fits),
    ``cached_budget_seconds`` (their :func:`fit_price`), ``cached_fixed_step_members`` (those given a step count),
    ``cached_records`` (stored family records), ``cached_family_units`` (per family, the test data of its stored
    records, in ``family_units``' measure) and ``cached_window_seconds`` (``window_seconds(study, n_test)`` of each
    study whose ``exact`` records are stored: its windows were stored before them).  Empty without a fit cache or
    where no dataset of the cell is cached."""
    from phasebench.denoisers import DENOISERS

    directory = fit_cache.cache_directory()
    if directory is None:
        return {}
    studies = task.plan(families, cfg)
    data = []
    for study in studies:
        splits = [split_datasets(task.model(**dict(s.params)), cfg, s.L, s.key, s.n_test, load=load_cached)
                  for s in study.splits]
        data.append(None if any(ds is None for pair in splits for ds in pair) else [(*pair, None) for pair in splits])
    if all(d is None for d in data):
        return {}
    found: Dict[str, Any] = {"cached_fits": 0, "cached_budget_seconds": 0.0, "cached_fixed_step_members": 0,
                             "cached_family_units": {}, "cached_window_seconds": 0.0, "cached_records": 0}
    ready = [i for i, d in enumerate(data) if d is not None]
    _, specs, seeded = fit_plan(task, [studies[i] for i in ready], [data[i] for i in ready], cfg)
    for spec in specs:
        if not DENOISERS.get(spec.family).trainable or not fit_cache.member_path(spec, directory).exists():
            continue
        found["cached_fits"] += 1
        price = fit_price(spec.family, cfg)
        if price is None:
            found["cached_fixed_step_members"] += 1
        else:
            found["cached_budget_seconds"] += price
    units = found["cached_family_units"]
    for k, i in enumerate(ready):
        study = studies[i]
        priced = bool(study.splits and study.noisy_tests)  # by family (sweep_plan.cost_figures)
        sites = sum(s.L ** 2 for s in study.splits) if priced else 0
        n_test = max(cfg.n_test if s.n_test is None else s.n_test for s in study.splits) if priced else 0
        versions = [(0, study)] + [(s_i, reps[k][0]) for s_i, reps in seeded.items() if reps[k][0] is not None]
        for seed_index, version in versions:
            if seed_index and study.evaluation not in SEEDABLE_EVALUATIONS:
                continue
            key = study_key(task, version, cfg, data[i], seed_index)
            for name, covered in RECORD_NAMES[version.evaluation](version):
                if seed_index:  # a further seed prices its trainable families only (cost_figures)
                    covered = [f for f in covered if DENOISERS.get(f).trainable]
                if fit_cache.records_path(records_key(key, name), directory).exists():
                    found["cached_records"] += 1
                    if name == "exact" and not seed_index:
                        found["cached_window_seconds"] += window_seconds(study, n_test)
                    for request in version.members.values():
                        if priced and request.family in covered:
                            units[request.family] = units.get(request.family, 0.0) + sites * n_test * len(study.levels)
    return found
