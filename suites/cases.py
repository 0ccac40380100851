"""Score cases: one (task, family) cell of a division, run through the runner's path on its own.

A case evaluates one family on one task's grid with the runner's own function
(:func:`phasebench.suites.runner.task_record`), so its record has the schema of a ``results.json`` task
record and, with the same seeds, the same scores.  ``suites/benchmarks/test_scores.py`` makes every case of
the registries (plugins included) a pytest-benchmark case that carries the case record in ``extra_info``;
:func:`results_from_cases` joins the cases of a pytest-benchmark JSON into a ``results.json``-shaped dict,
which the leaderboard renders as it renders a run's.

Some families are scored against another family (:func:`companions`); a case runs those beside its own
family and records them, so that it is correct on its own.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from phasebench.denoisers import DENOISERS
from phasebench.lattice_models.provenance import json_default, strict_json

from .leaderboard import RESULTS_FORMAT
from .runner import apply_overrides, resolve_families, run_provenance, task_record
from .tasks import DIVISIONS, TASKS, check_division, get_task

#: the ``extra_info["format"]`` of a score case in pytest-benchmark JSON
CASE_FORMAT = "phasebench-case/1"


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
    cfg = apply_overrides(task, task.config(division), overrides or {})
    if not resolve_families(task, [family], cfg):
        raise ValueError(f"task {task_name!r} cannot evaluate family {family!r} on its {division} grid")
    order = resolve_families(task, None, cfg)  # the runner's order of families, for joining cases
    wanted = {family, *companions(task, family, cfg)}
    families = [f for f in order if f in wanted] + sorted(wanted - set(order))
    provenance = run_provenance(division)
    t0 = time.perf_counter()
    record = task_record(task, families, cfg)
    provenance["wall_seconds"] = time.perf_counter() - t0
    return {"format": CASE_FORMAT, "task": task_name, "family": family, "division": division, "families": families,
            "family_order": order, "provenance": provenance, "record": record}


def plain_json(case: Dict[str, Any]) -> Dict[str, Any]:
    """``case`` in plain JSON types (for ``extra_info``), a missing number as null as in results.json."""
    return json.loads(json.dumps(strict_json(case), default=json_default, allow_nan=False))


def is_case(extra_info: Any) -> bool:
    return isinstance(extra_info, dict) and extra_info.get("format") == CASE_FORMAT


def results_from_cases(cases: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The cases of one or more divisions joined into ``results.json``-shaped dicts, one per division.

    Per task, each summary entry and each cell is taken from the case of the family it belongs to (its
    ``family`` field), else (a companion family whose own case did not run) from the first case that has it;
    an entry of no evaluated family (the exact global decoder, the data's own estimator, a per-size entry that
    lists every family) is merged over the cases, key by key.  The summary keeps the runner's order for a
    single lattice size: the families' entries in the runner's order of families, then ``_``-prefixed
    entries, those of no evaluated family last.
    """
    by_division: Dict[str, Dict[str, List[Dict[str, Any]]]] = {}
    for case in cases:
        by_division.setdefault(case["division"], {}).setdefault(case["task"], []).append(case)
    out = []
    for division, tasks in by_division.items():
        names = [n for n in TASKS.names() if n in tasks] + [n for n in tasks if n not in TASKS.names()]
        firsts = [tasks[n][0]["provenance"] for n in names]
        provenance = {**firsts[0], "division": division, "started": min(p.get("started", "") for p in firsts),
                      "wall_seconds": sum(c["provenance"].get("wall_seconds", 0.0) for n in names for c in tasks[n]),
                      "cases": sum(len(tasks[n]) for n in names)}
        out.append({"format": RESULTS_FORMAT, "provenance": provenance,
                    "tasks": {n: join_task_cases(tasks[n]) for n in names}})
    return out


def join_task_cases(cases: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """One task's case records joined into its results.json record (:func:`results_from_cases`)."""
    order = cases[0]["family_order"]
    rank = {f: i for i, f in enumerate(order)}
    cases = sorted(cases, key=lambda c: (rank.get(c["family"], len(order)), c["family"]))
    own = [c["family"] for c in cases]
    families = [f for f in order if any(f in c["families"] for c in cases)]
    families += sorted({f for c in cases for f in c["families"]} - set(families))
    summary: Dict[str, Any] = {}
    owner: Dict[str, str] = {}
    for case in cases:
        for key, entry in case["record"]["summary"].items():
            fam = entry.get("family") if isinstance(entry, dict) else None
            if fam in families:  # an evaluated family's entry: from its own case where it ran
                if key not in summary or (owner[key] != fam and case["family"] == fam):
                    summary[key], owner[key] = entry, case["family"]
            else:
                summary[key] = merge_entries(summary[key], entry) if key in summary else entry
                owner.setdefault(key, "")
    order_key = {k: (k.startswith("_"), not owner[k], i) for i, k in enumerate(summary)}
    summary = {k: summary[k] for k in sorted(summary, key=order_key.get)}
    cells = []
    for fam in families + [None]:  # each family's cells from its own case, else its first; then the rest once
        source = next((c for c in cases if c["family"] == fam), None) or next(
            (c for c in cases if fam in c["families"]), cases[0])
        cells += [cell for cell in source["record"]["cells"]
                  if (cell.get("family") == fam if fam is not None else cell.get("family") not in families)]
    record = copy.deepcopy(cases[0]["record"])
    stages: Dict[str, float] = {}
    for case in cases:
        for name, seconds in case["record"].get("stage_seconds", {}).items():
            stages[name] = stages.get(name, 0.0) + seconds
    record.update(families=families, summary=summary, cells=cells, plots=[], stage_seconds=stages, cases=own,
                  wall_seconds=sum(c["record"].get("wall_seconds", 0.0) for c in cases))
    return record


def merge_entries(first: Any, second: Any) -> Any:
    """``first`` with the keys of ``second`` it lacks, recursively (a per-size entry that lists every family)."""
    if not (isinstance(first, dict) and isinstance(second, dict)):
        return first
    merged = dict(first)
    for key, value in second.items():
        merged[key] = merge_entries(merged[key], value) if key in merged else value
    return merged
