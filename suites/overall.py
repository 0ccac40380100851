"""The overall table: one row per family over every task it was scored on, ranked by its mean rank.

Each task that ranks families names one score per family, lower is better, with a 95% interval
(:meth:`Task.overall_scores`): the placement score (RMSE of one run over training seeds and test configurations)
of the tasks with a placement table (:mod:`.placement`).  In each task a family's
rank is 1 + the number of families with a lower score (ties share the mean rank); a family without a score there
(no estimate) ranks last.  The aggregate is the family's mean rank over the tasks it was scored on.

Its interval is a parametric bootstrap: in each of :data:`N_REPLICATES` replicates every score is drawn from a
split normal around its value with the interval's half-widths / 1.96 on either side (a score without an upper
limit, a learned family trained once, draws above with a spread of its own size), the ranks and the mean rank are
recomputed, and the interval is the replicates' 2.5% and 97.5% quantiles.  The draws are independent between
families, which ignores that they share test configurations (paired scores are more alike, so the interval errs
wide where families are close); its coverage of the true mean rank is measured in docs/decisions/training-seeds.md.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
from scipy import stats

from .estimators.systematic import finite as _finite

N_REPLICATES = 2000
SEED = 20261203
#: a 95% interval's half-width in standard deviations
Z95 = float(stats.norm.ppf(0.975))


def _rank_matrix(v: np.ndarray) -> np.ndarray:
    """Ranks along axis 0 (families) of ``v`` (families, ...): 1 + the number of lower values, ties sharing their
    mean rank."""
    lower = (v[None] < v[:, None]).sum(axis=1)
    equal = (v[None] == v[:, None]).sum(axis=1)
    return lower + (equal + 1) / 2


def ranks(values: Mapping[str, float]) -> Dict[str, float]:
    """1 + the number of lower values, ties sharing their mean rank; NaN (no score) ranks last."""
    names = list(values)
    r = _rank_matrix(np.array([values[n] if _finite(values[n]) else np.inf for n in names]))
    return {n: float(x) for n, x in zip(names, r)}


def _draws(score: Optional[Mapping[str, Any]], z: np.ndarray) -> np.ndarray:
    if not score or not _finite(score.get("value")):
        return np.full(len(z), np.inf)
    v = float(score["value"])
    below = (v - score["lo"]) / Z95 if _finite(score.get("lo")) else abs(v)
    above = (score["hi"] - v) / Z95 if _finite(score.get("hi")) else max(abs(v), below)
    return v + np.where(z < 0, below, above) * z


def overall(scores_by_task: Mapping[str, Mapping[str, Optional[Mapping[str, Any]]]],
            n_replicates: int = N_REPLICATES, seed: int = SEED) -> Dict[str, Any]:
    """``scores_by_task``: task -> family -> score (``value``, ``lo``, ``hi``; None: no score).  Per family: the tasks,
    its rank in each, its mean rank and the bootstrap interval of it (module doc).  Tasks with fewer than two
    families are left out: a rank among one says nothing."""
    tasks = {t: s for t, s in scores_by_task.items() if len(s) >= 2}
    rng = np.random.default_rng(seed)
    point: Dict[str, Dict[str, float]] = {}
    reps: Dict[str, List[np.ndarray]] = {}
    for task, scores in tasks.items():
        r = ranks({f: (s or {}).get("value", math.nan) for f, s in scores.items()})
        drawn = {f: _draws(s, rng.standard_normal(n_replicates)) for f, s in scores.items()}
        names = list(drawn)
        rep_ranks = _rank_matrix(np.stack([drawn[f] for f in names]))  # (families, replicates)
        for i, f in enumerate(names):
            point.setdefault(f, {})[task] = r[f]
            reps.setdefault(f, []).append(rep_ranks[i])
    rows = {}
    for f, by_task in point.items():
        mean_reps = np.mean(reps[f], axis=0)
        rows[f] = {"tasks": by_task, "mean_rank": float(np.mean(list(by_task.values()))),
                   "lo": float(np.quantile(mean_reps, 0.025)), "hi": float(np.quantile(mean_reps, 0.975))}
    return {"method": "mean over tasks of the family's rank by the task's score (lower is better); parametric "
                      f"bootstrap, {n_replicates} replicates", "families": rows, "tasks": sorted(tasks)}


def overall_of_results(results: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The overall table of a results.json's tasks, or None where fewer than one task ranks two families."""
    from .objectives import task_from_record
    from .tasks import TASKS, get_task

    scores = {}
    for name, t in results.get("tasks", {}).items():
        task = get_task(name) if name in TASKS else task_from_record(name, t)
        got = task.overall_scores(t) if task is not None else None
        if got:
            scores[name] = got
    table = overall(scores)
    return table if table["families"] else None


def overall_rows(table: Mapping[str, Any]) -> Tuple[List[str], List[List[str]]]:
    header = ["family", "tasks ranked", "mean rank [95% CI]"] + [f"rank in {t}" for t in table["tasks"]]
    rows = []
    for f, row in sorted(table["families"].items(), key=lambda kv: (kv[1]["mean_rank"], kv[0])):
        rows.append([f, str(len(row["tasks"])), f"{row['mean_rank']:.2f} [{row['lo']:.2f}, {row['hi']:.2f}]"]
                    + [f"{row['tasks'][t]:g}" if t in row["tasks"] else "-" for t in table["tasks"]])
    return header, rows
