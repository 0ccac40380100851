"""A cache of fitted members, so that members fitted on one machine (a GPU, say) are scored on another.

Off unless ``PHASEBENCH_FIT_CACHE`` names a directory.  A trainable member's fit is a function of its
:class:`phasebench.suites.parallel_fit.MemberSpec`: the family and its options, the radius, the training set (by
content hash), the channel, the levels, the conditions, the seed and the budget.  The key is the hash of
all of these and of the package version; a hit returns the stored member, whose ``info`` says where it
came from (``fit_cache``) and keeps the original fit's record (device, steps, seconds).

The directory also keeps the exact family's window marginals (:func:`load_values`, :func:`store_values`, under
``exact-windows/``): the r-local oracle at large radii is hours of CPU in the full division, and a run stopped
part-way resumes from the (radius, level) pairs it finished.  They are plain ``.npz`` arrays, loaded without pickle.

The key does not see the code: after changing a family's code, clear the directory (or set a new one).
Entries are pickles written atomically; a file that does not unpickle is refused with its path, never
silently refitted over.  Load only directories you wrote: unpickling runs code.

It also keeps, under ``records/``, each family's evaluation records of each study of a cell
(:mod:`phasebench.suites.evaluators.resume`), so that a cell stopped part-way resumes from the studies it
finished.  Their key does see the code (the code version, commit and uncommitted changes).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any, Optional, Tuple

import numpy as np

from phasebench.lattice_models.provenance import atomic_path, json_default, package_version, sha256_array

FORMAT = "phasebench-fitted-member-1"


def cache_directory() -> Optional[Path]:
    value = os.environ.get("PHASEBENCH_FIT_CACHE")
    return Path(value) if value else None


def member_key(spec) -> dict:
    """What a member's fit depends on (:class:`phasebench.suites.parallel_fit.MemberSpec`), as plain data."""
    channel = spec.channel
    model = spec.model
    return {
        "format": FORMAT,
        "family": spec.family,
        "radius": spec.radius,
        "options": dict(sorted((spec.options or {}).items())),
        "train": sha256_array(np.asarray(spec.train)),
        "channel": {"class": type(channel).__name__, **{k: v for k, v in sorted(vars(channel).items())}},
        "levels": [float(v) for v in spec.levels],
        "conditions": None if spec.conditions is None else sha256_array(np.asarray(spec.conditions)),
        "seed": int(spec.seed),
        "budget": None if spec.budget is None else float(spec.budget),
        "model": None if model is None else {"name": model.name, "params": dict(model.values)},
        "version": package_version(),
    }


def _canonical_key(spec) -> str:
    return json.dumps(member_key(spec), sort_keys=True, default=json_default)


def member_path(spec, directory: Path, key: Optional[str] = None) -> Path:
    """The entry's file: family, radius and seed for the reader, and the hash of the canonical key."""
    digest = hashlib.sha256((key or _canonical_key(spec)).encode()).hexdigest()
    radius = "global" if spec.radius is None else f"r{spec.radius}"
    return directory / f"{spec.family}-{radius}-s{spec.seed}-{digest[:24]}.pkl"


def load(spec, directory: Optional[Path]) -> Optional[Tuple[Any, dict]]:
    """The stored ``(family, info)`` of this spec, or None (no cache, or no entry)."""
    if directory is None:
        return None
    key = _canonical_key(spec)
    path = member_path(spec, directory, key)
    entry = _load_entry(path, FORMAT, key, "fitted-member")
    if entry is None:
        return None
    info = dict(entry["info"])
    info["fit_cache"] = str(path)
    return entry["family"], info


def store(spec, family, info: dict, directory: Optional[Path]) -> None:
    if directory is None:
        return
    key = _canonical_key(spec)
    _store_entry(member_path(spec, directory, key), {"format": FORMAT, "key": key, "family": family, "info": info})


def _load_entry(path: Path, fmt: str, key: str, what: str) -> Optional[dict]:
    """The pickled entry at ``path`` (None where there is none); refused with its path where it does not unpickle
    or is not ``key``'s."""
    if not path.exists():
        return None
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh)
        if entry.get("format") != fmt or entry.get("key") != key:
            raise ValueError(f"not an entry for this {what}")
    except Exception as err:
        raise ValueError(f"{path}: unreadable {what} cache entry ({err}); remove it or unset PHASEBENCH_FIT_CACHE") from None
    return entry


def _store_entry(path: Path, entry: dict) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            pickle.dump(entry, fh)


RECORDS_FORMAT = "phasebench-evaluation-records-1"


def records_path(key: str, directory: Path) -> Path:
    return directory / "records" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.pkl"


def load_records(key: str, directory: Optional[Path]) -> Optional[list]:
    """The stored evaluation records of ``key`` (:mod:`phasebench.suites.evaluators.resume`), or None."""
    if directory is None:
        return None
    entry = _load_entry(records_path(key, directory), RECORDS_FORMAT, key, "evaluation-records")
    return None if entry is None else entry["records"]


def store_records(key: str, records: list, directory: Optional[Path]) -> None:
    if directory is not None:
        _store_entry(records_path(key, directory), {"format": RECORDS_FORMAT, "key": key, "records": records})


VALUES_FORMAT = "phasebench-exact-values-1"


def values_path(key: str, directory: Path) -> Path:
    return directory / "exact-windows" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npz"


def load_values(key: str, directory: Optional[Path]) -> Optional[np.ndarray]:
    """The stored array of ``key`` (a canonical string naming the computation), or None."""
    if directory is None:
        return None
    path = values_path(key, directory)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as entry:
            if str(entry["format"]) != VALUES_FORMAT or str(entry["key"]) != key:
                raise ValueError("not an entry for this computation")
            return entry["values"]
    except Exception as err:
        raise ValueError(f"{path}: unreadable exact-values cache entry ({err}); remove it or unset PHASEBENCH_FIT_CACHE") from None


def store_values(key: str, values: np.ndarray, directory: Optional[Path]) -> None:
    if directory is None:
        return
    with atomic_path(values_path(key, directory), suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, format=np.array(VALUES_FORMAT), key=np.array(key), values=np.asarray(values))
