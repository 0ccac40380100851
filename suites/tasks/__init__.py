"""Tasks: one module per task, each registered with ``@TASKS.register``."""

from .base import DIVISIONS, TASKS, Task, TaskConfig, check_division, get_task

# Built-in tasks: importing registers them.
from . import (gff_generation, gff_markov, ising_generation, ising_speciation, ising_temperature,  # noqa: E402,F401
               toric_bitflip, toric_gaussian, toric_generation)

__all__ = ["DIVISIONS", "TASKS", "Task", "TaskConfig", "check_division", "get_task"]
