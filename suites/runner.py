"""``phasebench run``: evaluate tasks x families, write results.json, leaderboard.md and plots."""

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
from typing import Any, Dict, List, Optional, Sequence

from phasebench.denoisers import DENOISERS, validate_radius
from phasebench.lattice_models.base import validate_count
from phasebench.lattice_models.geometry import check_window
from phasebench.lattice_models.provenance import (atomic_path, git_commit, hardware, package_version, write_json_atomic,
                                                 write_text_atomic)

from .evaluation import evaluate
from .parallel_fit import n_workers
from .leaderboard import RESULTS_FORMAT, render_results
from .tasks import TASKS, check_division, get_task


def apply_overrides(task, cfg, overrides: Dict[str, Sequence]):
    """Replace fields of the task grid (L, levels, radii, n_train, ...), validating before any work starts."""
    overrides = dict(overrides)
    extra_options = overrides.pop("family_options", None) or {}
    cfg = dataclasses.replace(cfg, **{k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in overrides.items()})
    if extra_options:  # merged over the task's own options, family by family
        merged = {name: dict(opts) for name, opts in cfg.family_options.items()}
        for name, opts in extra_options.items():
            merged[name] = {**merged.get(name, {}), **opts}
            validate_family_options(name, merged[name])
        cfg = dataclasses.replace(cfg, family_options=merged)
    validate_count(cfg.n_train, "n_train")
    validate_count(cfg.n_test, "n_test")
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
    """Options a family's constructor accepts, with valid values (ValueError otherwise), before any work."""
    cls = DENOISERS.get(name)  # unknown names raise
    try:
        cls(radius=1 if cls.local_members else None, **options)
    except TypeError as err:
        raise ValueError(f"family {name!r} does not take the options {sorted(options)}: {err}") from None


def resolve_families(task, requested: Optional[Sequence[str]], division: str) -> List[str]:
    model = task.model()
    if requested:
        names = list(requested)
        for name in names:
            DENOISERS.get(name)  # unknown names raise
    else:
        names = [n for n in task.config(division).families if n in DENOISERS]
    return [n for n in names if DENOISERS.get(n).supports(model)]


def publish_files(stage: Path, out: Path) -> None:
    """Copy every file under ``stage`` to the same place under ``out``, each atomically."""
    for src in sorted(p for p in stage.rglob("*") if p.is_file()):
        with atomic_path(out / src.relative_to(stage), suffix=src.suffix) as tmp:
            shutil.copyfile(src, tmp)


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

    bar = tqdm(total=sum(len(f) for _, f in plan), desc="phasebench", unit="family", file=sys.stderr,
               disable=None if progress else True, leave=False)
    results: Dict[str, Any] = {
        "format": RESULTS_FORMAT,
        "provenance": {
            "package_version": package_version(), "git_commit": git_commit(), "hardware": hardware(),
            "started": started, "division": division, "argv": sys.argv,
            "fit_workers": n_workers(), "torch_threads_env": os.environ.get("PHASEBENCH_TORCH_THREADS"),
        },
        "tasks": {},
    }
    # plots wait in a staging folder until every task is done: an interrupted or failed run writes nothing
    stage = Path(tempfile.mkdtemp(prefix="phasebench-run-"))
    try:
        for task, fams in plan:
            cfg = configs[task.name]
            stages: Dict[str, float] = {}  # seconds per stage, e.g. "toric-bitflip:exact:L16"
            clock = {"name": None, "t": time.perf_counter()}

            def tick(msg: str) -> None:
                now = time.perf_counter()
                if clock["name"] is not None:
                    stages[clock["name"]] = stages.get(clock["name"], 0.0) + now - clock["t"]
                clock["name"], clock["t"] = msg, now
                bar.set_postfix_str(msg)

            t_task = time.perf_counter()
            grids = task.evaluate_all(fams, cfg, tick)
            tick("scoring")
            bar.update(len(fams))
            summary = task.summarize(grids)
            plots = task.plots(grids, summary, stage / "plots") if grids else []
            tick("done")
            results["tasks"][task.name] = {
                "description": task.description, "scored": task.scored, "model": task.model_name,
                "model_params": task.model_params, "channel": task.channel().to_dict(),
                "config": {k: v for k, v in vars(cfg).items()}, "families": fams,
                "summary": summary, "cells": task.cells(grids),
                "plots": [str(Path(p).relative_to(stage)) for p in plots],
                "wall_seconds": time.perf_counter() - t_task, "stage_seconds": stages,
            }
        results["provenance"]["wall_seconds"] = time.perf_counter() - t0
        publish_files(stage, out)
        write_json_atomic(out / "results.json", results)
        write_text_atomic(out / "leaderboard.md", render_results(results))
    finally:
        bar.close()
        shutil.rmtree(stage, ignore_errors=True)
    return results
