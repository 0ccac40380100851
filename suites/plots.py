"""Plots written by the runner: excess heat maps and decay-length curves (matplotlib, Agg)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> str:
    from lattice_models.provenance import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
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
        err = np.vstack([np.clip(xi - lo, 0, None), np.clip(hi - xi, 0, None)])
        ax.errorbar(lv, xi, yerr=np.nan_to_num(err), marker="o", ms=3, capsize=2, label=f"{g.family} L={g.L}")
        if g.markov_length is not None and not drawn_exact:
            ax.plot(lv, g.markov_length, "k--", lw=1, label="exact xi_M")
            drawn_exact = True
    ax.set_xscale("log")
    ax.set_xlabel(level_label)
    ax.set_ylabel("xi_eff")
    ax.legend(fontsize=7)
    ax.set_title(f"{task}: decay length of the excess", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-xi-eff.png")
