"""Imports every case module, so that :data:`phasebench.suites.coverage.CASES` is complete."""

from . import mean_cases  # noqa: F401
from . import crossing_cases  # noqa: F401
from . import worst_cell_cases  # noqa: F401
from . import decay_length_cases  # noqa: F401
from . import peak_cases  # noqa: F401
from . import seed_cases  # noqa: F401
from . import overall_cases  # noqa: F401
