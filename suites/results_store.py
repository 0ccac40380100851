"""The results store of an output directory: one JSON line per finished cell, so that a run resumes.

A *cell* is one task evaluated for the run's families on its grid: one record of
:func:`phasebench.suites.runner.task_record`, exactly as ``results.json`` holds it.  Everything a task
shares among its families and sizes is computed once inside its cell (datasets, the exact oracle and global
decoder, the transfer-matrix posterior), and all its member fits go to the executor in one batch; a
finer cell would repeat that shared work (docs/running.md, "Resuming a run").  Member fits inside a cell
resume through the fit cache (``PHASEBENCH_FIT_CACHE``), not through this store.

``OUT/cells.jsonl`` holds one line per finished cell: ``{"format", "key", "code_version", "spec",
"provenance", "record"}``.  ``key`` is the SHA-256 of the cell's spec: task (its description), families,
grid and options (``config``), division, the ``--model`` spec, the code version and the numerics (torch
device and threads).  Datasets are a pure function of the grid and the code version, so their hashes
(recorded in the record's summaries) need no place in the key.  A line is appended under an exclusive
``fcntl`` lock on ``cells.jsonl.lock`` by writing the whole new file beside the old one and renaming it
over it: a reader, or a run killed at any instant, sees the old file or the new one, never a partial line.

``code_version`` is the package version, the git commit and, for a tree with uncommitted changes, a
digest of them.  Lines of other versions stay in the file, unused: a run assembles ``results.json`` from
the lines of its own version only, and ``phasebench leaderboard`` refuses a store that mixes versions.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional

from phasebench.lattice_models.provenance import (atomic_path, git_commit, json_default, package_version,
                                                 strict_json)

CELL_FORMAT = "phasebench-cell/1"
#: the tracked paths whose uncommitted changes make a new code version (documentation does not)
CODE_PATHS = ("lattice_models", "denoisers", "suites", "pyproject.toml")
STORE_NAME = "cells.jsonl"


def code_version() -> str:
    """``PACKAGE+gCOMMIT`` (``.dirty.DIGEST`` for uncommitted changes to the tracked files of :data:`CODE_PATHS`;
    the package version alone outside a git checkout)."""
    version = package_version()
    commit = git_commit()
    if commit is None:
        return version
    version += f"+g{commit[:12]}"
    root = Path(__file__).resolve().parent.parent
    try:
        diff = subprocess.run(["git", "-C", str(root), "diff", "HEAD", "--no-ext-diff", "--binary", "--", *CODE_PATHS],
                              capture_output=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return version + ".dirty-unknown"
    return version + (f".dirty.{hashlib.sha256(diff).hexdigest()[:12]}" if diff else "")


def numerics() -> Dict[str, Any]:
    """What changes a fit's bits besides the code: the torch device and the torch thread count."""
    from phasebench.denoisers.base import torch_device

    return {"device": torch_device(), "torch_threads": os.environ.get("PHASEBENCH_TORCH_THREADS") or "1"}


def plain(obj: Any) -> Any:
    """``obj`` as strict JSON data (NaN as null, tuples as lists, numpy as Python), as results.json stores it."""
    return json.loads(json.dumps(strict_json(obj), default=json_default, allow_nan=False))


def cell_spec(task, families: List[str], cfg, division: str, model: Optional[dict], version: str) -> Dict[str, Any]:
    """What a cell's record depends on (module doc), as plain data."""
    return plain({"task": task.name, "objective": task.describe(), "families": list(families), "config": vars(cfg),
                  "division": division, "model": model, "code_version": version, "numerics": numerics()})


def cell_key(spec: Dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


class ResultsStore:
    """The JSON-lines store of finished cells in ``directory`` (module doc)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.path = self.directory / STORE_NAME
        self.lock_path = self.directory / (STORE_NAME + ".lock")

    def entries(self) -> List[Dict[str, Any]]:
        """Every line, in order; ValueError naming the file and line for one that is not a cell."""
        if not self.path.exists():
            return []
        out = []
        for n, line in enumerate(self.path.read_text().splitlines(), 1):
            try:
                entry = json.loads(line)
                if entry.get("format") != CELL_FORMAT or not {"key", "code_version", "record"} <= entry.keys():
                    raise ValueError
            except (ValueError, AttributeError):
                raise ValueError(f"{self.path}:{n}: not a phasebench cell line; move the file away to start afresh") from None
            out.append(entry)
        return out

    def versions(self) -> List[str]:
        """The code versions of the stored cells, in order of first appearance."""
        return list(dict.fromkeys(e["code_version"] for e in self.entries()))

    def finished(self, version: str) -> Dict[str, Dict[str, Any]]:
        """key -> entry of the cells of ``version`` (the last line of a key wins; lines of one key agree)."""
        return {e["key"]: e for e in self.entries() if e["code_version"] == version}

    def append(self, entry: Dict[str, Any]) -> None:
        """Add one cell line atomically (module doc)."""
        line = json.dumps(plain({"format": CELL_FORMAT, **entry}), allow_nan=False)
        assert "\n" not in line
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            old = self.path.read_bytes() if self.path.exists() else b""
            with atomic_path(self.path, suffix=".jsonl") as tmp:
                with open(tmp, "wb") as fh:
                    fh.write(old + line.encode() + b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())


def store_of(path: str | os.PathLike) -> Optional[ResultsStore]:
    """The store that ``path`` names (a ``cells.jsonl``, or a directory holding one), else None."""
    path = Path(path)
    if path.is_dir() and (path / STORE_NAME).exists():
        return ResultsStore(path)
    if path.name == STORE_NAME and path.exists():
        return ResultsStore(path.parent)
    return None


def results_from_store(store: ResultsStore) -> Dict[str, Any]:
    """The contents of a ``results.json`` from ``store``'s cells, the latest cell of each task; ValueError when
    they are of several code versions (never mixed into one leaderboard)."""
    from .results_format import RESULTS_FORMAT, missing_numbers_as_nan

    entries = store.entries()
    if not entries:
        raise ValueError(f"{store.path} holds no cells")
    versions = list(dict.fromkeys(e["code_version"] for e in entries))
    if len(versions) > 1:
        raise ValueError(f"{store.path} mixes code versions {', '.join(versions)}: results of different code are "
                         f"never shown on one leaderboard; move the cells of the others away")
    tasks = {e["spec"]["task"]: missing_numbers_as_nan(e["record"]) for e in entries}
    provenance = {**entries[-1]["provenance"], "code_version": versions[0], "cells": {"from_store": len(tasks)},
                  "wall_seconds": sum(e["provenance"].get("wall_seconds", 0.0) for e in entries)}
    return {"format": RESULTS_FORMAT, "provenance": provenance, "tasks": tasks}


def version_of(results: Dict[str, Any]) -> str:
    """The code version a results.json states, or for an older file its package version and commit."""
    prov = results.get("provenance", {})
    if prov.get("code_version"):
        return prov["code_version"]
    commit = prov.get("git_commit")
    return f"{prov.get('package_version')}" + (f"+g{commit[:12]}" if commit else "")
