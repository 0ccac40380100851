"""Exact least-squares refit of the ``cnn`` family's linear readout (skip-kernel generator and head).

With the trunk and the level embedding fixed, the network output is linear in the readout
parameters, so they can be solved exactly on fresh noise instead of by SGD
(:class:`phasebench.denoisers.cnn.CNNDenoiser`, linear output).

Per site the output at level ``l`` is ``K_l . patch + H h + b_h`` with the skip kernel
``K_l = W_s [e_l, 1]`` generated from the level embedding ``e_l``.  Two equivalent solves:

* *generator* (as many levels as embedding dimensions or more): the unknowns are
  ``theta = [W_s, H, b_h]``, ``P (E + 1) + W + 1`` of them; the normal matrix is assembled
  from the per-level Grams of ``z = [patch, h, 1]`` with Kronecker products (no dense lift);
* *per-level kernels* (fewer levels ``n`` than ``E + 1``, such as the toric grid): every tuple
  of kernels ``(K_1 .. K_n)`` is then reachable (the embeddings are generically independent),
  so the same minimum is found over ``[K_1 .. K_n, H, b_h]``, ``n P + W + 1`` unknowns (3751
  instead of 11187 for the toric code at r = 6), and lifted back to the generator nearest the
  trained one: ``W_s = W_0 + (K - W_0 E_1) pinv(E_1)``.

Both add the ridge ``rho |. - ._0|^2`` (rho = 1e-7 of the mean diagonal) towards the trained
weights, in the directions the data do not determine.

The refit needs only the readout's shape: a trunk, a 1x1 head and a level-generated radius-r skip
(``net.trunk_features``, ``net.padded``, ``net.head``, ``net.skip``, ``net.radius``), so the
``patch_mlp``, ``attention`` and ``unet`` networks (:mod:`phasebench.denoisers.harness.conditioned_net`) use it too,
through :func:`polish_readout`.
"""

from __future__ import annotations

import time

import numpy as np

from ..harness.budget import refit_configs

#: ridge strength relative to the mean diagonal of the normal matrix
RIDGE = 1e-7


def accumulate_grams(net, batches, features, n_configs: int, chunk: int):
    """Per-level Gram ``sum z z^T`` and ``sum z t^T`` of ``z = [patch, h, 1]`` on fresh noise.

    Draws ``n_configs`` configurations per level in rounds of ``chunk``; returns (grams, rhs).
    """
    import torch
    import torch.nn.functional as F

    C, k = net.channels, 2 * net.radius + 1
    grams, rhs, drawn = [0.0] * len(features), [0.0] * len(features), 0
    with torch.no_grad():
        while drawn < n_configs:
            b = min(chunk, n_configs - drawn)
            for k_lv in range(len(features)):
                y, target = batches.draw(k_lv, b)
                h, _ = net.trunk_features(y, features[k_lv])
                patches = F.unfold(net.padded(y), kernel_size=k)  # (b, P, L*L)
                ones = torch.ones_like(patches[:, :1])
                z = torch.cat([patches, h.flatten(2), ones], dim=1).transpose(1, 2).reshape(-1, patches.shape[1] + h.shape[1] + 1)
                z = z.double()
                t = target.flatten(2).transpose(1, 2).reshape(-1, C).double()
                grams[k_lv] = grams[k_lv] + (z.T @ z).cpu().numpy()
                rhs[k_lv] = rhs[k_lv] + (z.T @ t).cpu().numpy()
            drawn += b
    return grams, rhs


def _ridge_solve(A: np.ndarray, v: np.ndarray, x0: np.ndarray) -> np.ndarray:
    from scipy.linalg import solve

    rho = RIDGE * np.mean(np.diag(A))
    return solve(A + rho * np.eye(len(A)), v + rho * x0, assume_a="pos")


def solve_generator(grams, rhs, weights, embeds, K0, g0, c: int):
    """Channel c's generator ``W_s`` (P, E+1) and head ``g`` (W+1,) by least squares over theta."""
    P, E1 = K0.shape
    A = np.zeros((P * E1 + len(g0),) * 2)
    v = np.zeros(len(A))
    s = P * E1
    for G, r, w, e1 in zip(grams, rhs, weights, embeds):
        A[:s, :s] += w * np.kron(G[:P, :P], np.outer(e1, e1))  # theta index of W_s[p, j] is p (E+1) + j
        A[:s, s:] += w * np.kron(G[:P, P:], e1[:, None])
        A[s:, s:] += w * G[P:, P:]
        v[:s] += w * np.kron(r[:P, c], e1)
        v[s:] += w * r[P:, c]
    A[s:, :s] = A[:s, s:].T
    theta = _ridge_solve(A, v, np.concatenate([K0.ravel(), g0]))
    return theta[:s].reshape(P, E1), theta[s:]


def solve_per_level(grams, rhs, weights, embeds, K0, g0, c: int):
    """The same minimum over per-level kernels ``K_l`` and the head, lifted to the nearest generator."""
    P, E1 = K0.shape
    n = len(grams)
    s = n * P
    A = np.zeros((s + len(g0),) * 2)
    v = np.zeros(len(A))
    E = np.stack(embeds, axis=1)  # (E+1, n)
    for l, (G, r, w) in enumerate(zip(grams, rhs, weights)):
        blk = slice(l * P, (l + 1) * P)
        A[blk, blk] = w * G[:P, :P]
        A[blk, s:] = w * G[:P, P:]
        A[s:, blk] = A[blk, s:].T
        A[s:, s:] += w * G[P:, P:]
        v[blk] = w * r[:P, c]
        v[s:] += w * r[P:, c]
    kernels0 = K0 @ E  # (P, n): the trained kernels at the levels
    x = _ridge_solve(A, v, np.concatenate([kernels0.T.ravel(), g0]))
    kernels = x[:s].reshape(n, P).T
    return K0 + (kernels - kernels0) @ np.linalg.pinv(E), x[s:]


def _sizes(net):
    """(P, H): skip-patch entries per site, and head inputs plus its bias."""
    return net.channels * (2 * net.radius + 1) ** 2, net.head.in_channels + 1


def n_regressors(net) -> int:
    """Length of the per-site regressor ``z = [patch, h, 1]``."""
    P, H = _sizes(net)
    return P + H


def n_unknowns(net, n_groups: int) -> int:
    """Unknowns per channel of the refit's solve (per-level kernels when there are fewer groups than
    embedding dimensions plus one, else the generator) and the head."""
    P, H = _sizes(net)
    return min(n_groups, net.skip.in_features + 1) * P + H


def refit_readout(net, batches, features, n_configs: int, chunk: int) -> None:
    """Exact weighted least squares for the readout (skip-kernel generator and 1x1 head), in place,
    on ``n_configs`` fresh configurations per level (:func:`accumulate_grams`); level ``l``'s squared
    error is weighted by ``batches.weights[l]`` (per channel)."""
    import torch

    grams, rhs = accumulate_grams(net, batches, features, n_configs, chunk)
    C, P = net.channels, net.channels * (2 * net.radius + 1) ** 2
    with torch.no_grad():
        embeds = [np.append(net.embedding(f)[0].double().cpu().numpy(), 1.0) for f in features]
        Ws = net.skip.weight.double().cpu().numpy()  # (C*P, E)
        bs = net.skip.bias.double().cpu().numpy()
        Hw = net.head.weight.double().cpu().numpy().reshape(C, -1)
        hb = net.head.bias.double().cpu().numpy()
        solve = solve_per_level if len(features) < len(embeds[0]) else solve_generator
        for c in range(C):
            rows = slice(c * P, (c + 1) * P)
            K0 = np.concatenate([Ws[rows], bs[rows, None]], 1)
            weights = [float(w.view(-1)[c]) for w in batches.weights]
            K, g = solve(grams, rhs, weights, embeds, K0, np.append(Hw[c], hb[c]), c)
            Ws[rows], bs[rows], Hw[c], hb[c] = K[:, :-1], K[:, -1], g[:-1], g[-1]
        dev, dt = net.skip.weight.device, net.skip.weight.dtype
        net.skip.weight.copy_(torch.as_tensor(Ws, device=dev, dtype=dt))
        net.skip.bias.copy_(torch.as_tensor(bs, device=dev, dtype=dt))
        net.head.weight.copy_(torch.as_tensor(Hw.reshape(net.head.weight.shape), device=dev, dtype=dt))
        net.head.bias.copy_(torch.as_tensor(hb, device=dev, dtype=dt))


def polish_readout(family, net, batches, features, levels, settings, budget: float, bayes: bool) -> dict:
    """A learned family's ``finish``: the linear readout's refit (:func:`refit_readout`) on the configurations
    that ``budget`` reference seconds buy (:func:`phasebench.denoisers.harness.budget.refit_configs`), or
    ``family.polish_configs`` of them; 256 when the family's step count was given; none with the Bayes output
    (not linear in its readout) or a zero ``polish_fraction``.  Returns what to record."""
    t0 = time.perf_counter()
    groups = len(features)
    chunk = max(1, 16 * len(levels) // groups)
    if bayes:
        n_polish = 0
    elif family.polish_configs is not None:
        n_polish = family.polish_configs
    elif family.steps is not None:
        n_polish = 256
    elif settings["polish_fraction"] == 0:
        n_polish = 0
    else:
        sites = int(batches.clean.shape[2] * batches.clean.shape[3])
        n_polish = refit_configs(budget, groups, chunk, sites, net.flops_per_site(), n_regressors(net),
                                 n_unknowns(net, groups), net.channels)
    if n_polish:
        refit_readout(net, batches, features, n_polish, chunk=chunk)
    return {"polish_configs": n_polish, "polish_seconds": time.perf_counter() - t0}
