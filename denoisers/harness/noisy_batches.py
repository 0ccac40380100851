"""Shared pieces for learned x0-prediction denoisers (torch).

Conventions (docs/physics.md, section 1):

* *data space* ``x``: what the model samples and what ``denoise`` returns
  (real, spin +-1 or binary 0/1);
* *encoded space* ``u``: what the channel acts on.  For the Gaussian channel
  ``u = 1 - 2 x`` when the channel encodes binary data as spins, else ``u = x``;
  for the bit-flip channel binary data are encoded as spins ``u = 1 - 2 x`` (a flip
  is ``u -> -u`` in both encodings) and spins are kept;
* *standardised space*: the network sees ``y' = (y - E[y]) / sd[y]`` per channel and
  predicts ``u' = (u - mu_u) / sd_u``; both moments are computed from the clean
  training data and the channel at the level, so the input scale is right at every
  level.  MSE training of ``u'`` gives the posterior mean ``E[u' | y]``, and the
  affine decoding maps it to ``E[x | y]``.

Training draws fresh noise every step from the clean training set, stratified over
the level grid, with per-level loss weights ``1 / mse_scalar(level)`` (the MSE of the
best per-site scalar linear estimate), so every level contributes on the same scale.
Randomness: a numpy generator (configuration indices) and a torch generator (noise)
both derived from ``seed`` by ``np.random.SeedSequence``; on CPU a fixed step count
gives bitwise-identical weights (one torch thread; :func:`set_torch_threads`).  A budget
is in reference seconds (:mod:`phasebench.denoisers.harness.budget`): the caller turns it into a step
count from the problem's shape, never from the clock, so the schedule and the result do not
depend on the machine's speed or load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from phasebench.lattice_models.channels import NoiseChannel

DATA_KINDS = ("real", "spin", "binary")


def set_torch_threads() -> int:
    """Threads for torch: PHASEBENCH_TORCH_THREADS if set, else 1.

    One thread makes training bitwise reproducible: with two, MKL-DNN's convolution gradients and
    MKL's products differ in the last bits between identical runs, and the difference grows through
    training.  It costs little at the suite's sizes, and members train side by side in worker processes
    instead (:mod:`phasebench.suites.parallel_fit`).  Inference uses one thread too (measured:
    docs/decisions/torch-threads.md).
    """
    import torch

    forced = os.environ.get("PHASEBENCH_TORCH_THREADS")
    n = 1
    if forced:
        try:
            n = int(forced)
        except ValueError:
            raise ValueError(f"PHASEBENCH_TORCH_THREADS must be a positive integer, got {forced!r}") from None
    n = max(1, min(n, 32))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def infer_data_kind(clean: np.ndarray, model=None) -> str:
    kind = getattr(model, "variable_type", None)
    if kind in DATA_KINDS:
        return kind
    if np.isin(clean, (0, 1)).all():
        return "binary"
    if np.isin(clean, (-1, 1)).all():
        return "spin"
    return "real"


@dataclass
class Standardiser:
    """Maps between data, encoded and standardised spaces for one channel (see module doc)."""

    channel: NoiseChannel
    kind: str
    mu: np.ndarray  # (C,) mean of u per channel
    sd: np.ndarray  # (C,) standard deviation of u per channel
    m2: np.ndarray  # (C,) second moment of u per channel

    @classmethod
    def from_data(cls, clean: np.ndarray, channel: NoiseChannel, kind: str) -> "Standardiser":
        if kind not in DATA_KINDS:
            raise ValueError(f"data kind must be one of {DATA_KINDS}, got {kind!r}")
        channel.check_variable_type(kind)
        self = cls(channel, kind, np.zeros(0), np.zeros(0), np.zeros(0))
        u = self.encode(np.asarray(clean, dtype=np.float64))
        self.mu = u.mean(axis=(0, 2, 3))
        self.sd = np.maximum(u.std(axis=(0, 2, 3)), 1e-12)
        self.m2 = (u * u).mean(axis=(0, 2, 3))
        return self

    @property
    def spin_encoded(self) -> bool:
        return self.channel.spin_encodes(self.kind)

    def encode(self, x):
        return 1.0 - 2.0 * x if self.spin_encoded else x

    def decode(self, u):
        return 0.5 * (1.0 - u) if self.spin_encoded else u

    def output_range(self):
        """Range of the encoded clean variable (for clipping a posterior mean), or None."""
        if self.kind == "real":
            return None
        return (-1.0, 1.0) if self.spin_encoded or self.kind == "spin" else (0.0, 1.0)

    def noisy_moments(self, level: float):
        """Per-channel mean and standard deviation of the noisy observation y at the level."""
        mean, var = self.channel.encoded_noisy_moments(level, self.mu, self.sd, self.m2)
        return mean, np.sqrt(np.maximum(var, 1e-12))

    def noisy_to_encoded(self, y: np.ndarray) -> np.ndarray:
        """The channel output in encoded space (bit-flip data of binary kind become spins)."""
        return self.channel.encode_observation(y, self.kind)

    def scalar_mse(self, level: float) -> np.ndarray:
        """Per-channel MSE, in standardised units, of the best per-site linear estimate of u' from y'."""
        cov = self.channel.encoded_gain(level) * self.sd * self.sd  # Cov(u, y) = g Var(u)
        _, sd_y = self.noisy_moments(level)
        rho = cov / (self.sd * sd_y)
        return np.maximum(1.0 - rho * rho, 1e-6)


def make_generators(seed: int, device: str):
    import torch

    np_seq, torch_seq = np.random.SeedSequence(int(seed)).spawn(2)
    rng = np.random.default_rng(np_seq)
    gen = torch.Generator(device=device)
    gen.manual_seed(int(torch_seq.generate_state(1, dtype=np.uint64)[0] & 0x7FFF_FFFF_FFFF_FFFF))
    return rng, gen


def training_groups(channel: NoiseChannel, levels: Sequence[float], conditions: Optional[np.ndarray] = None):
    """The groups a fit draws its batches from: ``(groups, subsets, features)``.

    Without ``conditions`` a group is a level (``subsets`` None); with them, every (level, condition) pair,
    whose configurations are those at that condition.  ``features`` holds each group's conditioning input:
    :meth:`NoiseChannel.level_feature`, or the pair (level feature, condition).
    """
    if conditions is None:
        return list(levels), None, [channel.level_feature(lv) for lv in levels]
    values = np.unique(conditions)
    groups = [lv for lv in levels for _ in values]
    subsets = [np.flatnonzero(conditions == c) for _ in levels for c in values]
    features = [(channel.level_feature(lv), float(c)) for lv in levels for c in values]
    return groups, subsets, features


def standardised_clean(clean: np.ndarray, std: Standardiser, dtype, device):
    """The clean training set in standardised encoded units ``u' = (u - mu_u) / sd_u``, a torch tensor."""
    import torch

    u = std.encode(np.asarray(clean, dtype=np.float64))
    u_std = (u - std.mu.reshape(1, -1, 1, 1)) / std.sd.reshape(1, -1, 1, 1)
    return torch.as_tensor(u_std, dtype=dtype, device=device)


class NoisyBatches:
    """Fresh noisy batches from a standardised clean set, per level of the grid.

    ``clean_u_std`` is the standardised encoded clean training set (torch tensor
    ``(n, C, L, L)``).  ``draw(k, b)`` returns ``(y_std, target)`` for group k (a level,
    or a (level, condition) pair whose configurations are ``subsets[k]``): b configurations
    drawn with the numpy generator, noise from the torch generator.
    ``weights[k]`` is the per-channel loss weight ``1 / scalar_mse``.
    """

    def __init__(self, clean_u_std, standardiser: Standardiser, levels: Sequence[float], seed: int, device: str,
                 subsets: Optional[Sequence[np.ndarray]] = None):
        import torch

        self.clean = clean_u_std
        self.subsets = None if subsets is None else [np.asarray(s, dtype=np.int64) for s in subsets]
        self.std = standardiser
        self.levels = list(levels)
        self.rng, self.gen = make_generators(seed, device)
        dtype = clean_u_std.dtype

        def col(v):
            return torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=dtype, device=device).view(1, -1, 1, 1)

        self.mu, self.sd = col(standardiser.mu), col(standardiser.sd)
        moments = [standardiser.noisy_moments(lv) for lv in self.levels]
        # per group, stacked (groups, C, 1, 1): the noisy observation's mean and inverse standard deviation
        self.shifts = torch.cat([col(mean_y) for mean_y, _ in moments])
        self.scales = torch.cat([col(1.0 / sd_y) for _, sd_y in moments])
        self.weights = [col(1.0 / standardiser.scalar_mse(lv)) for lv in self.levels]

    def _indices(self, k: int, batch: int) -> np.ndarray:
        if self.subsets is None:
            return self.rng.integers(0, self.clean.shape[0], size=batch)
        # group k draws only from its own configurations (e.g. one temperature)
        return self.subsets[k][self.rng.integers(0, len(self.subsets[k]), size=batch)]

    def draw(self, k: int, batch: int):
        """``(y_std, target)`` for ``batch`` configurations of group ``k``."""
        return self.draw_groups([k], batch)

    def draw_groups(self, groups, batch: int):
        """``draw`` for every group of ``groups`` in turn, concatenated, in a few tensor operations.

        The same numbers as the groups' draws one after the other (the configuration indices and
        the noise come from the generators in the same order; on CPU the bit flips of the whole batch are one
        serial stream of uniforms, and Gaussian noise is drawn per group), so a fit does not depend on which
        is used; this one launches a fixed number of kernels per step instead of some per group, and on a GPU
        the launches are what a step costs (measured: docs/decisions/gpu-training-and-workers.md).
        """
        import torch

        groups = [int(k) for k in groups]
        idx = np.concatenate([self._indices(k, batch) for k in groups])
        device = self.clean.device
        target = self.clean[torch.as_tensor(idx, device=device)]
        u = target * self.sd + self.mu
        rows = torch.as_tensor(np.repeat(groups, batch), device=device)
        y = self.std.channel.corrupt_torch(u, [self.levels[k] for k in groups], self.gen)
        return (y - self.shifts[rows]) * self.scales[rows], target


#: sites per forward pass in training: larger batches of small lattices run faster together, while
#: one batch of many large lattices falls out of cache (measured: docs/decisions/training-batching.md)
CHUNK_SITES = 8192
#: the same on a GPU, where a call costs its kernel launches whatever its size: a step's groups go through in
#: one call up to this many sites (a radius-6 toric member at 2^20 sites holds about 3 GB of activations)
CHUNK_SITES_GPU = 2**20


def chunk_sites(device: str = "cpu") -> int:
    """Sites per forward call in training on ``device`` (:data:`CHUNK_SITES`, :data:`CHUNK_SITES_GPU`)."""
    return CHUNK_SITES if str(device) == "cpu" else CHUNK_SITES_GPU


def groups_per_call(n_groups: int, batch: int, sites: int, chunk: int = CHUNK_SITES) -> int:
    """Groups that go through the network in one call: about ``chunk`` sites, evenly split."""
    n_calls = -(-n_groups // max(1, chunk // (batch * sites)))
    return -(-n_groups // n_calls)


def step_size(n_groups: int, groups_per_step: Optional[int]) -> int:
    """Groups drawn per step: ``groups_per_step``, at most all of them (all when None)."""
    return n_groups if groups_per_step is None else min(n_groups, int(groups_per_step))


def step_groups(n_groups: int, groups_per_step: Optional[int], rng) -> np.ndarray:
    """The groups of one step: all of them in order, or :func:`step_size` drawn without replacement by ``rng``
    (sorted).  Drawing nothing when every group is used keeps the generator's stream, and the fit, unchanged."""
    k = step_size(n_groups, groups_per_step)
    if k == n_groups:
        return np.arange(n_groups)
    return np.sort(rng.choice(n_groups, size=k, replace=False))


def sites_per_step_groups(n_groups: int, min_groups: int, batch: int, sites: int) -> int:
    """Groups per step for a fit over many groups: enough for about :data:`CHUNK_SITES` sites (one forward
    call), and at least ``min_groups`` (a level grid's worth), at most all of them.

    A conditioned fit has a group per (level, condition) pair; drawing every group at every step makes
    one step cost groups x L^2 sites, so the step count of a fixed budget falls as 1 / (groups L^2)
    (measured: docs/decisions/training-batching.md).  A random subset of a fixed number of sites per step keeps the step count
    near that of small lattices, and every group is still drawn about once per groups / subset steps.
    """
    per_call = max(1, CHUNK_SITES // max(1, batch * sites))
    return int(min(n_groups, max(min_groups, per_call)))
