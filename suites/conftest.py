"""pytest options of the benchmark suites (``pytest suites ...``): which division's score cases run."""

import os

DIVISION_ENV = "PHASEBENCH_DIVISION"


def pytest_addoption(parser):
    parser.addoption("--phasebench-division", default=os.environ.get(DIVISION_ENV, "quick"),
                     choices=("quick", "full", "all"),
                     help="the division whose score cases run (suites/benchmarks/test_scores.py); the others are "
                          f"skipped. Default: ${DIVISION_ENV}, else quick")


def pytest_configure(config):
    config.addinivalue_line("markers", "phasebench_full: a score case of the full division (skipped unless "
                                       "--phasebench-division full or all)")
