"""``ising-temperature``: place T_c = 2/ln(1+sqrt 2) from the failure of local denoisers.

For a family F and lattice size L (L = 2 mod 4), the radius-r member with
``r = (L - 2) / 4`` has a window of width exactly L/2, so finite-size scaling
applies.  Its nonlocality measure is

    Phi_F(T, L) = max over lambda of the paired excess MSE of the r member over
                  F's own global member (radius ceil(L/2): its window covers the torus),

(also reported: the integral over log lambda, and, where the exact
transfer-matrix oracle is affordable, the same excess over the exact global
posterior mean).

Two choices make the maximum over lambda a smooth, grid-independent statistic:

* *common noise*: every lambda of a test configuration uses the same Gaussian draw z,
  ``y = a(lambda) x + s(lambda) z`` (one noising path per configuration,
  :func:`phasebench.suites.evaluation.task_split`), so a configuration's excess is a smooth function of
  lambda.  With an independent draw per lambda, the maximum picked up the noise of each level:
  on the quick division the ``linear`` family's T_c was 2.215 on the quick lambda grid and
  2.240 on a 6x finer one (more levels, larger noise maximum), and its peak values differed
  by up to 16% between the two grids; with common noise both grids give 2.2895;
* *parabolic refinement* (:func:`phasebench.suites.estimators.parabolic_max`): the largest mean excess and
  its two neighbours in log lambda define a parabola whose vertex is the peak, so the value
  does not depend on where the peak falls between grid points (the peak moves with L: about
  lambda = 0.1 at L = 6 and 0.03 at L = 10).  Measured with common noise on the quick grid
  against the 6x finer one, for ``linear``: peak values within 0.6% at every T < 2.7 with the
  refinement, 2.6% without (at T = 2.7, where the L = 10 peak nears the grid's end: 1.5% and 4.7%).

Below T_c a local member cannot know the global sign, so Phi ~ c <m^2>, and
``Phi L^{2 beta/nu} = Phi L^{1/4}`` is a scaling function of ``(T - T_c) L^{1/nu}``: T_c is
placed at the crossing of ``Phi L^{1/4}`` between successive sizes (a weighted line fitted to
their difference near the crossing, :func:`phasebench.suites.estimators.finite_size_crossing` with
exponent ``2 beta / nu = 1/4`` and ``nu = 1``), with bootstrap CIs over test configurations.  With
three or more sizes the crossings are extrapolated linearly in ``1/L_mean^2``.  On the quick division
the fit window narrows the denoiser families' CIs from about [2.08, 2.31] (first crossing of the
interpolation) to [2.21-2.24, 2.32-2.33].

The estimator is checked on the data's own ``<m^2> L^{1/4}``, measured on an
independent, larger sample per temperature (it must place T_c within 1%).  Conditionable families fit one member per radius over the whole
temperature grid; others fit once per temperature.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List

import numpy as np

from phasebench.lattice_models.datasets import load_or_generate

from ..evaluation import batched, config_magnetisation, derive_seed, member_specs, task_split
from ..parallel_fit import fit_member, fit_members
from ..estimators import BootstrapConfig, finite_size_crossing, parabolic_max, per_config_mse
from .base import TASKS, Task, TaskConfig
from phasebench.denoisers import DENOISERS
from phasebench.denoisers.locality import audit_locality

T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))
#: the scaling dimension of Phi ~ <m^2>, 2 beta / nu, and the correlation-length exponent nu of the 2D Ising model
PHI_EXPONENT, NU = 0.25, 1


def temperature_grid(dense: bool) -> tuple:
    if dense:
        return (1.9, 2.0, 2.1, 2.15, 2.2, 2.22, 2.24, 2.26, 2.28, 2.3, 2.32, 2.35, 2.4, 2.5, 2.6, 2.7)
    return (1.9, 2.0, 2.1, 2.15, 2.2, 2.24, 2.27, 2.3, 2.34, 2.4, 2.5, 2.7)


def lambda_grid(lo: float, hi: float, step: float) -> tuple:
    """Log lambda grid from 10^lo to 10^hi, ``step`` decades apart (a third in the quick division, a quarter in the full).

    Phi is a maximum over lambda, so the grid must resolve the peak of the local excess: a
    grid half a decade apart under-reads the peak by up to ~20% (measured on the quick
    division: L = 10, T = 2.24, cnn excess 0.157 / 0.191 / 0.096 at lambda = 0.01 / 0.032 /
    0.1), and by a different amount at each L because the peak moves to smaller lambda as L
    grows (about 0.1 at L = 6 and 0.03 at L = 10).  At lambda = 1 the local excess is below
    a tenth of its peak at every T of the grids (L = 6: 0.011-0.020 against 0.09-0.35), so the
    grids stop half a decade below it.
    """
    n = int(round((hi - lo) / step)) + 1
    return tuple(float(v) for v in np.round(np.logspace(lo, hi, n), 5))


def local_radius(L: int) -> int:
    if L % 4 != 2:
        raise ValueError(f"ising-temperature needs L = 2 mod 4 (window width exactly L/2), got L={L}")
    return (L - 2) // 4


def global_radius(L: int) -> int:
    return -(-L // 2)


def tc_estimate(temps, curves: Dict[int, np.ndarray]) -> Dict[str, Any]:
    """T_c from the crossings of ``curve * L^{1/4}`` between successive sizes (``curves``: L -> (n_boot + 1, n_T));
    the estimate's value is reported as ``Tc``."""
    est = finite_size_crossing(temps, curves, PHI_EXPONENT, T_C, nu=NU)
    return {("Tc" if k == "value" else k): v for k, v in est.items()}


@TASKS.register("ising-temperature")
class IsingTemperatureTask(Task):
    description = "2D Ising under the Gaussian channel: place T_c from crossings of Phi_F(T, L) * L^(1/4)"
    model_name = "ising"
    model_params: Dict[str, float] = {}
    channel_name = "gaussian"

    def config(self, division: str) -> TaskConfig:
        if division == "quick":
            temps = temperature_grid(dense=False)
            return TaskConfig(L=(6, 10), levels=lambda_grid(-2.5, -0.5, 1 / 3), radii=(), n_train=1000,
                              n_test=1000, budget=25.0, families=("linear", "cnn"),
                              model_params_grid=tuple({"T": t} for t in temps),
                              extra={"exact_max_L": 6, "exact_n": 50, "data_n": 4000})
        temps = temperature_grid(dense=True)
        return TaskConfig(L=(6, 10, 14, 18), levels=lambda_grid(-3.25, -0.25, 0.25), radii=(),
                          # 300 reference s per member: the L = 6 / 10 global members' worst gap to the exact posterior
                          # 1.35% / 1.73% (208/208 cells within 2% at both sizes); at 150 s: 1.80% / 2.81% (L = 10 with
                          # 48 configurations at lambda = 0.562: 2.48% at 150 s, 1.73% at 300 s); cnn T_c over the four
                          # sizes 2.3021 [2.2073, 2.3970] (1.45%; 0.93% at 150 s), 57 min in all on 2 cores
                          n_train=2000, n_test=1000, budget=300.0, families=("linear", "cnn"),
                          model_params_grid=tuple({"T": t} for t in temps),
                          # exact check: 16 configurations per (T, lambda) cell at L = 10 (0.4-0.6 s each), 256 at L = 6
                          # (3 ms each); with 16 at L = 6 one stripe configuration made a cell's gap 5.5%, CI [0.3%, 12.5%]
                          extra={"exact_max_L": 10, "exact_n": 16, "exact_n_by_L": {6: 256}, "data_n": 20000})

    def global_radius(self, L: int) -> int:
        return global_radius(L)

    def validate_config(self, cfg: TaskConfig) -> None:
        for L in cfg.L:
            local_radius(L)

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate_all(self, families: List[str], cfg: TaskConfig, tick) -> List[Dict[str, Any]]:
        channel = self.channel()
        levels = [channel.validate_level(v) for v in cfg.levels]
        temps = [p["T"] for p in cfg.model_params_grid]
        records = []
        for L in cfg.L:
            r_loc, r_glob = local_radius(L), global_radius(L)
            models = [self.model(T=T) for T in temps]
            train, test, noisy = zip(*(task_split(m, channel, cfg, L, levels, key=(k,), common_noise=True)
                                       for k, m in enumerate(models)))
            # the estimator check on the data's own <m^2> L^(1/4): a larger, independent sample per T
            data_m2 = np.stack([config_magnetisation(load_or_generate(m, cfg.extra["data_n"], L, derive_seed(cfg.seed, L, k, 5)).samples) ** 2
                                for k, m in enumerate(models)])  # (n_T, data_n)
            exact = post = None
            if L <= cfg.extra.get("exact_max_L", 0):
                tick(f"{self.name}:exact-oracle:L{L}")
                n_ex = min(cfg.extra.get("exact_n_by_L", {}).get(L, cfg.extra["exact_n"]), cfg.n_test)
                # exact posterior means, (n_T, n_levels, n_ex, C, L, L), and their per-configuration MSE
                post = np.stack([np.stack([m.exact_posterior_mean(y[:n_ex], channel, lv, None)
                                           for y, lv in zip(noisy[k], levels)]) for k, m in enumerate(models)])
                x_ex = np.stack([t.samples[:n_ex] for t in test]).astype(np.float64)[:, None]  # (n_T, 1, n_ex, C, L, L)
                exact = ((post - x_ex) ** 2).mean(axis=(-3, -2, -1))
            for fam_name in families:
                tick(f"{self.name}:{fam_name}:L{L}")
                fitted = {}  # a conditioned family: one network per radius, both fitted side by side
                if DENOISERS.get(fam_name).conditionable:
                    x = np.concatenate([t.samples for t in train])
                    cond = np.repeat(np.asarray(temps, float), [len(t.samples) for t in train])
                    specs = member_specs(fam_name, (r_loc, r_glob), x, self.channel(), levels, cfg, L, models[0], cond)
                    fitted = dict(zip((r_loc, r_glob), fit_members(specs)))
                ev = self._member_pair_errors(fam_name, (r_loc, r_glob), cfg, L, levels, temps, models, train, test,
                                              noisy, post, fitted)
                mid = len(levels) // 2
                fam = ev["families"][r_loc]
                kw = {"condition": temps[0]} if fam.conditionable else {}
                locality = {r_loc: audit_locality(_Bound(fam, kw), noisy[0][mid][:1], levels[mid]).to_dict()}
                records.append({
                    "family": fam_name, "L": L, "temps": temps, "levels": levels, "r_local": r_loc, "r_global": r_glob,
                    "local": ev["mse"][r_loc], "global": ev["mse"][r_glob], "exact": exact, "data_m2": data_m2,
                    "local_to_global": ev["between"], "nested_projections": fam.nested_projections,
                    "local_dist_to_exact": ev["to_exact"][r_loc], "global_dist_to_exact": ev["to_exact"][r_glob],
                    "members": {str(r): info for r, info in ev["info"].items()}, "locality": locality,
                    "datasets": {f"T={T}": [tr.sha256, te.sha256] for T, tr, te in zip(temps, train, test)},
                })
        return records

    def _member_pair_errors(self, fam_name, radii, cfg, L, levels, temps, models, train, test, noisy, post, fitted):
        """Evaluate the local and the global member together, on the same noisy test sets.

        Returns a dict of per-configuration arrays (n_T, n_levels, n_test): ``mse`` per radius,
        ``between`` = mean |f_local - f_global|^2, and ``to_exact`` per radius = mean |f - q|^2 to
        the exact posterior means ``post`` (n_T, n_levels, n_ex, C, L, L) on the first n_ex test
        configurations (None without them); plus ``info`` (fit info) and ``families`` (the last
        fitted family) per radius.  ``fitted``: radius -> (family, info) of a conditioned family,
        fitted on all temperatures; other families are fitted here, once per temperature.
        """
        opts = cfg.family_options.get(fam_name, {})
        shape = (len(temps), len(levels), cfg.n_test)
        mse = {r: np.empty(shape) for r in radii}
        to_exact = {r: None if post is None else np.empty(post.shape[:3]) for r in radii}
        between = np.empty(shape)
        info = {r: {"fit_seconds": 0.0} for r in radii}
        families = {}
        for k, (model, T) in enumerate(zip(models, temps)):
            denoisers = {}
            for r in radii:
                if r in fitted:
                    families[r], info[r] = fitted[r]
                    denoisers[r] = lambda y, lv, fam=families[r], T=T: fam.denoise(y, lv, condition=T)
                else:
                    families[r], one = fit_member(fam_name, r, train[k].samples, self.channel(), levels,
                                                  derive_seed(cfg.seed, L, r, 3), cfg.budget, model, opts)
                    info[r] = {**one, "fit_seconds": info[r]["fit_seconds"] + one["fit_seconds"]}
                    denoisers[r] = families[r].denoise
            x = test[k].samples
            for j, lv in enumerate(levels):
                out = {r: batched(lambda b, d=denoisers[r]: d(b, lv), noisy[k][j]) for r in radii}
                for r in radii:
                    mse[r][k, j] = per_config_mse(out[r], x)
                    if post is not None:
                        to_exact[r][k, j] = per_config_mse(out[r][: post.shape[2]], post[k, j])
                between[k, j] = per_config_mse(out[radii[0]], out[radii[1]])
        return {"mse": mse, "between": between, "to_exact": to_exact, "info": info, "families": families}

    # -- scores ---------------------------------------------------------------------------------
    def summarize(self, records: List[Dict[str, Any]], bootstrap: BootstrapConfig) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        families = sorted({r["family"] for r in records})
        data_curves = {}
        for fam in families:
            recs = [r for r in records if r["family"] == fam]
            phi_curves, phi_exact_curves, per_L = {}, {}, {}
            for rec in recs:
                L = rec["L"]
                excess = phi_excess(rec)  # (n_T, n_levels, n_test)
                boots = np.stack([bootstrap.means(excess[k], "phi", L, k) for k in range(len(rec["temps"]))], axis=1)
                log_lv = np.log(rec["levels"])
                phi = parabolic_max(log_lv, boots)  # (n_boot + 1, n_T): max over lambda of the mean excess
                phi_curves[L] = phi
                integral = np.trapezoid(boots[0], log_lv, axis=-1) if hasattr(np, "trapezoid") else np.trapz(boots[0], log_lv, axis=-1)
                entry = {
                    "temps": rec["temps"], "phi": phi[0].tolist(),
                    "phi_lo": np.quantile(phi[1:], 0.025, axis=0).tolist(), "phi_hi": np.quantile(phi[1:], 0.975, axis=0).tolist(),
                    "phi_integral_log_lambda": integral.tolist(), "r_local": rec["r_local"], "r_global": rec["r_global"],
                    "members": rec["members"], "locality": {str(k): v for k, v in rec["locality"].items()},
                    "phi_method": phi_method(rec),
                    # the other estimate of the same excess, point values only (for comparison)
                    "phi_paired_difference": parabolic_max(log_lv, (rec["local"] - rec["global"]).mean(-1)[None])[0].tolist(),
                }
                if rec["exact"] is not None:
                    ex_exact = rec["local_dist_to_exact"]  # E mse(f_r) - E mse(q) = E|f_r - q|^2 (orthogonality)
                    bx = np.stack([bootstrap.means(ex_exact[k], "phi_vs_exact", L, k) for k in range(len(rec["temps"]))], axis=1)
                    phi_exact_curves[L] = parabolic_max(log_lv, bx)
                    entry["phi_vs_exact"] = phi_exact_curves[L][0].tolist()
                    entry["global_vs_exact_worst_rel_gap"] = global_gap_to_exact(
                        rec, bootstrap.indices(rec["exact"].shape[-1], "global_gap", L))
                per_L[str(L)] = entry
                if L not in data_curves:
                    data_curves[L] = np.stack([bootstrap.means(rec["data_m2"][k], "data_m2", L, k)
                                               for k in range(len(rec["temps"]))], axis=1)
            temps = recs[0]["temps"]
            est = tc_estimate(temps, phi_curves)
            refused = any(not v["passed"] for e in per_L.values() for v in e["locality"].values())
            out[fam] = {"family": fam, "refused": refused, "per_L": per_L, "Tc_estimate": est,
                        "Tc_vs_exact_reference": tc_estimate(temps, phi_exact_curves) if len(phi_exact_curves) >= 2 else None}
        if data_curves:
            out["_data_m2_estimator"] = {"family": "data <m^2> L^(1/4)", "Tc_estimate": tc_estimate(records[0]["temps"], data_curves),
                                         "refused": False, "per_L": {}}
        return out

    def cells(self, records, bootstrap: BootstrapConfig):
        cells = []
        for rec in records:
            excess = phi_excess(rec)
            for k, T in enumerate(rec["temps"]):
                for j, lv in enumerate(rec["levels"]):
                    cells.append({
                        "family": rec["family"], "L": rec["L"], "params": {"T": T}, "level": lv,
                        "radius": rec["r_local"], "reference_radius": rec["r_global"],
                        "mse_local": float(rec["local"][k, j].mean()), "mse_global": float(rec["global"][k, j].mean()),
                        "excess": float(excess[k, j].mean()), "excess_method": phi_method(rec),
                        "excess_stderr": float(excess[k, j].std(ddof=1) / math.sqrt(excess.shape[-1])),
                        "mse_exact_global": None if rec["exact"] is None else float(rec["exact"][k, j].mean()),
                    })
        return cells

    def leaderboard_rows(self, summary):
        header = ["family", "status", "T_c estimate [95% CI]", "|T_c^ - T_c|/T_c", "method", "crossings",
                  "global member's MSE gap to exact (worst cell)"]
        rows = []
        for key, s in sorted(summary.items(), key=lambda kv: (kv[1]["refused"], _nan_last(kv[1]["Tc_estimate"]["rel_error"]))):
            e = s["Tc_estimate"]
            pairs = "; ".join(f"L={p['L'][0]}/{p['L'][1]}: {p['value']:.4f} [{p['lo']:.4f}, {p['hi']:.4f}]" for p in e["pairs"])
            gaps = [_gap_text(L, g["global_vs_exact_worst_rel_gap"])
                    for L, g in s["per_L"].items() if "global_vs_exact_worst_rel_gap" in g]
            rows.append([s["family"], "REFUSED (locality audit)" if s["refused"] else "ok",
                         f"{e['Tc']:.4f} [{e['lo']:.4f}, {e['hi']:.4f}]", f"{e['rel_error']:.2%}", e["method"] + _phi_note(s), pairs,
                         "; ".join(gaps) or "n/a"])
        return header, rows

    def plots(self, records, summary, out_dir):
        from .. import plots

        return [plots.ising_phi_curves(self.name, summary, out_dir, T_C),
                plots.ising_excess_heatmaps(self.name, records, out_dir, phi_excess)]


PHI_METHODS = {False: "paired difference mse(local) - mse(global) per test configuration",
               True: "mean |f_local - f_global|^2 per test configuration (nested projections)"}


def phi_excess(rec: Dict[str, Any]) -> np.ndarray:
    """Per-configuration excess of the local member over the global member, (n_T, n_levels, n_test).

    For a family of nested projections (``DenoiserFamily.nested_projections``: ``linear``,
    ``exact``) the excess is ``E|f_r - f_g|^2``: the cross term of ``mse(f_r) - mse(f_g) =
    |f_r - f_g|^2 + 2 (f_r - f_g)(f_g - x)`` has zero mean when f_g is the projection onto a class
    that contains f_r.  Dropping it removes its variance: on the full division, ``linear``'s Phi
    has a median relative bootstrap sd of 2.0% against 3.7%, and the L = 14/18 crossing's CI is
    [2.259, 2.294] against [2.121, 2.444].  For a learned family the identity only holds as far as
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
    """The global member's relative MSE gap to the exact posterior, worst (T, lambda) cell, with a 95% CI.

    For the exact posterior mean ``q``, ``E mse(f) - E mse(q) = E |f - q|^2`` for test data
    drawn from the model (the cross term vanishes by the tower property), so the gap is
    estimated as ``mean |f - q|^2 / mean mse(q)`` over the first n_ex test configurations:
    unbiased up to the ratio, non-negative, and far less noisy than the difference of the two
    MSEs, whose cross term ``2 (f - q)(q - x)`` has zero mean but a large variance.  The CI is
    a joint bootstrap over those configurations (``boot_idx``: resampled indices, (n_boot, n_ex)); the raw
    paired difference is reported too.
    """
    dist, exact = rec["global_dist_to_exact"], rec["exact"]  # (n_T, n_levels, n_ex)
    n_ex = exact.shape[-1]
    gap = dist.mean(-1) / exact.mean(-1)
    boot = np.take(dist, boot_idx, axis=-1).mean(-1) / np.take(exact, boot_idx, axis=-1).mean(-1)  # (n_T, n_levels, n_boot)
    worst = np.unravel_index(np.argmax(gap), gap.shape)
    raw = (rec["global"][..., :n_ex].mean(-1) - exact.mean(-1)) / exact.mean(-1)
    return {"value": float(gap[worst]), "lo": float(np.quantile(boot[worst], 0.025)),
            "hi": float(np.quantile(boot[worst], 0.975)), "T": rec["temps"][worst[0]], "lambda": rec["levels"][worst[1]],
            "n_configs": int(n_ex), "cells_within_2pct": int((gap <= 0.02).sum()), "cells": int(gap.size),
            "mean": float(gap.mean()), "per_cell": gap.tolist(),
            "raw_paired_difference_worst": float(raw.flat[np.argmax(np.abs(raw))]),
            "method": "E|f - exact|^2 / E mse(exact) (orthogonality of the posterior mean)"}


def _gap_text(L, g: Dict[str, Any]) -> str:
    return (f"L={L}: {g['value']:.2%} [{g['lo']:.2%}, {g['hi']:.2%}] (T={g['T']:g}, lambda={g['lambda']:.3g}; "
            f"{g['cells_within_2pct']}/{g['cells']} cells <= 2%)")


def _phi_note(summary_entry: Dict[str, Any]) -> str:
    methods = {e.get("phi_method") for e in summary_entry["per_L"].values()}
    return "; Phi = E|f_r - f_global|^2" if methods == {PHI_METHODS[True]} else ""


def _nan_last(v: float) -> float:
    return v if math.isfinite(v) else 9.0


class _Bound:
    """A fitted family with its condition bound, for the locality audit."""

    def __init__(self, fam, kw):
        self.fam, self.kw = fam, kw
        self.name, self.radius = fam.name, fam.radius

    def denoise(self, y, level):
        return self.fam.denoise(y, level, **self.kw)
