"""``cnn-bayes``: the ``cnn`` family with the Bayes output for +-1 data under the Gaussian channel.

Same trunk, light cone, conditioning and training as :mod:`denoisers.cnn`; the estimate is
``tanh(a y_i / s^2 + H_i)`` (the site's own likelihood field in closed form plus a learned
field, :mod:`denoisers.spin_output`), trained by Adam for the whole budget with per-cell
adaptive loss weights.  Where that output does not apply (real-valued data, the bit-flip
channel) it is the ``cnn`` family unchanged (``output="auto"``).

Measured against the exact Ising posterior (ising-temperature, quick division, one network per
radius conditioned on T): the global member's worst cell is about +11% from the exact MSE at
L = 6, against +175% for ``cnn``; see the Ising issue's notes for the cells and the T_c shift.
"""

from __future__ import annotations

from typing import Optional

from .base import DENOISERS
from .cnn import CNNDenoiser


@DENOISERS.register("cnn-bayes")
class BayesCNNDenoiser(CNNDenoiser):
    description = "cnn with the Bayes output tanh(a y/s^2 + H) for +-1 data under the Gaussian channel (else cnn)"

    def __init__(self, radius: Optional[int] = None, output: str = "auto", **options):
        super().__init__(radius, output=output, **options)
