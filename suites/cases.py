"""Score cases: one (task, family) cell of a division, run through the runner's path on its own.

A case evaluates one family on one task's grid with the runner's own function
(:func:`phasebench.suites.runner.task_record`), so its record has the schema of a ``results.json`` task
record and, with the same seeds, the same scores.  ``suites/benchmarks/test_scores.py`` makes every case of
the registries (plugins included) a pytest-benchmark case that carries the case record in ``extra_info``;
:mod:`phasebench.suites.case_records` joins the cases of a pytest-benchmark JSON into the contents of a
``results.json``, which the leaderboard renders as it renders a run's.

Some families are scored against another family (:func:`companions`); a case runs those beside its own
family and records them, so that it is correct on its own.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from phasebench.denoisers import DENOISERS

from . import executors
from .case_records import CASE_FORMAT
from .runner import apply_overrides, resolve_families, run_provenance, task_record
from .tasks import DIVISIONS, TASKS, check_division, get_task


def companions(task, family: str, cfg) -> List[str]:
    """The families whose evaluation ``family``'s scores on ``task`` are computed against.

    Only the noise-axis objective (``toric-bitflip``, ``toric-gaussian``) has such: a family with r-local
    members is compared with the ``exact`` r-local oracle q_r on the same sampled edges, for its excess
    ``E|f_r - q_r|^2`` (orthogonality of the posterior mean), for increments Rao-Blackwellised against the
    largest exact radius, and for its share of the exact gain per ring
    (:mod:`phasebench.suites.objectives.noise_transition`).  The other objectives score each family against
    an exact posterior computed inside the evaluation, or against the family's own global member.
    """
    if task.objective != "noise-transition" or family == "exact" or "exact" not in DENOISERS.names():
        return []
    if not DENOISERS.get(family).local_members or not task.accepts_family(DENOISERS.get("exact"), cfg):
        return []
    return ["exact"]


def score_cases(divisions: Sequence[str] = DIVISIONS) -> List[Tuple[str, str, str]]:
    """Every (division, task, family) cell: each registered task (plugins included) with every registered family
    that the runner would evaluate on it by default (plugins included), in the runner's order."""
    out = []
    for division in divisions:
        for name in TASKS.names():
            task = get_task(name)
            cfg = task.config(check_division(division))
            out += [(division, name, family) for family in resolve_families(task, None, cfg)]
    return out


def case_id(division: str, task: str, family: str) -> str:
    """``toric-bitflip-cnn`` in the quick division, ``toric-bitflip-cnn-full`` in the full one."""
    return f"{task}-{family}" + ("" if division == "quick" else f"-{division}")


def run_case(task_name: str, family: str, division: str = "quick",
             overrides: Optional[Dict[str, Sequence]] = None) -> Dict[str, Any]:
    """Evaluate ``family`` (with its :func:`companions`) on ``task_name``'s grid in ``division``, as
    ``phasebench run --task TASK --family ... --division DIVISION`` would: the case record (module doc)."""
    check_division(division)
    task = get_task(task_name)
    cfg = apply_overrides(task, task.division_config(division), overrides or {})
    if not resolve_families(task, [family], cfg):
        raise ValueError(f"task {task_name!r} cannot evaluate family {family!r} on its {division} grid")
    order = resolve_families(task, None, cfg)  # the runner's order of families, for joining cases
    wanted = {family, *companions(task, family, cfg)}
    families = [f for f in order if f in wanted] + sorted(wanted - set(order))
    provenance = run_provenance(division)
    t0 = time.perf_counter()
    with executors.ensure_active():  # one worker pool for the case's fits and evaluations
        record = task_record(task, families, cfg)
    provenance["wall_seconds"] = time.perf_counter() - t0
    return {"format": CASE_FORMAT, "task": task_name, "family": family, "division": division, "families": families,
            "family_order": order, "provenance": provenance, "record": record}
