"""Per-chain, counter-based random numbers for Numba kernels (reproducible under any threading).

Every Markov chain owns a 64-bit key derived from the user seed with
``np.random.SeedSequence(seed).generate_state``.  The random number number ``c``
of a chain is the SplitMix64 output ``mix64(key + c * GAMMA)`` (Steele, Lea &
Flood 2014; the SplitMix64 stream of state ``key`` advanced ``c`` steps), so a
kernel can draw the numbers of different sites *in any order, on any thread*
and still get the same value for the same (chain, counter).  This is what makes
the samplers bitwise reproducible for every ``NUMBA_NUM_THREADS``; Numba's
built-in ``np.random`` inside ``prange`` is not.

Streams of two chains are offsets of the single 2**64 SplitMix64 cycle; with
random keys the chance that two of ``k`` chains overlap within ``N`` draws is
about ``k**2 N / 2**64`` (< 1e-6 for 1e3 chains and 1e7 sweeps of 256**2 sites).

Conventions: every quantity is ``np.uint64``; mixing it with Python ints in
Numba would promote to float64, so constants are typed here.
"""

from __future__ import annotations

import numba as nb
import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@nb.njit(inline="always", cache=True)
def mix64(z):
    """The SplitMix64 output function (a bijection of uint64)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(inline="always", cache=True)
def random_u64(key, counter):
    """The ``counter``-th 64-bit output of the stream ``key`` (both uint64)."""
    return mix64(key + counter * GAMMA)


@nb.njit(inline="always", cache=True)
def random_u32(key, counter):
    """Upper 32 bits of :func:`random_u64`, as uint64 in [0, 2**32)."""
    return mix64(key + counter * GAMMA) >> _S32


@nb.njit(inline="always", cache=True)
def random_uniform(key, counter):
    """A double in [0, 1) with 53 random bits."""
    return float(mix64(key + counter * GAMMA) >> _S11) * _INV53


def chain_keys(seed: int, n_chains: int, purpose: int = 0) -> np.ndarray:
    """Independent uint64 keys, one per chain, from ``SeedSequence((seed, purpose))``.

    ``purpose`` separates streams used for different jobs (initial states,
    pilot runs, production) so that they never share numbers.
    """
    ss = np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, int(purpose)])
    return ss.generate_state(int(n_chains), dtype=np.uint64)


def probability_threshold_u32(p: float) -> np.uint64:
    """``floor(p * 2**32)`` clipped to [0, 2**32]: accept iff ``random_u32 < threshold``.

    The acceptance probability is then ``threshold / 2**32``, exact to 2**-32.
    """
    p = min(max(float(p), 0.0), 1.0)
    return np.uint64(min(int(p * 4294967296.0), 4294967296))
