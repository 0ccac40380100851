"""pytest options of the benchmark suites (``pytest suites ...``): which division's score cases run."""

import os

import pytest

DIVISION_ENV = "PHASEBENCH_DIVISION"
DIVISION_CHOICES = ("quick", "full", "all")


def pytest_addoption(parser):
    parser.addoption("--phasebench-division", default=os.environ.get(DIVISION_ENV, "quick"), choices=DIVISION_CHOICES,
                     help="the division whose score cases run (suites/benchmarks/test_scores.py); the others are "
                          f"skipped. Default: ${DIVISION_ENV}, else quick")


def pytest_configure(config):
    if config.getoption("--phasebench-division") not in DIVISION_CHOICES:  # a bad $PHASEBENCH_DIVISION
        raise pytest.UsageError(f"{DIVISION_ENV} must be one of {', '.join(DIVISION_CHOICES)}, got "
                                f"{os.environ.get(DIVISION_ENV)!r}")
    config.addinivalue_line("markers", "phasebench_full: a score case of the full division (skipped unless "
                                       "--phasebench-division full or all)")
