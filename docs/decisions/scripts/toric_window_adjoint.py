"""Time the loop-window transfer matrix against an earlier version of the kernel, and check they agree.

    git show 4892dcb:lattice_models/kernels/toric_window.py > /tmp/toric_window_old.py
    python docs/decisions/scripts/toric_window_adjoint.py /tmp/toric_window_old.py
"""

import sys
import types
import timeit

import numpy as np

from phasebench.lattice_models.kernels.toric_window import window_centre_marginals as new

module = types.ModuleType("toric_window_old")  # compiled afresh: Numba's cache needs an importable module
with open(sys.argv[1]) as source:
    exec(compile(source.read().replace("cache=True", "cache=False"), sys.argv[1], "exec"), module.__dict__)
old = module.window_centre_marginals

rng = np.random.default_rng(1)
worst, impossible = 0.0, 0
for r in range(1, 7):
    n = 2 * r + 1
    for t in range(200 if r < 5 else 40):
        q = [rng.random((2, n, n)), np.where(rng.random((2, n, n)) < 0.1, 0.9, 0.1),
             np.where(rng.random((2, n, n)) < 0.5, 1.0, 0.0), rng.choice([1e-12, 0.5, 1 - 1e-12], size=(2, n, n))][t % 4]
        a = np.array(old(np.ascontiguousarray(q[0]), np.ascontiguousarray(q[1])))
        b = np.array(new(np.ascontiguousarray(q[0]), np.ascontiguousarray(q[1])))
        if np.isnan(a).any() or np.isnan(b).any():
            assert np.array_equal(np.isnan(a), np.isnan(b))
            impossible += 1
            continue
        worst = max(worst, float(np.abs(a - b).max()))
print(f"largest |difference| {worst:.2e}; {impossible} impossible windows NaN in both")
for r in (3, 4, 5, 6):
    n = 2 * r + 1
    q = rng.random((2, n, n))
    qh, qv = np.ascontiguousarray(q[0]), np.ascontiguousarray(q[1])
    old(qh, qv), new(qh, qv)
    number = max(1, 2000 // 4 ** r)
    t_old = np.median([timeit.timeit(lambda: old(qh, qv), number=number) / number for _ in range(9)])
    t_new = np.median([timeit.timeit(lambda: new(qh, qv), number=number) / number for _ in range(9)])
    print(f"r = {r}: before {t_old * 1e3:.3f} ms, after {t_new * 1e3:.3f} ms per window, ratio {t_old / t_new:.2f}")
