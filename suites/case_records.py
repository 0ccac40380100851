"""Score-case records (:mod:`phasebench.suites.cases`) as data: their format in pytest-benchmark JSON, and
their join into the contents of a ``results.json``, which the leaderboard renders as it renders a run's."""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Optional, Sequence

from phasebench.lattice_models.provenance import json_default, strict_json

from .tasks import TASKS

#: the ``extra_info["format"]`` of a score case in pytest-benchmark JSON
CASE_FORMAT = "phasebench-case/1"


def plain_json(case: Dict[str, Any]) -> Dict[str, Any]:
    """``case`` in plain JSON types (for ``extra_info``), a missing number as null as in results.json."""
    return json.loads(json.dumps(strict_json(case), default=json_default, allow_nan=False))


def is_case(extra_info: Any) -> bool:
    return isinstance(extra_info, dict) and extra_info.get("format") == CASE_FORMAT


def results_from_cases(cases: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The cases of one or more divisions joined into the contents of a ``results.json`` (provenance and tasks, the
    format left to the caller), one per division.

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
        out.append({"provenance": provenance,
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
    record["placement"] = join_placements(cases, families)
    stages: Dict[str, float] = {}
    for case in cases:
        for name, seconds in case["record"].get("stage_seconds", {}).items():
            stages[name] = stages.get(name, 0.0) + seconds
    record.update(families=families, summary=summary, cells=cells, plots=[], stage_seconds=stages, cases=own,
                  wall_seconds=sum(c["record"].get("wall_seconds", 0.0) for c in cases))
    return record


def join_placements(cases: Sequence[Dict[str, Any]], families: Sequence[str]) -> Optional[Dict[str, Any]]:
    """The cases' placement tables (:mod:`phasebench.suites.placement`) as one: each family's row from its own case
    where it ran, else from the first that has it; the separations recomputed over the joined rows."""
    from .estimators.training_seeds import separated

    tables = [c["record"].get("placement") for c in cases if c["record"].get("placement")]
    if not tables:
        return None
    rows: Dict[str, Any] = {}
    for case in cases:
        for key, row in (case["record"].get("placement") or {}).get("families", {}).items():
            own = row.get("family") == case["family"]
            if row.get("family") in families and (key not in rows or own):
                if key not in rows or not rows[key][1]:
                    rows[key] = (row, own)
    joined = {k: row for k, (row, _) in rows.items()}
    return {**tables[0], "families": joined, "separated_below": separated(joined)}


def merge_entries(first: Any, second: Any) -> Any:
    """``first`` with the keys of ``second`` it lacks, recursively (a per-size entry that lists every family)."""
    if not (isinstance(first, dict) and isinstance(second, dict)):
        return first
    merged = dict(first)
    for key, value in second.items():
        merged[key] = merge_entries(merged[key], value) if key in merged else value
    return merged
