"""Plots of a generation task: W1 against r, histograms of the distribution observable, generated next to reference
samples, and the hybrid windows' W1 against global fraction and window position (matplotlib, Agg)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

from ..plots import _ci_error_bars, _pyplot, _save


def generation_plots(task: str, records: List[Dict[str, Any]], summary: Dict[str, Any], out_dir: os.PathLike) -> List[str]:
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for rec in records:  # one panel per (L, model parameters): the families side by side
        groups.setdefault(rec["label"].split(":", 1)[1], []).append(rec)
    paths = [w1_against_radius(task, groups, out_dir), distribution_histograms(task, groups, out_dir),
             sample_images(task, records, out_dir)]
    if any(s["window"] is not None for rec in records for s in rec["schedules"]):
        paths.append(hybrid_windows(task, records, summary, out_dir))
    return paths


def _panels(n: int, width: float = 4.0, height: float = 3.2):
    plt = _pyplot()
    fig, axes = plt.subplots(1, n, figsize=(width * n + 0.6, height), squeeze=False)
    return fig, axes[0]


def w1_against_radius(task: str, groups, out_dir) -> str:
    """W1 of the distribution observable per family against r; the global member's and the null quantile as lines."""
    fig, axes = _panels(len(groups))
    for ax, (where, recs) in zip(axes, groups.items()):
        for rec in recs:
            local = [s for s in rec["schedules"] if s["window"] is None and s["radius"] is not None]
            if local:
                w = [s["comparison"]["wasserstein"] for s in local]
                v = [x["value"] for x in w]
                ax.errorbar([s["radius"] for s in local], v, yerr=_ci_error_bars(v, [x["lo"] for x in w], [x["hi"] for x in w]),
                            marker="o", capsize=3, label=rec["family"])
            for s in rec["schedules"]:
                if s["radius"] is None:
                    ax.axhline(s["comparison"]["wasserstein"]["value"], color="k", ls="--", lw=1,
                               label=f"{rec['family']} global")
            q = rec["schedules"][0]["comparison"]["wasserstein"]["null_quantile"]
        ax.axhline(q, color="grey", ls=":", lw=1, label="null quantile")
        ax.set_xlabel("radius r")
        ax.set_ylabel(f"W1({recs[0]['distribution_name']})")
        ax.set_title(where, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"{task}: generated vs reference, W1 against the radius", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-generation-w1.png")


def distribution_histograms(task: str, groups, out_dir) -> str:
    """The reference law of the distribution observable beside the global member's and each family's smallest and
    largest radius'."""
    fig, axes = _panels(len(groups))
    for ax, (where, recs) in zip(axes, groups.items()):
        ref = np.asarray(recs[0]["reference_distribution"])
        shown = [(np.asarray(s["distribution"]), f"{rec['family']} {s['name']}") for rec in recs for s in _extremes(rec)]
        values = np.concatenate([ref] + [v for v, _ in shown])
        bins = np.histogram_bin_edges(values, bins=30)
        ax.hist(ref, bins=bins, density=True, color="grey", alpha=0.5, label="reference")
        for v, label in shown:
            ax.hist(v, bins=bins, density=True, histtype="step", lw=1.2, label=label)
        ax.set_xlabel(recs[0]["distribution_name"])
        ax.set_title(where, fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle(f"{task}: the distribution observable, generated and reference", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-generation-histograms.png")


def _extremes(rec: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The global schedule and the smallest and largest radius' local schedule of a record."""
    local = [s for s in rec["schedules"] if s["window"] is None and s["radius"] is not None]
    glob = [s for s in rec["schedules"] if s["radius"] is None]
    return glob + ([local[0]] if local else []) + ([local[-1]] if len(local) > 1 else [])


def sample_images(task: str, records: List[Dict[str, Any]], out_dir) -> str:
    """A few generated configurations per (record, schedule) next to reference ones (the mean over channels)."""
    plt = _pyplot()
    rows, seen = [], set()
    for rec in records:
        where = rec["label"].split(":", 1)[1]  # the reference once per (L, model parameters)
        if where not in seen:
            seen.add(where)
            rows.append((f"{where}: reference", rec["reference_examples"]))
        rows += [(f"{rec['label']}: {s['name']}", s["examples"]) for s in _extremes(rec)]
    n = max(len(x) for _, x in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.3 * n + 2.4, 1.3 * len(rows)), squeeze=False)
    for (label, xs), line in zip(rows, axes):
        for k, ax in enumerate(line):
            ax.set_xticks([])
            ax.set_yticks([])
            if k < len(xs):
                ax.imshow(np.asarray(xs[k], dtype=np.float64).mean(axis=0), cmap="gray", interpolation="nearest")
        line[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
    fig.suptitle(f"{task}: generated and reference configurations", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-generation-samples.png")


def hybrid_windows(task: str, records: List[Dict[str, Any]], summary: Dict[str, Any], out_dir) -> str:
    """W1 of the hybrid schedules against their global fraction and against the window's centre on the level axis,
    with the data's transition levels marked."""
    plt = _pyplot()
    fig, (ax_f, ax_w) = plt.subplots(1, 2, figsize=(9, 3.4))
    for rec in records:
        hybrid = [s for s in rec["schedules"] if s["window"] is not None]
        if not hybrid:
            continue
        label = rec["label"]
        w1 = np.array([s["comparison"]["wasserstein"]["value"] for s in hybrid])
        frac = np.array([s["schedule"]["global_fraction"] for s in hybrid])
        centre = np.array([np.sqrt(max(s["window"][0], 1e-12) * s["window"][1]) for s in hybrid])
        ax_f.scatter(frac, w1, label=label, s=18)
        ax_w.scatter(centre, w1, label=label, s=18)
        for h in summary.get(label, {}).get("hybrid", {}).values():
            ax_w.axvline(h["transition"]["speciation"], color="k", ls="--", lw=1)
            if "declared" in h["transition"]:
                ax_w.axvline(h["transition"]["declared"], color="r", ls=":", lw=1)
    ax_f.set_xlabel("global fraction of the denoiser calls")
    ax_w.set_xlabel(f"window centre ({records[0]['level_name']}; dashed: speciation, dotted: declared transition)")
    ax_w.set_xscale("log")
    for ax in (ax_f, ax_w):
        ax.set_ylabel("W1")
        ax.legend(fontsize=6)
    fig.suptitle(f"{task}: hybrid generation, global member inside a window", fontsize=10)
    return _save(fig, Path(out_dir) / f"{task}-generation-hybrid.png")
