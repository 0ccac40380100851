"""The ``bp`` family: belief propagation on the exact posterior factor graph, r rounds for radius r.

Training-free: the factor graph is the model's own prior (its parameters, read from the model) times the
channel's likelihood at the level being denoised (docs/physics.md, section 5, "Belief propagation").

* ``gff``: Gaussian BP (:mod:`.gaussian`); converged, it is the exact posterior mean (Wiener filter);
* ``ising``: loopy BP on the posterior Ising model in the channel's site field (:mod:`.ising`);
* ``toric_loops``: sum-product BP on the vertex-check graph of the loop measure (:mod:`.parity`).

Radius semantics: the member of radius r runs exactly r synchronous rounds from uninformative messages.
Its light cone is the set of inputs within r steps of the factor graph (the Manhattan ball of radius r on
sites; the edges within r vertex-sharing steps on the loop model), which lies inside the Chebyshev window
of radius r and reaches its boundary, so the locality audit holds at r and the ring at distance r is used.
The global member (radius None, or a window that covers the torus) runs rounds until every message of a
configuration changes by at most ``tolerance`` (relative), at most ``max_rounds``.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..base import DENOISERS, DenoiserFamily, Hyperparameter
from .gaussian import FieldBP
from .ising import SpinBP
from .parity import LoopBP


def make_solver(model, channel):
    """The BP solver for the model's posterior under the channel; ValueError where there is none."""
    name = getattr(model, "name", None)
    if name == "gff":
        return FieldBP(model.mass_sq, channel)
    if name == "ising":
        return SpinBP(model.K, channel)
    if name == "toric_loops":
        return LoopBP(model.x, channel)
    raise ValueError(f"family 'bp' has no factor graph for model {name!r} (models: gff, ising, toric_loops)")


@DENOISERS.register("bp")
class BeliefPropagation(DenoiserFamily):
    description = ("belief propagation on the exact posterior factor graph (Gaussian BP on gff, loopy BP on ising, "
                   "parity-check BP on toric_loops); training-free")
    radius_semantics = ("r synchronous message-passing rounds from uninformative messages (light cone: the inputs "
                        "within r factor-graph steps, inside the radius-r Chebyshev window); None or a window "
                        "covering the torus: rounds until the messages converge")
    trainable = False
    supported_models = ("gff", "ising", "toric_loops")
    hyperparameters = (
        Hyperparameter("damping", 0.0, "float", low=0.0, high=1.0, high_inclusive=False,
                       doc="each message becomes (1 - damping) x its update + damping x its old value"),
        Hyperparameter("max_rounds", 200, "int", low=1,
                       doc="most rounds of the global member (a configuration whose messages cycle stops there)"),
        Hyperparameter("tolerance", 1e-10, "float", low=0.0, low_inclusive=False,
                       doc="the global member stops when no message changes by more than tolerance x max(1, |message|)"),
    )

    @classmethod
    def supports_member(cls, model, channel, radius, L) -> bool:
        """Every member, where the model has a factor graph for the channel."""
        if model is None or not cls.supports(model):
            return False
        try:
            make_solver(model, channel)
        except ValueError:
            return False
        return True

    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        if model is None:
            raise ValueError("family 'bp' needs the lattice model (its factor graph): fit(..., model=...)")
        if clean_train.shape[1] != model.channels:
            raise ValueError(f"family 'bp': the {model.name} model has {model.channels} data channel(s), "
                             f"the training data {clean_train.shape[1]}")
        self.solver_ = make_solver(model, channel)

    def rounds_for(self, L: int) -> Optional[int]:
        """The rounds of this member on the L x L torus: its radius, or None (until converged) for the global member."""
        if self.radius is None or 2 * self.radius + 1 >= L:
            return None
        return self.radius

    def _denoise(self, y, level):
        rounds = self.rounds_for(y.shape[-1])
        return self.solver_.estimate(np.asarray(y), level, rounds, damping=self.damping, tolerance=self.tolerance,
                                     max_rounds=self.max_rounds)

    @property
    def flops_per_site(self) -> float:
        """Per output site: the arithmetic of one round times the rounds (the global member: times ``max_rounds``,
        an upper bound)."""
        solver = getattr(self, "solver_", None)
        if solver is None:
            return float("nan")
        rounds = self.rounds_for(self.L_)
        return float(solver.flops_per_site_round * (self.max_rounds if rounds is None else rounds))
