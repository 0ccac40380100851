"""Merge the results of separate runs into one leaderboard: ``phasebench leaderboard A.json B.json ...``.

A submitted family is scored in a run of its own (``phasebench run --family NAME``, or its score cases), the
built-in families in another; their results form one leaderboard only if they are comparable.  Two
results are merged only when they come from the same code (the code version a run records:
:func:`phasebench.suites.results_store.version_of`) and the same division, and every task they share has the same grid (the task's configuration,
family options aside: they belong to the families), the same bootstrap settings and the same datasets
(content hashes of every train and test set).  Otherwise the merge is refused with one line that names
the first difference.  A family scored in both is refused too: which of its two scores would count?

Per task the merged record is joined as the score cases of a pytest session are
(:func:`phasebench.suites.case_records.join_task_cases`): each family's summary entries and cells from the
run that scored it, entries of no family (the exact global decoder, the data's own estimator) merged.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from .case_records import join_task_cases
from .results_store import version_of


class MergeRefused(ValueError):
    """Results that cannot share a leaderboard (module doc)."""


def _check_pair(base_name: str, base: Dict[str, Any], name: str, other: Dict[str, Any]) -> None:
    bp, op = base.get("provenance", {}), other.get("provenance", {})
    if version_of(base) != version_of(other):
        raise MergeRefused(f"{name} was made by phasebench {version_of(other)}, {base_name} by {version_of(base)}: "
                           "results of different code versions are not merged")
    if bp.get("division") != op.get("division"):
        raise MergeRefused(f"{name} is from the {op.get('division')!r} division, {base_name} from "
                           f"{bp.get('division')!r}: divisions are not merged")
    for task in sorted(set(base["tasks"]) & set(other["tasks"])):
        b, o = base["tasks"][task], other["tasks"][task]
        bc, oc = b.get("config", {}), o.get("config", {})
        diff = sorted(k for k in set(bc) | set(oc) if k != "family_options" and bc.get(k) != oc.get(k))
        if diff:  # the grid; family options belong to the families
            raise MergeRefused(f"{task}: {name} and {base_name} ran different grids ({', '.join(diff)} differ)")
        if b.get("bootstrap") != o.get("bootstrap"):
            raise MergeRefused(f"{task}: {name} and {base_name} used different bootstrap settings")
        bd, od = b.get("datasets"), o.get("datasets")
        if bd is None or od is None:
            raise MergeRefused(f"{task}: {base_name if bd is None else name} records no dataset hashes "
                               "(made by an older phasebench): its datasets cannot be compared")
        differ = sorted(k for k in set(bd) & set(od) if bd[k] != od[k]) + sorted(set(bd) ^ set(od))
        if differ:
            raise MergeRefused(f"{task}: {name} and {base_name} were scored on different datasets ({differ[0]})")
        shared = sorted(set(b.get("families", [])) & set(o.get("families", [])))
        if shared:
            raise MergeRefused(f"{task}: family {shared[0]!r} is scored in both {base_name} and {name}")


def merge_results(named: Sequence[Tuple[str, Dict[str, Any]]]) -> Dict[str, Any]:
    """One results.json's contents from several ``(name, results)`` (module doc); :class:`MergeRefused`
    naming the first difference where they are not comparable."""
    if not named:
        raise MergeRefused("no results to merge")
    base_name, base = named[0]
    for name, other in named[1:]:
        _check_pair(base_name, base, name, other)
    prov = dict(base.get("provenance", {}))
    prov["merged_from"] = [{"file": name, **{k: r.get("provenance", {}).get(k) for k in
                                             ("package_version", "git_commit", "started", "hardware", "wall_seconds")}}
                           for name, r in named]
    prov["wall_seconds"] = sum(r.get("provenance", {}).get("wall_seconds") or 0.0 for _, r in named)
    tasks: Dict[str, List[Dict[str, Any]]] = {}
    for _, results in named:
        for task, record in results["tasks"].items():
            tasks.setdefault(task, []).append(record)
    merged: Dict[str, Any] = {}
    for task, records in tasks.items():
        order: List[str] = []
        for record in records:
            order += [f for f in record.get("families", []) if f not in order]
        pseudo_cases = [{"family": fam, "families": record.get("families", []), "family_order": order, "record": record}
                        for record in records for fam in record.get("families", [])]
        joined = join_task_cases(pseudo_cases) if pseudo_cases else dict(records[0])
        joined.pop("cases", None)
        joined["wall_seconds"] = sum(r.get("wall_seconds", 0.0) for r in records)
        stages: Dict[str, float] = {}
        for record in records:  # once per run, not once per family
            for stage, seconds in record.get("stage_seconds", {}).items():
                stages[stage] = stages.get(stage, 0.0) + seconds
        joined["stage_seconds"] = stages
        merged[task] = joined
    return {**{k: v for k, v in base.items() if k not in ("provenance", "tasks")}, "provenance": prov, "tasks": merged}
