"""Gaussian free field: the calibration model, with no transition at any noise level."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from .base import MODELS, LatticeModel, Param
from .channels import NoiseChannel
from .exact import gff_theory as theory


@MODELS.register("gff")
class GaussianFreeField(LatticeModel):
    """``x ~ N(0, (-Delta + m^2)^{-1})`` on the L x L torus, sampled exactly by FFT.

    ``m = 0`` is the zero-mean massless field (the constant mode is projected
    out; see :mod:`phasebench.lattice_models.exact.gff_theory`).  It has an L-dependent
    floor in the excess error; score the massive case with ``m L >> 1``.
    """

    description = "Gaussian free field; exact FFT sampler; no transition (calibration case)"
    params = (Param("m", 0.5, low=0.0, doc="mass (m >= 0); m = 0 is the zero-mean massless field"),)
    variable_type = "real"
    channels = 1
    sampler_name = "fft-exact"

    @property
    def mass_sq(self) -> float:
        return self.m * self.m

    def _sample(self, n: int, L: int, seed: int, **options: Any) -> Tuple[np.ndarray, dict]:
        if options:
            raise ValueError(f"the gff sampler takes no options, got {sorted(options)}")
        amplitude = np.sqrt(theory.prior_spectrum(L, self.mass_sq))
        rng = np.random.default_rng(seed)
        out = np.empty((n, 1, L, L), dtype=np.float64)
        chunk = max(1, 2**20 // (L * L))
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            w = rng.standard_normal((stop - start, L, L))
            out[start:stop, 0] = np.fft.ifft2(np.fft.fft2(w) * amplitude).real
        return out, {"sampler": self.sampler_name, "exact": True}

    # -- observables ------------------------------------------------------------------------
    def observables(self, samples: np.ndarray) -> Dict[str, Tuple[float, float]]:
        x = samples[:, 0]
        per_config = {
            "x2": (x * x).mean(axis=(1, 2)),
            "nn_corr": 0.5 * (x * np.roll(x, 1, axis=1) + x * np.roll(x, 1, axis=2)).mean(axis=(1, 2)),
        }
        n = len(x)
        return {k: (float(v.mean()), float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")) for k, v in per_config.items()}

    def exact_observables(self, L: int) -> Dict[str, float]:
        G = theory.torus_green(L, self.mass_sq)
        return {"x2": float(G[0, 0]), "nn_corr": float(G[1, 0])}

    # -- exact posterior ------------------------------------------------------------------------
    @staticmethod
    def _observes_field(channel: NoiseChannel) -> bool:
        """Whether the channel is ``y = a x + s z`` on the real field (the Gaussian channel, no spin encoding)."""
        return channel.additive_gaussian and channel.supports("real")

    def _amplitudes(self, channel: NoiseChannel, level: float) -> Tuple[float, float]:
        if not self._observes_field(channel):
            raise ValueError(f"the gff exact posterior needs the gaussian channel on real data, not {channel.name!r}")
        return channel.amplitudes(level)

    def supports_exact_posterior(self, channel: NoiseChannel, radius: Optional[int], L: int) -> bool:
        """The Wiener filter (global) or the optimal r-local linear kernel, under ``y = a x + s z``."""
        return self._observes_field(channel) and (radius is None or 2 * radius + 1 <= L)

    def exact_posterior_mean(self, y: np.ndarray, channel: NoiseChannel, level: float, radius: Optional[int]) -> np.ndarray:
        a, s = self._amplitudes(channel, level)
        if radius is None:
            return theory.wiener_denoise(y, self.mass_sq, a, s)
        kernel, _ = theory.local_optimum(y.shape[-1], self.mass_sq, a, s, radius)
        return theory.apply_window_kernel(y, kernel)

    def exact_mmse(self, channel: NoiseChannel, level: float, L: int) -> Optional[float]:
        a, s = self._amplitudes(channel, level)
        return theory.mmse_torus(L, self.mass_sq, a, s)

    def exact_local_mse(self, channel: NoiseChannel, level: float, L: int, radius: int) -> Optional[float]:
        a, s = self._amplitudes(channel, level)
        return theory.local_optimum(L, self.mass_sq, a, s, radius)[1]

    def markov_length(self, channel: NoiseChannel, level: float) -> Optional[float]:
        a, s = self._amplitudes(channel, level)
        return theory.markov_length(self.mass_sq, a, s)
