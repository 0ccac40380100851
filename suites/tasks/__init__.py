"""Tasks: one module per task, each registered with ``@TASKS.register``."""

from .base import DIVISIONS, TASKS, Task, TaskConfig, check_division, get_task

# Built-in tasks: importing registers them.
from . import gff_markov, ising_speciation, ising_temperature, toric_bitflip, toric_gaussian  # noqa: E402,F401

__all__ = ["DIVISIONS", "TASKS", "Task", "TaskConfig", "check_division", "get_task"]
