"""The task interface (benchopt style: a dataset, solvers and an objective).

An *objective* says what is measured and scored: which datasets, members and evaluations it needs
(:meth:`Task.plan`, plain data that the runner executes: it fits and evaluates every member, never the
objective), how the records of the evaluations become scores (:meth:`Task.summarize`), leaderboard rows and plots.  A *task* is an objective configured
for one model and channel: the model's parameters, the channel, and per division the lattice
sizes, noise levels, radii, train/test sizes and seed (:class:`TaskConfig`).  The built-in tasks
(:mod:`phasebench.suites.tasks`) are such configurations; ``phasebench run --model`` builds one for
any registered model (:func:`phasebench.suites.objectives.objective_for_model`).

Targets come from the model: an objective that places a transition reads it from the model's
declared transitions (:meth:`phasebench.lattice_models.LatticeModel.transitions`), never from a
constant of its own.  The families a task scores by default are every registered family, aliases
aside, that can fit each member the objective needs (:meth:`Task.accepts_family`), so a new family
appears on the leaderboard with no task edited.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Dict, Iterable, List, Optional, Tuple

from phasebench.lattice_models import make_channel, make_model

from ..estimators import derive_seed
from ..study import MemberRequest, Split, Study

if TYPE_CHECKING:
    from ..estimators import BootstrapConfig

DIVISIONS = ("quick", "full")
#: training seeds per trainable member in the full division (the quick division trains once and says so)
FULL_TRAIN_SEEDS = 3


@dataclass
class TaskConfig:
    """The grid a task is evaluated on, in one division."""

    L: Tuple[int, ...]
    levels: Tuple[float, ...]
    radii: Tuple[int, ...]
    n_train: int
    n_test: int
    seed: int = 0
    #: training budget in seconds per (family, radius) for trainable families
    budget: float = 30.0
    family_options: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    model_params_grid: Tuple[Dict[str, float], ...] = ({},)
    #: task-specific settings (documented by each objective)
    extra: Dict[str, Any] = field(default_factory=dict)
    #: training seeds per member of a trainable family (seed 0 is the headline run; every seed's placement
    #: enters the placement score: :mod:`phasebench.suites.estimators.training_seeds`)
    train_seeds: int = 1
    #: ``open`` or ``closed``: the closed rules give every learned family the same training compute and a parameter
    #: band (:mod:`phasebench.suites.rules`)
    rules: str = "open"
    #: families marked ``default_run = False`` (their training is budgeted grid by grid) that this grid runs when no
    #: family is named; ``all_families``: every family the task accepts (the full division's grids)
    opt_in_families: Tuple[str, ...] = ()
    all_families: bool = False
    #: family -> the radii its members are fitted at, where a family runs on fewer radii than the grid's (the quick
    #: division's costlier families); a family's radii are those of ``radii`` that it lists
    family_radii: Dict[str, Tuple[int, ...]] = field(default_factory=dict)

    def radii_for(self, family: str) -> Tuple[int, ...]:
        """The grid's radii at which ``family``'s members are fitted (:attr:`family_radii`)."""
        if family not in self.family_radii:
            return tuple(self.radii)
        return tuple(r for r in self.radii if r in self.family_radii[family])


class Task:
    """An objective on a model and channel.  Class attributes configure a task; the constructor's
    arguments, where given, replace them (``phasebench run --model`` builds tasks that way)."""

    name: ClassVar[str] = "?"
    description: ClassVar[str] = ""
    model_name: ClassVar[str] = "?"
    model_params: ClassVar[Dict[str, float]] = {}
    channel_name: ClassVar[str] = "gaussian"
    channel_options: ClassVar[Dict[str, Any]] = {}
    scored: ClassVar[bool] = True
    #: the objective's name in results files (each objective class sets it)
    objective: ClassVar[str] = "?"
    #: untrainable families whose records the other families' scores read (e.g. the exact window oracle that
    #: xi_eff is Rao-Blackwellised against): evaluated again beside each further training seed
    seed_reference_families: ClassVar[Tuple[str, ...]] = ()
    #: whether the task's plan fits each family at ``TaskConfig.radii_for`` (else a grid with ``family_radii`` is refused)
    honours_family_radii: ClassVar[bool] = True
    #: what :meth:`placements` estimates, in the leaderboard's words
    placement_quantity: ClassVar[str] = "the transition"

    def __init__(self, *, name: Optional[str] = None, model_name: Optional[str] = None,
                 model_params: Optional[Dict[str, float]] = None, channel_name: Optional[str] = None,
                 channel_options: Optional[Dict[str, Any]] = None, description: Optional[str] = None):
        given = dict(name=name, model_name=model_name, model_params=model_params, channel_name=channel_name,
                     channel_options=channel_options, description=description)
        for key, value in given.items():
            if value is not None:
                setattr(self, key, value)

    def config(self, division: str) -> TaskConfig:
        raise NotImplementedError

    def division_config(self, division: str) -> TaskConfig:
        """The task's grid in ``division`` (:meth:`config`) with the division's defaults: the full division runs every
        family the task accepts, and fits every trainable member of a scored task with a placement table
        (:meth:`placements`, which combines the seeds) with :data:`FULL_TRAIN_SEEDS` seeds unless the task's grid sets
        more; other tasks train once."""
        cfg = self.config(check_division(division))
        if division == "full":
            cfg = dataclasses.replace(cfg, all_families=True)
        uses_seeds = self.scored and type(self).placements is not Task.placements
        if division == "full" and uses_seeds and cfg.train_seeds < FULL_TRAIN_SEEDS:
            cfg = dataclasses.replace(cfg, train_seeds=FULL_TRAIN_SEEDS)
        return cfg

    def model(self, **overrides: float):
        return make_model(self.model_name, **{**self.model_params, **overrides})

    def channel(self):
        return make_channel(self.channel_name, **self.channel_options)

    def validate_config(self, cfg: TaskConfig) -> None:
        """Raise ValueError for a grid this task cannot run (checked before any work)."""

    def global_radius(self, L: int) -> Optional[int]:
        """Radius of the family member used as the reference when the model has no exact global oracle."""
        return None

    def levels_text(self, cfg: TaskConfig) -> str:
        """The grid's levels as ``phasebench tasks`` prints them."""
        return "levels=[" + ", ".join(f"{float(v):g}" for v in cfg.levels) + "]"

    # -- families --------------------------------------------------------------------------------
    def members_needed(self, family, cfg: TaskConfig, L: int) -> List[Optional[int]]:
        """Radii of the members of ``family`` (a family class) that the objective fits at size L.

        The default (the shared evaluation loop): every radius of the grid, and the family's global
        member where the model has no exact global oracle."""
        radii: List[Optional[int]] = list(cfg.radii_for(family.name))
        if not self.model().supports_exact_posterior(self.channel(), None, L):
            radii.append(self.global_radius(L))
        return radii

    def sizes(self, cfg: TaskConfig) -> List[int]:
        """The lattice sizes at which the plan fits members (the grid's ``L``)."""
        return list(cfg.L)

    def accepts_family(self, family, cfg: TaskConfig) -> bool:
        """True if ``family`` (a family class) can fit every member the objective needs, at least one."""
        model, channel = self.model(), self.channel()
        needed = [(L, r) for L in self.sizes(cfg) for r in self.members_needed(family, cfg, L)]
        return bool(needed) and all(family.supports_member(model, channel, r, L) for L, r in needed)

    def default_families(self, names: Iterable[str], registry, cfg: TaskConfig) -> List[str]:
        """The registered families that this task accepts, aliases aside, and of those with ``default_run`` False the
        ones the grid opts in (``cfg.opt_in_families``, or all with ``cfg.all_families``); the untrainable ones
        (oracles and decoders, which the others may be compared with) first, each group by name."""
        def runs(name):
            fam = registry.get(name)
            return fam.default_run or cfg.all_families or name in cfg.opt_in_families

        accepted = [n for n in names if registry.get(n).alias_of is None and runs(n)
                    and self.accepts_family(registry.get(n), cfg)]
        return sorted(accepted, key=lambda n: (registry.get(n).trainable, n))

    # -- evaluation and scores ----------------------------------------------------------------------
    def plan(self, families: List[str], cfg: TaskConfig) -> List[Study]:
        """What the runner should fit and evaluate (:mod:`phasebench.suites.study`); the default: one ``grid``
        study per (family, L, model parameters), every radius of the grid and, where the model has no exact
        global posterior, the family's global member as the reference (:mod:`phasebench.suites.evaluators.grid`)."""
        channel = self.channel()
        levels = [channel.validate_level(lv) for lv in cfg.levels]
        studies = []
        for fam in families:
            for L in cfg.L:
                for params in cfg.model_params_grid:
                    exact_reference = self.model(**params).supports_exact_posterior(channel, None, L)
                    seed = derive_seed(cfg.seed, L, 3)  # one seed for every radius
                    members: Dict[Any, MemberRequest] = {r: MemberRequest(fam, r, (0,), seed)
                                                         for r in cfg.radii_for(fam)}
                    if not exact_reference:
                        members["global"] = MemberRequest(fam, self.global_radius(L), (0,), seed)
                    studies.append(Study("grid", f"{fam}:L{L}", levels, [Split(L, tuple(params.items()))], members,
                                         {"family": fam, "exact_reference": exact_reference}))
        return studies

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

    def overall_scores(self, record: Dict[str, Any]) -> Optional[Dict[str, Optional[Dict[str, Any]]]]:
        """Family -> its score in the overall table (``value``, ``lo``, ``hi``; lower is better; None: no score) from
        the task's results record (:mod:`phasebench.suites.overall`); the default: the placement score where the task
        has a placement table (a family scored at several sizes: its largest), else None."""
        placement = record.get("placement")
        if not placement:
            return None
        return {row["family"]: row.get("rmse") for _, row in sorted(placement["families"].items(),
                                                                     key=lambda kv: _size_key(kv[0]))}

    def placements(self, summary: Dict[str, Any]) -> Optional[Tuple[float, Dict[str, Dict[str, Any]]]]:
        """A task that places a transition: (its true value, summary key -> the family's estimate there, a dict
        with ``value``, ``lo``, ``hi`` and optionally ``systematic``), one key per family and lattice size or
        extrapolation the task scores; None for any other task."""
        return None

    def leaderboard_rows(self, summary: Dict[str, Any]) -> Tuple[List[str], List[List[str]]]:
        """Header and rows of this task's leaderboard table."""
        raise NotImplementedError

    def describe(self) -> Dict[str, Any]:
        """What the results file records to rebuild this task (:func:`phasebench.suites.objectives.task_from_record`)."""
        return {"objective": self.objective, "model": self.model_name, "model_params": dict(self.model_params),
                "channel_name": self.channel_name, "channel_options": dict(self.channel_options)}


def _size_key(key: str) -> tuple:
    """A summary key's lattice size for ordering (``cnn/L16`` -> 16; no size: 0)."""
    tail = key.rsplit("/L", 1)
    return (int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else 0, key)


def check_division(division: str) -> str:
    if division not in DIVISIONS:
        raise ValueError(f"unknown division {division!r} (choose from: {', '.join(DIVISIONS)})")
    return division
