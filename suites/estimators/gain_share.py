"""The share of the exact r-local oracle's gain per ring that a family realises.

For a family's r-local members f_r and the exact r-local oracle q_r (the posterior mean given the
radius-r window), the gain of the ring r -> r + 1 is ``MSE(q_r) - MSE(q_{r+1})``.  Every f_r sees only
the window q_r conditions on, and the posterior mean is orthogonal to every function of its window, so
``E mse(f_r) = E mse(q_r) + E |f_r - q_r|^2``; the family's share of the ring's gain,

    share_r = (MSE(f_r) - MSE(f_{r+1})) / (MSE(q_r) - MSE(q_{r+1}))
            = 1 - (excess_{r+1} - excess_r) / gain_r,     excess_r = E |f_r - q_r|^2,

is 1 for a family whose excess does not grow with r and 0 for one that gains nothing from the ring.
A family's increments decay like the oracle's, which is what places the peak of ``xi_eff``
(:mod:`.xi_eff`), only where it captures most of every ring's gain; an excess growing with r makes its
increments, and its transition estimate, a mix of the transition and of its training deficit.
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from .bootstrap import ratio_with_ci


def gain_captured(family: Dict[str, Any], exact: Dict[str, Any], boot_idx: np.ndarray) -> List[Dict[str, Any]]:
    """Per ring r -> r + 1 that the family and the exact oracle both have, per level: the share of the exact
    oracle's gain that the family realises, with a paired bootstrap CI over the test configurations.

    ``family`` and ``exact`` each give ``radii`` (increasing) and ``increments`` (n_radii - 1, n_levels, n_test),
    the per-configuration ``MSE(r) - MSE(r + 1)`` (or an unbiased estimator of it) between successive radii,
    on the same test configurations; ``family`` also gives ``levels``.  Rings are matched by r; a ring is
    skipped where either side lacks the radius r + 1 right after r.
    """
    exact_ring = {r: k for k, r in enumerate(exact["radii"][:-1]) if exact["radii"][k + 1] == r + 1}
    out = []
    for i, r in enumerate(family["radii"][:-1]):
        if family["radii"][i + 1] == r + 1 and r in exact_ring:
            k = exact_ring[r]
            out.append({"r": int(r), "share": [ratio_with_ci(family["increments"][i, j], exact["increments"][k, j],
                                                             boot_idx).to_dict()
                                               for j in range(len(family["levels"]))]})
    return out
