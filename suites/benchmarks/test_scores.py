"""The scoring suites as pytest-benchmark cases: one case per (task, family) cell of a division.

The cases are generated from the task and family registries, plugins included
(:func:`phasebench.suites.cases.score_cases`), with ids ``TASK-FAMILY`` (``-full`` appended in the full
division), so that

    pytest suites --benchmark-only -k "toric-bitflip and cnn" --benchmark-json=out.json

runs one cell.  Each case runs :func:`phasebench.suites.cases.run_case`, the runner's own path for one task
and one family (with the families it is scored against, :func:`phasebench.suites.cases.companions`), once
(one round, timed), and stores the case record in ``extra_info``: the results.json task record (scores with
bootstrap CIs, cells, costs per stage and per member, provenance).  ``phasebench leaderboard out.json``
renders the leaderboard from them; ``phasebench leaderboard --compare OLD.json NEW.json`` compares two runs.

Only the quick division runs by default; ``--phasebench-division full`` (or ``all``, or the environment
variable PHASEBENCH_DIVISION) runs the full division's cases, which are marked ``phasebench_full``.
"""

import pytest

from phasebench.suites import executors
from phasebench.suites.case_records import plain_json
from phasebench.suites.cases import case_id, run_case, score_cases

CASES = [pytest.param(d, t, f, id=case_id(d, t, f), marks=[pytest.mark.phasebench_full] if d == "full" else [])
         for d, t, f in score_cases()]


@pytest.fixture(scope="module")
def one_worker_pool():
    """The cases share one worker pool, as the cells of one run do (docs/decisions/worker-pool-per-run.md)."""
    with executors.activate(executors.ProcessExecutor()) as executor:
        yield executor


@pytest.mark.parametrize("division, task, family", CASES)
def test_score(benchmark, request, one_worker_pool, division, task, family):
    selected = request.config.getoption("--phasebench-division")
    if selected not in (division, "all"):
        pytest.skip(f"a {division}-division case (run with --phasebench-division {division})")
    case = benchmark.pedantic(run_case, args=(task, family, division), rounds=1, iterations=1)
    benchmark.extra_info.update(plain_json(case))
    record = case["record"]
    assert family in record["families"] and record["summary"], f"{task}: no scores for {family}"
