"""Exact toric CMI grid under bit flips (docs/decisions/cmi-toric.md): per level, the per-configuration
KL and TV of every radius, saved as it goes; then the summary (cells, peak per radius, decay-rate placement,
the recovery bound 2 TV^2 <= I).

    python docs/decisions/scripts/cmi_toric_grid.py run L N P1,P2,... [BATCH]  # cmi_toric/L{L}_n{N}_p{p}[_b{BATCH}].npz
    python docs/decisions/scripts/cmi_toric_grid.py summarize L N P1,P2,...     # every batch found, pooled

Batch b > 0 draws its own configurations (seed offset 1000 b).
"""
import json
import sys
import time
from pathlib import Path

import numpy as np

from phasebench.suites.cmi import toric_exact as te
from phasebench.suites.estimators import BootstrapConfig, threshold_from_increments
from phasebench.suites.estimators.bootstrap import bootstrap_indices, replicate_interval

mode, L, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
levels = [float(v) for v in sys.argv[4].split(",")]
radii = list(range(1, (L - 2) // 2 + 1))
batch = int(sys.argv[5]) if len(sys.argv) > 5 else 0
out = Path("cmi_toric")
path = lambda p, b=batch: out / (f"L{L}_n{n}_p{p}" + (f"_b{b}" if b else "") + ".npz")  # noqa: E731
if mode == "run":
    out.mkdir(exist_ok=True)
    y = te.noisy_cycles(L, levels, n, 20261202 + L + 1000 * batch)
    for j, p in enumerate(levels):
        t = time.perf_counter()
        kl, tv = te.per_config_cmi(y[j], p, radii, with_tv=True)
        np.savez(path(p), kl=kl, tv=tv, wall=time.perf_counter() - t)
        print(p, f"{time.perf_counter() - t:.1f} s", kl.mean(0), flush=True)
    sys.exit()
batches = [b for b in range(10) if path(levels[0], b).exists()]
data = [[np.load(path(p, b)) for b in batches] for p in levels]
kl = np.stack([np.concatenate([d["kl"] for d in row]).T for row in data])  # (levels, radii, n)
tv = np.stack([np.concatenate([d["tv"] for d in row]).T for row in data])
n = kl.shape[-1]
print("batches", batches, "configurations", n, "wall seconds", sum(float(d["wall"]) for row in data for d in row))
grid = {"L": L, "levels": levels, "radii": radii, "values": kl}
s = te.summarize(grid, 5)
for c in s["cells"]:
    print(f"p={c['level']:.3f} r={c['r']}: I = {c['mean']:.4g} [{c['lo']:.4g}, {c['hi']:.4g}]")
print("level of the largest I per radius:", json.dumps(s["peak_level"]))
boot = BootstrapConfig().indices(n, 1)
th = threshold_from_increments(levels, radii, np.moveaxis(kl, 1, 0), boot, nu=1 / 0.655)
print("decay-rate peak per scale (I_r / I_{r+2}):", json.dumps(th["by_rmax"]))
print("estimate:", json.dumps(th["estimate"]))
print("xi from I_r/I_{r+2} at the largest scale:", [(p, round(x["xi"], 3), round(x["lo"], 3), round(x["hi"], 3)) for p, x in zip(levels, th["xi_eff"])])
idx = bootstrap_indices(n, 7, 1000)
for j, p in enumerate(levels):
    for k, r in enumerate(radii):
        ratio = 2 * tv[j, k, idx].mean(1) ** 2 / kl[j, k, idx].mean(1)
        lo, hi = replicate_interval(ratio)
        print(f"bound p={p:.3f} r={r}: TV = {tv[j, k].mean():.4g}, 2 TV^2 / I = {2 * tv[j, k].mean() ** 2 / kl[j, k].mean():.3f} [{lo:.3f}, {hi:.3f}]")
