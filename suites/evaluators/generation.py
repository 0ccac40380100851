"""The ``generation`` evaluation: sample with the reverse process of each schedule, score against the reference.

One study per (family, L): its members (settings ``schedules`` name them) are fitted on the levels of the
reverse process's path (:func:`phasebench.suites.generation.schedule.denoiser_levels`), the study reads no
noisy test sets, and its test split is the *reference ensemble* (the model's validated sampler).  Each
schedule (a radius-r member alone, a global member alone, or a radius-r member with a global member inside a
window of the level axis) generates ``n`` samples from one seed shared by every schedule of the task (common
random numbers: schedules differ by their denoisers only), and its samples are compared with the reference
(:func:`phasebench.suites.generation.observables.compare`: every observable with its CI, W1 of the model's
distribution observable, the energy distance).  Schedules are independent items on the run's executor.
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from ..evaluation import speciation_level
from ..generation.observables import compare, observable_spec
from ..generation.reverse import generate_samples
from ..generation.schedule import Schedule, level_path
from .resume import family_records

#: generated and reference configurations kept per schedule for the plots
N_EXAMPLES = 4


def signal_units(channel, x: np.ndarray, variable_type: str) -> np.ndarray:
    """The clean values in the units of the channel's signal: the channel's input under the Gaussian channel, spins
    ``1 - 2x`` for bits under bit flips (whose Nishimori coupling J = atanh(1 - 2p) acts on spins; J^2 plays lambda)."""
    if variable_type == "binary" and not channel.additive_gaussian:
        return 1.0 - 2.0 * np.asarray(x, dtype=np.float64)
    return channel.channel_input(x, variable_type)


def generate_and_compare(item) -> Dict[str, Any]:
    """One schedule (module doc): its samples' comparison with the reference and what the plots need."""
    model, channel, path, schedule, n, L, seed, reference = item
    samples, record = generate_samples(schedule, path, channel, model.variable_type, n, model.channels, L, seed)
    samples = samples.astype(model.storage_dtype(), copy=False)
    spec = observable_spec(model)
    return {"comparison": compare(model, samples, reference, seed), "schedule": record["schedule"],
            "denoiser_calls": record["denoiser_calls"], "wall_seconds": record["wall_seconds"],
            "distribution": spec.per_config(model, samples)[spec.distribution], "examples": samples[:N_EXAMPLES]}


def evaluate_generation(task, study, data, fitted, cfg, tick) -> List[Dict[str, Any]]:
    return family_records(study.settings["family"], lambda: _generation_records(task, study, data, fitted, tick))


def _generation_records(task, study, data, fitted, tick) -> List[Dict[str, Any]]:
    from .. import executors

    split = study.splits[0]
    model, channel, L = task.model(**dict(split.params)), task.channel(), split.L
    settings = study.settings
    _, test, _ = data[0]
    path = level_path(channel, settings["steps"], model.channels * L * L, model.variable_type)
    items = []
    for sched in settings["schedules"]:
        local = fitted[sched["local"]][0]
        glob = None if sched["global"] is None else fitted[sched["global"]][0]
        window = None if sched["window"] is None else tuple(sched["window"])
        items.append((model, channel, path, Schedule(local, glob, window), settings["n"], L, settings["seed"],
                      test.samples))
    tick(f"{task.name}:{study.label}:generate")
    results: List[Any] = [None] * len(items)
    for i, out in executors.current().map_unordered(generate_and_compare, items):
        results[i] = out
    spec = observable_spec(model)
    return [{
        "family": settings["family"], "label": study.label, "L": L, "params": dict(split.params), "steps": path.steps, "process": path.kind, "n": settings["n"],
        "seed": settings["seed"], "n_reference": len(test.samples), "reference_sha256": test.sha256,
        "level_name": channel.level_name, "level_range": list(path.level_range()),
        "speciation_lambda": speciation_level(signal_units(channel, test.samples, model.variable_type)),
        "distribution_name": spec.distribution,
        "reference_distribution": spec.per_config(model, test.samples)[spec.distribution],
        "reference_examples": test.samples[:N_EXAMPLES],
        "members": {str(k): info for k, (_, info) in fitted.items()},
        "schedules": [{**sched, **out} for sched, out in zip(settings["schedules"], results)],
    }]
