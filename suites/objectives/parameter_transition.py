"""Place a transition along a model parameter g (e.g. the temperature) from the failure of local denoisers.

The target is the model's declared transition along g (:class:`phasebench.lattice_models.Transition`
with ``channel`` None): its value, and its finite-size data, the crossing exponent ``a``
(``2 beta / nu``) and ``nu``.  For a family F and lattice size L (L = 2 mod 4), the radius-r member
with ``r = (L - 2) / 4`` has a window of width exactly L/2, so finite-size scaling applies.  Its
nonlocality measure is

    Phi_F(g, L) = max over levels of the paired excess MSE of the r member over
                  F's own global member (radius ceil(L/2): its window covers the torus),

(also reported: the integral over the log level, and, where the model's exact global posterior is
affordable, the same excess over the exact posterior mean).

Two choices make the maximum over levels a smooth, grid-independent statistic:

* *common noise*: every level of a test configuration uses the same random draws (for the
  Gaussian channel ``y = a(lambda) x + s(lambda) z`` with one z per configuration,
  :func:`phasebench.suites.evaluation.task_split`), so a configuration's excess is a smooth function
  of the level; with an independent draw per level the maximum picks up the noise of each level
  (measured: docs/decisions/ising-temperature-common-noise.md);
* *parabolic refinement* (:func:`phasebench.suites.estimators.parabolic_max`): the largest mean
  excess and its two neighbours in log level define a parabola whose vertex is the peak, so the
  value does not depend on where the peak falls between grid points (for the Ising model the peak
  moves from about lambda = 0.1 at L = 6 to 0.03 at L = 10; measured: the same record).

In the ordered phase a local member cannot know the global sign, so Phi ~ c <m^2>, and
``Phi L^a`` is a scaling function of ``(g - g_c) L^{1/nu}``: g_c is placed at the crossing of
``Phi L^a`` between successive sizes (:func:`phasebench.suites.estimators.finite_size_crossing`), with
bootstrap CIs over test configurations; with three or more sizes the crossings are extrapolated
linearly in ``1/L_mean^2`` inside every bootstrap replicate, and the extrapolation's model (shift exponent,
fit window) is varied over a documented range for a systematic interval beside the statistical one.  The estimator is checked on the data's own ``<m^2> L^a``, measured on
an independent, larger sample per value of g.  Conditionable families fit one member per radius
over the whole grid of g; others fit once per value.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Dict, List

import numpy as np

from phasebench.denoisers import DENOISERS

from ..estimators import BootstrapConfig, derive_seed, finite_size_crossing, parabolic_max
from ..estimators.systematic import consistent_with, error_text, interval_text
from ..study import MemberRequest, Split, Study
from .base import Task, TaskConfig
from .targets import parameter_transition

#: the grid of g around a declared g_c for a task built from a model alone: ``g_c (1 + offset)``, the
#: relative spacing of the Ising quick grid (T = 1.9 .. 2.7 around 2.269)
RELATIVE_OFFSETS = (-0.163, -0.119, -0.075, -0.053, -0.03, -0.013, 0.0, 0.014, 0.031, 0.058, 0.102, 0.19)


def exponent_text(a: float) -> str:
    """``L^a`` with a simple fraction as a fraction: ``L^(1/4)``."""
    f = Fraction(a).limit_denominator(64)
    return f"L^{f.numerator}" if f.denominator == 1 else f"L^({f.numerator}/{f.denominator})"


def lambda_grid(lo: float, hi: float, step: float) -> tuple:
    """Log lambda grid from 10^lo to 10^hi, ``step`` decades apart (a third in the quick division, a quarter in the full).

    Phi is a maximum over lambda, so the grid must resolve the peak of the local excess, which moves
    to smaller lambda as L grows; the local excess is small at lambda = 1, so the grids stop half a
    decade below it (measured: docs/decisions/ising-temperature-lambda-grid.md).
    """
    n = int(round((hi - lo) / step)) + 1
    return tuple(float(v) for v in np.round(np.logspace(lo, hi, n), 5))


def local_radius(L: int) -> int:
    if L % 4 != 2:
        raise ValueError(f"the parameter-axis objective needs L = 2 mod 4 (window width exactly L/2), got L={L}")
    return (L - 2) // 4


def global_radius(L: int) -> int:
    return -(-L // 2)


class ParameterTransition(Task):
    """Place the model's declared transition along the parameter ``axis`` (see the module doc)."""

    objective = "parameter-transition"
    placement_quantity = "the transition along the model parameter"
    axis = "T"

    def __init__(self, *, axis: str | None = None, **task):
        super().__init__(**task)
        if axis is not None:
            self.axis = axis

    def transition(self):
        return parameter_transition(self.model(), self.axis)

    def config(self, division: str) -> TaskConfig:
        """Around the declared value: the relative grid of the Ising quick division, Gaussian levels."""
        target = self.transition().value
        values = tuple(round(target * (1.0 + d), 4) for d in RELATIVE_OFFSETS)
        return TaskConfig(L=(6, 10), levels=lambda_grid(-2.5, -0.5, 1 / 3), radii=(), n_train=1000, n_test=1000,
                          budget=25.0, model_params_grid=tuple({self.axis: v} for v in values),
                          extra={"exact_max_L": 6, "exact_n": 50, "data_n": 4000})

    def global_radius(self, L: int) -> int:
        return global_radius(L)

    def validate_config(self, cfg: TaskConfig) -> None:
        for L in cfg.L:
            local_radius(L)
        for params in cfg.model_params_grid:
            if set(params) != {self.axis}:
                raise ValueError(f"each point of the model_params_grid must set exactly {self.axis!r}, got {params}")

    #: each family's local and global member per L, not the grid's radii: no ``TaskConfig.family_radii``
    honours_family_radii = False

    def members_needed(self, family, cfg, L):
        return [local_radius(L), global_radius(L)]

    # -- the plan: datasets and members ------------------------------------------------------------
    def plan(self, families: List[str], cfg: TaskConfig) -> List[Study]:
        """Per L, one split per value of g (common noise) and each family's local and global members
        (conditionable families: one member per radius over the whole grid of g; others: one per value),
        evaluated in pairs (:mod:`phasebench.suites.evaluators.parameter_scan`)."""
        channel = self.channel()
        levels = [channel.validate_level(v) for v in cfg.levels]
        values = [p[self.axis] for p in cfg.model_params_grid]
        studies = []
        for L in cfg.L:
            r_loc, r_glob = local_radius(L), global_radius(L)
            members = {}
            for fam in families:
                for r in (r_loc, r_glob):
                    seed = derive_seed(cfg.seed, L, r, 3)
                    if DENOISERS.get(fam).conditionable:
                        members[fam, r] = MemberRequest(fam, r, tuple(range(len(values))), seed, conditions=tuple(values))
                    else:
                        members.update({(fam, r, k): MemberRequest(fam, r, (k,), seed, model=k) for k in range(len(values))})
            exact_n = None  # the exact posterior on the first exact_n test configurations, where affordable
            if L <= cfg.extra.get("exact_max_L", 0) and all(self.model(**{self.axis: v}).supports_exact_posterior(channel, None, L)
                                                           for v in values):
                exact_n = min(cfg.extra.get("exact_n_by_L", {}).get(L, cfg.extra["exact_n"]), cfg.n_test)
            studies.append(Study("member-pairs", f"L{L}", levels,
                                 [Split(L, ((self.axis, v),), (k,), common_noise=True) for k, v in enumerate(values)],
                                 members, {"families": list(families), "axis": self.axis, "values": values, "r_local": r_loc,
                                           "r_global": r_glob, "exact_n": exact_n, "data_n": cfg.extra["data_n"]}))
        return studies

    # -- scores ---------------------------------------------------------------------------------
    def estimate(self, values, curves: Dict[int, np.ndarray]) -> Dict[str, Any]:
        """g_c from the crossings of ``curve * L^a`` between successive sizes (``curves``: L -> (n_boot + 1, n_values))."""
        t = self.transition()
        return finite_size_crossing(values, curves, t.crossing_exponent, t.value, nu=t.nu)

    def summarize(self, records: List[Dict[str, Any]], bootstrap: BootstrapConfig) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        families = sorted({r["family"] for r in records})
        data_curves = {}
        for fam in families:
            recs = [r for r in records if r["family"] == fam]
            phi_curves, phi_exact_curves, per_L = {}, {}, {}
            for rec in recs:
                L, n_values = rec["L"], len(rec["values"])
                excess = phi_excess(rec)  # (n_values, n_levels, n_test)
                boots = np.stack([bootstrap.means(excess[k], "phi", L, k) for k in range(n_values)], axis=1)
                log_lv = np.log(rec["levels"])
                phi = parabolic_max(log_lv, boots)  # (n_boot + 1, n_values): max over levels of the mean excess
                phi_curves[L] = phi
                integral = np.trapezoid(boots[0], log_lv, axis=-1) if hasattr(np, "trapezoid") else np.trapz(boots[0], log_lv, axis=-1)
                entry = {
                    "values": rec["values"], "phi": phi[0].tolist(),
                    "phi_lo": np.quantile(phi[1:], 0.025, axis=0).tolist(), "phi_hi": np.quantile(phi[1:], 0.975, axis=0).tolist(),
                    "phi_integral_log_level": integral.tolist(), "r_local": rec["r_local"], "r_global": rec["r_global"],
                    "members": rec["members"], "locality": {str(k): v for k, v in rec["locality"].items()},
                    "phi_method": phi_method(rec),
                    # the other estimate of the same excess, point values only (for comparison)
                    "phi_paired_difference": parabolic_max(log_lv, (rec["local"] - rec["global"]).mean(-1)[None])[0].tolist(),
                }
                if rec["exact"] is not None:
                    ex_exact = rec["local_dist_to_exact"]  # E mse(f_r) - E mse(q) = E|f_r - q|^2 (orthogonality)
                    bx = np.stack([bootstrap.means(ex_exact[k], "phi_vs_exact", L, k) for k in range(n_values)], axis=1)
                    phi_exact_curves[L] = parabolic_max(log_lv, bx)
                    entry["phi_vs_exact"] = phi_exact_curves[L][0].tolist()
                    entry["global_vs_exact_worst_rel_gap"] = global_gap_to_exact(
                        rec, bootstrap.indices(rec["exact"].shape[-1], "global_gap", L))
                per_L[str(L)] = entry
                if L not in data_curves:
                    data_curves[L] = np.stack([bootstrap.means(rec["data_m2"][k], "data_m2", L, k)
                                               for k in range(n_values)], axis=1)
            values = recs[0]["values"]
            refused = any(not v["passed"] for e in per_L.values() for v in e["locality"].values())
            out[fam] = {"family": fam, "refused": refused, "per_L": per_L, "estimate": self.estimate(values, phi_curves),
                        "estimate_vs_exact_reference": self.estimate(values, phi_exact_curves) if len(phi_exact_curves) >= 2 else None}
        if data_curves:
            a = self.transition().crossing_exponent
            out["_data_m2_estimator"] = {"family": f"data <m^2> {exponent_text(a)}", "estimate": self.estimate(records[0]["values"], data_curves),
                                         "refused": False, "per_L": {}}
        return out

    def placements(self, summary):
        """The transition's value and each family's extrapolated (or largest-pair) estimate of it."""
        return self.transition().value, {k: {"family": e["family"], "estimate": e["estimate"]}
                                         for k, e in summary.items() if not k.startswith("_")}

    def cells(self, records, bootstrap: BootstrapConfig):
        cells = []
        for rec in records:
            excess = phi_excess(rec)
            for k, g in enumerate(rec["values"]):
                for j, lv in enumerate(rec["levels"]):
                    cells.append({
                        "family": rec["family"], "L": rec["L"], "params": {self.axis: g}, "level": lv,
                        "radius": rec["r_local"], "reference_radius": rec["r_global"],
                        "mse_local": float(rec["local"][k, j].mean()), "mse_global": float(rec["global"][k, j].mean()),
                        "excess": float(excess[k, j].mean()), "excess_method": phi_method(rec),
                        "excess_stderr": float(excess[k, j].std(ddof=1) / math.sqrt(excess.shape[-1])),
                        "mse_exact_global": None if rec["exact"] is None else float(rec["exact"][k, j].mean()),
                    })
        return cells

    def leaderboard_rows(self, summary):
        g = self.axis
        target = self.transition().value
        header = ["family", "status", f"{g}_c estimate: 95% CI stat; sys; comb", f"|{g}_c^ - {g}_c|", "method", "crossings",
                  "global member's MSE gap to exact (worst cell)"]
        rows = []
        for key, s in sorted(summary.items(), key=lambda kv: _rank_key(kv[1], target)):
            e = s["estimate"]
            pairs = "; ".join(f"L={p['L'][0]}/{p['L'][1]}: {p['value']:.4f} [{p['lo']:.4f}, {p['hi']:.4f}]" for p in e["pairs"])
            gaps = [_gap_text(L, gap["global_vs_exact_worst_rel_gap"], g, self.channel().level_name)
                    for L, gap in s["per_L"].items() if "global_vs_exact_worst_rel_gap" in gap]
            rows.append([s["family"], "REFUSED (locality audit)" if s["refused"] else "ok", interval_text(e),
                         error_text(e, target), e["method"] + _phi_note(s), pairs, "; ".join(gaps) or "n/a"])
        return header, rows

    def plots(self, records, summary, out_dir):
        from .. import plots

        t = self.transition()
        return [plots.phi_curves(self.name, summary, out_dir, t.value, self.axis, t.crossing_exponent),
                plots.phi_excess_heatmaps(self.name, records, out_dir, phi_excess, self.axis, self.channel().level_name)]


PHI_METHODS = {False: "paired difference mse(local) - mse(global) per test configuration",
               True: "mean |f_local - f_global|^2 per test configuration (nested projections)"}


def phi_excess(rec: Dict[str, Any]) -> np.ndarray:
    """Per-configuration excess of the local member over the global member, (n_values, n_levels, n_test).

    For a family of nested projections (``DenoiserFamily.nested_projections``: ``linear``,
    ``exact``) the excess is ``E|f_r - f_g|^2``: the cross term of ``mse(f_r) - mse(f_g) =
    |f_r - f_g|^2 + 2 (f_r - f_g)(f_g - x)`` has zero mean when f_g is the projection onto a class
    that contains f_r.  Dropping it removes its variance (measured:
    docs/decisions/ising-temperature-nested-projections.md).  For a learned family the identity only holds as far as
    its global member is optimal (``mse(f_r) - mse(f_g) - E|f_r - f_g|^2 = 2 E(f_r - f_g) delta``,
    delta = f_g - its optimum, first order in delta), so its Phi stays the paired difference.
    """
    if rec["nested_projections"]:
        return rec["local_to_global"]
    return rec["local"] - rec["global"]


def phi_method(rec: Dict[str, Any]) -> str:
    """How :func:`phi_excess` estimates the excess for this record."""
    return PHI_METHODS[bool(rec["nested_projections"])]


def global_gap_to_exact(rec: Dict[str, Any], boot_idx: np.ndarray) -> Dict[str, Any]:
    """The global member's relative MSE gap to the exact posterior, worst (g, level) cell, with a 95% CI.

    For the exact posterior mean ``q``, ``E mse(f) - E mse(q) = E |f - q|^2`` for test data
    drawn from the model (the cross term vanishes by the tower property), so the gap is
    estimated as ``mean |f - q|^2 / mean mse(q)`` over the first n_ex test configurations:
    unbiased up to the ratio, non-negative, and far less noisy than the difference of the two
    MSEs, whose cross term ``2 (f - q)(q - x)`` has zero mean but a large variance.  The raw
    paired difference is reported too.

    The worst cell is a maximum over many noisy cells, so its value is biased upward and the CI of
    the selected cell alone ignores the selection (coverage of the largest true gap 0.40 when 84
    cells tie: docs/decisions/interval-coverage.md).  The CI is therefore one for the largest true
    gap (:func:`simultaneous_max_interval`, over the joint resamples ``boot_idx``, (n_boot, n_ex)):
    the upper limit the largest of the cells' own limits, the lower one simultaneous over cells
    (coverage and the alternatives tried: docs/decisions/interval-coverage.md).
    """
    dist, exact = rec["global_dist_to_exact"], rec["exact"]  # (n_values, n_levels, n_ex)
    n_ex = exact.shape[-1]
    gap = dist.mean(-1) / exact.mean(-1)
    boot = np.take(dist, boot_idx, axis=-1).mean(-1) / np.take(exact, boot_idx, axis=-1).mean(-1)  # (n_values, n_levels, n_boot)
    worst = np.unravel_index(np.argmax(gap), gap.shape)
    lo, hi = simultaneous_max_interval(gap, boot)
    raw = (rec["global"][..., :n_ex].mean(-1) - exact.mean(-1)) / exact.mean(-1)
    return {"value": float(gap[worst]), "lo": lo, "hi": hi, "ci": "for the largest true gap: max of the cells' upper limits; simultaneous (rank-calibrated) lower limit",
            "at_value": rec["values"][worst[0]], "at_level": rec["levels"][worst[1]],
            "n_configs": int(n_ex), "cells_within_2pct": int((gap <= 0.02).sum()), "cells": int(gap.size),
            "mean": float(gap.mean()), "per_cell": gap.tolist(),
            "raw_paired_difference_worst": float(raw.flat[np.argmax(np.abs(raw))]),
            "method": "E|f - exact|^2 / E mse(exact) (orthogonality of the posterior mean)"}


def simultaneous_max_interval(values: np.ndarray, boots: np.ndarray, level: float = 0.95) -> tuple:
    """CI of the largest of several true values from their estimates ``values`` (cells, any shape) and joint
    bootstrap replicates ``boots`` (cells..., n_boot).

    Upper limit: the largest cell's true value needs only its own cell covered (the argmax of the
    *true* values is fixed), so it is ``max_k hi_k`` with ``hi_k`` each cell's percentile limit.
    Lower limit: ``max_k (v_k - d_k)``, ``d_k = q_(1-beta)(boot_k) - v_k`` (the basic bootstrap's bound on
    how far cell k's estimate lies above its truth), is below the largest true value as soon as no
    cell overshoots by more than its ``d_k``, a one-sided simultaneous statement: ``beta`` is calibrated
    on the replicates, as the ``alpha`` quantile of each replicate's smallest upper-tail fraction over
    the cells (rank-based, so a skewed cell does not widen the others).
    Cells whose replicates do not vary enter with zero width."""
    alpha = (1 - level) / 2
    v = np.asarray(values, dtype=np.float64).ravel()
    b = np.asarray(boots, dtype=np.float64).reshape(len(v), -1)
    hi = float(np.max(np.quantile(b, 1 - alpha, axis=1)))
    varies = b.std(axis=1) > 0
    if not varies.any():
        return float(v.max()), max(hi, float(v.max()))
    n = b.shape[1]
    upper_tail = (n - b[varies].argsort(axis=1).argsort(axis=1)) / n  # fraction of the cell's replicates >= each
    beta = float(np.quantile(upper_tail.min(axis=0), alpha))
    overshoot = np.quantile(b[varies], 1 - beta, axis=1) - v[varies]  # how far a cell's estimate may lie above its truth
    lo = max(float(np.max(v[varies] - overshoot)), float(np.max(v[~varies], initial=-np.inf)))
    return lo, hi


def _gap_text(L, g: Dict[str, Any], axis: str, level_name: str) -> str:
    return (f"L={L}: {g['value']:.2%} [{g['lo']:.2%}, {g['hi']:.2%}] ({axis}={g['at_value']:g}, {level_name}={g['at_level']:.3g}; "
            f"{g['cells_within_2pct']}/{g['cells']} cells <= 2%)")


def _phi_note(summary_entry: Dict[str, Any]) -> str:
    methods = {e.get("phi_method") for e in summary_entry["per_L"].values()}
    return "; Phi = E|f_r - f_global|^2" if methods == {PHI_METHODS[True]} else ""


def _rank_key(summary_entry: Dict[str, Any], target: float) -> tuple:
    """Refused families last; families consistent with the target tied (by name), then the others by error."""
    e = summary_entry["estimate"]
    consistent = consistent_with(e, target) is True
    err = e["rel_error"] if math.isfinite(e["rel_error"]) else 9.0
    return summary_entry["refused"], not consistent, 0.0 if consistent else err, summary_entry["family"]
