"""Coverage of the overall table's mean-rank interval (:mod:`..overall`): four families on two tasks with known
scores, each estimated with Gaussian noise of a known standard error and reported with its 95% interval
(value +- 1.96 SE); the answer is a family's mean rank under the true scores."""

from __future__ import annotations

import numpy as np

from ..overall import overall
from . import CoverageCase, register

#: true scores per task (lower is better) and the standard error of their estimates
TRUE = {"t1": {"a": 1.0, "b": 1.2, "c": 1.25, "d": 3.0}, "t2": {"a": 2.0, "b": 1.0, "c": 1.1, "d": 1.05}}
SE = 0.1


def _simulate(rng):
    return {t: {f: (lambda v: {"value": v, "lo": v - 1.96 * SE, "hi": v + 1.96 * SE})(s + SE * rng.standard_normal())
                for f, s in scores.items()} for t, scores in TRUE.items()}


def _interval(family):
    def interval(scores, seed):
        row = overall(scores, n_replicates=400, seed=seed)["families"][family]
        return row["lo"], row["hi"]
    return interval


def _true_mean_rank(family):
    ranks = []
    for scores in TRUE.values():
        ranks.append(1 + sum(v < scores[family] for v in scores.values()))
    return float(np.mean(ranks))


for fam, fast, note in (("b", True, "close competitors in both tasks (c 0.5 SE behind in t1, c and d 1 and 0.5 SE in t2)"),
                        ("a", False, "first in t1 by 2 SE, last in t2 by far"),
                        ("d", False, "last in t1 by far, 0.5 SE from b and c in t2")):
    register(CoverageCase(name=f"overall-mean-rank-{fam}", estimator="overall (mean rank)", grid="4 families, 2 tasks",
                          truth=_true_mean_rank(fam), simulate=_simulate, interval=_interval(fam), fast=fast, notes=note))
