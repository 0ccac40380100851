"""The locality audit: a family that claims radius r must have a light cone of radius r.

For a fitted family of finite radius r and a probe site s:

1. *Outside*: perturb every input outside the radius-r window of s (all
   channels at once).  The outputs at s must not change (to ``atol``).
2. *Inside*: perturb the inputs inside the window.  The outputs at s must be
   able to change; otherwise the family ignores its input.
3. *Ring* (reported, not required): perturb only the inputs at distance
   exactly r; ``uses_full_radius`` says whether the output at s reacts.

Real inputs are perturbed by adding unit Gaussian noise; spin inputs are
negated; binary inputs are flipped.  The inside check also tries negating and
zeroing the window, since an estimate that saturates (a clipped posterior mean)
can ignore one perturbation and still depend on its window.  Windows that wrap the torus
(2r + 1 >= L) leave nothing outside, which the report says.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import List

import numpy as np

from phasebench.lattice_models.geometry import chebyshev_distance

from .base import DenoiserFamily


@dataclass
class LocalityReport:
    family: str
    radius: int | None
    passed: bool
    sites: List[tuple] = field(default_factory=list)
    max_outside_change: float = 0.0
    min_inside_change: float = float("inf")
    uses_full_radius: bool = False
    message: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class LocalityError(ValueError):
    """A family failed the locality audit."""


def _perturb(y: np.ndarray, mask: np.ndarray, rng: np.random.Generator, mode: str = "random") -> np.ndarray:
    """Perturb y (1, C, L, L) at the sites where mask (L, L) is true, in every channel.

    ``mode`` is "random" (see module doc), "negate" or "zero" (real inputs only).
    """
    out = y.copy()
    sel = np.broadcast_to(mask, y.shape)
    if mode != "random" and not np.issubdtype(y.dtype, np.integer):
        out = out.astype(np.float64)
        out[sel] = -out[sel] if mode == "negate" else 0.0
        return out
    values = np.unique(y)
    if set(values.tolist()) <= {-1, 1}:
        out[sel] = -out[sel]
    elif set(values.tolist()) <= {0, 1}:
        out[sel] = 1 - out[sel]
    else:
        out = out.astype(np.float64)
        out[sel] += rng.standard_normal(int(sel.sum()))
    return out


def audit_locality(
    family: DenoiserFamily, y: np.ndarray, level: float, n_sites: int = 3, seed: int = 0, atol: float = 1e-9
) -> LocalityReport:
    """Run the perturbation audit on one noisy configuration ``y`` of shape (1, C, L, L) or (C, L, L)."""
    y = np.asarray(y)
    if y.ndim == 3:
        y = y[None]
    y = y[:1]
    r = family.radius
    report = LocalityReport(family=family.name, radius=r, passed=True)
    if r is None:
        report.message = "global family: no locality claim to audit"
        return report
    L = y.shape[-1]
    rng = np.random.default_rng(seed)
    base = family.denoise(y, level)
    scale = 1.0 + float(np.abs(base).max())
    ring_hits = 0
    for _ in range(n_sites):
        s = (int(rng.integers(L)), int(rng.integers(L)))
        report.sites.append(s)
        dist = chebyshev_distance(L, s)
        ref = base[0, :, s[0], s[1]]

        def change(mask: np.ndarray, mode: str = "random") -> float:
            out = family.denoise(_perturb(y, mask, rng, mode), level)
            return float(np.abs(out[0, :, s[0], s[1]] - ref).max())

        if (dist > r).any():
            report.max_outside_change = max(report.max_outside_change, change(dist > r))
        inside = change(dist <= r)
        for mode in ("negate", "zero"):
            if inside > atol * scale:
                break
            inside = max(inside, change(dist <= r, mode))
        report.min_inside_change = min(report.min_inside_change, inside)
        ring_hits += change(dist == r) > atol * scale
    report.uses_full_radius = ring_hits > 0
    if report.max_outside_change > atol * scale:
        report.passed = False
        report.message = (
            f"family {family.name!r} claims radius {r} but its output changed by "
            f"{report.max_outside_change:.3g} when only inputs outside the window changed"
        )
    elif report.min_inside_change <= atol * scale:
        report.passed = False
        report.message = f"family {family.name!r} (radius {r}) did not react to inputs inside its window"
    elif not (dist > r).any():
        report.message = f"window of radius {r} covers the whole L={L} torus: nothing outside to perturb"
    else:
        report.message = "ok"
    return report
