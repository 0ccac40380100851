"""The task interface (benchopt style: a dataset, solvers and an objective).

A task names a model and its parameters, a channel, lattice sizes, a grid of
noise levels, radii, train/test sizes and seeds (per division), and the
families it scores by default.  The shared evaluation loop lives in
:mod:`phasebench.suites.evaluation`; a task adds its objective in :meth:`Task.summarize`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, List, Optional, Tuple

from phasebench.lattice_models import make_channel, make_model
from phasebench.lattice_models.registry import Registry

if TYPE_CHECKING:
    from ..estimators import BootstrapConfig

DIVISIONS = ("quick", "full")


@dataclass
class TaskConfig:
    """The grid a task is evaluated on, in one division."""

    L: Tuple[int, ...]
    levels: Tuple[float, ...]
    radii: Tuple[int, ...]
    n_train: int
    n_test: int
    seed: int = 0
    families: Tuple[str, ...] = ("exact", "linear", "cnn")
    #: training budget in seconds per (family, radius) for trainable families
    budget: float = 30.0
    family_options: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    model_params_grid: Tuple[Dict[str, float], ...] = ({},)
    #: task-specific settings (documented by each task)
    extra: Dict[str, Any] = field(default_factory=dict)


class Task:
    name: ClassVar[str] = "?"
    description: ClassVar[str] = ""
    model_name: ClassVar[str] = "?"
    model_params: ClassVar[Dict[str, float]] = {}
    channel_name: ClassVar[str] = "gaussian"
    channel_options: ClassVar[Dict[str, Any]] = {}
    scored: ClassVar[bool] = True

    def config(self, division: str) -> TaskConfig:
        raise NotImplementedError

    def model(self, **overrides: float):
        return make_model(self.model_name, **{**self.model_params, **overrides})

    def channel(self):
        return make_channel(self.channel_name, **self.channel_options)

    def validate_config(self, cfg: TaskConfig) -> None:
        """Raise ValueError for a grid this task cannot run (checked before any work)."""

    def global_radius(self, L: int) -> Optional[int]:
        """Radius of the family member used as the reference when the model has no exact global oracle."""
        return None

    def evaluate_all(self, families: List[str], cfg: TaskConfig, tick: Callable[[str], None]) -> List[Any]:
        """Evaluate every family on the task's grid; the default is one :class:`Grid` per (family, L, params)."""
        from ..evaluation import evaluate

        records = []
        for fam in families:
            for L in cfg.L:
                for params in cfg.model_params_grid:
                    tick(f"{self.name}:{fam}:L{L}")
                    records.append(evaluate(self, fam, L, cfg, params))
        return records

    def cells(self, records: List[Any], bootstrap: "BootstrapConfig") -> List[Dict[str, Any]]:
        """One JSON record per evaluated cell (CIs from ``bootstrap``)."""
        from ..evaluation import grid_cells

        return [c for g in records for c in grid_cells(g, bootstrap)]

    def summarize(self, grids: List[Any], bootstrap: "BootstrapConfig") -> Dict[str, Any]:
        """Task-specific scores from the evaluated grids (one per family and L).  Every bootstrap interval
        draws its resamples from ``bootstrap`` (the run's one configuration, seeded from ``TaskConfig.seed``)."""
        raise NotImplementedError

    def plots(self, grids: List[Any], summary: Dict[str, Any], out_dir) -> List[str]:
        return []

    def leaderboard_rows(self, summary: Dict[str, Any]) -> Tuple[List[str], List[List[str]]]:
        """Header and rows of this task's leaderboard table."""
        raise NotImplementedError


TASKS: Registry[type] = Registry("task", "phasebench.tasks")


def get_task(name: str) -> Task:
    return TASKS.get(name)()


def check_division(division: str) -> str:
    if division not in DIVISIONS:
        raise ValueError(f"unknown division {division!r} (choose from: {', '.join(DIVISIONS)})")
    return division

