"""The ``grid`` evaluation: every radius of a family on one (L, model parameters), paired with a reference.

Per-configuration test MSE of each r-member at every level, the reference's on the *same*
configurations and noise draws (the model's exact global posterior where it has one, settings
``exact_reference``; else the family's own global member, member key ``"global"``), the exact theory
where the model has it, the locality audit of every finite-radius member, and where the study asks for it
(settings ``paired_oracle``) the exact r-local oracle's errors on the same configurations: a
:class:`phasebench.suites.evaluation.Grid`.
"""

from __future__ import annotations

import time

import numpy as np

from phasebench.denoisers.locality import audit_locality

from ..estimators import derive_seed
from ..evaluation import Grid, member_statistics
from .references import exact_posterior_mean as reference_exact_posterior_mean
from .resume import family_records


def evaluate_grid(task, study, data, fitted, cfg, tick):
    return family_records(study.settings["family"], lambda: _grid_records(task, study, data, fitted, cfg))


def _grid_records(task, study, data, fitted, cfg):
    t_start = time.perf_counter()
    split = study.splits[0]
    L, levels = split.L, study.levels
    model, channel = task.model(**dict(split.params)), task.channel()
    train, test, noisy = data[0]
    x_test = test.samples
    radii = [k for k in study.members if k != "global"]
    if study.settings["exact_reference"]:
        ref_kind = "exact-global"
        ref_fn = lambda y, lv: reference_exact_posterior_mean(model, y, channel, lv, None)  # noqa: E731
    else:
        ref_kind = "family-global"
        ref_fn = fitted["global"][0].denoise
    grid = Grid(
        task=task.name, family=study.settings["family"], L=L, model_params=dict(model.values), levels=levels,
        radii=radii, errors=np.empty((len(radii), len(levels), len(x_test))),
        ref_errors=member_statistics(ref_fn, noisy, levels, x_test)["mse"], ref_kind=ref_kind,
        datasets={"train": train.sha256, "test": test.sha256},
    )
    if ref_kind == "family-global":
        grid.members["global"] = fitted["global"][1]
    mid = len(levels) // 2
    for i, r in enumerate(radii):
        fam, info = fitted[r]
        grid.members[str(r)] = info
        grid.errors[i] = member_statistics(fam.denoise, noisy, levels, x_test)["mse"]
        grid.locality[r] = audit_locality(fam, noisy[mid][:1], levels[mid], seed=derive_seed(cfg.seed, r)).to_dict()
    if study.settings.get("paired_oracle"):
        if study.settings["family"] == "exact":  # the family is the oracle: the same outputs
            grid.oracle_errors = grid.errors
        else:
            grid.oracle_errors = np.stack([
                member_statistics(lambda y, lv, r=r: reference_exact_posterior_mean(model, y, channel, lv, r), noisy, levels,
                                  x_test)["mse"] for r in radii])

    mmse = [model.exact_mmse(channel, lv, L) for lv in levels]
    if all(v is not None for v in mmse):
        grid.theory_mmse = np.array(mmse, dtype=np.float64)
        local = [[model.exact_local_mse(channel, lv, L, r) for lv in levels] for r in radii]
        if all(v is not None for row in local for v in row):
            grid.theory_excess = np.array(local, dtype=np.float64) - grid.theory_mmse[None]
    xi = [model.markov_length(channel, lv) for lv in levels]
    if all(v is not None for v in xi):
        grid.markov_length = np.array(xi, dtype=np.float64)
    # the fits ran in the runner's pass over all studies: their seconds count here, with the evaluation's
    grid.seconds = time.perf_counter() - t_start + sum(info.get("fit_seconds", 0.0) for _, info in fitted.values())
    return [grid]
