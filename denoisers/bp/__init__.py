"""The ``bp`` family: belief propagation on each model's exact posterior factor graph (:mod:`.family`)."""

from .family import BeliefPropagation, make_solver

__all__ = ["BeliefPropagation", "make_solver"]
