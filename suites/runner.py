"""``phasebench run``: evaluate tasks x families, write results.json, leaderboard.md and plots."""

from __future__ import annotations

import dataclasses
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from denoisers import DENOISERS, validate_radius
from lattice_models.base import validate_count
from lattice_models.geometry import check_window
from lattice_models.provenance import git_commit, hardware, package_version, write_json_atomic, write_text_atomic

from .evaluation import evaluate
from .leaderboard import RESULTS_FORMAT, render_results
from .scoring import bootstrap_indices, mean_with_ci
from .tasks import TASKS, check_division, get_task


def _cells(grid) -> List[Dict[str, Any]]:
    boot = bootstrap_indices(grid.errors.shape[-1], seed=999)
    cells = []
    excess = grid.excess
    for i, r in enumerate(grid.radii):
        for j, lv in enumerate(grid.levels):
            cell = {
                "family": grid.family, "L": grid.L, "level": lv, "radius": r, "params": grid.model_params,
                "mse": mean_with_ci(grid.errors[i, j], boot).to_dict(),
                "excess": mean_with_ci(excess[i, j], boot).to_dict(),
                "reference": grid.ref_kind, "n_test": int(grid.errors.shape[-1]),
                "n_params": grid.members.get(str(r), {}).get("n_params"),
            }
            if grid.theory_excess is not None:
                cell["excess_theory"] = float(grid.theory_excess[i, j])
            cells.append(cell)
    return cells


def apply_overrides(task, cfg, overrides: Dict[str, Sequence]):
    """Replace fields of the task grid (L, levels, radii, n_train, ...), validating before any work starts."""
    cfg = dataclasses.replace(cfg, **{k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in overrides.items()})
    validate_count(cfg.n_train, "n_train")
    validate_count(cfg.n_test, "n_test")
    model = task.model()
    for L in cfg.L:
        model.validate_L(L)
    channel = task.channel()
    for lv in cfg.levels:
        channel.validate_level(lv)
    for r in cfg.radii:
        validate_radius(r)
        check_window(min(cfg.L), r)
    return cfg


def resolve_families(task, requested: Optional[Sequence[str]], division: str) -> List[str]:
    model = task.model()
    if requested:
        names = list(requested)
        for name in names:
            DENOISERS.get(name)  # unknown names raise
    else:
        names = [n for n in task.config(division).families if n in DENOISERS]
    return [n for n in names if DENOISERS.get(n).supports(model)]


def run(
    tasks: Optional[Sequence[str]] = None,
    families: Optional[Sequence[str]] = None,
    division: str = "quick",
    out_dir: str = "reports/latest",
    progress: bool = True,
    overrides: Optional[Dict[str, Sequence]] = None,
) -> Dict[str, Any]:
    check_division(division)
    task_names = list(tasks) if tasks else TASKS.names()
    task_objs = [get_task(n) for n in task_names]  # validate every name before any work
    configs = {t.name: apply_overrides(t, t.config(division), overrides or {}) for t in task_objs}
    plan = [(t, resolve_families(t, families, division)) for t in task_objs]
    out = Path(out_dir)
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")

    from tqdm.auto import tqdm

    total = sum(len(f) * len(configs[t.name].L) * len(configs[t.name].model_params_grid) for t, f in plan)
    bar = tqdm(total=total, desc="phasebench", file=sys.stderr, disable=None if progress else True, leave=False)
    results: Dict[str, Any] = {
        "format": RESULTS_FORMAT,
        "provenance": {
            "package_version": package_version(), "git_commit": git_commit(), "hardware": hardware(),
            "started": started, "division": division, "argv": sys.argv,
        },
        "tasks": {},
    }
    plot_dir = out / "plots"
    for task, fams in plan:
        cfg = configs[task.name]
        grids = []
        for fam in fams:
            for L in cfg.L:
                for params in cfg.model_params_grid:
                    bar.set_postfix_str(f"{task.name}:{fam}:L{L}")
                    grids.append(evaluate(task, fam, L, cfg, params, progress=bar.set_postfix_str if progress else None))
                    bar.update(1)
        summary = task.summarize(grids)
        plots = task.plots(grids, summary, plot_dir) if grids else []
        results["tasks"][task.name] = {
            "description": task.description, "scored": task.scored, "model": task.model_name,
            "model_params": task.model_params, "channel": task.channel().to_dict(),
            "config": {k: v for k, v in vars(cfg).items()}, "families": fams,
            "summary": summary, "cells": [c for g in grids for c in _cells(g)],
            "plots": [str(Path(p).relative_to(out)) for p in plots],
        }
    bar.close()
    results["provenance"]["wall_seconds"] = time.perf_counter() - t0
    write_json_atomic(out / "results.json", results)
    write_text_atomic(out / "leaderboard.md", render_results(results))
    return results
