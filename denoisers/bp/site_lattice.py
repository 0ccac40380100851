"""Messages between the sites of the L x L torus, for pairwise models (the GFF and the Ising model).

Each site keeps the four messages it receives, one per direction, in slots ``(n, 4, L, L)``.  Bonds follow
the Ising oracle's convention (:mod:`phasebench.lattice_models.exact.torus_ising`): ``bond_h[i, j]`` joins
sites ``(i, j)`` and ``(i, j+1)``, ``bond_v[i, j]`` joins ``(i, j)`` and ``(i+1, j)``, indices mod L.

Light cone (docs/physics.md, section 5, "Belief propagation").  A message sent in round t by site j is
computed from j's own observation and the messages j received in round t - 1; the estimate at site i
after r rounds reads i's observation and the messages of round r.  By induction it depends on the
observations at graph (Manhattan) distance at most r from i, and on every one of them through some path:
the ball ``|d1| + |d2| <= r``.  It lies inside the Chebyshev window of radius r and reaches its edge along
the axes, so r rounds are a member of radius exactly r.  It holds ``2r^2 + 2r + 1`` of the window's
``(2r + 1)^2`` sites; the corners are the slack.
"""

from __future__ import annotations

import numpy as np

#: the neighbour a message comes from, as (axis, step): slot d of site i holds the message sent by
#: the site ``i + step`` along ``axis``: from above, from below, from the left, from the right
DIRECTIONS = ((-2, -1), (-2, 1), (-1, -1), (-1, 1))
#: the slot of the same bond at the neighbour: what site i sent to the site in direction d arrives there in OPPOSITE[d]
OPPOSITE = (1, 0, 3, 2)


def from_neighbour(values: np.ndarray, d: int) -> np.ndarray:
    """``values`` of the neighbour in direction ``d``, brought to every site (last two axes are the lattice)."""
    axis, step = DIRECTIONS[d]
    return np.roll(values, -step, axis=axis)


def bond_per_direction(bond_h: np.ndarray, bond_v: np.ndarray) -> np.ndarray:
    """``(4, L, L)``: for each site, the value on its bond to the neighbour in each direction."""
    bond_h, bond_v = np.broadcast_arrays(np.asarray(bond_h, dtype=np.float64), np.asarray(bond_v, dtype=np.float64))
    return np.stack([np.roll(bond_v, 1, axis=-2), bond_v, np.roll(bond_h, 1, axis=-1), bond_h])


def uniform_bonds(value: float, L: int) -> tuple:
    """``(bond_h, bond_v)`` with every bond of the L x L torus equal to ``value``."""
    return np.full((L, L), float(value)), np.full((L, L), float(value))


def cavity(total: np.ndarray, incoming: np.ndarray, d: int) -> np.ndarray:
    """What the neighbour in direction d knows without the message it received from this site: its total
    minus that message, brought to this site.  ``total (n, L, L)``, ``incoming (n, 4, L, L)``."""
    return from_neighbour(total - incoming[:, OPPOSITE[d]], d)


def light_cone(rounds: int) -> np.ndarray:
    """The sites whose observations the estimate at the centre reads after ``rounds`` rounds, counted on the
    graph by breadth-first search: a boolean ``(2r + 1, 2r + 1)`` mask over the radius-r window (r = rounds)."""
    n = 2 * rounds + 1
    reached = np.zeros((n, n), dtype=bool)
    reached[rounds, rounds] = True
    for _ in range(rounds):
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        reached = grown
    return reached
