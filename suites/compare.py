"""``phasebench leaderboard --compare OLD NEW``: each score's change between two runs, with its CI.

Either file may be a ``results.json`` or a pytest-benchmark JSON of score cases
(:mod:`phasebench.suites.cases`).  Per task and family (summary entry), every score that carries a
bootstrap CI (a record with a point value, ``value``, ``mean`` or ``xi``, and ``lo``, ``hi``) is paired
with the same score of the other run.  A change is *flagged* when each run's value lies outside the
other run's CI (a finite value that became NaN, an estimate lost, is flagged too).  A flagged change is a
*regression* when it moves the wrong way for its kind of score (:data:`DIRECTIONS`): a transition placement
away from the declared value (scored tasks only), an excess, MSE, gap or W1 of generated samples up, ``xi_eff / xi_M`` away from 1,
a share of the exact gain down; other scores carry no direction and are reported as changed.  With the
same seeds and code a run repeats bit for bit (one torch thread), so any flag is a real change of the
code or of its settings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from .leaderboard import results_of, table

Interval = Tuple[float, float, float]  # (value, lo, hi)

#: point keys of an interval record, in the estimators' spellings
POINT_KEYS = ("value", "mean", "xi")
#: parts of a summary entry that hold no scores (fit records, locality audits)
SKIPPED_KEYS = ("members", "locality", "datasets")


def _away_from(reference: float) -> Callable[[float, float, Optional[float]], bool]:
    return lambda old, new, _target: abs(new - reference) > abs(old - reference)


#: placements of a transition: worse when further from the declared value (scored tasks only)
TARGET_KEYS = ("pc_estimate", "pc_extrapolated", "pc_vs_rmax", "estimate", "estimate_vs_exact_reference")
#: the last key of a score's path -> worse(old, new, target): True, False, or None (no direction)
DIRECTIONS: Dict[str, Callable[[float, float, Optional[float]], Optional[bool]]] = {
    **{k: (lambda old, new, _t: new > old) for k in ("mse", "excess", "excess_over_exact_local",
                                                     "global_vs_exact_worst_rel_gap", "wasserstein")},
    **{k: (lambda old, new, t: None if t is None else abs(new - t) > abs(old - t)) for k in TARGET_KEYS},
    **{k: _away_from(1.0) for k in ("xi_ratio", "excess_ratio")},
    "share": lambda old, new, _t: new < old,
}
#: scores shown whether or not they changed: placements, the calibration ratio, the speciation levels
HEADLINE_KEYS = ("pc_estimate", "pc_extrapolated", "estimate", "estimate_vs_exact_reference", "xi_ratio",
                 "global_vs_exact_worst_rel_gap", "lambda_global", "lambda_r", "lambda_S")


@dataclass
class ScoreChange:
    task: str
    family: str
    score: str
    old: Optional[Interval]
    new: Optional[Interval]
    flagged: bool = False
    regression: bool = False
    improvement: bool = False

    @property
    def leaf(self) -> str:
        return leaf_key(self.score)


def leaf_key(path: str) -> str:
    """The last key of a score path: ``levels[lambda=0.3].excess[2]`` -> ``excess``."""
    return re.sub(r"\[[^\]]*\]", "", path).rsplit(".", 1)[-1]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def intervals(entry: Any, path: str = "") -> Dict[str, Interval]:
    """Every score with a CI in a summary entry, by its path (module doc); 2-D lists over the entry's
    ``radii`` x ``levels`` and lists of per-level records are labelled by radius and level."""
    out: Dict[str, Interval] = {}

    def walk(obj: Any, where: str) -> None:
        if isinstance(obj, dict):
            point = next((k for k in POINT_KEYS if k in obj), None)
            if point and _number(obj[point]) and _number(obj.get("lo")) and _number(obj.get("hi")):
                out[where] = (float(obj[point]), float(obj["lo"]), float(obj["hi"]))
            for key, value in obj.items():
                if key not in SKIPPED_KEYS:
                    walk(value, f"{where}.{key}" if where else str(key))
        elif isinstance(obj, list) and _radius_level_grid(obj, radii, levels):
            for i, row in enumerate(obj):
                for j, value in enumerate(row):
                    walk(value, f"{where}[r={radii[i]}, level={levels[j]:g}]")
        elif isinstance(obj, list):
            for i, value in enumerate(obj):
                level = value.get("level") if isinstance(value, dict) else None
                walk(value, f"{where}[{f'level={level:g}' if _number(level) else i}]")

    radii, levels = (entry.get("radii"), entry.get("levels")) if isinstance(entry, dict) else (None, None)
    walk(entry, path)
    return out


def _radius_level_grid(items: List[Any], radii: Any, levels: Any) -> bool:
    """True for a list of rows, one per radius of ``radii``, each with one item per level of ``levels``."""
    return (isinstance(radii, list) and isinstance(levels, list) and len(items) == len(radii) != len(levels)
            and all(_number(v) for v in levels) and all(isinstance(row, list) and len(row) == len(levels) for row in items))


def classify(change: ScoreChange, target: Optional[float]) -> ScoreChange:
    """Set ``flagged`` and, where the score has a direction, ``regression`` or ``improvement`` (module doc)."""
    if change.old is None or change.new is None:
        return change
    (v0, lo0, hi0), (v1, lo1, hi1) = change.old, change.new
    if not math.isfinite(v0) or (v0 == v1):
        change.flagged = math.isfinite(v1) and not math.isfinite(v0)  # a new estimate: flagged, no direction
        return change
    if not math.isfinite(v1):  # an estimate lost: a regression where the score has a direction
        change.flagged = True
        change.regression = change.leaf in DIRECTIONS and (change.leaf not in TARGET_KEYS or target is not None)
        return change
    outside_old = not (math.isfinite(lo0) and math.isfinite(hi0)) or not lo0 <= v1 <= hi0
    outside_new = not (math.isfinite(lo1) and math.isfinite(hi1)) or not lo1 <= v0 <= hi1
    has_ci = math.isfinite(lo0) and math.isfinite(hi0) or math.isfinite(lo1) and math.isfinite(hi1)
    change.flagged = has_ci and outside_old and outside_new
    if change.flagged and change.leaf in DIRECTIONS:
        worse = DIRECTIONS[change.leaf](v0, v1, target)
        change.regression, change.improvement = worse is True, worse is False
    return change


def task_target(name: str, record: Dict[str, Any]) -> Optional[float]:
    """The declared transition a scored task places (None for an unscored task or one that places none)."""
    from .objectives import task_from_record
    from .tasks import TASKS, get_task

    if not record.get("scored", True):
        return None
    try:
        task = get_task(name) if name in TASKS else task_from_record(name, record)
        return float(task.transition().value)
    except (AttributeError, ValueError, TypeError):
        return None


def compare_tasks(name: str, old: Dict[str, Any], new: Dict[str, Any]) -> List[ScoreChange]:
    """Every score of every summary entry of task ``name`` in both runs, classified."""
    target = task_target(name, new)
    changes = []
    keys = list(old["summary"]) + [k for k in new["summary"] if k not in old["summary"]]
    for key in keys:
        e_old, e_new = old["summary"].get(key), new["summary"].get(key)
        family = (e_new or e_old).get("family", key) if isinstance(e_new or e_old, dict) else key
        s_old, s_new = intervals(e_old) if e_old else {}, intervals(e_new) if e_new else {}
        for score in list(s_old) + [s for s in s_new if s not in s_old]:
            changes.append(classify(ScoreChange(name, family, score, s_old.get(score), s_new.get(score)), target))
    return changes


def _fmt(iv: Optional[Interval]) -> str:
    return "absent" if iv is None else f"{iv[0]:.4g} [{iv[1]:.4g}, {iv[2]:.4g}]"


def _change_text(c: ScoreChange) -> str:
    if c.old is None or c.new is None or not (math.isfinite(c.old[0]) and math.isfinite(c.new[0])):
        return ""
    d = c.new[0] - c.old[0]
    rel = f" ({d / abs(c.old[0]):+.1%})" if c.old[0] else ""
    return f"{d:+.3g}{rel}"


def _flag_text(c: ScoreChange) -> str:
    if c.regression:
        return "**REGRESSION** (outside the CIs)"
    if c.improvement:
        return "improvement (outside the CIs)"
    return "changed (outside the CIs)" if c.flagged else ""


def compare_files(old_path: str, new_path: str) -> Tuple[str, List[ScoreChange]]:
    """The Markdown comparison of two runs (results.json or pytest-benchmark JSON) and every score change."""
    olds = {r["provenance"].get("division"): r for r in results_of(old_path)}
    news = {r["provenance"].get("division"): r for r in results_of(new_path)}
    divisions = [d for d in news if d in olds]
    if not divisions:
        raise ValueError(f"{old_path} and {new_path} share no division ({', '.join(map(str, olds))} vs "
                         f"{', '.join(map(str, news))})")
    out = ["# phasebench comparison", ""]
    changes: List[ScoreChange] = []
    for division in divisions:
        old, new = olds[division], news[division]
        commit = lambda r: r["provenance"].get("git_commit") or "n/a"  # noqa: E731
        out += [f"- old: {old_path} (commit {commit(old)}); new: {new_path} (commit {commit(new)}); division {division}",
                "- flagged: each run's value outside the other's 95% CI; a regression: a flagged change in the wrong "
                "direction (placement away from the declared value, excess/MSE/gap/W1 up, xi_eff/xi_M away from 1, "
                "gain share down)", ""]
        for name in [n for n in old["tasks"] if n not in new["tasks"]]:
            out += [f"## {name}", "", f"only in {old_path}", ""]
        for name, t_new in new["tasks"].items():
            out += [f"## {name}", ""]
            if name not in old["tasks"]:
                out += [f"only in {new_path}", ""]
                continue
            t_old = old["tasks"][name]
            differs = sorted(k for k in set(t_old.get("config", {})) | set(t_new.get("config", {}))
                             if t_old.get("config", {}).get(k) != t_new.get("config", {}).get(k))
            if differs:
                out += [f"- the runs' grids differ in: {', '.join(differs)}", ""]
            task_changes = compare_tasks(name, t_old, t_new)
            changes += task_changes
            shown = [c for c in task_changes if c.flagged or c.leaf in HEADLINE_KEYS or c.old is None or c.new is None]
            rows = [[c.family, c.score, _fmt(c.old), _fmt(c.new), _change_text(c), _flag_text(c)] for c in shown]
            out += [table(["family", "score", "old [95% CI]", "new [95% CI]", "change", "flag"], rows), ""]
            rest = len(task_changes) - len(shown)
            out += [f"- {sum(c.flagged for c in task_changes)} of {len(task_changes)} scores outside the CIs, "
                    f"{sum(c.regression for c in task_changes)} regressions; {rest} further scores (per-radius, "
                    "per-level) within their CIs are not listed", ""]
    n_reg = sum(c.regression for c in changes)
    out.append(f"**{n_reg} regression{'s' if n_reg != 1 else ''}**, {sum(c.flagged for c in changes) - n_reg} other "
               f"changes outside the CIs, {len(changes)} scores compared")
    return "\n".join(out) + "\n", changes
