"""The message schedule shared by the belief-propagation solvers (docs/physics.md, section 5, "Belief propagation").

Every solver keeps its messages in one array of shape ``(n, K, L, L)`` (n configurations, K message slots
per site) and provides a ``step(messages, *data) -> messages`` that performs one synchronous (flooding)
round: every new message is computed from the previous round's messages only.  So after t rounds from
uninformative messages a message has travelled at most t steps of the factor graph, which is what fixes
each model's light cone.

:func:`iterate` runs either a fixed number of rounds (the r-local members) or rounds until the messages
of each configuration stop changing (the global member).  A converged configuration is frozen while the
others go on, so a configuration's estimate never depends on the rest of its batch; all operations are
elementwise or per configuration, so the same input gives the same bytes.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple

import numpy as np


def damped(new: np.ndarray, old: np.ndarray, damping: float) -> np.ndarray:
    """``(1 - damping) new + damping old`` (damping 0: the plain update)."""
    return new if damping == 0.0 else (1.0 - damping) * new + damping * old


def iterate(step: Callable[..., np.ndarray], messages: np.ndarray, data: Sequence[np.ndarray], *,
            rounds: Optional[int], damping: float = 0.0, tolerance: float = 1e-10,
            max_rounds: int = 1000) -> Tuple[np.ndarray, np.ndarray]:
    """Run the schedule; returns ``(messages, rounds run per configuration)``.

    ``rounds``: exactly that many rounds for every configuration.  ``None``: per configuration, rounds until
    the largest change of any message is at most ``tolerance * max(1, max |message|)``, at most ``max_rounds``.
    ``data`` are arrays with the configurations on their first axis, passed to ``step`` alongside.
    """
    n = messages.shape[0]
    if rounds is not None:
        for _ in range(rounds):
            messages = damped(step(messages, *data), messages, damping)
        return messages, np.full(n, rounds, dtype=np.int64)
    used = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    for _ in range(max_rounds):
        if not len(active):
            break
        old = messages[active]
        new = damped(step(old, *(d[active] for d in data)), old, damping)
        messages[active] = new
        used[active] += 1
        change = np.abs(new - old).reshape(len(active), -1).max(axis=1, initial=0.0)
        scale = np.maximum(1.0, np.abs(new).reshape(len(active), -1).max(axis=1, initial=0.0))
        active = active[~(change <= tolerance * scale)]
    return messages, used
