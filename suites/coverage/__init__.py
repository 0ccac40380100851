"""The coverage harness: each estimator's interval checked against synthetic data with a known answer.

:mod:`.harness` holds the machinery; the case modules register their cases in :data:`CASES`
(name -> :class:`CoverageCase`).  Fast cases run in the test suite; the full table runs as
``python -m phasebench.suites.coverage --reps 400`` (or the benchmark
``suites/benchmarks/test_bench_coverage.py``) and is recorded in docs/decisions/interval-coverage.md.
"""

from __future__ import annotations

from typing import Dict

from .harness import CoverageCase, coverage_table, measure_coverage, render_table

CASES: Dict[str, CoverageCase] = {}


def register(case: CoverageCase) -> CoverageCase:
    if case.name in CASES:
        raise ValueError(f"coverage case {case.name!r} registered twice")
    CASES[case.name] = case
    return case


__all__ = ["CASES", "CoverageCase", "coverage_table", "measure_coverage", "register", "render_table"]
