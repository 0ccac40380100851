"""The task registry.  A task is an objective (:mod:`phasebench.suites.objectives`) configured for one
model and channel; built-in tasks register here with ``@TASKS.register``, third-party ones through the
``phasebench.tasks`` entry-point group."""

from __future__ import annotations

from phasebench.lattice_models.registry import Registry

from ..objectives.base import DIVISIONS, Task, TaskConfig, check_division

TASKS: Registry[type] = Registry("task", "phasebench.tasks")


def get_task(name: str) -> Task:
    return TASKS.get(name)()


__all__ = ["DIVISIONS", "TASKS", "Task", "TaskConfig", "check_division", "get_task"]
