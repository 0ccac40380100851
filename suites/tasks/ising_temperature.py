"""``ising-temperature``: place T_c = 2/ln(1+sqrt 2) from the failure of local denoisers.

For a family F and lattice size L (L = 2 mod 4), the radius-r member with
``r = (L - 2) / 4`` has a window of width exactly L/2, so finite-size scaling
applies.  Its nonlocality measure is

    Phi_F(T, L) = max over lambda of the paired excess MSE of the r member over
                  F's own global member (radius ceil(L/2): its window covers the torus),

(also reported: the integral over log lambda, and, where the exact
transfer-matrix oracle is affordable, the same excess over the exact global
posterior mean).  Below T_c a local member cannot know the global sign, so
Phi ~ c <m^2>, and ``Phi L^{2 beta/nu} = Phi L^{1/4}`` is a scaling function of
``(T - T_c) L^{1/nu}``: T_c is placed at the crossing of ``Phi L^{1/4}``
between successive sizes, with bootstrap CIs over test configurations.  With
three or more sizes the crossings are extrapolated linearly in ``1/L_mean^2``.

The estimator is checked on the data's own ``<m^2> L^{1/4}``, measured on an
independent, larger sample per temperature (it must place T_c within 1%).  Conditionable families fit one member per radius over the whole
temperature grid; others fit once per temperature.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List

import numpy as np

from lattice_models.datasets import load_or_generate

from ..evaluation import config_magnetisation, derive_seed, fit_member, member_statistics, task_split
from ..scoring import bootstrap_means, crossing_with_ci
from .base import TASKS, Task, TaskConfig
from denoisers.locality import audit_locality

T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))
N_BOOT = 400


def temperature_grid(dense: bool) -> tuple:
    if dense:
        return (1.9, 2.0, 2.1, 2.15, 2.2, 2.22, 2.24, 2.26, 2.28, 2.3, 2.32, 2.35, 2.4, 2.5, 2.6, 2.7)
    return (1.9, 2.0, 2.1, 2.15, 2.2, 2.24, 2.27, 2.3, 2.34, 2.4, 2.5, 2.7)


def local_radius(L: int) -> int:
    if L % 4 != 2:
        raise ValueError(f"ising-temperature needs L = 2 mod 4 (window width exactly L/2), got L={L}")
    return (L - 2) // 4


def global_radius(L: int) -> int:
    return -(-L // 2)


def crossings(temps, curves: Dict[int, np.ndarray]) -> Dict[str, Any]:
    """Crossings of ``curve * L^{1/4}`` between successive sizes, and the T_c estimate."""
    Ls = sorted(curves)
    out: Dict[str, Any] = {"pairs": []}
    for L1, L2 in zip(Ls, Ls[1:]):
        c = crossing_with_ci(temps, curves[L1] * L1**0.25, curves[L2] * L2**0.25)
        out["pairs"].append({"L": [L1, L2], **c})
    usable = [p for p in out["pairs"] if math.isfinite(p["value"])]
    if not usable:
        out.update(Tc=float("nan"), lo=float("nan"), hi=float("nan"), method="none")
    elif len(usable) == 1 or len(usable) < len(out["pairs"]):
        best = usable[-1]
        out.update(Tc=best["value"], lo=best["lo"], hi=best["hi"], method=f"crossing L={best['L']}")
    else:  # extrapolate T*(L) = T_c + b / L_mean^2, CI from the pairs' CIs (shifted in parallel)
        x = np.array([1.0 / (0.5 * sum(p["L"])) ** 2 for p in usable])
        fit = lambda ys: float(np.polyval(np.polyfit(x, ys, 1), 0.0))  # noqa: E731
        vals = np.array([p["value"] for p in usable])
        half = np.array([0.5 * (p["hi"] - p["lo"]) for p in usable])
        tc = fit(vals)
        spread = float(np.sqrt(np.mean(half**2))) if np.isfinite(half).all() else float("nan")
        out.update(Tc=tc, lo=tc - spread, hi=tc + spread, method="extrapolated in 1/L^2")
    out["rel_error"] = abs(out["Tc"] - T_C) / T_C if math.isfinite(out["Tc"]) else float("nan")
    return out


@TASKS.register("ising-temperature")
class IsingTemperatureTask(Task):
    description = "2D Ising under the Gaussian channel: place T_c from crossings of Phi_F(T, L) * L^(1/4)"
    model_name = "ising"
    model_params: Dict[str, float] = {}
    channel_name = "gaussian"

    def config(self, division: str) -> TaskConfig:
        if division == "quick":
            temps = temperature_grid(dense=False)
            return TaskConfig(L=(6, 10), levels=tuple(np.round(np.logspace(-2.5, 0.5, 7), 5)), radii=(), n_train=1000,
                              n_test=1000, budget=25.0, families=("linear", "cnn"),
                              model_params_grid=tuple({"T": t} for t in temps),
                              extra={"exact_max_L": 6, "exact_n": 50, "data_n": 4000})
        temps = temperature_grid(dense=True)
        return TaskConfig(L=(6, 10, 14, 18), levels=tuple(np.round(np.logspace(-3, 0.5, 11), 5)), radii=(),
                          n_train=2000, n_test=1000, budget=150.0, families=("linear", "cnn", "cnn-bayes"),
                          model_params_grid=tuple({"T": t} for t in temps),
                          extra={"exact_max_L": 10, "exact_n": 16, "data_n": 20000})

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
            train, test, noisy = zip(*(task_split(m, channel, cfg, L, levels, key=(k,)) for k, m in enumerate(models)))
            # the estimator check on the data's own <m^2> L^(1/4): a larger, independent sample per T
            data_m2 = np.stack([config_magnetisation(load_or_generate(m, cfg.extra["data_n"], L, derive_seed(cfg.seed, L, k, 5)).samples) ** 2
                                for k, m in enumerate(models)])  # (n_T, data_n)
            exact = None
            if L <= cfg.extra.get("exact_max_L", 0):
                tick(f"{self.name}:exact-oracle:L{L}")
                n_ex = min(cfg.extra["exact_n"], cfg.n_test)
                exact = np.stack([
                    member_statistics(lambda y, lv, m=m: m.exact_posterior_mean(y, channel, lv, None),
                                      [y[:n_ex] for y in noisy[k]], levels, test[k].samples[:n_ex])["mse"]
                    for k, m in enumerate(models)])
            for fam_name in families:
                tick(f"{self.name}:{fam_name}:L{L}")
                errors, members, locality = {}, {}, {}
                for r in (r_loc, r_glob):
                    errors[r], members[str(r)], fam = self._member_errors(fam_name, r, cfg, L, levels, temps, models,
                                                                          train, test, noisy)
                    if r == r_loc:
                        mid = len(levels) // 2
                        kw = {"condition": temps[0]} if fam.conditionable else {}
                        locality[r] = audit_locality(_Bound(fam, kw), noisy[0][mid][:1], levels[mid]).to_dict()
                records.append({
                    "family": fam_name, "L": L, "temps": temps, "levels": levels, "r_local": r_loc, "r_global": r_glob,
                    "local": errors[r_loc], "global": errors[r_glob], "exact": exact, "data_m2": data_m2,
                    "members": members, "locality": locality,
                    "datasets": {f"T={T}": [tr.sha256, te.sha256] for T, tr, te in zip(temps, train, test)},
                })
        return records

    def _member_errors(self, fam_name, r, cfg, L, levels, temps, models, train, test, noisy):
        opts = cfg.family_options.get(fam_name, {})
        seed = derive_seed(cfg.seed, L, r, 3)
        errs = np.empty((len(temps), len(levels), cfg.n_test))
        from denoisers import DENOISERS

        if DENOISERS.get(fam_name).conditionable:
            x = np.concatenate([t.samples for t in train])
            cond = np.repeat(np.asarray(temps, float), [len(t.samples) for t in train])
            fam, info = fit_member(fam_name, r, x, self.channel(), levels, seed, cfg.budget, models[0], opts, cond)
            for k, T in enumerate(temps):
                errs[k] = member_statistics(fam.denoise, noisy[k], levels, test[k].samples, condition=T)["mse"]
            return errs, info, fam
        info = {"fit_seconds": 0.0}
        for k, m in enumerate(models):
            fam, one = fit_member(fam_name, r, train[k].samples, self.channel(), levels, seed, cfg.budget, m, opts)
            info = {**one, "fit_seconds": info["fit_seconds"] + one["fit_seconds"]}
            errs[k] = member_statistics(fam.denoise, noisy[k], levels, test[k].samples)["mse"]
        return errs, info, fam

    # -- scores ---------------------------------------------------------------------------------
    def summarize(self, records: List[Dict[str, Any]]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        families = sorted({r["family"] for r in records})
        data_curves = {}
        for fam in families:
            recs = [r for r in records if r["family"] == fam]
            phi_curves, phi_exact_curves, per_L = {}, {}, {}
            for rec in recs:
                L = rec["L"]
                excess = rec["local"] - rec["global"]  # (n_T, n_levels, n_test)
                boots = np.stack([bootstrap_means(excess[k], N_BOOT, derive_seed(L, k, 7)) for k in range(len(rec["temps"]))], axis=1)
                phi = boots.max(axis=-1)  # (n_boot + 1, n_T): max over lambda of the mean excess
                phi_curves[L] = phi
                log_lv = np.log(rec["levels"])
                integral = np.trapezoid(boots[0], log_lv, axis=-1) if hasattr(np, "trapezoid") else np.trapz(boots[0], log_lv, axis=-1)
                entry = {
                    "temps": rec["temps"], "phi": phi[0].tolist(),
                    "phi_lo": np.quantile(phi[1:], 0.025, axis=0).tolist(), "phi_hi": np.quantile(phi[1:], 0.975, axis=0).tolist(),
                    "phi_integral_log_lambda": integral.tolist(), "r_local": rec["r_local"], "r_global": rec["r_global"],
                    "members": rec["members"], "locality": {str(k): v for k, v in rec["locality"].items()},
                }
                if rec["exact"] is not None:
                    n_ex = rec["exact"].shape[-1]
                    ex_exact = rec["local"][..., :n_ex] - rec["exact"]
                    bx = np.stack([bootstrap_means(ex_exact[k], N_BOOT, derive_seed(L, k, 8)) for k in range(len(rec["temps"]))], axis=1)
                    phi_exact_curves[L] = bx.max(axis=-1)
                    entry["phi_vs_exact"] = phi_exact_curves[L][0].tolist()
                    gap = (rec["global"][..., :n_ex].mean(-1) - rec["exact"].mean(-1)) / rec["exact"].mean(-1)
                    worst = np.unravel_index(np.argmax(np.abs(gap)), gap.shape)
                    entry["global_vs_exact_worst_rel_gap"] = {"value": float(gap[worst]), "T": rec["temps"][worst[0]],
                                                              "lambda": rec["levels"][worst[1]], "n_configs": int(n_ex)}
                per_L[str(L)] = entry
                if L not in data_curves:
                    data_curves[L] = np.stack([bootstrap_means(rec["data_m2"][k], N_BOOT, derive_seed(L, k, 9))
                                               for k in range(len(rec["temps"]))], axis=1)
            temps = recs[0]["temps"]
            est = crossings(temps, phi_curves)
            refused = any(not v["passed"] for e in per_L.values() for v in e["locality"].values())
            out[fam] = {"family": fam, "refused": refused, "per_L": per_L, "Tc_estimate": est,
                        "Tc_vs_exact_reference": crossings(temps, phi_exact_curves) if len(phi_exact_curves) >= 2 else None}
        if data_curves:
            out["_data_m2_estimator"] = {"family": "data <m^2> L^(1/4)", "Tc_estimate": crossings(records[0]["temps"], data_curves),
                                         "refused": False, "per_L": {}}
        return out

    def cells(self, records):
        cells = []
        for rec in records:
            for k, T in enumerate(rec["temps"]):
                for j, lv in enumerate(rec["levels"]):
                    cells.append({
                        "family": rec["family"], "L": rec["L"], "params": {"T": T}, "level": lv,
                        "radius": rec["r_local"], "reference_radius": rec["r_global"],
                        "mse_local": float(rec["local"][k, j].mean()), "mse_global": float(rec["global"][k, j].mean()),
                        "excess": float((rec["local"][k, j] - rec["global"][k, j]).mean()),
                        "excess_stderr": float((rec["local"][k, j] - rec["global"][k, j]).std(ddof=1) / math.sqrt(rec["local"].shape[-1])),
                        "mse_exact_global": None if rec["exact"] is None else float(rec["exact"][k, j].mean()),
                    })
        return cells

    def leaderboard_rows(self, summary):
        header = ["family", "status", "T_c estimate [95% CI]", "|T_c^ - T_c|/T_c", "method", "crossings",
                  "global member vs exact (worst cell)"]
        rows = []
        for key, s in sorted(summary.items(), key=lambda kv: (kv[1]["refused"], _nan_last(kv[1]["Tc_estimate"]["rel_error"]))):
            e = s["Tc_estimate"]
            pairs = "; ".join(f"L={p['L'][0]}/{p['L'][1]}: {p['value']:.4f} [{p['lo']:.4f}, {p['hi']:.4f}]" for p in e["pairs"])
            gaps = [f"L={L}: {g['global_vs_exact_worst_rel_gap']['value']:+.2%} (T={g['global_vs_exact_worst_rel_gap']['T']:g}, "
                    f"lambda={g['global_vs_exact_worst_rel_gap']['lambda']:.3g})"
                    for L, g in s["per_L"].items() if "global_vs_exact_worst_rel_gap" in g]
            rows.append([s["family"], "REFUSED (locality audit)" if s["refused"] else "ok",
                         f"{e['Tc']:.4f} [{e['lo']:.4f}, {e['hi']:.4f}]", f"{e['rel_error']:.2%}", e["method"], pairs,
                         "; ".join(gaps) or "n/a"])
        return header, rows

    def plots(self, records, summary, out_dir):
        from .. import plots

        return [plots.ising_phi_curves(self.name, summary, out_dir, T_C),
                plots.ising_excess_heatmaps(self.name, records, out_dir)]


def _nan_last(v: float) -> float:
    return v if math.isfinite(v) else 9.0


class _Bound:
    """A fitted family with its condition bound, for the locality audit."""

    def __init__(self, fam, kw):
        self.fam, self.kw = fam, kw
        self.name, self.radius = fam.name, fam.radius

    def denoise(self, y, level):
        return self.fam.denoise(y, level, **self.kw)
