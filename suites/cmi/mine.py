"""The seed paper's neural CMI estimator (MINE), as the baseline the exact estimators are measured against.

Donsker-Varadhan: for any critic T, I(U; V) >= E_P[T(u, v)] - ln E_{P_U x P_V}[e^{T(u, v)}] (Belghazi et al.,
arXiv 1801.04062), with equality at T = ln dP/d(P_U x P_V) + const.  A small MLP critic is trained to maximise
the bound on a training split; the bound is then evaluated on a held-out split (samples of the product of
marginals: V paired with a shuffled U), so the reported value is not inflated by fitting the training noise.
The CMI is the difference of two such estimates, I(A:C|B) = I(A:BC) - I(A:B) (chain rule), A = y_A one site,
B its radius-r window minus A, C the rest of the torus.  The two terms are estimated independently, so their
errors add: the CMI of a local window is orders of magnitude below either term, which is the weakness that
the closed form (``exact``) and the I-MMSE estimator (``immse``) remove.

C is truncated to the radius-``outer`` window (default 6) to keep the critic's input small: the CMI with the
truncated C is a lower bound of the full one, computed exactly beside it
(:func:`phasebench.suites.cmi.gaussian_field` conditionals), and the gap is the CMI beyond radius ``outer``.

Samples: every configuration is rolled so that a site chosen at random sits at the origin (translation
invariance), giving one (A, rest) pair per configuration and site draw.  CPU, one torch thread.
"""

from __future__ import annotations

import math
import time
from typing import Dict

import numpy as np

from phasebench.lattice_models.geometry import window_offsets

HIDDEN = 64
STEPS = 300
BATCH = 256
LR = 1e-3


def site_pairs(y: np.ndarray, sites_per_config: int, seed: int):
    """``(a, rest)``: y_A (m,) and the other L^2 - 1 sites in raster order from A (m, L^2 - 1), A at random."""
    y = np.asarray(y, dtype=np.float32)
    n, L, _ = y.shape
    rng = np.random.default_rng(seed)
    shifts = rng.integers(0, L, size=(n, sites_per_config, 2))
    rolled = np.stack([np.roll(y[k], (-i, -j), axis=(0, 1)) for k in range(n) for i, j in shifts[k]])
    flat = rolled.reshape(len(rolled), L * L)
    return flat[:, 0], flat[:, 1:]


def window_columns(L: int, r: int) -> np.ndarray:
    """Columns of ``rest`` (raster order from A, A removed) that hold B, the radius-r window minus A."""
    off = window_offsets(r)
    off = off[np.any(off != 0, axis=1)]
    return (off[:, 0] % L) * L + (off[:, 1] % L) - 1


def dv_mutual_information(u: np.ndarray, v: np.ndarray, split: float, seed: int, steps: int = STEPS) -> float:
    """The Donsker-Varadhan estimate of I(u; v) in nats: critic trained on the first ``split`` of the rows,
    bound evaluated on the rest (marginal samples: v with u shuffled)."""
    import torch

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(seed)
    u = torch.as_tensor(np.asarray(u, dtype=np.float32)).reshape(len(u), -1)
    v = torch.as_tensor(np.asarray(v, dtype=np.float32)).reshape(len(v), -1)
    mean, sd = v.mean(0), v.std(0) + 1e-6
    v = (v - mean) / sd
    u = (u - u.mean(0)) / (u.std(0) + 1e-6)
    n_train = int(split * len(u))
    if not 2 * BATCH <= n_train <= len(u) - BATCH:
        raise ValueError(f"need at least {2 * BATCH} training and {BATCH} held-out pairs, got {len(u)} with split {split}")
    torch.manual_seed(seed)
    critic = torch.nn.Sequential(torch.nn.Linear(u.shape[1] + v.shape[1], HIDDEN), torch.nn.ReLU(),
                                 torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1))
    opt = torch.optim.Adam(critic.parameters(), lr=LR)

    def bound(ui, vi, u_shuffled):
        joint = critic(torch.cat([ui, vi], 1)).mean()
        marg = critic(torch.cat([u_shuffled, vi], 1)).squeeze(1)
        return joint - (torch.logsumexp(marg, 0) - math.log(len(marg)))

    for _ in range(steps):
        idx = torch.randint(0, n_train, (BATCH,), generator=gen)
        perm = idx[torch.randperm(BATCH, generator=gen)]
        loss = -bound(u[idx], v[idx], u[perm])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        held_u, held_v = u[n_train:], v[n_train:]
        perm = torch.randperm(len(held_u), generator=gen)
        return float(bound(held_u, held_v, held_u[perm]))


def mine_cmi(y: np.ndarray, radii, seed: int, outer: int = 6, sites_per_config: int = 16, split: float = 0.7,
             steps: int = STEPS) -> Dict[str, object]:
    """I(A:BC) (C within radius ``outer``), I(A:B) per radius and their differences, the CMIs, from noisy
    fields ``y`` (n, L, L); and the wall time.  One critic for I(A:BC) serves every radius."""
    L = y.shape[-1]
    if any(not 0 < r < outer for r in radii) or 2 * outer + 1 > L:
        raise ValueError(f"radii must lie in (0, outer={outer}) and 2 outer + 1 <= L={L}, got {list(radii)}")
    t0 = time.perf_counter()
    a, rest = site_pairs(y, sites_per_config, seed)
    i_abc = dv_mutual_information(a, rest[:, window_columns(L, outer)], split, seed, steps)
    i_ab = {int(r): dv_mutual_information(a, rest[:, window_columns(L, r)], split, seed + 1 + k, steps)
            for k, r in enumerate(radii)}
    return {"cmi": {r: i_abc - v for r, v in i_ab.items()}, "i_a_bc": i_abc, "i_a_b": i_ab,
            "wall_seconds": time.perf_counter() - t0}
