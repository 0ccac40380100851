"""CMI heat maps I(level, r) of a task's noisy data, with CIs, written as strict JSON and a plot.

``phasebench cmi TASK --estimator NAME`` evaluates the estimator on the task's grid of noise levels and radii
(its first lattice size), on the task's own test data (same seeds as ``phasebench run``), and writes
``cmi.json`` (estimates, the exact Markov length where the model has one, provenance) and
``cmi_heatmap.png`` (log10 CMI over level and r, in the style of the seed paper's heat map).  Each
estimator's reach is declared in :data:`ESTIMATORS`: a model it cannot treat is bad input.

For the toric loops under bit flips (``exact`` only, :mod:`.toric_exact`) the data are drawn exactly by the
estimator itself (L <= 10, the global oracle's reach), and the result adds the transition placed from the
CMI by the denoiser placement's own estimator: ``I_r`` takes the place of the increments ``D_r`` in
:func:`phasebench.suites.estimators.xi_eff.threshold_from_increments` (decay rate from ``I_r / I_{r+2}``, its
peak in p, the extrapolation in r with the task's ``nu``), and the level where ``I_r`` is largest per radius.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict

import numpy as np

from phasebench.lattice_models.datasets import load_or_generate
from phasebench.lattice_models.provenance import git_commit, hardware, package_version, write_json_atomic

from ..estimators import derive_seed
from ..evaluation import speciation_level
from . import gaussian_field, ising_exact, mine, toric_exact

#: estimator name -> (models it treats, what it needs)
ESTIMATORS: Dict[str, Dict[str, Any]] = {
    "exact": {"models": ("gff", "toric_loops", "ising"),
              "needs": "the GFF's closed form (no data); for the toric loops under bit flips and the Ising model "
                       "under the Gaussian channel, the global and window oracles averaged over samples (L <= 10)"},
    "gaussian": {"models": ("gff",), "needs": "noisy samples of a scalar field (exact for Gaussian data)"},
    "immse": {"models": ("gff",), "needs": "clean and noisy samples and the exact Gaussian conditionals"},
    "mine": {"models": ("gff",), "needs": "noisy samples (the seed paper's neural baseline; C within radius 6, L >= 13)"},
}


def check_estimator(name: str, model_name: str, channel) -> None:
    if name not in ESTIMATORS:
        raise ValueError(f"unknown CMI estimator {name!r}; known: {', '.join(ESTIMATORS)}")
    if model_name not in ESTIMATORS[name]["models"]:
        raise ValueError(f"the {name} CMI estimator does not treat the {model_name} model "
                         f"(it treats {', '.join(ESTIMATORS[name]['models'])})")
    if model_name == "toric_loops":
        if channel.to_dict().get("name") != "bitflip":
            raise ValueError(f"the {name} CMI estimator treats the toric loops under the bitflip channel only, "
                             f"not {channel.to_dict().get('name')}")
    elif not getattr(channel, "additive_gaussian", False):
        raise ValueError(f"the {name} CMI estimator needs the Gaussian channel, not {channel.to_dict().get('name')}")


def cmi_heatmap(task, cfg, estimator: str, n_samples: int | None = None, centres: int | None = None) -> Dict[str, Any]:
    """The heat map of one task on its configuration ``cfg`` (levels, radii, the first L, the seed); ``centres``:
    sites A averaged per configuration by the exact Ising estimator (default :data:`ising_exact.DEFAULT_CENTRES`)."""
    model, channel = task.model(), task.channel()
    check_estimator(estimator, task.model_name, channel)
    if task.model_name == "toric_loops":
        return _toric_heatmap(task, cfg, n_samples)
    if task.model_name == "ising":
        return _ising_heatmap(task, cfg, n_samples, centres or ising_exact.DEFAULT_CENTRES)
    L = cfg.L[0]
    n = int(n_samples or cfg.n_test)
    t0 = time.perf_counter()
    needs_data = estimator != "exact"
    x = load_or_generate(model, n, L, derive_seed(cfg.seed, L, 7)).samples[:, 0] if needs_data else None
    cells = []
    mass_sq = getattr(model, "mass_sq", None)
    for j, level in enumerate(cfg.levels):
        a, s = channel.amplitudes(level)
        y = channel.corrupt(x, level, derive_seed(cfg.seed, L, 8, j)) if needs_data else None
        if estimator == "mine":  # one critic for I(A:BC) serves every radius
            cells += _mine_cells(y, level, cfg.radii, derive_seed(cfg.seed, L, 9, j))
            continue
        for r in cfg.radii:
            if 2 * r + 1 > L:
                continue
            est = _estimate(estimator, x, y, L, mass_sq, a, s, r, derive_seed(cfg.seed, L, 9, j, r))
            cells.append({"level": float(level), "r": int(r), **est})
    out = {"task": task.name, "estimator": estimator, "L": L, "n_samples": n if needs_data else 0,
           "level_name": channel.level_name, "cells": cells, "wall_seconds": time.perf_counter() - t0,
           "provenance": {"package_version": package_version(), "git_commit": git_commit(), "hardware": hardware(),
                          "seed": cfg.seed, "model": task.model_name, "model_params": task.model_params}}
    if mass_sq is not None:  # the exact Markov length of the GFF, I ~ exp(-r / xi_M)
        from phasebench.lattice_models.exact import gff_theory

        out["markov_length"] = {str(lv): gff_theory.markov_length(mass_sq, *channel.amplitudes(lv)) for lv in cfg.levels}
    return out


def _toric_heatmap(task, cfg, n_samples: int | None) -> Dict[str, Any]:
    from ..estimators import BootstrapConfig, threshold_from_increments

    L, n = cfg.L[0], int(n_samples or cfg.n_test)
    radii = [r for r in cfg.radii if 2 * r + 1 < L]
    grid = toric_exact.cmi_grid(L, cfg.levels, radii, n, derive_seed(cfg.seed, L, 7))
    boot = BootstrapConfig().indices(n, derive_seed(cfg.seed, L, 9))
    summary = toric_exact.summarize(grid, derive_seed(cfg.seed, L, 10))
    values = np.moveaxis(grid["values"], 1, 0)  # (radii, levels, n): I_r in place of the increments D_r
    placement = threshold_from_increments(grid["levels"], radii, values, boot, nu=task.transition().nu)
    for scale in placement["by_rmax"]:  # D_r spans the radii r..r+1, I_r only r: the largest radius used is one less
        scale["largest_radius"] = scale.pop("r_max") - 1
    return {"task": task.name, "estimator": "exact", "L": L, "n_samples": n, "level_name": task.channel().level_name,
            "cells": summary["cells"], "peak_level_per_radius": summary["peak_level"],
            "placement_from_cmi_decay": placement, "target": task.transition().value,
            "wall_seconds": grid["wall_seconds"],
            "provenance": {"package_version": package_version(), "git_commit": git_commit(), "hardware": hardware(),
                           "seed": cfg.seed, "model": task.model_name, "model_params": task.model_params}}


def _ising_heatmap(task, cfg, n_samples: int | None, centres: int) -> Dict[str, Any]:
    """The exact Ising CMI and r-local excess (:mod:`.ising_exact`), with the speciation window of the global
    posterior and the breakdown windows (half maximum of the excess and of the CMI) per radius."""
    L, n = cfg.L[0], int(n_samples or cfg.n_test)
    if len(cfg.model_params_grid or ()) > 1:
        raise ValueError(f"the exact Ising CMI needs a task at one temperature (ising-speciation); {task.name} scans "
                         f"{', '.join(sorted(cfg.model_params_grid[0]))}")
    ising_exact.check_lattice(L)  # before sampling the data
    radii = [r for r in cfg.radii if r >= 1 and 2 * r + 1 < L]
    if not radii:
        raise ValueError(f"no radius r >= 1 with 2r + 1 < L = {L} among {list(cfg.radii)}")
    model = task.model()
    x = load_or_generate(model, n, L, derive_seed(cfg.seed, L, 7)).samples[:, 0].astype(np.float64)
    res = ising_exact.grid(x, model.K, cfg.levels, radii, centres, derive_seed(cfg.seed, L, 8))
    summary = ising_exact.summarize(res, derive_seed(cfg.seed, L, 10))
    m2 = float((x.mean(axis=(1, 2)) ** 2).mean())
    return {"task": task.name, "estimator": "exact", "L": L, "n_samples": n, "level_name": task.channel().level_name,
            **summary, "lambda_S_estimate": speciation_level(x),
            "window_speciation_estimate": {str(r): 1.0 / ((2 * r + 1) ** 2 * m2) for r in radii},
            "provenance": {"package_version": package_version(), "git_commit": git_commit(), "hardware": hardware(),
                           "seed": cfg.seed, "model": task.model_name, "model_params": task.model_params}}


def _mine_cells(y, level: float, radii, seed: int):
    """MINE per radius in 1..5 (the critic's C is the radius-6 window): a point estimate without an interval
    (a single training run; its seed-to-seed spread is measured in docs/decisions/cmi-gff.md)."""
    used = [int(r) for r in radii if 0 < r < 6]
    if not used:
        raise ValueError(f"the mine CMI estimator treats radii 1..5, got {list(radii)}")
    res = mine.mine_cmi(y, used, seed)
    return [{"level": float(level), "r": r, "value": res["cmi"][r], "lo": float("nan"), "hi": float("nan"),
             "i_a_bc": res["i_a_bc"], "i_a_b": res["i_a_b"][r]} for r in used]


def _estimate(name: str, x, y, L: int, mass_sq, a: float, s: float, r: int, seed: int) -> Dict[str, float]:
    if name == "exact":
        return gaussian_field.exact_cmi(L, mass_sq, a, s, r)
    if name == "gaussian":
        return gaussian_field.gaussian_cmi(y, r)
    return gaussian_field.immse_cmi(x, y, mass_sq, a, s, r, 1000, seed)


def plot_heatmap(result: Dict[str, Any], path: Path) -> str:
    from ..plots import _pyplot, _save

    plt = _pyplot()
    levels = sorted({c["level"] for c in result["cells"]})
    radii = sorted({c["r"] for c in result["cells"]})
    grid = np.full((len(radii), len(levels)), np.nan)
    for c in result["cells"]:
        grid[radii.index(c["r"]), levels.index(c["level"])] = np.log10(c["value"]) if c["value"] > 0 else np.nan
    fig, ax = plt.subplots(figsize=(6, 3.5))
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(levels)), [f"{v:g}" for v in levels])
    ax.set_yticks(range(len(radii)), [str(r) for r in radii])
    ax.set_xlabel(result["level_name"])
    ax.set_ylabel("buffer radius r")
    ax.set_title(f"{result['task']}: log10 I(A:C|B), {result['estimator']} estimator, L = {result['L']}")
    fig.colorbar(im, ax=ax, label="log10 CMI (nats)")
    return _save(fig, path)


def write_heatmap(task, cfg, estimator: str, out_dir: str | Path, n_samples: int | None = None,
                  centres: int | None = None) -> Dict[str, Any]:
    """Compute, then write ``cmi.json`` and ``cmi_heatmap.png`` into ``out_dir`` (atomically)."""
    result = cmi_heatmap(task, cfg, estimator, n_samples, centres)
    out = Path(out_dir)
    result["plot"] = Path(plot_heatmap(result, out / f"cmi_heatmap_{estimator}.png")).name
    write_json_atomic(out / f"cmi_{estimator}.json", result)
    return result
