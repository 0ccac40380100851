"""Resuming a cell part-way: each family's evaluation records of each study, kept in the fit cache directory.

A full-division cell runs for hours (docs/running.md); fits and the exact windows are already kept in
``PHASEBENCH_FIT_CACHE`` (:mod:`phasebench.suites.fit_cache`), so a stopped cell refits nothing, but its
evaluations were lost with it.  With the directory set, :func:`phasebench.suites.evaluators.evaluate_task` runs
each study's evaluation inside :func:`study_scope`, and an evaluation computes each family's records through
:func:`family_records`: where the directory has them for the same study they are read back, else computed and
stored as they finish.  A rerun of the same command resumes after the last family it finished.

The key is everything the records are a function of: the code version
(:func:`phasebench.suites.results_store.code_version`: package, commit and a digest of uncommitted changes) and
the source of any plugin family's class (:func:`plugin_code`),
the task, its grid (the task's configuration), the study (evaluation, label, levels, splits, members, settings:
so the other families of the study and their order too), the content hashes of the study's train and test
sets, the training seed and the family.  The members need not be keyed: with the code, the grid and the seed
fixed they are fixed.  Reused records keep their original fit information and are named in the scope's
``reused`` list; the runner records the list (``reused_evaluations``) and the cost model leaves such a cell out
of its rates, since its stage seconds are not its cost.

Exact references that several families of a study share (the transfer-matrix posterior of a member-pairs
study) are persisted alike with :func:`persisted_array`, so that a resumed study does not recompute them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np

from .. import fit_cache


@dataclasses.dataclass
class _Scope:
    key: str
    label: str
    directory: Path
    reused: List[str]


_scope: ContextVar[Optional[_Scope]] = ContextVar("phasebench_study_scope", default=None)


@lru_cache(maxsize=None)
def _version() -> str:
    from ..results_store import code_version

    return code_version()


def _plain(o: Any) -> Any:
    """``o`` as JSON-able data, in a canonical form (dict keys as strings, dataclasses as dicts)."""
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return {"__class__": type(o).__name__, **{f.name: _plain(getattr(o, f.name)) for f in dataclasses.fields(o)}}
    if isinstance(o, dict):
        return {repr(k) if not isinstance(k, str) else k: _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain(v) for v in o]
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return {"__array__": o.tolist()}
    if o is None or isinstance(o, (str, int, float, bool)):
        return o
    return repr(o)


def plugin_code(study) -> Dict[str, str]:
    """Per family of ``study`` defined outside phasebench (a plugin), the SHA-256 of the source file of its class,
    which the code version does not see (its other modules are not hashed: bump the plugin's version, which the
    fits' key does not see either, or clear the fit cache after changing them)."""
    from phasebench.denoisers import DENOISERS

    out = {}
    for name in sorted({request.family for request in study.members.values()}):
        cls = DENOISERS.get(name)
        if cls.__module__.split(".")[0] == "phasebench":
            continue
        path = inspect.getsourcefile(cls)
        out[name] = hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else f"{cls.__module__}.{cls.__qualname__}"
    return out


def study_key(task, study, cfg, data, seed_index: int) -> str:
    """The canonical key of ``study``'s records (module doc)."""
    hashes = [[train.sha256, test.sha256] for train, test, _ in data]
    return json.dumps(_plain({"version": _version(), "plugin_code": plugin_code(study), "task": task.name,
                              "config": vars(cfg), "study": study, "datasets": hashes, "train_seed": seed_index}),
                      sort_keys=True)


@contextmanager
def study_scope(task, study, cfg, data, seed_index: int, reused: List[str]) -> Iterator[None]:
    """Within it, :func:`family_records` reads and writes ``study``'s records (a no-op without the directory)."""
    directory = fit_cache.cache_directory()
    if directory is None:
        yield
        return
    label = f"{task.name}:{study.label}" + (f":seed{seed_index}" if seed_index else "")
    token = _scope.set(_Scope(study_key(task, study, cfg, data, seed_index), label, directory, reused))
    try:
        yield
    finally:
        _scope.reset(token)


def records_key(study_key_: str, family: str) -> str:
    """The key of ``family``'s records in the study of key ``study_key_`` (:func:`study_key`)."""
    return json.dumps([study_key_, family])


def family_records(family: str, compute: Callable[[], List[Any]]) -> List[Any]:
    """``compute()``: the records of ``family`` in the current study, read from the directory where it has them
    (the label named in the scope's ``reused``), else computed and stored."""
    scope = _scope.get()
    if scope is None:
        return compute()
    key = records_key(scope.key, family)
    records = fit_cache.load_records(key, scope.directory)
    if records is not None:
        scope.reused.append(f"{scope.label}:{family}")
        return records
    records = compute()
    fit_cache.store_records(key, records, scope.directory)
    return records


def persisted_array(name: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, an array that several families of the current study share, kept in the directory under the
    study's key and ``name`` (plain ``.npz``); computed without a scope."""
    scope = _scope.get()
    if scope is None:
        return compute()
    key = json.dumps([scope.key, "array", name])
    value = fit_cache.load_values(key, scope.directory)
    if value is None:
        value = np.asarray(compute())
        fit_cache.store_values(key, value, scope.directory)
    return value
