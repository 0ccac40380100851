"""The cells of a run, their keys in the results store, and what each will cost (``phasebench run --dry-run``).

A cell is one task on its grid for the run's families (:mod:`phasebench.suites.results_store`).  Its cost
model has two parts, both computed from the task's plan (:meth:`Task.plan`) without loading any data:

* **learned fits**: every member of a learned family
  (:class:`phasebench.denoisers.harness.learned.LearnedFamily`, unless a ``steps`` or ``train_flops`` option
  overrides its budget), once per training seed (``TaskConfig.train_seeds``), trains for the task's budget in
  reference seconds, the work that takes that long on the reference machine, times its family's
  ``wall_per_budget_second`` (1 but for families whose steps do work the budget's cost model does not count).
  Members given a step count are not costed: their cell's estimate is a lower bound, printed with ``>=``.  They
  run ``slots`` at a time (the executor's workers), so they cost ``sum(budgets) / slots`` times a speed factor:
  1 on the reference machine, or the measured fit-stage seconds per budgeted second of the latest stored cell of
  the task that had learned members.
* **scoring** (bootstrap intervals, fits over radii) scales with the number of score entries, not with the data:
  ``score_rate * score_units``, ``score_units`` = families x sizes x levels x model-parameter points.
* **exact windows**: a model whose r-local oracle costs one window per sampled site, steeply more at larger r
  (:meth:`LatticeModel.exact_window_seconds`, the toric loops' measured table), prices the ``exact`` family's
  windows of a ``sampled-edges`` study by radius, over the slots where its (radius, level) pairs run on the
  executor.
* **everything else** (datasets, closed-form fits, evaluations) costs
  ``OVERHEAD_SECONDS (+ POOL_START_SECONDS) + rate * units``, the second term where the cell starts a pool of
  local worker processes (two or more trainable members and two or more slots), where ``units`` counts the
  data the cell touches: per study, its lattice sites times (training configurations + test configurations x
  levels x members); a study without noisy test sets (generation) counts its schedules' denoiser calls instead,
  sites times generated samples x path levels x schedules.

Per family: a cell's ``units`` split into each family's test data (``family_units``: sites x test configurations x
levels x its members, once per training seed where it is trainable) and the shared rest (training data, datasets,
reference oracles).  A stored cell's evaluation stages name their family (``TASK:FAMILY:...``), so its seconds give
each family its own rate (``family_rates``) and the rest a ``shared_rate``; a family's cell is then priced at its
own rate, and a family not yet measured for the task at the task's mixed ``rate``.  (One mixed rate priced the
cheap ``linear`` and ``bp`` at 4x their time when it was measured on cells dominated by the ``cnn``'s evaluation.)

``rate``, ``score_rate`` and ``speed`` are measured from the latest stored cell of the same task (any grid, any
code version) when the store has one, the family rates from the latest cell that measured each family; else a built-in task's come from :data:`REFERENCE_RATES` (its quick cell
measured on the reference machine; for a full cell, :data:`REFERENCE_RATES_FULL` where the full division's
reference run measured the task), and a plugin task's are :data:`DEFAULT_SECONDS_PER_UNIT`,
:data:`DEFAULT_SECONDS_PER_SCORE` and a speed of 1.

**Resumed work** is not priced: with ``PHASEBENCH_FIT_CACHE`` set, the fits already there (their budgeted
seconds), the family records already there (their family's units) and the exact windows of a study whose exact
records are there are taken off (:mod:`phasebench.suites.cached_work`), and the plan says what it found.

Each stored line keeps its cell's ``units``, budgeted seconds and slots (``cost``) for that purpose.  The
estimate is meant to be within a factor 2; docs/decisions/sweep-cost-model.md measures it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .cached_work import cached_work, fit_price
from .results_store import ResultsStore, cell_key, cell_spec

#: seconds per cell that do not scale with the data (bootstrap set-up, plotting); measured, like the two below,
#: on the reference machine under load (docs/decisions/sweep-cost-model.md)
OVERHEAD_SECONDS = 1.0
#: the start of a cell's pool of spawned workers (each imports torch)
POOL_START_SECONDS = 5.0
#: seconds per unit (module doc) without a stored cell of the task: a toric-gaussian [mwpm] cell's evaluation
#: (1.6e-4; a gff-markov [linear] cell's is 100 times less)
DEFAULT_SECONDS_PER_UNIT = 1e-4
#: seconds per score entry without a stored cell of the task: small gff-markov and toric-gaussian cells (1.0)
DEFAULT_SECONDS_PER_SCORE = 1.0
#: the family whose windows ``exact_window_seconds`` prices (its measured stages less them give its rate)
WINDOW_FAMILY = "exact"
#: the built-in tasks' rates without a stored cell: ``history_rates`` of the quick division on the reference machine
#: (2 idle cores, two workers, 2026-12-03, 320 s; docs/decisions/sweep-cost-model.md, "Reference rates"); the toric
#: tasks' rates less their exact windows, priced apart since (ibid., "Exact windows by radius")
REFERENCE_RATES: Dict[str, Dict[str, float]] = {
    "gff-markov": {"rate": 1.63e-07, "score_rate": 0.0867, "speed": 0.931},
    "ising-speciation": {"rate": 5.54e-06, "score_rate": 0.0278, "speed": 1.41},
    "ising-temperature": {"rate": 2.42e-07, "score_rate": 0.0220, "speed": 0.736, "shared_rate": 1.38e-05,
                          "family_rates": {"attention": 3.04e-06, "bp": 4.16e-08, "cnn": 5.74e-07, "linear": 2.96e-09,
                                           "patch_mlp": 4.55e-07}},
    "toric-bitflip": {"rate": 1.36e-06, "score_rate": 0.0359, "speed": 0.802, "shared_rate": 1.95e-05,
                      "family_rates": {"attention": 1.69e-06, "bp": 2.71e-07, "cnn": 7.88e-07, "exact": 3.63e-06,
                                       "linear": 1.88e-07, "mwpm": 4.48e-07, "patch_mlp": 7.81e-07, "unet": 1.58e-06}},
    "toric-gaussian": {"rate": 3.65e-06, "score_rate": 0.0167},
    "gff-generation": {"rate": 1.37e-07, "speed": 1.59},
    "ising-generation": {"rate": 0.0, "speed": 0.797},
    "toric-generation": {"rate": 0.0, "speed": 0.752},
}


@dataclass
class Cell:
    """One task of a run, its families and grid, with its store key and cost figures."""

    task: Any
    families: List[str]
    cfg: Any
    spec: Dict[str, Any]
    key: str
    cost: Dict[str, float] = field(default_factory=dict)
    estimate_seconds: float = float("nan")
    done: bool = False

    @property
    def label(self) -> str:
        return f"{self.task.name} [{', '.join(self.families)}]"


def cost_figures(task, families: List[str], cfg, slots: int) -> Dict[str, float]:
    """``units``, ``learned_budget_seconds``, member counts and ``slots`` of a cell (module doc)."""
    from phasebench.denoisers import DENOISERS
    from phasebench.denoisers.harness.learned import LearnedFamily

    units = window_seconds = 0.0
    family_units: Dict[str, float] = {}
    budget = 0.0
    members = learned = trainable = fixed_steps = 0
    from .evaluators import SEEDABLE_EVALUATIONS

    for study in task.plan(families, cfg):
        n_members = max(1, len(study.members))
        seeds = cfg.train_seeds if study.evaluation in SEEDABLE_EVALUATIONS else 1  # each trainable member's fits
        if study.splits and not study.noisy_tests:  # a generation study: its schedules' denoiser calls
            sites = sum(s.L ** 2 for s in study.splits)
            calls = study.settings.get("n", 0) * len(study.levels) * len(study.settings.get("schedules", ()))
            units += sites * (cfg.n_train + cfg.n_test + calls)
        elif study.splits:
            sites = sum(s.L ** 2 for s in study.splits)
            n_seeded = sum(DENOISERS.get(m.family).trainable for m in study.members.values()) * (seeds - 1)
            n_test = max(cfg.n_test if s.n_test is None else s.n_test for s in study.splits)
            units += sites * (cfg.n_train + n_test * len(study.levels) * (n_members + n_seeded))
            for request in study.members.values():  # the same test units, by family
                copies = seeds if DENOISERS.get(request.family).trainable else 1
                family_units[request.family] = (family_units.get(request.family, 0.0)
                                                + sites * n_test * len(study.levels) * copies)
            window_seconds += _exact_window_seconds(task, study, n_test, slots)
        else:  # an exact reference on its own sizes (the global decoder)
            sizes = study.settings.get("L", [])
            n = study.settings.get("n", {})
            units += sum(L ** 2 * (n.get(L, 0) if isinstance(n, dict) else n) * len(study.levels) for L in sizes)
        for request in study.members.values():
            family = DENOISERS.get(request.family)
            copies = seeds if family.trainable else 1
            members += copies
            trainable += copies * bool(family.trainable)
            if issubclass(family, LearnedFamily):
                price = fit_price(request.family, cfg)
                if price is None:
                    fixed_steps += copies
                else:
                    learned += copies
                    budget += copies * price
    score_units = len(families) * len(cfg.L) * len(cfg.levels) * max(1, len(cfg.model_params_grid or ()))
    return {"units": units, "score_units": float(score_units), "learned_budget_seconds": budget, "members": members,
            "learned_members": learned, "fixed_step_members": fixed_steps, "slots": slots,
            "pool": float(slots >= 2 and trainable >= 2), "exact_window_seconds": window_seconds,
            "family_units": family_units}


def _exact_window_seconds(task, study, n_test: int, slots: int) -> float:
    """The wall seconds of the ``exact`` family's window oracle in a ``sampled-edges`` study: per radius, its
    windows (test configurations x centres x levels) times the model's CPU seconds per window
    (:meth:`LatticeModel.exact_window_seconds`), over the slots: its (radius, level) pairs run on the executor's
    workers, or, below :data:`~phasebench.suites.evaluators.sampled_edges.PARALLEL_EXACT_WINDOWS`, in this
    process, whose Numba kernels thread over the cores."""
    radii = study.settings.get("radii", {}).get(WINDOW_FAMILY) if study.evaluation == "sampled-edges" else None
    if not radii:
        return 0.0
    model = task.model()
    windows = n_test * study.settings["centres_per_config"] * len(study.levels)
    return windows * sum(model.exact_window_seconds(r) for r in radii) / max(1, slots)


def fixed_seconds(cost: Dict[str, float]) -> float:
    """The part of a cell's cost that does not scale with its data (module doc), and its exact windows."""
    return OVERHEAD_SECONDS + POOL_START_SECONDS * cost.get("pool", 0.0) + _window_seconds(cost)


def _window_seconds(cost: Dict[str, Any]) -> float:
    """The exact windows' seconds less those of studies whose exact records are in the fit cache."""
    return max(cost.get("exact_window_seconds", 0.0) - cost.get("cached_window_seconds", 0.0), 0.0)


def _unpriced_fits(cost: Dict[str, Any]) -> int:
    """Members given a step count that are not in the fit cache."""
    return max(cost.get("fixed_step_members", 0) - cost.get("cached_fixed_step_members", 0), 0)


def history_rates(store: ResultsStore) -> Dict[str, Dict[str, float]]:
    """Per task, from its latest stored cell: ``rate`` (seconds per unit), ``score_rate`` (seconds per score
    entry) and ``speed`` (fit seconds per budgeted second per slot, where it had learned members)."""
    rates: Dict[str, Dict[str, float]] = {}
    for entry in store.entries():
        cost, record = entry.get("cost"), entry["record"]
        if not cost or not cost.get("units") or record.get("reused_evaluations"):  # a resumed cell's seconds are not its cost
            continue
        fit = sum(v for k, v in record.get("stage_seconds", {}).items() if k.endswith(":fit"))
        learned = _to_fit(cost) / max(1, cost["slots"])
        scoring = record.get("stage_seconds", {}).get("scoring", 0.0) if cost.get("score_units") else 0.0
        unpriced_fits = bool(_unpriced_fits(cost))  # their fit time is not the data's
        rest = record["wall_seconds"] - (fit if learned or unpriced_fits else 0.0) - scoring
        rate = {"rate": max(rest - fixed_seconds(cost), 0.0) / cost["units"]}
        task = entry["spec"]["task"]
        rate.update(_family_rates(task, cost, record.get("stage_seconds", {}), rest - fixed_seconds(cost)))
        if cost.get("score_units"):
            rate["score_rate"] = scoring / cost["score_units"]
        if learned:
            rate["speed"] = fit / learned
        previous = rates.get(task, {})
        rates[task] = {**previous, **rate}
        if "family_rates" in previous and "family_rates" in rate:  # each family's latest measurement
            rates[task]["family_rates"] = {**previous["family_rates"], **rate["family_rates"]}
    return rates


def _family_rates(task: str, cost: Dict[str, Any], stages: Dict[str, float], rest: float) -> Dict[str, Any]:
    """``family_rates`` (each family's evaluation stages, ``TASK:FAMILY:...``, per unit of its test data) and
    ``shared_rate`` (the rest, per unit of the data no family owns), where the stored cost has ``family_units``."""
    units = {f: u for f, u in (cost.get("family_units") or {}).items() if u > 0}
    if not units:
        return {}
    spent = {f: sum(v for k, v in stages.items() if k.startswith(f"{task}:{f}:")) for f in units}
    if WINDOW_FAMILY in spent:  # its windows are priced apart (fixed_seconds)
        spent[WINDOW_FAMILY] = max(spent[WINDOW_FAMILY] - _window_seconds(cost), 0.0)
    shared_units = max(cost["units"] - sum(units.values()), 1.0)
    return {"shared_rate": max(rest - sum(spent.values()), 0.0) / shared_units,
            "family_rates": {f: spent[f] / u for f, u in units.items()}}


#: the same from the full division's reference run (reports/reference/, commit 3153f2f, two idle workers), for full
#: cells without history: a generation cell's units do not see the exact global oracle, whose cost per call grows
#: about 20x from L = 6 to 8, so quick rates price a full cell 5x low (docs/decisions/sweep-cost-model.md); the
#: toric tasks' less their exact windows, as above
REFERENCE_RATES_FULL: Dict[str, Dict[str, float]] = {
    "gff-generation": {"rate": 1.54e-07, "speed": 0.815},
    "gff-markov": {"rate": 5.00e-07, "score_rate": 0.302, "speed": 0.926},
    "ising-generation": {"rate": 1.10e-05, "speed": 0.734},
    "ising-speciation": {"rate": 1.27e-04, "score_rate": 0.0579, "speed": 1.09},
    "ising-temperature": {"rate": 9.17e-08, "score_rate": 0.027, "speed": 0.939, "shared_rate": 3.39e-05,
                          "family_rates": {"bp": 2.53e-08, "linear": 2.70e-09, "cnn": 8.52e-07,
                                           # not measured on the full grid: the cnn's rate times the quick ratio
                                           "patch_mlp": 6.75e-07, "attention": 4.51e-06}},
    "toric-bitflip": {"rate": 1.26e-05, "score_rate": 0.0257},
    "toric-gaussian": {"rate": 1.11e-05, "score_rate": 0.0252, "speed": 1.08},
    "toric-generation": {"rate": 1.20e-05, "speed": 0.778},
}


def estimate_seconds(cell: Cell, rates: Dict[str, Dict[str, float]]) -> float:
    """The cost model's seconds for ``cell`` (module doc)."""
    full = REFERENCE_RATES_FULL.get(cell.task.name, {}) if cell.spec.get("division") == "full" else {}
    known = _layer(_layer(REFERENCE_RATES.get(cell.task.name, {}), full), rates.get(cell.task.name, {}))
    learned = _to_fit(cell.cost) / max(1, cell.cost["slots"]) * known.get("speed", 1.0)
    scoring = known.get("score_rate", DEFAULT_SECONDS_PER_SCORE) * cell.cost.get("score_units", 0.0)
    rate = known.get("rate", DEFAULT_SECONDS_PER_UNIT)
    family_units = cell.cost.get("family_units") or {}
    cached = cell.cost.get("cached_family_units") or {}  # read back from the fit cache, not evaluated
    to_evaluate = {f: max(u - cached.get(f, 0.0), 0.0) for f, u in family_units.items()}
    data = rate * (cell.cost["units"] - sum(family_units.values()) + sum(to_evaluate.values()))
    if "shared_rate" in known and family_units:  # by family; one not measured at the task's mixed rate
        measured = known.get("family_rates", {})
        data = (known["shared_rate"] * max(cell.cost["units"] - sum(family_units.values()), 0.0)
                + sum(measured.get(f, rate) * u for f, u in to_evaluate.items()))
    return learned + fixed_seconds(cell.cost) + data + scoring


def _to_fit(cost: Dict[str, Any]) -> float:
    """The budgeted wall seconds of a cell's learned fits less those in the fit cache (:mod:`.cached_work`)."""
    return max(cost["learned_budget_seconds"] - cost.get("cached_budget_seconds", 0.0), 0.0)


def _layer(base: Dict[str, Any], top: Dict[str, Any]) -> Dict[str, Any]:
    """``top``'s rates over ``base``'s; per-family rates only from the same source as the mixed rate they refine."""
    if "rate" in top and "shared_rate" not in top:
        base = {k: v for k, v in base.items() if k not in ("shared_rate", "family_rates")}
    return {**base, **top}


def plan_cells(prepared, division: str, model: Optional[dict], version: str, store: ResultsStore,
               slots: int) -> List[Cell]:
    """The cells of ``prepared`` ((task, families, cfg) per task), each with its key, cost, estimate and
    whether ``store`` has it for ``version``."""
    finished = store.finished(version)
    rates = history_rates(store)
    cells = []
    for task, families, cfg in prepared:
        spec = cell_spec(task, families, cfg, division, model, version)
        cell = Cell(task, families, cfg, spec, cell_key(spec), cost_figures(task, families, cfg, slots))
        cell.done = cell.key in finished
        if not cell.done:  # what a resumed cell reads back from the fit cache is not priced
            cell.cost.update(cached_work(task, families, cfg,
                                         lambda study, n_test: _exact_window_seconds(task, study, n_test, slots)))
        cell.estimate_seconds = estimate_seconds(cell, rates)
        cells.append(cell)
    return cells


def render_plan(cells: List[Cell], store: ResultsStore, version: str, executor: Dict[str, Any]) -> str:
    """The dry-run's report: one line per cell, then the totals."""
    todo = [c for c in cells if not c.done]
    lines = [f"plan: {len(cells)} cells, {len(cells) - len(todo)} done in {store.path} (code version {version}), "
             f"{len(todo)} to run on {executor['slots']} slot(s) of {executor['executor']}"]
    width = max((len(c.label) for c in cells), default=4)
    lines.append(f"  {'cell':<{width}}  {'key':<12}  members (learned)  estimate  status")
    for c in cells:
        members = f"{c.cost['members']} ({c.cost['learned_members']})"
        bound = ">=" if _unpriced_fits(c.cost) else "  "
        cached = (f" ({c.cost['cached_fits']} fits, {c.cost['cached_records']} family records in the fit cache)"
                  if c.cost.get("cached_fits") or c.cost.get("cached_records") else "")
        lines.append(f"  {c.label:<{width}}  {c.key[:12]}  {members:<17}  {bound}{c.estimate_seconds:>6.0f} s  "
                     f"{'done' if c.done else 'to run'}{cached}")
    unpriced = sum(_unpriced_fits(c.cost) for c in todo)
    lines.append(f"estimated {'at least ' if unpriced else ''}{sum(c.estimate_seconds for c in todo):.0f} s for the "
                 f"{len(todo)} cells to run (cost model: phasebench.suites.sweep_plan)"
                 + (f"; not counting the fits of {unpriced} member(s) given a step count" if unpriced else ""))
    return "\n".join(lines) + "\n"
