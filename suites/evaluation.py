"""Shared pieces of the runner's evaluations (:mod:`phasebench.suites.evaluators`).

The datasets of a study and their seeded noisy test sets (:func:`task_split`), per-configuration
statistics of a member's outputs (:func:`member_statistics`), and the :class:`Grid` record of the
``grid`` evaluation: per-configuration test errors for every (radius, level) of one (task, family,
L, model parameters), the reference errors on the *same* configurations and noise draws, the exact
theory where the model has it, and the locality audit of every finite-radius member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

import numpy as np

from phasebench.denoisers.harness.fit_record import COLLAPSE_FRACTION, fit_collapsed  # noqa: F401  (COLLAPSE_FRACTION: re-exported for the tasks)
from phasebench.lattice_models.datasets import load_or_generate

from .estimators import derive_seed, mean_with_ci, per_config_mse

if TYPE_CHECKING:  # tasks depend on this module, not the other way round
    from .estimators import BootstrapConfig
    from .objectives.base import TaskConfig


@dataclass
class Grid:
    task: str
    family: str
    L: int
    model_params: Dict[str, float]
    levels: List[float]
    radii: List[int]
    errors: np.ndarray  # (n_radii, n_levels, n_test) per-configuration MSE
    ref_errors: np.ndarray  # (n_levels, n_test)
    ref_kind: str  # "exact-global" or "family-global"
    theory_mmse: Optional[np.ndarray] = None  # (n_levels,)
    theory_excess: Optional[np.ndarray] = None  # (n_radii, n_levels)
    markov_length: Optional[np.ndarray] = None  # (n_levels,)
    # the exact r-local oracle's per-configuration MSE on the same configurations and noise draws,
    # (n_radii, n_levels, n_test), where the objective pairs the family with it (the decay-length calibration)
    oracle_errors: Optional[np.ndarray] = None
    locality: Dict[int, dict] = field(default_factory=dict)
    members: Dict[str, dict] = field(default_factory=dict)
    datasets: Dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return any(not rep["passed"] for rep in self.locality.values())

    @property
    def excess(self) -> np.ndarray:
        """Paired per-configuration excess over the reference, (n_radii, n_levels, n_test)."""
        return self.errors - self.ref_errors[None]

    @property
    def oracle_excess(self) -> Optional[np.ndarray]:
        """The exact r-local oracle's paired excess over the same reference, (n_radii, n_levels, n_test), or None."""
        return None if self.oracle_errors is None else self.oracle_errors - self.ref_errors[None]


def collapsed_members(members: Dict[str, Any]) -> List[str]:
    """Keys of the fitted ``members`` (records with a ``fit`` entry) whose fit collapsed: final training loss at
    least :data:`COLLAPSE_FRACTION` of the initial loss (:func:`phasebench.denoisers.harness.fit_record.fit_collapsed`);
    members without both losses (exact oracles, older results files) are never listed."""
    return [key for key, info in members.items() if fit_collapsed(info.get("fit") or {})]


def batched(fn: Callable[[np.ndarray], np.ndarray], y: np.ndarray, batch: int = 256) -> np.ndarray:
    return np.concatenate([fn(y[i : i + batch]) for i in range(0, len(y), batch)])


def task_split(model, channel, cfg: "TaskConfig", L: int, levels: List[float], key: tuple = (),
               common_noise: bool = False, n_test: Optional[int] = None):
    """Train and test datasets (cached) and the seeded noisy test sets, one per level.

    The same (seed, L, key) gives the same data for every family, so errors are paired.
    ``common_noise``: every level corrupts with the same random draws (common random numbers:
    one ``z`` for all lambda, ``y = a(lambda) x + s(lambda) z``; for bit flips, one uniform per
    variable, flipped where it is below p), so each test configuration follows one noising
    path and its errors are smooth functions of the level; a statistic taken over levels (a
    maximum, a crossing) then does not pick up the independent noise of every level.
    """
    train, test = split_datasets(model, cfg, L, key, n_test)
    noisy = [channel.corrupt(test.samples, lv, derive_seed(cfg.seed, L, *key, 2, *(() if common_noise else (j,))),
                             model.variable_type)
             for j, lv in enumerate(levels)]
    return train, test, noisy


def split_datasets(model, cfg: "TaskConfig", L: int, key: tuple = (), n_test: Optional[int] = None,
                   load=load_or_generate):
    """The train and test datasets of a split (:func:`task_split`); ``load``: how to get each (e.g.
    :func:`phasebench.lattice_models.datasets.load_cached`, None where it is not cached)."""
    return (load(model, cfg.n_train, L, derive_seed(cfg.seed, L, *key, 0)),
            load(model, cfg.n_test if n_test is None else n_test, L, derive_seed(cfg.seed, L, *key, 1)))


def covariance_top_eigenvalue(x: np.ndarray) -> float:
    """Largest eigenvalue of the empirical covariance of the flattened configurations."""
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    flat = flat - flat.mean(axis=0)
    return float(np.linalg.eigvalsh(flat.T @ flat / len(flat))[-1])


def speciation_level(reference: np.ndarray) -> float:
    """``lambda_S = 1 / Lambda_max``, Lambda_max the largest eigenvalue of the covariance of the reference data (in the
    units the channel acts on): where the Gaussian channel's whole-system signal decides the data's largest mode
    (docs/physics.md, section 2; for Ising below T_c, the sign of m)."""
    return 1.0 / covariance_top_eigenvalue(reference)


def config_magnetisation(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1).mean(axis=1)


STATISTICS: Dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "mse": per_config_mse,
    # posterior-mean magnetisation aligned with the sign of the clean configuration's
    "aligned_m": lambda est, x: config_magnetisation(est) * np.sign(config_magnetisation(x) + 1e-300),
}


def member_statistics(denoise: Callable, noisy: List[np.ndarray], levels: List[float], x_test: np.ndarray,
                      stats=("mse",), condition: Optional[float] = None) -> Dict[str, np.ndarray]:
    """Per-configuration statistics of a member's outputs: name -> (n_levels, n_test)."""
    out = {k: np.empty((len(levels), len(x_test))) for k in stats}
    for j, (lv, y) in enumerate(zip(levels, noisy)):
        kw = {} if condition is None else {"condition": condition}
        est = batched(lambda b: denoise(b, lv, **kw), y)
        for k in stats:
            out[k][j] = STATISTICS[k](est, x_test)
    return out


def grid_cells(grid: "Grid", bootstrap: "BootstrapConfig") -> List[Dict[str, Any]]:
    boot = bootstrap.indices(grid.errors.shape[-1], "cells", grid.L)
    cells = []
    excess = grid.excess
    for i, r in enumerate(grid.radii):
        for j, lv in enumerate(grid.levels):
            cell = {
                "family": grid.family, "L": grid.L, "level": lv, "radius": r, "params": grid.model_params,
                "mse": mean_with_ci(grid.errors[i, j], boot).to_dict(),
                "excess": mean_with_ci(excess[i, j], boot).to_dict(),
                "reference": grid.ref_kind, "n_test": int(grid.errors.shape[-1]),
                "n_params": grid.members.get(str(r), {}).get("n_params"),
            }
            if grid.theory_excess is not None:
                cell["excess_theory"] = float(grid.theory_excess[i, j])
            cells.append(cell)
    return cells
