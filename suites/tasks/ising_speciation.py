"""``ising-speciation`` (diagnostic): when does a denoiser acquire the sign of the magnetisation?

Ordered Ising data (T < T_c) under the Gaussian channel.  For each denoiser the
*aligned posterior magnetisation* ``M(lambda) = E[ mhat(y) sign m(x) ]`` (mhat:
the lattice mean of the estimate) grows from 0 (pure noise) to ``<|m|>`` (clean).
Reported, each with a bootstrap CI over test configurations:

* ``lambda_global``: where the exact global posterior mean reaches
  ``M = <|m|> / 2`` (transfer-matrix oracle, so L <= 12);
* ``lambda_r`` for each r-local member of each family, the same way, and its ratio to
  ``lambda_global``: every level is bootstrapped on one set of resampled configurations per L, so the
  ratio's CI is that of a paired comparison (the members and the oracle see the same test data);
* ``lambda_S = 1 / Lambda_max``, with ``Lambda_max`` the largest eigenvalue of the
  data covariance measured from the dataset (Biroli et al., arXiv 2402.18491;
  an approximation, unverified here), and the window analogue
  ``1 / ((2r + 1)^2 <m^2>)``.

This tests the concurrence of symmetry breaking and nonlocality on data where
both are known.  Nothing is scored.
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from ..estimators import BootstrapConfig, derive_seed, replicate_interval
from ..estimators.crossing import level_at_fraction_replicates
from ..estimators.systematic import interval_text
from ..evaluation import covariance_top_eigenvalue
from ..study import MemberRequest, Split, Study
from .base import TASKS, Task, TaskConfig


@TASKS.register("ising-speciation")
class IsingSpeciationTask(Task):
    description = "2D Ising at T = 2.0 under the Gaussian channel: lambda at which each denoiser acquires the sign of m"
    model_name = "ising"
    model_params = {"T": 2.0}
    channel_name = "gaussian"
    scored = False
    oracle_max_L = 12

    def config(self, division: str) -> TaskConfig:
        if division == "quick":
            return TaskConfig(L=(8,), levels=tuple(np.round(np.logspace(-3, 0.5, 9), 6)), radii=(0, 1, 2), n_train=1000,
                              n_test=150, budget=15.0)
        return TaskConfig(L=(10,), levels=tuple(np.round(np.logspace(-3.5, 0.5, 17), 6)), radii=(0, 1, 2, 3),
                          n_train=4000, n_test=400, budget=120.0)

    #: every family at every radius (its evaluator pairs them): no ``TaskConfig.family_radii``
    honours_family_radii = False

    def members_needed(self, family, cfg, L):
        return list(cfg.radii)  # the reference is the exact global posterior, always

    def validate_config(self, cfg: TaskConfig) -> None:
        for L in cfg.L:
            if L > self.oracle_max_L:
                raise ValueError(f"ising-speciation needs the exact transfer-matrix oracle, which supports L <= "
                                 f"{self.oracle_max_L}; got L={L}")

    def plan(self, families: List[str], cfg: TaskConfig) -> List[Study]:
        """Per L, every radius of every family, evaluated beside the exact global posterior
        (:mod:`phasebench.suites.evaluators.magnetisation`)."""
        channel = self.channel()
        levels = [channel.validate_level(v) for v in cfg.levels]
        return [Study("aligned-magnetisation", f"L{L}", levels, [Split(L)],
                      {(fam, r): MemberRequest(fam, r, (0,), derive_seed(cfg.seed, L, r, 3)) for fam in families for r in cfg.radii},
                      {"families": list(families), "radii": list(cfg.radii)})
                for L in cfg.L]

    def summarize(self, records, bootstrap: BootstrapConfig):
        out: Dict[str, Any] = {}
        for rec in records:
            L, levels = rec["L"], rec["levels"]
            m2 = rec["train_m"] ** 2
            lam_max = covariance_top_eigenvalue(rec["train"])
            idx = bootstrap.indices(len(rec["train"]), "lambda_S", L)
            lo, hi = replicate_interval(np.array([covariance_top_eigenvalue(rec["train"][b]) for b in idx]))
            # one resample set for the oracle and every member: their levels are compared as a pair
            paired_idx = bootstrap.indices(len(rec["abs_m"]), "lambda", L)
            glob = level_at_fraction_replicates(levels, rec["global"]["aligned_m"], rec["abs_m"], 0.5, paired_idx)
            entry = {
                "family": "all", "refused": False, "L": L, "levels": levels,
                "abs_m": float(rec["abs_m"].mean()), "m2": float(m2.mean()),
                "lambda_S": {"value": 1.0 / lam_max, "lo": 1.0 / hi, "hi": 1.0 / lo, "Lambda_max": lam_max,
                             "N_m2": L * L * float(m2.mean())},
                "lambda_global": _interval(*glob),
                "M_global": rec["global"]["aligned_m"].mean(axis=-1).tolist(),
                "local": {},
            }
            for fam, members in rec["families"].items():
                entry["local"][fam] = {}
                for r, st in members.items():
                    local = level_at_fraction_replicates(levels, st["aligned_m"], rec["abs_m"], 0.5, paired_idx)
                    entry["local"][fam][str(r)] = {
                        "lambda_r": _interval(*local), "ratio_to_global": _interval(local[0] / glob[0], local[1] / glob[1]),
                        "window_prediction": 1.0 / ((2 * r + 1) ** 2 * float(m2.mean())),
                        "M": st["aligned_m"].mean(axis=-1).tolist(), "n_params": st["info"].get("n_params")}
            out[f"L{L}"] = entry
        return out

    def cells(self, records, bootstrap: BootstrapConfig):
        cells = []
        for rec in records:
            for j, lv in enumerate(rec["levels"]):
                cells.append({"family": "exact", "L": rec["L"], "level": lv, "radius": None,
                              "aligned_m": float(rec["global"]["aligned_m"][j].mean()), "mse": float(rec["global"]["mse"][j].mean())})
                for fam, members in rec["families"].items():
                    for r, st in members.items():
                        cells.append({"family": fam, "L": rec["L"], "level": lv, "radius": r,
                                      "aligned_m": float(st["aligned_m"][j].mean()), "mse": float(st["mse"][j].mean())})
        return cells

    def leaderboard_rows(self, summary):
        header = ["L", "denoiser", "radius", "lambda at M = <|m|>/2 [95% CI]", "lambda_r / lambda_global [95% CI, paired]",
                  "prediction"]
        rows = []
        for key, e in summary.items():
            rows.append([str(e["L"]), "exact global posterior", "global", interval_text(e["lambda_global"], 5), "1",
                         f"lambda_S = 1/Lambda_max = {interval_text(e['lambda_S'], 5)}"])
            for fam, members in e["local"].items():
                for r, m in members.items():
                    rows.append([str(e["L"]), fam, r, interval_text(m["lambda_r"], 5), interval_text(m["ratio_to_global"], 3),
                                 f"1/((2r+1)^2 <m^2>) = {m['window_prediction']:.3g}"])
        return header, rows

    def plots(self, records, summary, out_dir):
        from .. import plots

        return [plots.speciation_curves(self.name, summary, out_dir)]


def _interval(value: float, replicates: np.ndarray) -> Dict[str, float]:
    """A point value with the percentile interval of its replicates (failed ones counted)."""
    lo, hi = replicate_interval(replicates)
    return {"value": float(value), "lo": lo, "hi": hi}
