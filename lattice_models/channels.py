"""Noise channels.

Every channel is parameterised by its schedule-free *level*:

* Gaussian channel ``y = a x + s z``: the signal-to-noise ratio ``lambda = a^2 / s^2``
  (``a = 1`` unless a schedule says otherwise);
* bit-flip channel: the flip probability ``p`` in ``[0, 1/2]``.

Schedules (:mod:`phasebench.lattice_models.schedules`) map a diffusion time ``t`` to ``(a, s)`` (or to
``p``); scores are always reported on ``lambda`` or ``p`` (docs/physics.md, section 1).  Noise draws
are seeded: the same seed gives the same noisy test set.

A channel answers everything that exact oracles and denoiser families need from it (site fields,
likelihoods, encodings, torch corruption, the level feature, ...), so no code outside this module
checks a channel's class (``tests/test_channels.py`` enforces it).
"""

from __future__ import annotations

import math
from typing import Any, Sequence, Tuple

import numpy as np
from scipy.special import expit

from .base import validate_positive
from .registry import Registry

CHANNELS: Registry[type] = Registry("channel")


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _clip_feature(f: float) -> float:
    return float(min(max(f, -12.0), 12.0))


class NoiseChannel:
    """A memoryless noise channel: each variable is corrupted independently, at a scalar level.

    Besides drawing noise (:meth:`corrupt`), a channel answers everything that the models' exact
    oracles and the denoiser families need from it, so that no caller branches on its class.
    Binary (0/1) and spin (+-1) variables are described by their *spin encoding*
    ``u = 1 - 2 x`` for bits (``u = x`` for spins); a memoryless channel then has the site
    likelihood ``P(y | u) ∝ exp(h(y) u)`` with the *site field* h (:meth:`spin_field`).
    """

    name = "?"
    level_name = "?"
    #: the data kinds ('real', 'spin', 'binary') the channel can corrupt
    variable_types: Tuple[str, ...] = ()
    #: True when the observations take the data's own discrete values (no continuous noise)
    discrete_observations = False
    #: True for ``y = a x + s z`` with Gaussian z: the Gaussian models' oracles (gff) apply
    additive_gaussian = False
    #: True when a larger level means more noise (p), False when it means less (the SNR lambda)
    noise_increases_with_level = True

    def validate_level(self, level: Any) -> float:
        raise NotImplementedError

    def amplitudes(self, level: float) -> Tuple[float, float]:
        """``(a, s)`` of an :attr:`additive_gaussian` channel ``y = a x + s z`` at the level."""
        raise NotImplementedError(f"the {self.name} channel is not additive Gaussian noise")

    def supports(self, variable_type: str) -> bool:
        """Whether the channel acts on data of this kind ('real', 'spin' or 'binary')."""
        return variable_type in self.variable_types

    def check_variable_type(self, variable_type: str) -> None:
        """ValueError unless the channel acts on data of this kind."""
        if not self.supports(variable_type):
            kinds = " or ".join(self.variable_types) or "no"
            raise ValueError(f"the {self.name} channel takes {kinds} data, not {variable_type!r}")

    def corrupt(self, x: np.ndarray, level: float, seed: Any, variable_type: str | None = None) -> np.ndarray:
        """Draw y given x (n, C, L, L); the same seed gives the same y."""
        raise NotImplementedError

    def linear_response(self, level: float, variable_type: str, mean_x: np.ndarray, var_x: np.ndarray):
        """Second-order statistics of ``y`` given those of ``x``, per channel of the data.

        Returns ``(gain, mean_y, var_y)`` such that, for every pair of variables
        u, v: ``Cov(y_u, x_v) = gain Cov(x_u, x_v)``, ``Cov(y_u, y_v) = gain^2
        Cov(x_u, x_v)`` for u != v, and ``Var(y_u) = var_y``.  This is all the
        empirical linear (Wiener) denoiser needs.
        """
        raise NotImplementedError

    # -- likelihoods of binary and spin variables (exact oracles) -----------------------------
    def channel_input(self, x: np.ndarray, variable_type: str) -> np.ndarray:
        """The clean values the channel acts on (what :meth:`log_likelihood` compares y with)."""
        return x

    def spin_field(self, y: np.ndarray, level: float, variable_type: str) -> np.ndarray:
        """Site field h with ``P(y | u) ∝ exp(h u)``, u the spin encoding of a 'spin' or 'binary' variable."""
        raise NotImplementedError(f"the {self.name} channel has no site field")

    def log_likelihood(self, states: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
        """``log p(y | state)`` up to a constant for every state (rows, as :meth:`channel_input` gives them)."""
        raise NotImplementedError(f"the {self.name} channel has no likelihood")

    def binary_log_likelihood_ratio(self, y: np.ndarray, level: float) -> np.ndarray:
        """``log P(y | x = 1) - log P(y | x = 0)`` per binary variable."""
        raise NotImplementedError(f"the {self.name} channel has no likelihood")

    def binary_likelihood(self, y: np.ndarray, level: float) -> np.ndarray:
        """Normalised likelihood ``q = P(y | x = 1) / sum_x P(y | x)`` per binary variable: expit of the log ratio."""
        return expit(self.binary_log_likelihood_ratio(y, level))

    # -- learned denoisers: the encoded space u of :mod:`phasebench.denoisers.harness.noisy_batches` ----------
    def spin_encodes(self, variable_type: str) -> bool:
        """Whether learned denoisers work on the spin encoding ``u = 1 - 2 x`` of the data (else ``u = x``)."""
        raise NotImplementedError

    def encode_observation(self, y: np.ndarray, variable_type: str) -> np.ndarray:
        """The observation in the encoded space (float64)."""
        return np.asarray(y, dtype=np.float64)

    def encoded_gain(self, level: float) -> float:
        """g with ``E[y_enc | u] = g u`` in the encoded space."""
        raise NotImplementedError

    def encoded_noisy_moments(self, level: float, mu: np.ndarray, sd: np.ndarray, m2: np.ndarray):
        """Mean and variance of the encoded observation per data channel, from the mean ``mu``, standard
        deviation ``sd`` and second moment ``m2`` of the encoded clean variable."""
        raise NotImplementedError

    def corrupt_torch(self, u, levels: Sequence[float], generator):
        """Encoded observation for encoded clean ``u`` (torch), noise from ``generator``: ``u`` holds
        ``len(levels)`` equal blocks of rows, block i corrupted at ``levels[i]``."""
        raise NotImplementedError

    def level_feature(self, level: float) -> float:
        """Scalar conditioning feature of the level for learned denoisers, clipped to +-12."""
        raise NotImplementedError

    def spin_field_gain(self, level: float) -> float:
        """g with site field ``g y_enc`` of an encoded +-1 variable (the Bayes output of learned denoisers)."""
        raise NotImplementedError(f"the {self.name} channel has no site field")

    def single_site_mmse(self, level: float) -> float:
        """MMSE of a uniform +-1 variable from its own observation alone."""
        raise NotImplementedError(f"the {self.name} channel has no site field")

    def to_dict(self) -> dict:
        return {"name": self.name, "level": self.level_name}


@CHANNELS.register("gaussian")
class GaussianChannel(NoiseChannel):
    """``y = a x + s z`` with ``z ~ N(0, 1)`` and ``lambda = a^2 / s^2``.

    Binary (0/1) data are first encoded as spins ``1 - 2 x`` when
    ``encode_binary_as_spin`` is set (the toric-code convention); the channel then takes binary data only.
    """

    level_name = "lambda"
    additive_gaussian = True
    noise_increases_with_level = False

    def __init__(self, a: float = 1.0, encode_binary_as_spin: bool = False):
        if not (math.isfinite(a) and a > 0):
            raise ValueError(f"Gaussian channel amplitude a must be > 0, got {a!r}")
        self.a = float(a)
        self.encode_binary_as_spin = bool(encode_binary_as_spin)

    @property
    def variable_types(self) -> Tuple[str, ...]:
        return ("binary",) if self.encode_binary_as_spin else ("real", "spin", "binary")

    def check_variable_type(self, variable_type: str) -> None:
        if self.encode_binary_as_spin and variable_type != "binary":
            raise ValueError(f"the Gaussian channel with encode_binary_as_spin=True takes binary data; {variable_type} "
                             "data need a Gaussian channel with encode_binary_as_spin=False")
        super().check_variable_type(variable_type)

    def validate_level(self, level: Any) -> float:
        return validate_positive(level, "noise level lambda")

    def amplitudes(self, level: float) -> Tuple[float, float]:
        lam = self.validate_level(level)
        return self.a, self.a / math.sqrt(lam)

    def corrupt(self, x: np.ndarray, level: float, seed: Any, variable_type: str | None = None) -> np.ndarray:
        a, s = self.amplitudes(level)
        x = np.asarray(x, dtype=np.float64)
        if self.encode_binary_as_spin:
            x = 1.0 - 2.0 * x
        return a * x + s * _rng(seed).standard_normal(x.shape)

    def linear_response(self, level, variable_type, mean_x, var_x):
        a, s = self.amplitudes(level)
        mean_x, var_x = np.asarray(mean_x, float), np.asarray(var_x, float)
        if self.encode_binary_as_spin:  # y = a (1 - 2x) + s z
            return -2.0 * a, a * (1.0 - 2.0 * mean_x), 4.0 * a * a * var_x + s * s
        return a, a * mean_x, a * a * var_x + s * s

    def channel_input(self, x, variable_type):
        """``1 - 2 x`` for binary data when the channel encodes them as spins, else x."""
        return 1.0 - 2.0 * np.asarray(x, dtype=np.float64) if self.spin_encodes(variable_type) else x

    def spin_field(self, y, level, variable_type):
        """``h = a y / s^2`` when the channel acts on u itself (spins, or bits encoded as spins); for plain bits,
        ``y = a (1 - u) / 2 + s z`` gives ``h = a (a - 2 y) / (4 s^2)``."""
        self.check_variable_type(variable_type)
        a, sigma = self.amplitudes(level)
        y = np.asarray(y, dtype=np.float64)
        if variable_type == "spin" or self.encode_binary_as_spin:
            return a * y / (sigma * sigma)
        return a * (a - 2.0 * y) / (4.0 * sigma * sigma)

    def log_likelihood(self, states, y, level):
        """``-|y - a state|^2 / (2 s^2)`` per state (states as :meth:`channel_input` gives them)."""
        a, sigma = self.amplitudes(level)
        s = states.reshape(len(states), -1).astype(np.float64)
        y = y.reshape(-1).astype(np.float64)
        return -((y - a * s) ** 2).sum(axis=1) / (2.0 * sigma * sigma)

    def binary_log_likelihood_ratio(self, y, level):
        """``((y - mu_0)^2 - (y - mu_1)^2) / (2 s^2)`` with ``mu_x`` = a times the channel input of x."""
        a, s = self.amplitudes(level)
        mu0, mu1 = (a, -a) if self.encode_binary_as_spin else (0.0, a)
        y = np.asarray(y).astype(np.float64)
        return ((y - mu0) ** 2 - (y - mu1) ** 2) / (2.0 * s * s)

    def spin_encodes(self, variable_type):
        """Bits are encoded as spins exactly when the channel does so itself (then y = a u + s z)."""
        return variable_type == "binary" and self.encode_binary_as_spin

    def encoded_gain(self, level):
        """``E[y | u] = a u``."""
        return self.amplitudes(level)[0]

    def encoded_noisy_moments(self, level, mu, sd, m2):
        """``E[y] = a mu``, ``Var[y] = a^2 sd^2 + s^2``."""
        a, s = self.amplitudes(level)
        return a * mu, a * a * sd * sd + s * s

    def corrupt_torch(self, u, levels, generator):
        """``a u + s z`` block by block (torch's CPU normal sampler transforms its uniforms in blocks of 16,
        so one draw per block keeps a block's noise independent of the others)."""
        import torch

        rows = u.shape[0] // len(levels)
        out = []
        for i, level in enumerate(levels):
            a, s = self.amplitudes(level)
            block = u[i * rows:(i + 1) * rows]
            out.append(a * block + s * torch.randn(block.shape, generator=generator, device=u.device, dtype=u.dtype))
        return out[0] if len(out) == 1 else torch.cat(out)

    def level_feature(self, level):
        """``log lambda``."""
        return _clip_feature(math.log(level))

    def spin_field_gain(self, level):
        """``a / s^2`` (the site field of ``y = a u + s z`` is ``a y / s^2``)."""
        a, s = self.amplitudes(level)
        return a / (s * s)

    def single_site_mmse(self, level):
        """``1 - E[tanh(lambda + sqrt(lambda) z)]`` (Nishimori identity E[u tanh(eta)] = E[tanh(eta)^2];
        ``eta = a y / s^2 = lambda u + sqrt(lambda) z``), by Gauss-Hermite quadrature."""
        z, w = np.polynomial.hermite_e.hermegauss(120)
        return float(max(1.0 - (w @ np.tanh(level + math.sqrt(level) * z)) / w.sum(), 1e-12))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "a": self.a, "encode_binary_as_spin": self.encode_binary_as_spin}


@CHANNELS.register("bitflip")
class BitFlipChannel(NoiseChannel):
    """Flip each variable independently with probability ``p`` in ``[0, 1/2]``.

    Works on binary (0/1) and spin (+-1) data; the output keeps the encoding.  In the spin encoding
    a flip is ``u -> -u`` and ``P(y | u) = exp(J u y) / (2 cosh J)`` with ``tanh J = 1 - 2p``
    (the Nishimori coupling ``J = atanh(1 - 2p) = log((1 - p) / p) / 2``).
    """

    level_name = "p"
    variable_types = ("spin", "binary")
    discrete_observations = True
    #: cap on the learned denoisers' gain J (p -> 0): tanh(12 y) = y to 1e-10
    MAX_FIELD_GAIN = 12.0

    def validate_level(self, level: Any) -> float:
        try:
            p = float(level)
        except (TypeError, ValueError):
            raise ValueError(f"flip probability p must be a number in [0, 0.5], got {level!r}") from None
        if not (0.0 <= p <= 0.5):
            raise ValueError(f"flip probability p must be in [0, 0.5], got {level!r}")
        return p

    def check_variable_type(self, variable_type: str) -> None:
        if not self.supports(variable_type):
            raise ValueError(f"the bit-flip channel needs binary (0/1) or spin (+-1) data, got {variable_type} data")

    def corrupt(self, x: np.ndarray, level: float, seed: Any, variable_type: str | None = None) -> np.ndarray:
        """Flip with probability p.  ``variable_type`` ('spin' or 'binary') resolves the
        ambiguity of all-ones data; by default any -1 means spins, else bits."""
        p = self.validate_level(level)
        x = np.asarray(x)
        if variable_type is None:
            variable_type = "spin" if (x == -1).any() else "binary"
        allowed = {"spin": (-1, 1), "binary": (0, 1)}.get(variable_type)
        if allowed is None or not np.isin(x, allowed).all():
            raise ValueError("the bit-flip channel needs binary (0/1) or spin (+-1) data")
        flips = _rng(seed).random(x.shape) < p
        flipped = -x if variable_type == "spin" else 1 - x
        return np.where(flips, flipped, x).astype(np.int8)

    def linear_response(self, level, variable_type, mean_x, var_x):
        q = 1.0 - 2.0 * self.validate_level(level)
        mean_x = np.asarray(mean_x, float)
        if variable_type == "spin":  # y = eta x with E[eta] = q
            mean_y = q * mean_x
            return q, mean_y, 1.0 - mean_y**2
        if variable_type == "binary":  # 1 - 2y = eta (1 - 2x)
            mean_y = 0.5 - q * (0.5 - mean_x)
            return q, mean_y, mean_y * (1.0 - mean_y)
        raise ValueError(f"the bit-flip channel needs spin or binary data, not {variable_type!r}")

    def spin_field(self, y, level, variable_type):
        """``h = J u_y`` with u_y the spin encoding of the observation: ``y atanh(1 - 2p)`` for spins,
        ``J (1 - 2 y)`` with ``J = log((1 - p) / p) / 2`` for bits (+-inf at p = 0).  The two forms are equal
        up to rounding; each is the one its oracle was validated with."""
        self.check_variable_type(variable_type)
        p = self.validate_level(level)
        y = np.asarray(y, dtype=np.float64)
        if variable_type == "spin":
            if not np.isin(y, (-1.0, 1.0)).all():
                raise ValueError("bit-flip observations of spins must be +-1")
            with np.errstate(divide="ignore"):
                return y * np.arctanh(1.0 - 2.0 * p)
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("bit-flip observations of binary variables must be 0/1")
        k_nishimori = np.inf if p == 0.0 else 0.5 * np.log((1.0 - p) / p)
        return k_nishimori * (1.0 - 2.0 * y)

    def log_likelihood(self, states, y, level):
        """``#flips log p + #kept log(1 - p)`` with flips = (state != y); -inf for impossible states at p = 0."""
        s = states.reshape(len(states), -1).astype(np.float64)
        y = y.reshape(-1).astype(np.float64)
        p = self.validate_level(level)
        flips = (s != y).sum(axis=1)
        keep = s.shape[1] - flips
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(flips > 0, flips * np.log(p), 0.0) + np.where(keep > 0, keep * np.log1p(-p), 0.0)

    def _binary_observations(self, y, level):
        p = self.validate_level(level)
        y = np.asarray(y)
        if not np.isin(y, (0, 1)).all():
            raise ValueError("bit-flip observations y of binary variables must be 0/1")
        return p, y

    def binary_log_likelihood_ratio(self, y, level):
        """``+-log((1 - p) / p)``, positive where y = 1 (+-inf at p = 0)."""
        p, y = self._binary_observations(y, level)
        with np.errstate(divide="ignore"):
            magnitude = np.log1p(-p) - np.log(p)
        return np.where(y == 1, magnitude, -magnitude)

    def binary_likelihood(self, y, level):
        """``1 - p`` where y = 1, p where y = 0 (exact at p = 0)."""
        p, y = self._binary_observations(y, level)
        return np.where(y == 1, 1.0 - p, p)

    def spin_encodes(self, variable_type):
        """Bits are encoded as spins (a flip is ``u -> -u`` in both encodings); spins are kept."""
        return variable_type == "binary"

    def encode_observation(self, y, variable_type):
        """``1 - 2 y`` for bits, y for spins: the channel keeps the data's encoding."""
        y = np.asarray(y, dtype=np.float64)
        return 1.0 - 2.0 * y if variable_type == "binary" else y

    def encoded_gain(self, level):
        """``E[y | u] = (1 - 2p) u``."""
        return 1.0 - 2.0 * level

    def encoded_noisy_moments(self, level, mu, sd, m2):
        """``E[y] = (1 - 2p) mu``, ``Var[y] = E[u^2] - E[y]^2`` (``y^2 = u^2``)."""
        mean = self.encoded_gain(level) * mu
        return mean, m2 - mean * mean

    def corrupt_torch(self, u, levels, generator):
        """``-u`` with probability p: one stream of uniforms for all blocks, compared with each row's level."""
        import torch

        rows = u.shape[0] // len(levels)
        row_levels = np.repeat(np.asarray(levels, dtype=np.float64), rows)
        row_levels = torch.as_tensor(row_levels, dtype=u.dtype, device=u.device).view(-1, 1, 1, 1)
        flips = torch.rand(u.shape, generator=generator, device=u.device, dtype=u.dtype) < row_levels
        return torch.where(flips, -u, u)

    def level_feature(self, level):
        """``atanh(1 - 2p)`` (+inf at p = 0, clipped)."""
        return _clip_feature(math.atanh(1.0 - 2.0 * level) if level > 0 else math.inf)

    def spin_field_gain(self, level):
        """``J = log((1 - p) / p) / 2 = atanh(1 - 2p)``, at most :attr:`MAX_FIELD_GAIN`."""
        if level <= 0:
            return self.MAX_FIELD_GAIN
        return min(0.5 * math.log((1.0 - level) / level), self.MAX_FIELD_GAIN)

    def single_site_mmse(self, level):
        """``1 - (1 - 2p)^2 = 4 p (1 - p)``."""
        return float(max(4.0 * level * (1.0 - level), 1e-12))


def make_channel(name: str, **options: Any) -> NoiseChannel:
    return CHANNELS.get(name)(**options)


def as_channel(channel: Any) -> NoiseChannel:
    """A channel object from a channel or its registered name ('gaussian', 'bitflip')."""
    if isinstance(channel, str):
        return make_channel(channel)
    if isinstance(channel, NoiseChannel):
        return channel
    raise ValueError(f"channel must be a registered channel name ({', '.join(CHANNELS.names())}) or a channel object, "
                     f"got {channel!r}")
