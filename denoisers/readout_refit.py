"""Exact least-squares refit of the ``cnn`` family's linear readout (skip-kernel generator and head).

With the trunk and the level embedding fixed, the network output is linear in the readout
parameters, so they can be solved exactly on fresh noise instead of by SGD
(:class:`denoisers.cnn.CNNDenoiser`, linear output).
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def refit_readout(net, batches, features, n_configs: int, chunk: int, time_limit: Optional[float] = None) -> int:
    """Exact weighted least squares for the readout (skip-kernel generator and 1x1 head).

    With the trunk and the embedding fixed, the output is linear in the skip head
    ``kernel(e) = W_s e + b_s`` and the head ``H h + b_h``: per site
    ``phi = [kron(patch, [e, 1]), h, 1]``.  Per level we accumulate the Gram of
    ``z = [patch, h, 1]`` on fresh noise and lift it with ``kron``; the ridge term
    ``rho |theta - theta_0|^2`` (rho = 1e-7 of the mean diagonal) picks the solution
    nearest the trained weights in the directions the level grid does not determine.
    Draws ``n_configs`` configurations per level in rounds of ``chunk`` (stopping early
    after ``time_limit`` seconds); returns the number drawn per level.
    """
    import time

    import torch
    import torch.nn.functional as F
    from scipy.linalg import solve

    C, k = net.channels, 2 * net.radius + 1
    P = C * k * k
    n_levels = len(features)
    grams = [0.0] * n_levels
    rhs = [0.0] * n_levels
    embeds = []
    start = time.perf_counter()
    drawn = 0
    with torch.no_grad():
        for k_lv in range(n_levels):
            embeds.append(net.embedding(features[k_lv])[0].double().cpu().numpy())
        while drawn < n_configs:
            b = min(chunk, n_configs - drawn)
            for k_lv in range(n_levels):
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
            if time_limit is not None and time.perf_counter() - start > time_limit:
                break
        Ws = net.skip.weight.double().cpu().numpy()  # (C*P, E)
        bs = net.skip.bias.double().cpu().numpy()
        Hw = net.head.weight.double().cpu().numpy().reshape(C, -1)
        hb = net.head.bias.double().cpu().numpy()
        for c in range(C):
            theta0 = np.concatenate([np.concatenate([Ws[c * P : (c + 1) * P], bs[c * P : (c + 1) * P, None]], 1).ravel(), Hw[c], hb[c : c + 1]])
            A = np.zeros((theta0.size, theta0.size))
            v = np.zeros(theta0.size)
            for k_lv in range(n_levels):
                e1 = np.append(embeds[k_lv], 1.0)
                T = np.zeros((theta0.size, grams[k_lv].shape[0]))
                T[: P * e1.size, :P] = np.kron(np.eye(P), e1[:, None])
                T[P * e1.size :, P:] = np.eye(grams[k_lv].shape[0] - P)
                w = float(batches.weights[k_lv].view(-1)[c])
                A += w * T @ grams[k_lv] @ T.T
                v += w * T @ rhs[k_lv][:, c]
            rho = 1e-7 * np.mean(np.diag(A))
            theta = solve(A + rho * np.eye(A.shape[0]), v + rho * theta0, assume_a="pos")
            sk = theta[: P * (Ws.shape[1] + 1)].reshape(P, -1)
            Ws[c * P : (c + 1) * P], bs[c * P : (c + 1) * P] = sk[:, :-1], sk[:, -1]
            Hw[c], hb[c] = theta[P * (Ws.shape[1] + 1) : -1], theta[-1]
        dev, dt = net.skip.weight.device, net.skip.weight.dtype
        net.skip.weight.copy_(torch.as_tensor(Ws, device=dev, dtype=dt))
        net.skip.bias.copy_(torch.as_tensor(bs, device=dev, dtype=dt))
        net.head.weight.copy_(torch.as_tensor(Hw.reshape(net.head.weight.shape), device=dev, dtype=dt))
        net.head.bias.copy_(torch.as_tensor(hb, device=dev, dtype=dt))
    return drawn
