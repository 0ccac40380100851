"""Datasets: a pure function of (model, parameters, L, n, seed, sampler settings, package and sampler versions).

Datasets are regenerated, not shipped.  ``load_or_generate`` keeps a disk cache
keyed by that tuple under the user cache directory (``PHASEBENCH_CACHE``
overrides it); an entry whose content hash does not match is regenerated.
Files are ``.npz`` archives holding ``samples`` (smallest dtype that fits) and
``metadata`` (a JSON record with the sha256 of the samples).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

from .base import LatticeModel, make_model
from .provenance import atomic_path, json_default, package_version, sha256_array

FORMAT = "phasebench-dataset/1"


@dataclass
class Dataset:
    samples: np.ndarray
    metadata: Dict[str, Any]

    @property
    def sha256(self) -> str:
        return self.metadata["sha256"]


def dataset_key(model: LatticeModel, n: int, L: int, seed: int, sampler_options: Optional[dict] = None) -> dict:
    key = {
        "model": model.name,
        "params": dict(model.values),
        "L": int(L),
        "n": int(n),
        "seed": int(seed),
        "sampler_options": {k: v for k, v in (sampler_options or {}).items() if k not in model.execution_options},
        "version": package_version(),
    }
    if model.sampler_version != 1:  # a changed sampler: its datasets get new keys (LatticeModel.sampler_version)
        key["sampler_version"] = int(model.sampler_version)
    return key


def generate(model: LatticeModel, n: int, L: int, seed: int, **sampler_options: Any) -> Dataset:
    t0 = time.perf_counter()
    samples, diagnostics = model.sample_with_diagnostics(n, L, seed, **sampler_options)
    samples = np.ascontiguousarray(samples.astype(model.storage_dtype(), copy=False))
    meta = dataset_key(model, n, L, seed, sampler_options)
    meta.update(
        format=FORMAT,
        variable_type=model.variable_type,
        channels=model.channels,
        boundary=model.boundary,
        sampler=model.sampler_name,
        diagnostics=diagnostics,
        dtype=samples.dtype.str,
        shape=list(samples.shape),
        sha256=sha256_array(samples),
        wall_seconds=time.perf_counter() - t0,
    )
    return Dataset(samples, meta)


def save(dataset: Dataset, path: str | os.PathLike) -> None:
    """Write atomically: a failed write leaves no partial file."""
    meta_json = json.dumps(dataset.metadata, default=json_default)
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, samples=dataset.samples, metadata=np.array(meta_json))


def load(path: str | os.PathLike, validate_model: bool = True) -> Dataset:
    """Read a dataset file; raise ValueError if it is malformed, corrupted or invalid."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            samples = f["samples"]
            meta = json.loads(str(f["metadata"]))
    except FileNotFoundError:
        raise ValueError(f"no such dataset file: {path}") from None
    except Exception as exc:  # zip, key or JSON errors: a malformed file
        raise ValueError(f"{path} is not a phasebench dataset ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a phasebench dataset (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if sha256_array(samples) != meta.get("sha256"):
        raise ValueError(f"{path}: content hash mismatch (corrupted dataset)")
    if validate_model:
        model = make_model(meta["model"], **meta["params"])
        model.validate_samples(samples)
    return Dataset(samples, meta)


def cache_dir() -> Path:
    env = os.environ.get("PHASEBENCH_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("phasebench"))


def cache_path(key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=json_default).encode()).hexdigest()[:24]
    return cache_dir() / f"{key['model']}-L{key['L']}-n{key['n']}-s{key['seed']}-{digest}.npz"


def load_cached(model: LatticeModel, n: int, L: int, seed: int, **sampler_options: Any) -> Optional[Dataset]:
    """The cached dataset of these arguments, or None (not cached, or a corrupted entry); generates nothing."""
    path = cache_path(dataset_key(model, n, L, seed, sampler_options))
    if path.exists():
        try:
            return load(path)
        except ValueError:
            pass
    return None


def load_or_generate(model: LatticeModel, n: int, L: int, seed: int, **sampler_options: Any) -> Dataset:
    ds = load_cached(model, n, L, seed, **sampler_options)
    if ds is not None:
        return ds
    path = cache_path(dataset_key(model, n, L, seed, sampler_options))
    ds = generate(model, n, L, seed, **sampler_options)
    save(ds, path)
    return ds

