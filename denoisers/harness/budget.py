"""Training budgets in *reference seconds*: a budget is a fixed amount of work, not wall-clock time.

A wall-clock budget made the number of Adam steps, and with it every trained family's score,
depend on the machine's speed and load.  Instead, a budget of B seconds buys the work that takes B seconds on the reference machine,
computed from the shape of the problem by the cost models below.  The step count and the
number of refit configurations are then functions of (budget, network, data shape) alone, so
a fit is bitwise reproducible on CPU (one torch thread, :func:`phasebench.denoisers.harness.noisy_batches.set_torch_threads`),
and a faster machine or a GPU simply finishes sooner.

Reference machine: the project's 2-core Intel Xeon (AVX-512) CI machine, torch 2.13.0+cpu, one
torch thread.  The coefficients are a non-negative least-squares fit (relative errors) to
per-step and per-configuration times measured there on every configuration the suite's tasks
train (the fit and its accuracy: docs/decisions/reference-seconds-budgets.md).
"""

from __future__ import annotations

#: seconds per Adam step: per forward/backward call, per group drawn, per multiply-add per site, per site
STEP_COST = {"call": 3.9e-3, "group": 1.5e-4, "site_madd": 1.80e-10, "site": 1.75e-7}
#: seconds per refit configuration: per (group, round) drawn, per group, per multiply-add per site of the
#: trunk, per Gram entry per site, per site; and the normal-matrix assembly, per (channel, group, unknown^2)
REFIT_COST = {"round": 7.2e-4, "group": 6.9e-5, "site_madd": 5.9e-11, "site_gram": 6.4e-11, "site": 1.6e-7,
              "assembly": 8.1e-9}


def step_seconds(calls: int, groups: int, sites: int, madds_per_site: float) -> float:
    """Reference seconds of one Adam step: ``calls`` forward/backward passes over ``sites`` sites in all."""
    c = STEP_COST
    return c["call"] * calls + c["group"] * groups + sites * (c["site_madd"] * madds_per_site + c["site"])


def adam_steps(budget: float, seconds_per_step: float) -> int:
    """Adam steps that a budget of ``budget`` reference seconds buys at :func:`step_seconds` each (at least 1)."""
    return max(1, int(budget / seconds_per_step))


def refit_seconds(configs: int, groups: int, chunk: int, sites: int, madds_per_site: float, n_z: int,
                  n_unknowns: int, channels: int) -> float:
    """Reference seconds of a readout refit drawing ``configs`` configurations of ``sites`` sites per group,
    ``chunk`` per round, with ``n_z`` regressors per site and ``n_unknowns`` unknowns per channel."""
    c = REFIT_COST
    per_site = c["site_madd"] * madds_per_site + c["site_gram"] * n_z * n_z + c["site"]
    per_config = groups * (c["round"] / chunk + c["group"] + sites * per_site)
    return configs * per_config + c["assembly"] * channels * groups * n_unknowns**2


def refit_configs(budget: float, groups: int, chunk: int, sites: int, madds_per_site: float, n_z: int,
                  n_unknowns: int, channels: int) -> int:
    """Configurations per group that a refit budget buys: whole rounds of ``chunk``, at least one round."""
    fixed = refit_seconds(0, groups, chunk, sites, madds_per_site, n_z, n_unknowns, channels)
    per = refit_seconds(1, groups, chunk, sites, madds_per_site, n_z, n_unknowns, channels) - fixed
    return chunk * max(1, int((budget - fixed) / per) // chunk)
