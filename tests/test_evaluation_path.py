"""One evaluation path: objectives and tasks plan; only the runner fits and evaluates members."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLANNING_FOLDERS = ("suites/objectives", "suites/tasks")
FIT_FUNCTIONS = {"fit_member", "fit_members"}


def fitting_sites(source: str) -> list:
    """``line: what`` for every place in ``source`` that imports the fitting module or its functions, or calls
    them or any ``.fit(...)``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[-1] == "parallel_fit" or FIT_FUNCTIONS & {a.name for a in node.names}:
                found.append(f"{node.lineno}: imports from {'.' * node.level}{module}")
            elif "parallel_fit" in {a.name for a in node.names}:
                found.append(f"{node.lineno}: imports parallel_fit")
        elif isinstance(node, ast.Import):
            found += [f"{node.lineno}: imports {a.name}" for a in node.names if a.name.split(".")[-1] == "parallel_fit"]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in FIT_FUNCTIONS or (isinstance(func, ast.Attribute) and name == "fit"):
                found.append(f"{node.lineno}: calls {ast.unparse(func)}(...)")
    return found


def test_no_objective_or_task_module_fits_a_member():
    files = sorted(p for folder in PLANNING_FOLDERS for p in (ROOT / folder).rglob("*.py"))
    assert len(files) >= 10
    offenders = {str(p.relative_to(ROOT)): sites for p in files if (sites := fitting_sites(p.read_text()))}
    assert not offenders, f"objectives and tasks must plan, not fit: {offenders}"


@pytest.mark.parametrize("source", [
    "from ..parallel_fit import fit_members\n",
    "from phasebench.suites.parallel_fit import MemberSpec\n",
    "from .. import parallel_fit\n",
    "import phasebench.suites.parallel_fit as pf\n",
    "def f(spec):\n    return fit_member(*spec)\n",
    "def f(pf, specs):\n    return pf.fit_members(specs)\n",
    "def f(family, x, ch):\n    family.fit(x, ch, [0.1], seed=0)\n",
    "def f(x, ch):\n    make_family('cnn', 2).fit(x, ch, [0.1])\n",
])
def test_the_check_catches_each_way_of_fitting(source):
    assert len(fitting_sites(source)) == 1


def test_the_check_lets_planning_code_through():
    source = ("from ..study import MemberRequest, Study\n"
              "def plan(self, families, cfg):\n    return [MemberRequest(f, 1, (0,), 3) for f in families]\n"
              "def fitted(rec):\n    return rec['fit_seconds'], rec.fitted\n")
    assert fitting_sites(source) == []


def test_the_runner_fits_every_member_of_a_task_in_one_pass(monkeypatch):
    """All members of all studies of a task (here: ising-temperature's linear members, one per value of T and
    radius) go to one fit_members call, so they share the worker pool and the fit cache."""
    from phasebench.suites import evaluators
    from phasebench.suites.tasks.base import TaskConfig
    from phasebench.suites.tasks.ising_temperature import IsingTemperatureTask

    calls = []
    real = evaluators.fit_members

    def counting(specs, workers=None):
        calls.append([(s.family, s.radius, s.seed) for s in specs])
        return real(specs, workers=1)

    monkeypatch.setattr(evaluators, "fit_members", counting)
    task = IsingTemperatureTask()
    cfg = TaskConfig(L=(6, 10), levels=(0.3,), radii=(), n_train=20, n_test=10, budget=1.0,
                     model_params_grid=({"T": 2.0}, {"T": 2.6}), extra={"exact_max_L": 0, "exact_n": 1, "data_n": 20})
    records = evaluators.evaluate_task(task, ["linear"], cfg, lambda msg: None)
    assert len(calls) == 1 and len(calls[0]) == 2 * 2 * 2  # (L) x (local, global) x (values of T)
    assert {(f, r) for f, r, _ in calls[0]} == {("linear", 1), ("linear", 3), ("linear", 2), ("linear", 5)}
    assert [(r["family"], r["L"]) for r in records] == [("linear", 6), ("linear", 10)]


def test_an_unknown_evaluation_is_refused_before_any_work():
    from phasebench.suites import evaluators
    from phasebench.suites.study import Study
    from phasebench.suites.tasks.gff_markov import GFFMarkovTask

    class Misplanned(GFFMarkovTask):
        def plan(self, families, cfg):
            return [Study("no-such-evaluation", "x", [1.0])]

    task = Misplanned()
    with pytest.raises(ValueError, match="unknown evaluations \\['no-such-evaluation'\\]"):
        evaluators.evaluate_task(task, ["linear"], task.config("quick"), lambda msg: None)
