"""The ``aligned-magnetisation`` evaluation: per-configuration aligned magnetisation and MSE of every member.

One study per L (one split): the exact global posterior mean (the transfer-matrix oracle, a reference
computation) and each member ``(family, r)`` (settings ``families``, ``radii``) give, per level and test
configuration, ``mhat(y) sign m(x)`` (mhat: the lattice mean of the estimate) and the MSE
(:data:`phasebench.suites.evaluation.STATISTICS`); the record keeps the clean ``|m|`` of the test
configurations and the training set with its magnetisations (for the covariance spectrum).
"""

from __future__ import annotations

import numpy as np

from ..evaluation import config_magnetisation, member_statistics
from .references import exact_posterior_mean as reference_exact_posterior_mean
from .resume import family_records

STATS = ("aligned_m", "mse")


def evaluate_aligned_magnetisation(task, study, data, fitted, cfg, tick):
    # one record holds every family: resumed as a whole
    return family_records("+".join(study.settings["families"]),
                          lambda: _aligned_records(task, study, data, fitted, cfg, tick))


def _aligned_records(task, study, data, fitted, cfg, tick):
    model, channel, levels, L = task.model(), task.channel(), study.levels, study.splits[0].L
    train, test, noisy = data[0]
    x = test.samples
    tick(f"{task.name}:exact-oracle:L{L}")
    glob = member_statistics(lambda y, lv: reference_exact_posterior_mean(model, y, channel, lv, None), noisy, levels, x,
                             stats=STATS)
    rec = {"L": L, "levels": levels, "abs_m": np.abs(config_magnetisation(x)), "global": glob,
           "train_m": config_magnetisation(train.samples), "train": train.samples, "families": {},
           "datasets": {"train": train.sha256, "test": test.sha256}}
    for fam_name in study.settings["families"]:
        tick(f"{task.name}:{fam_name}:L{L}")
        rec["families"][fam_name] = {}
        for r in study.settings["radii"]:
            fam, info = fitted[fam_name, r]
            rec["families"][fam_name][r] = {**member_statistics(fam.denoise, noisy, levels, x, stats=STATS), "info": info}
    return [rec]
