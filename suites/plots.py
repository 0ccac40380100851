"""Plots written by the runner: excess heat maps and decay-length curves (matplotlib, Agg)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ci_error_bars(value, lo, hi) -> np.ndarray:
    """``yerr`` for ``errorbar`` from a value and its CI bounds: distances below and above, never negative, 0 where
    a bound is NaN (no bar)."""
    value, lo, hi = (np.asarray(a, dtype=np.float64) for a in (value, lo, hi))
    return np.nan_to_num(np.vstack([np.clip(value - lo, 0, None), np.clip(hi - value, 0, None)]))


def _save(fig, path: Path) -> str:
    from phasebench.lattice_models.provenance import atomic_path, git_commit, package_version

    meta = {"Software": f"phasebench {package_version()} (commit {git_commit() or 'n/a'})"}
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png", metadata=meta)
    _pyplot().close(fig)
    return str(path)


def excess_heatmaps(task: str, grids: List[Any], out_dir: os.PathLike, level_label: str = "lambda") -> str:
    """One panel per (family, L): log10 of the mean paired excess Delta(level, r)."""
    plt = _pyplot()
    n = len(grids)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n + 0.8, 3.2), squeeze=False)
    for ax, g in zip(axes[0], grids):
        delta = g.excess.mean(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            img = np.log10(np.where(delta > 0, delta, np.nan))
        im = ax.imshow(img, aspect="auto", origin="lower", cmap="viridis")
        ax.set_xticks(range(len(g.levels)), [f"{v:g}" for v in g.levels], rotation=45, fontsize=7)
        ax.set_yticks(range(len(g.radii)), [str(r) for r in g.radii])
        ax.set_xlabel(level_label)
        ax.set_ylabel("radius r")
        ax.set_title(f"{g.family} (L={g.L})" + (" REFUSED" if g.refused else ""), fontsize=9)
        fig.colorbar(im, ax=ax, label="log10 excess MSE")
    fig.suptitle(f"{task}: excess over the reference, Delta({level_label}, r)", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-excess-heatmap.png")


def decay_length_curves(task: str, grids: List[Any], summary: Dict[str, Any], out_dir: os.PathLike,
                        level_label: str = "lambda") -> str:
    """xi_eff(level) per family with bootstrap CIs, and the exact Markov length where known."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    drawn_exact = False
    for g in grids:
        s = summary[f"{g.family}/L{g.L}"]
        lv = np.array([row["level"] for row in s["levels"]])
        xi = np.array([row["xi_eff"]["xi"] for row in s["levels"]])
        lo = np.array([row["xi_eff"]["lo"] for row in s["levels"]])
        hi = np.array([row["xi_eff"]["hi"] for row in s["levels"]])
        ax.errorbar(lv, xi, yerr=_ci_error_bars(xi, lo, hi), marker="o", ms=3, capsize=2, label=f"{g.family} L={g.L}")
        if g.markov_length is not None and not drawn_exact:
            ax.plot(lv, g.markov_length, "k--", lw=1, label="exact xi_M")
            drawn_exact = True
    ax.set_xscale("log")
    ax.set_xlabel(level_label)
    ax.set_ylabel("xi_eff")
    ax.legend(fontsize=7)
    ax.set_title(f"{task}: decay length of the excess", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-xi-eff.png")


def phi_curves(task: str, summary: Dict[str, Any], out_dir: os.PathLike, target: float, axis: str, exponent: float) -> str:
    """Phi_F(g, L) * L^a against the parameter g, one panel per family, with 95% CIs and the declared g_c."""
    plt = _pyplot()
    fams = [k for k in summary if not k.startswith("_")]
    fig, axes = plt.subplots(1, max(len(fams), 1), figsize=(4.2 * max(len(fams), 1), 3.4), squeeze=False)
    for ax, fam in zip(axes[0], fams):
        s = summary[fam]
        for L, e in sorted(s["per_L"].items(), key=lambda kv: int(kv[0])):
            scale = int(L) ** exponent
            g = np.array(e["values"])
            phi, lo, hi = (np.array(e[k]) * scale for k in ("phi", "phi_lo", "phi_hi"))
            ax.errorbar(g, phi, yerr=_ci_error_bars(phi, lo, hi), marker="o", ms=3, capsize=2, label=f"L={L}")
        est = s["estimate"]
        ax.axvline(target, color="k", ls="--", lw=1, label=f"declared {axis}_c")
        if np.isfinite(est["value"]):
            ax.axvspan(est["lo"], est["hi"], color="tab:red", alpha=0.15)
            ax.axvline(est["value"], color="tab:red", lw=1, label=f"estimate {est['value']:.3f}")
        ax.set_xlabel(axis)
        ax.set_ylabel(f"Phi * L^{exponent:g}")
        ax.set_title(fam + (" REFUSED" if s["refused"] else ""), fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"{task}: nonlocality Phi({axis}, L) L^{exponent:g}", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-phi-scaling.png")


def phi_excess_heatmaps(task: str, records: List[Dict[str, Any]], out_dir: os.PathLike,
                        excess: Callable[[Dict[str, Any]], np.ndarray], axis: str, level_label: str) -> str:
    """log10 of the excess of the local member over the global member, over (level, g).

    ``excess(record)``: its per-configuration values, (n_values, n_levels, n_test)."""
    plt = _pyplot()
    n = len(records)
    fig, axes = plt.subplots(1, max(n, 1), figsize=(3.6 * max(n, 1) + 0.8, 3.2), squeeze=False)
    for ax, rec in zip(axes[0], records):
        delta = excess(rec).mean(axis=-1)  # (n_values, n_levels)
        with np.errstate(divide="ignore", invalid="ignore"):
            img = np.log10(np.where(delta > 0, delta, np.nan))
        im = ax.imshow(img, aspect="auto", origin="lower", cmap="viridis")
        ax.set_xticks(range(len(rec["levels"])), [f"{v:.2g}" for v in rec["levels"]], rotation=45, fontsize=7)
        ax.set_yticks(range(len(rec["values"])), [f"{t:g}" for t in rec["values"]], fontsize=7)
        ax.set_xlabel(level_label)
        ax.set_ylabel(axis)
        ax.set_title(f"{rec['family']} L={rec['L']} r={rec['r_local']}", fontsize=9)
        fig.colorbar(im, ax=ax, label="log10 excess")
    fig.suptitle(f"{task}: excess of the r = (L-2)/4 member over the global member", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-excess-heatmap.png")


def toric_xi_curves(task: str, summary: Dict[str, Any], out_dir: os.PathLike, target: float, level_label: str) -> str:
    """xi_eff(level) per family (largest radius set), with the target transition and the estimate."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.8, 3.8))
    for key, s in summary.items():
        if key.startswith("_") or not s.get("xi_eff"):
            continue
        lv = np.array(s["levels"])
        xi = np.array([p["xi"] for p in s["xi_eff"]])
        lo = np.array([p["lo"] for p in s["xi_eff"]])
        hi = np.array([p["hi"] for p in s["xi_eff"]])
        line = ax.errorbar(lv, xi, yerr=_ci_error_bars(xi, lo, hi), marker="o", ms=3, capsize=2,
                           label=f"{s['family']} (r<={max(s['radii'])})")
        if np.isfinite(s["pc_estimate"]["value"]):
            ax.axvline(s["pc_estimate"]["value"], color=line[0].get_color(), lw=0.8, ls=":")
    ax.axvline(target, color="k", ls="--", lw=1, label=f"target {target:g}")
    ax.set_xlabel(level_label)
    ax.set_ylabel("xi_eff (from the convergence in r)")
    ax.legend(fontsize=7)
    ax.set_title(f"{task}: decay length of the r-local error", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-xi-eff.png")


def toric_mse_heatmaps(task: str, records: List[Dict[str, Any]], out_dir: os.PathLike, level_label: str) -> str:
    """log10 of MSE(level, r) - MSE(level, r_max) per family: how far each radius is from converged."""
    plt = _pyplot()
    recs = [r for r in records if r["kind"] == "local" and len(r["radii"]) >= 2]
    fig, axes = plt.subplots(1, max(len(recs), 1), figsize=(3.8 * max(len(recs), 1) + 0.8, 3.2), squeeze=False)
    for ax, rec in zip(axes[0], recs):
        m = rec["mse"].mean(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            img = np.log10(np.where(m[:-1] - m[-1:] > 0, m[:-1] - m[-1:], np.nan))
        im = ax.imshow(img, aspect="auto", origin="lower", cmap="viridis")
        ax.set_xticks(range(len(rec["levels"])), [f"{v:g}" for v in rec["levels"]], rotation=60, fontsize=6)
        ax.set_yticks(range(len(rec["radii"]) - 1), [str(r) for r in rec["radii"][:-1]])
        ax.set_xlabel(level_label)
        ax.set_ylabel("radius r")
        ax.set_title(f"{rec['family']} L={rec['L']}", fontsize=9)
        fig.colorbar(im, ax=ax, label=f"log10 [MSE(r) - MSE(r={rec['radii'][-1]})]")
    fig.suptitle(f"{task}: convergence of the r-local error", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-mse-heatmap.png")


def toric_gain_shares(task: str, summary: Dict[str, Any], out_dir: os.PathLike, level_label: str) -> str:
    """Per learned family, the share of the exact gain that it captures per ring r -> r+1, against the level."""
    plt = _pyplot()
    entries = [s for k, s in summary.items() if not k.startswith("_") and s.get("gain_captured")]
    fig, axes = plt.subplots(1, len(entries), figsize=(4.6 * len(entries), 3.4), squeeze=False)
    for ax, s in zip(axes[0], entries):
        for ring in s["gain_captured"]:
            v, lo, hi = ([e[k] for e in ring["share"]] for k in ("mean", "lo", "hi"))
            ax.errorbar(s["levels"], v, yerr=_ci_error_bars(v, lo, hi), marker="o", ms=3, capsize=2,
                        label=f"{ring['r']} -> {ring['r'] + 1}")
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_ylim(-0.2, 1.2)
        ax.set_xlabel(level_label)
        ax.set_ylabel("share of the exact r-local gain")
        ax.set_title(f"{s['family']} L={s['L']}", fontsize=9)
        ax.legend(fontsize=7, title="ring", title_fontsize=7)
    fig.suptitle(f"{task}: (MSE(f_r) - MSE(f_r+1)) / (MSE(q_r) - MSE(q_r+1))", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-gain-share.png")


def speciation_curves(task: str, summary: Dict[str, Any], out_dir: os.PathLike) -> str:
    """Aligned posterior magnetisation M(lambda) for the exact global posterior and each local member."""
    plt = _pyplot()
    entries = list(summary.values())
    fig, axes = plt.subplots(1, max(len(entries), 1), figsize=(5.5 * max(len(entries), 1), 3.8), squeeze=False)
    for ax, e in zip(axes[0], entries):
        lv = np.array(e["levels"])
        ax.plot(lv, e["M_global"], "k-o", ms=3, label="exact global")
        for fam, members in e["local"].items():
            for r, m in members.items():
                ax.plot(lv, m["M"], marker=".", lw=1, label=f"{fam} r={r}")
        ax.axhline(0.5 * e["abs_m"], color="grey", lw=0.8, ls=":", label="<|m|>/2")
        ax.axvline(e["lambda_S"]["value"], color="tab:red", lw=1, ls="--", label="lambda_S = 1/Lambda_max")
        ax.set_xscale("log")
        ax.set_xlabel("lambda")
        ax.set_ylabel("E[mhat sign m]")
        ax.set_title(f"L={e['L']}", fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle(f"{task}: when the sign of the magnetisation is acquired", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-magnetisation.png")


def placement_vs_params(task: str, placement: Dict[str, Any], out_dir: os.PathLike) -> str:
    """The placement score (RMSE with its interval) of each family against its largest member's parameter count
    (an untrained family with no parameters at 1, on the log axis's left edge)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for key, row in sorted(placement["families"].items()):
        r = row.get("rmse")
        if not r or not np.isfinite(r.get("value", np.nan)):
            continue
        x = max(1, (row.get("costs") or {}).get("n_params") or 1)
        hi = r["hi"] if r.get("hi") is not None and np.isfinite(r["hi"]) else np.nan
        yerr = _ci_error_bars([r["value"]], [r["lo"]], [hi])
        ax.errorbar([x], [r["value"]], yerr=yerr, fmt="o", capsize=3, label=key)
        if np.isnan(hi):  # no upper limit (one training seed)
            ax.annotate("", (x, r["value"] * 3), (x, r["value"]), arrowprops={"arrowstyle": "->", "lw": 0.8})
    if not ax.get_legend_handles_labels()[1]:
        ax.text(0.5, 0.5, "no family has a placement score here", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    ax.set_xlabel("parameters (largest member)")
    ax.set_ylabel("placement score: RMSE of one run")
    ax.set_title(f"{task}: placement against size ({placement['train_seeds']} training seed(s))", fontsize=9)
    return _save(fig, Path(out_dir) / f"{task}-placement-vs-params.png")
