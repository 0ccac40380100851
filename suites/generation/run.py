"""One generation run: validate everything, fit the schedule's members, run the reverse process, score it.

Used by ``phasebench generate`` (:mod:`phasebench.suites.cli`) and the measurement scripts of
docs/decisions/generation.md.  All input is validated before any fitting or sampling, so bad input costs
nothing and writes nothing.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional, Tuple

import numpy as np

from phasebench.lattice_models import datasets
from phasebench.lattice_models.base import validate_count, validate_int
from phasebench.lattice_models.provenance import sha256_array

from .members import DEFAULT_N_TRAIN, check_member, fit_member
from .observables import compare, observable_spec
from .reverse import generate_samples
from .schedule import Schedule, denoiser_levels, level_path, process_kind, validate_window

#: default reverse steps per process: the self-checks pass at these (docs/decisions/generation.md)
DEFAULT_STEPS = {"localisation": 400, "flip-reversal": 200}
SAMPLER_NAME = "reverse-diffusion"
#: seed offsets: the reference samples and the training data must not share the generation's seed
REFERENCE_SEED_OFFSET = 7919
TRAIN_SEED_OFFSET = 104729


def default_channel_name(model) -> str:
    """Bit flip for binary data, Gaussian otherwise."""
    return "bitflip" if model.variable_type == "binary" else "gaussian"


def default_steps(channel) -> int:
    """The default step count of the reverse process under ``channel`` (:data:`DEFAULT_STEPS`)."""
    return DEFAULT_STEPS[process_kind(channel)]


def prepare(model, channel, L: int, n: int, family: str, radius: Optional[int], global_family: Optional[str],
            window: Optional[Tuple[float, float]], steps: Optional[int]):
    """Validate the run (ValueError naming the bad input); returns (L, n, path)."""
    L = model.validate_L(L)
    n = validate_count(n, "n")
    channel.check_variable_type(model.variable_type)
    observable_spec(model)
    steps = default_steps(channel) if steps is None else validate_int(steps, "steps", 1)
    path = level_path(channel, steps, model.channels * L * L, model.variable_type)
    check_member(family, radius, model, channel, L)
    if (global_family is None) != (window is None):
        raise ValueError("--global and --window go together: give both or neither")
    if global_family is not None:
        check_member(global_family, None, model, channel, L)
        validate_window(window, path, channel.level_name)
    return L, n, path


def run_generation(model, channel, L: int, n: int, family: str, radius: Optional[int], *,
                   global_family: Optional[str] = None, window: Optional[Tuple[float, float]] = None,
                   steps: Optional[int] = None, seed: int = 0, n_reference: Optional[int] = None,
                   budget: Optional[float] = None, n_train: int = DEFAULT_N_TRAIN,
                   family_options: Optional[Dict[str, Dict[str, Any]]] = None,
                   batch: Optional[int] = None) -> datasets.Dataset:
    """Samples of the schedule's reverse process as a :class:`Dataset` whose metadata is that of a sampled
    dataset plus ``generation`` (path, schedule, fit provenance, observables against references)."""
    L, n, path = prepare(model, channel, L, n, family, radius, global_family, window, steps)
    options = family_options or {}
    t0 = time.perf_counter()
    levels = denoiser_levels(path)
    local, local_record = fit_member(family, radius, model, channel, L, levels, seed + TRAIN_SEED_OFFSET, budget,
                                     n_train, options.get(family))
    fits = {"local": local_record}
    global_member = None
    if global_family is not None:
        global_member, fits["global"] = fit_member(global_family, None, model, channel, L, levels,
                                                   seed + TRAIN_SEED_OFFSET, budget, n_train, options.get(global_family))
    schedule = Schedule(local, global_member, None if window is None else tuple(float(v) for v in window))
    samples, record = generate_samples(schedule, path, channel, model.variable_type, n, model.channels, L, seed, batch)
    samples = np.ascontiguousarray(samples.astype(model.storage_dtype(), copy=False))
    n_reference = n if n_reference is None else validate_count(n_reference, "n_reference")
    reference = datasets.load_or_generate(model, n_reference, L, seed + REFERENCE_SEED_OFFSET)
    record.update(channel=channel.to_dict(), fits=fits, reference={"n": n_reference, "seed": seed + REFERENCE_SEED_OFFSET,
                                                                   "sha256": reference.sha256, "sampler": model.sampler_name},
                  comparison=compare(model, samples, reference.samples, seed))
    meta = datasets.dataset_key(model, n, L, seed)
    meta.update(format=datasets.FORMAT, variable_type=model.variable_type, channels=model.channels,
                boundary=model.boundary, sampler=f"{SAMPLER_NAME}/{path.kind}", diagnostics={"generation": record},
                dtype=samples.dtype.str, shape=list(samples.shape), sha256=sha256_array(samples),
                wall_seconds=time.perf_counter() - t0)
    return datasets.Dataset(samples, meta)
