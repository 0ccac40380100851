"""The decay length of the r-local error along the noise level, calibrated against the exact Markov length.

Per family and lattice size, from the shared evaluation loop (every radius of the grid, the paired
excess over the reference: the model's exact global posterior where it has one, else the family's
own global member):

* ``xi_eff(level)`` from the decay of the excess with r, and where the model knows its Markov length
  ``xi_M(level)`` (e.g. the Gaussian free field, ``xi_M = 1 / (2 mu)``, ``cosh mu = 1 + M^2 / 2``,
  docs/physics.md, section 4), the ratio ``xi_eff / xi_M``: the calibration score;
* the interior peaks of ``xi_eff(level)``: on a model without a transition along the level (the
  GFF) the correct answer is none, so a peak is a false positive; elsewhere they are reported, unscored;
* agreement of the measured excess with the exact r-local optimum's excess, where the model has it
  (within the larger of its CI and 10%).

``phasebench run --model`` uses this objective, unscored, for a model that declares no transition
it could place: an xi_eff scan along the level.
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from ..estimators import BootstrapConfig, analytic_decay_length, decay_length_with_ci, find_interior_peaks, mean_with_ci
from .base import Task, TaskConfig
from .. import plots as plotting

AGREEMENT_REL_TOL = 0.10
#: the level grids of a task built from a model alone, per level name
DEFAULT_LEVELS = {"lambda": (0.1, 0.3, 1.0, 3.0, 10.0), "p": (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)}


class DecayLength(Task):
    """xi_eff along the level; scored against the exact Markov length where the model has it (module doc)."""

    objective = "decay-length"

    def config(self, division: str) -> TaskConfig:
        """A scan of five radii on L = 16 over the channel's default levels."""
        name = self.channel().level_name
        if name not in DEFAULT_LEVELS:
            raise ValueError(f"no default levels for the level {name!r} of the {self.channel_name} channel; give --levels")
        return TaskConfig(L=(16,), levels=DEFAULT_LEVELS[name], radii=(0, 1, 2, 3, 4), n_train=2000, n_test=1000,
                          budget=20.0)

    def summarize(self, grids: List[Any], bootstrap: BootstrapConfig) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for g in grids:
            boot = bootstrap.indices(g.errors.shape[-1], "excess", g.L)
            excess = g.excess
            per_level = []
            for j, lv in enumerate(g.levels):
                ests = [mean_with_ci(excess[i, j], boot) for i in range(len(g.radii))]
                fit = decay_length_with_ci(g.radii, excess[:, j], boot)
                xi_m = float(g.markov_length[j]) if g.markov_length is not None else float("nan")
                row = {
                    "level": lv,
                    "excess": [e.to_dict() for e in ests],
                    "xi_eff": fit,
                    "xi_markov": xi_m,
                    "xi_ratio": {k: fit[k] / xi_m for k in ("xi", "lo", "hi")},
                }
                if g.theory_excess is not None:
                    theory = g.theory_excess[:, j]
                    row["excess_theory"] = theory.tolist()
                    row["excess_agrees"] = [
                        bool(abs(e.mean - t) <= max(0.5 * (e.hi - e.lo), AGREEMENT_REL_TOL * abs(t)))
                        for e, t in zip(ests, theory)
                    ]
                    row["xi_theory"] = analytic_decay_length(g.radii, theory, scale=float(g.theory_mmse[j]))
                per_level.append(row)
            xi = [r["xi_eff"]["xi"] for r in per_level]
            peaks = find_interior_peaks(xi, [r["xi_eff"]["lo"] for r in per_level], [r["xi_eff"]["hi"] for r in per_level])
            ratios = np.array([r["xi_ratio"]["xi"] for r in per_level])
            finite = np.isfinite(ratios)
            agrees = [a for r in per_level for a in r.get("excess_agrees", [])]
            out[f"{g.family}/L{g.L}"] = {
                "family": g.family,
                "L": g.L,
                "refused": g.refused,
                "locality": {str(k): v for k, v in g.locality.items()},
                "levels": per_level,
                "xi_ratio_median": float(np.median(ratios[finite])) if finite.any() else float("nan"),
                "xi_ratio_worst": float(np.max(np.abs(ratios[finite] - 1))) if finite.any() else float("nan"),
                "levels_resolved": int(finite.sum()),
                "transition_peaks": [g.levels[i] for i in peaks],
                "false_positive": bool(peaks) and self.scored,  # a scored calibration: the model has no transition
                "excess_agreement": [int(sum(agrees)), len(agrees)],
                "members": g.members,
                "seconds": g.seconds,
                "datasets": g.datasets,
            }
        return out

    def leaderboard_rows(self, summary):
        header = ["family", "L", "status", "median xi_eff/xi_M", "worst |ratio-1|", "levels resolved",
                  "transition reported", "excess agrees with exact", "params (max r)", "seconds"]
        rows = []
        for key, s in sorted(summary.items(), key=lambda kv: (kv[1]["refused"], kv[1]["xi_ratio_worst"] if np.isfinite(kv[1]["xi_ratio_worst"]) else 9)):
            status = "REFUSED (locality audit)" if s["refused"] else "ok"
            n_params = max((m.get("n_params", 0) for m in s["members"].values()), default=0)
            a, n = s["excess_agreement"]
            rows.append([
                s["family"], str(s["L"]), status, f"{s['xi_ratio_median']:.3f}", f"{s['xi_ratio_worst']:.3f}",
                f"{s['levels_resolved']}/{len(s['levels'])}",
                _peaks_text(s, self.scored),
                f"{a}/{n}" if n else "n/a", str(n_params), f"{s['seconds']:.1f}",
            ])
        return header, rows

    def plots(self, grids, summary, out_dir):
        return [
            plotting.excess_heatmaps(self.name, grids, out_dir, level_label=self.channel().level_name),
            plotting.decay_length_curves(self.name, grids, summary, out_dir, level_label=self.channel().level_name),
        ]


def _peaks_text(s: Dict[str, Any], scored: bool) -> str:
    peaks = ", ".join(f"{v:g}" for v in s["transition_peaks"])
    if not scored:
        return f"peaks at {peaks} (unscored)" if peaks else "none (unscored)"
    return f"yes (false positive) at {peaks}" if s["false_positive"] else "no (correct)"
