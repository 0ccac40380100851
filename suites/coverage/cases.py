"""Imports every case module, so that :data:`phasebench.suites.coverage.CASES` is complete."""

from . import mean_cases, peak_cases  # noqa: F401
