"""The ``linear`` family: the empirical r-local Wiener filter.

``fit`` measures the clean data's mean and two-point function
``C(c, c', d) = Cov(x_c(i), x_c'(i + d))`` (translation invariant, averaged
over every site of every training configuration by FFT).  The channel's
linear response (:meth:`NoiseChannel.linear_response`) turns it into the
second-order statistics of ``(x, y)``, and the best affine estimator of
``x_c(i)`` from the radius-r window of ``y`` follows by one dense solve per
level.  Because only the clean two-point function is estimated, the filter is
available at *any* noise level, and its excess error depends only on the
data's two-point function.  The global member (``radius=None``, or a window
that covers the torus) is the same filter over the whole torus, solved per
Fourier mode.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from phasebench.lattice_models.geometry import apply_window_kernel, window_offsets

from .base import DENOISERS, DenoiserFamily

RIDGE = 1e-10  # relative diagonal loading for singular statistics (e.g. p = 0)


@DENOISERS.register("linear")
class LinearWiener(DenoiserFamily):
    description = "empirical r-local Wiener filter from the clean two-point function"
    nested_projections = True  # r-local affine filters are a subspace of the global ones
    trainable = True
    hyperparameters = ()

    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        x = np.asarray(clean_train, dtype=np.float64)
        n, C, L, _ = x.shape
        self.variable_type_ = getattr(model, "variable_type", None) or _guess_variable_type(x)
        self.mean_ = x.mean(axis=(0, 2, 3))
        F = np.fft.fft2(x - self.mean_[None, :, None, None])
        # cross[c, c'](k) = mean_n conj(F_c) F_c'  ->  C(c, c', d) = E[x_c(i) x_c'(i + d)]
        cross = np.einsum("nakl,nbkl->abkl", F.conj(), F) / (n * L * L)
        self.two_point_ = np.fft.ifft2(cross).real
        self._weights: Dict[float, np.ndarray] = {}
        for level in levels:
            self._filter(level)

    def _response(self, level: float):
        var_x = np.array([self.two_point_[c, c, 0, 0] for c in range(len(self.mean_))])
        return self.channel_.linear_response(level, self.variable_type_, self.mean_, var_x), var_x

    def _filter(self, level: float) -> np.ndarray:
        if level in self._weights:
            return self._weights[level]
        (gain, mean_y, var_y), var_x = self._response(level)
        nugget = np.broadcast_to(var_y - gain * gain * var_x, self.mean_.shape)
        C = len(self.mean_)
        L = self.L_
        if self.covers_torus():
            # Fourier multiplier M(k) = sum_d C(d) e^{ikd}; xhat(k) = g M (g^2 M + D)^{-1} y(k)
            M = np.moveaxis(np.fft.ifft2(self.two_point_) * (L * L), (0, 1), (-2, -1))  # (L, L, C, C)
            A = gain * gain * M + np.diag(nugget + RIDGE * var_x.mean())
            H = gain * np.linalg.solve(np.swapaxes(A, -1, -2), np.swapaxes(M, -1, -2))
            weights = np.swapaxes(H, -1, -2)  # (L, L, C_out, C_in)
        else:
            off = window_offsets(self.radius)
            K = len(off)
            diff = off[None, :, :] - off[:, None, :]  # d_k2 - d_k1
            Cd = self.two_point_[:, :, diff[..., 0] % L, diff[..., 1] % L]  # (C, C, K, K)
            S_yy = gain * gain * np.transpose(Cd, (0, 2, 1, 3)).reshape(C * K, C * K)
            S_yy[np.diag_indices_from(S_yy)] += np.repeat(nugget, K) + RIDGE * var_x.mean()
            # S_yx[(c1, k), c0] = g C(c0, c1, d_k)
            S_yx = gain * self.two_point_[:, :, off[:, 0] % L, off[:, 1] % L]  # (C0, C1, K)
            S_yx = np.transpose(S_yx, (1, 2, 0)).reshape(C * K, C)
            w = np.linalg.solve(S_yy, S_yx)  # (C1*K, C0)
            side = 2 * self.radius + 1
            weights = w.T.reshape(C, C, side, side)
        self._weights[level] = (weights, np.asarray(mean_y, dtype=np.float64) * np.ones(C))
        return self._weights[level]

    def _denoise(self, y, level):
        weights, mean_y = self._filter(level)
        yc = np.asarray(y, dtype=np.float64) - mean_y[None, :, None, None]
        C = yc.shape[1]
        if self.covers_torus():
            Y = np.fft.fft2(yc)
            out = np.fft.ifft2(np.einsum("klab,nbkl->nakl", weights, Y)).real
        else:
            out = np.zeros_like(yc)
            for c0 in range(C):
                for c1 in range(C):
                    out[:, c0] += apply_window_kernel(yc[:, c1], weights[c0, c1])
        return out + self.mean_[None, :, None, None]

    @property
    def n_params(self) -> int:
        C = len(getattr(self, "mean_", [0]))
        side = self.L_ if self.covers_torus() else 2 * self.radius + 1
        return C * C * side * side + C

    @property
    def flops_per_site(self) -> float:
        C = len(getattr(self, "mean_", [0]))
        if self.covers_torus():
            return float(C * C * 5 * np.log2(max(self.L_, 2)) * 2)
        return float(C * C * (2 * self.radius + 1) ** 2)


def _guess_variable_type(x: np.ndarray) -> str:
    if np.isin(x, (-1, 1)).all():
        return "spin"
    if np.isin(x, (0, 1)).all():
        return "binary"
    return "real"
