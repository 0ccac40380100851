"""The window-mean shrinkage family as a phasebench plugin (an example of a third-party denoiser family).

Member r estimates each site from two statistics of the noisy data, the site's own value ``y_i`` and the
mean ``ybar_r(i)`` of y over its window (the ``(2r + 1)^2`` sites within Chebyshev distance r, periodic):

    xhat_i = c0(level) + c1(level) y_i + c2(level) ybar_r(i),

with the three coefficients per level the least-squares fit on the training set corrupted by the task's
channel (one noise draw per level, fixed: like every non-trainable family, its fit depends on its data, not
on the seed): the best estimator of that affine form.  Its light cone is the
radius-r window, so it is r-local by construction; the global member averages over the whole torus.

Unlike the r-local Wiener filter (``linear``), which weighs every site of the window by the data's
two-point function, it gives the window's sites one common weight, so it does not converge to the
posterior mean as r grows: on the Gaussian free field its excess over the exact estimate stays of the
order of the prior variance for large r, where the Wiener filter's decays as ``exp(-r / xi_M)``.  It is
there to show a family that phasebench scores with no edit to the suite (``phasebench denoisers``,
``phasebench run``, the score cases ``pytest suites -k window_mean``).
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from phasebench.denoisers import DenoiserFamily

__all__ = ["WindowMean", "window_mean"]

NOISE_SEED = 20261202  # the fixed noise draws of the fit (level j: NOISE_SEED + j)


def window_mean(y: np.ndarray, radius: Optional[int]) -> np.ndarray:
    """The periodic mean of ``y`` (n, C, L, L) over the radius-r window of each site, channel by channel; over
    the whole torus for the global member (``radius`` None) or a window that covers it."""
    L = y.shape[-1]
    if radius is None or 2 * radius + 1 >= L:
        return np.broadcast_to(y.mean(axis=(2, 3), keepdims=True), y.shape)
    shifts = range(-radius, radius + 1)
    rows = sum(np.roll(y, s, axis=2) for s in shifts)
    return sum(np.roll(rows, s, axis=3) for s in shifts) / (2 * radius + 1) ** 2


class WindowMean(DenoiserFamily):
    description = "example plugin: affine in a site's noisy value and its radius-r window mean, fitted per level"
    trainable = False  # a closed-form least-squares fit
    supported_models = ("gff", "ising")  # real or spin variables; binary ones would need probabilities

    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        x = np.asarray(clean_train, dtype=np.float64)
        variable_type = getattr(model, "variable_type", None) or "real"
        self.coef_: Dict[float, np.ndarray] = {}
        for j, level in enumerate(levels):
            y = np.asarray(channel.corrupt(x, level, NOISE_SEED + j, variable_type), dtype=np.float64)
            features = np.stack([np.ones(y.size), y.ravel(), window_mean(y, self.radius).ravel()], axis=1)
            self.coef_[float(level)] = np.linalg.lstsq(features, x.ravel(), rcond=None)[0]

    def _denoise(self, y: np.ndarray, level: float) -> np.ndarray:
        if float(level) not in self.coef_:
            raise ValueError(f"window_mean was fitted at the levels {sorted(self.coef_)}, not at {level!r}")
        c0, c1, c2 = self.coef_[float(level)]
        y = np.asarray(y, dtype=np.float64)
        return c0 + c1 * y + c2 * window_mean(y, self.radius)

    @property
    def n_params(self) -> int:
        return 3 * len(getattr(self, "coef_", {}))
