"""``phasebench run``: evaluate tasks x families, write results.json, leaderboard.md and plots.

The run is a sequence of cells, one per task (:mod:`phasebench.suites.results_store`): each finished cell is
appended to the output directory's store at once, a rerun takes finished cells from it, and results.json is
assembled from the store.  Member fits go to the run's executor (:mod:`phasebench.suites.executors`)."""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from phasebench.denoisers import DENOISERS, validate_radius
from phasebench.lattice_models.base import validate_count
from phasebench.lattice_models.geometry import check_window
from phasebench.lattice_models.provenance import (atomic_path, git_commit, hardware, package_version, write_json_atomic,
                                                 write_text_atomic)

from .estimators import BootstrapConfig
from .evaluators import evaluate_task
from .executors import activate, make_executor, n_workers
from .leaderboard import render_results
from .results_format import RESULTS_FORMAT, missing_numbers_as_nan
from .results_store import ResultsStore, code_version
from .sweep_plan import Cell, plan_cells
from .objectives import objective_for_model
from .placement import placement_record
from .rules import check_rules, closed_family_options, rules_record
from .tasks import TASKS, check_division, get_task


def apply_overrides(task, cfg, overrides: Dict[str, Sequence]):
    """Replace fields of the task grid (L, levels, radii, n_train, ...), validating before any work starts."""
    overrides = dict(overrides)
    extra_options = overrides.pop("family_options", None) or {}
    axis_values = overrides.pop("axis_values", None)
    if axis_values is not None:  # the grid of a parameter-axis objective's parameter
        if not hasattr(task, "axis"):
            raise ValueError(f"task {task.name!r} scans no model parameter: --values applies to a parameter-axis objective")
        overrides["model_params_grid"] = tuple({task.axis: float(v)} for v in axis_values)
    cfg = dataclasses.replace(cfg, **{k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in overrides.items()})
    if extra_options:  # merged over the task's own options, family by family
        merged = {name: dict(opts) for name, opts in cfg.family_options.items()}
        for name, opts in extra_options.items():
            merged[name] = {**merged.get(name, {}), **opts}
            validate_family_options(name, merged[name])
        cfg = dataclasses.replace(cfg, family_options=merged)
    validate_count(cfg.n_train, "n_train")
    validate_count(cfg.n_test, "n_test")
    validate_count(cfg.train_seeds, "train_seeds")
    check_rules(cfg.rules)
    for name in cfg.opt_in_families:
        DENOISERS.get(name)  # unknown names raise
    if cfg.family_radii and not task.honours_family_radii:
        raise ValueError(f"task {task.name!r} chooses its members' radii itself: it takes no family_radii")
    for name, radii in cfg.family_radii.items():
        DENOISERS.get(name)
        for r in radii:
            validate_radius(r)
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool) or cfg.seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {cfg.seed!r}")
    if not (isinstance(cfg.budget, (int, float)) and math.isfinite(cfg.budget) and cfg.budget > 0):
        raise ValueError(f"budget must be a number of seconds > 0, got {cfg.budget!r}")
    model = task.model()
    for L in cfg.L:
        model.validate_L(L)
    channel = task.channel()
    for lv in cfg.levels:
        channel.validate_level(lv)
    for r in cfg.radii:
        validate_radius(r)
        check_window(min(cfg.L), r)
    task.validate_config(cfg)
    return cfg


def validate_family_options(name: str, options: Dict[str, Any]) -> None:
    """Options that are hyperparameters the family declares, with valid values (ValueError naming the bad one
    otherwise), before any work."""
    DENOISERS.get(name).validate_hyperparameters(options)  # unknown family names raise


def resolve_families(task, requested: Optional[Sequence[str]], cfg) -> List[str]:
    """The requested families that the task can evaluate on its grid, or by default every registered
    family (aliases aside) that it can (:meth:`Task.accepts_family`)."""
    if not requested:
        return task.default_families(DENOISERS.names(), DENOISERS, cfg)
    for name in requested:
        DENOISERS.get(name)  # unknown names raise
    return [n for n in requested if task.accepts_family(DENOISERS.get(n), cfg)]


def publish_files(stage: Path, out: Path) -> None:
    """Copy every file under ``stage`` to the same place under ``out``, each atomically."""
    for src in sorted(p for p in stage.rglob("*") if p.is_file()):
        with atomic_path(out / src.relative_to(stage), suffix=src.suffix) as tmp:
            shutil.copyfile(src, tmp)


def run_provenance(division: str, version: Optional[str] = None) -> Dict[str, Any]:
    """Where and how a run was made: package version, commit, code version (``version``, else
    :func:`code_version`), hardware, division, workers, torch threads."""
    return {
        "package_version": package_version(), "git_commit": git_commit(), "hardware": hardware(),
        "code_version": version or code_version(), "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "division": division, "argv": sys.argv,
        "fit_workers": n_workers(), "torch_threads_env": os.environ.get("PHASEBENCH_TORCH_THREADS"),
    }


def task_record(task, families: List[str], cfg, plot_dir: Optional[Path] = None,
                status: Callable[[str], None] = lambda msg: None) -> Dict[str, Any]:
    """The results.json record of ``task`` evaluated for ``families`` on the grid ``cfg``: datasets, fitted
    members and evaluations (:func:`phasebench.suites.evaluators.evaluate_task`), the task's scores with their
    bootstrap CIs, its cells, the seconds per stage and the evaluations read back from the fit cache
    (``reused_evaluations``: :mod:`phasebench.suites.evaluators.resume`).  Plots go under ``plot_dir`` (none
    without it; their paths are recorded relative to it).  ``status`` hears the name of each stage as it starts."""
    stages: Dict[str, float] = {}  # seconds per stage, e.g. "toric-bitflip:exact:L16"
    clock = {"name": None, "t": time.perf_counter()}

    def tick(msg: str) -> None:
        now = time.perf_counter()
        if clock["name"] is not None:
            stages[clock["name"]] = stages.get(clock["name"], 0.0) + now - clock["t"]
        clock["name"], clock["t"] = msg, now
        status(msg)

    t_task = time.perf_counter()
    bootstrap = BootstrapConfig(seed=cfg.seed)  # every interval of the task: one resample count, seeds from cfg.seed
    datasets: Dict[str, Dict[str, str]] = {}
    replicas: Dict[int, List[Any]] = {}  # records of the further training seeds
    reused: List[str] = []  # evaluations read back from the fit cache (a resumed cell)
    grids = evaluate_task(task, families, cfg, tick, datasets, replicas, reused)  # datasets -> fitted members -> records
    tick("scoring")
    summary = task.summarize(grids, bootstrap)
    seed_summaries = {s: task.summarize(recs, bootstrap) for s, recs in replicas.items() if recs}
    plots = task.plots(grids, summary, plot_dir / "plots") if grids and plot_dir is not None else []
    placement = placement_record(task, cfg, summary, seed_summaries)
    if placement and plot_dir is not None:
        from . import plots as plotting

        plots.append(plotting.placement_vs_params(task.name, placement, plot_dir / "plots"))
    cells = task.cells(grids, bootstrap)
    if cfg.train_seeds > 1:
        cells = [dict(c, train_seed=0) for c in cells] + [
            dict(c, train_seed=s) for s, recs in sorted(replicas.items()) for c in task.cells(recs, bootstrap)]
    tick("done")
    return {
        "description": task.description, "scored": task.scored, "task": task.describe(), "model": task.model_name,
        "model_params": task.model_params, "channel": task.channel().to_dict(),
        "config": {k: v for k, v in vars(cfg).items()}, "families": list(families),
        "bootstrap": bootstrap.to_dict(), "datasets": datasets, "summary": summary,
        "placement": placement, "rules": rules_record(cfg, summary),
        "cells": cells,
        "plots": [str(Path(p).relative_to(plot_dir)) for p in plots],
        "wall_seconds": time.perf_counter() - t_task, "stage_seconds": stages, "reused_evaluations": reused,
    }


def prepare(tasks: Optional[Sequence[str]], families: Optional[Sequence[str]], division: str,
            overrides: Optional[Dict[str, Sequence]], model: Optional[Dict[str, Any]]) -> List[tuple]:
    """(task, families, grid) for every task of a run, every name and override validated before any work."""
    check_division(division)
    if model is not None and tasks:
        raise ValueError("give tasks or a model, not both")
    if model is not None:
        task_objs = [objective_for_model(model["name"], model.get("params"), model.get("channel"),
                                         model.get("channel_options"))]
    else:
        task_objs = [get_task(n) for n in (list(tasks) if tasks else TASKS.names())]  # validate every name before any work
    configs = {t.name: apply_overrides(t, t.division_config(division), overrides or {}) for t in task_objs}
    fixed = sorted(f"{name}.{k}" for name, opts in ((overrides or {}).get("family_options") or {}).items()
                   for k in opts if k in ("steps", "train_flops"))
    if fixed and (overrides or {}).get("rules") == "closed":
        raise ValueError(f"the closed rules fix every learned family's training compute: {fixed[0]} cannot be set")
    prepared = []
    for t in task_objs:
        cfg = configs[t.name]
        fams = resolve_families(t, families, cfg)
        if cfg.rules == "closed":  # the same training compute for every learned family (suites/rules.py)
            cfg = dataclasses.replace(cfg, family_options=closed_family_options(fams, cfg.family_options, division))
            for name in fams:
                validate_family_options(name, cfg.family_options.get(name, {}))
        prepared.append((t, fams, cfg))
    return prepared


def plan(tasks: Optional[Sequence[str]] = None, families: Optional[Sequence[str]] = None, division: str = "quick",
         out_dir: str = "reports/latest", overrides: Optional[Dict[str, Sequence]] = None,
         model: Optional[Dict[str, Any]] = None, slots: Optional[int] = None) -> List[Cell]:
    """The cells of a run (:mod:`phasebench.suites.sweep_plan`), which of them ``out_dir``'s store has, and
    their estimated cost with ``slots`` fits at a time (default: the local worker count)."""
    slots = n_workers() if slots is None else slots
    return plan_cells(prepare(tasks, families, division, overrides, model), division, model, code_version(),
                      ResultsStore(out_dir), slots)


def run(
    tasks: Optional[Sequence[str]] = None,
    families: Optional[Sequence[str]] = None,
    division: str = "quick",
    out_dir: str = "reports/latest",
    progress: bool = True,
    overrides: Optional[Dict[str, Sequence]] = None,
    model: Optional[Dict[str, Any]] = None,
    executor: str = "processes",
    scheduler: Optional[str] = None,
) -> Dict[str, Any]:
    """Run the named tasks (default: all), or with ``model`` (keys ``name``, ``params``, ``channel``,
    ``channel_options``) the objective that :func:`phasebench.suites.objectives.objective_for_model` picks for it.

    Each task is a cell (:mod:`phasebench.suites.results_store`): a cell already in ``out_dir``'s store for this
    code version is taken from it, any other is computed with its member fits on ``executor`` (``serial``,
    ``processes`` or ``dask``, at ``scheduler`` if given), its plots published and its record appended to the
    store as soon as it is done.  results.json and leaderboard.md hold every cell's record once all are done
    (a stored record and the one computed by an uninterrupted run serialise to the same JSON)."""
    prepared = prepare(tasks, families, division, overrides, model)
    out = Path(out_dir)
    store = ResultsStore(out)
    t0 = time.perf_counter()
    version = code_version()

    from tqdm.auto import tqdm

    with activate(make_executor(executor, scheduler)) as ex:
        cells = plan_cells(prepared, division, model, version, store, ex.slots())
        results: Dict[str, Any] = {"format": RESULTS_FORMAT, "provenance": {
            **run_provenance(division, version), "executor": ex.describe()}, "tasks": {}}
        stored = store.finished(version)
        bar = tqdm(total=sum(len(c.families) for c in cells), desc="phasebench", unit="family", file=sys.stderr,
                   disable=None if progress else True, leave=False)
        try:
            for cell in cells:
                if cell.done:
                    record = missing_numbers_as_nan(stored[cell.key]["record"])
                else:
                    record = run_cell(cell, store, out, results["provenance"], bar.set_postfix_str)
                results["tasks"][cell.task.name] = record
                bar.update(len(cell.families))
        finally:
            bar.close()
    results["provenance"]["cells"] = {"planned": len(cells), "from_store": sum(c.done for c in cells)}
    results["provenance"]["wall_seconds"] = time.perf_counter() - t0
    write_json_atomic(out / "results.json", results)
    write_text_atomic(out / "leaderboard.md", render_results(results))
    return results


def run_cell(cell: Cell, store: ResultsStore, out: Path, provenance: Dict[str, Any],
             status: Callable[[str], None]) -> Dict[str, Any]:
    """Compute one cell, publish its plots under ``out`` and append it to ``store``; its record."""
    # plots wait in a staging folder until the cell is done: an interrupted or failed cell writes nothing
    stage = Path(tempfile.mkdtemp(prefix="phasebench-run-"))
    try:
        started = time.perf_counter()
        record = task_record(cell.task, cell.families, cell.cfg, stage, status)
        publish_files(stage, out)
        store.append({"key": cell.key, "code_version": cell.spec["code_version"], "spec": cell.spec,
                      "provenance": {**provenance, "wall_seconds": time.perf_counter() - started},
                      "cost": cell.cost, "record": record})
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return record
