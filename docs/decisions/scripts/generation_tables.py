"""Measurements of docs/decisions/generation.md: self-check and convergence tables (exact global denoisers),
error against r of local generation, and the local failure case.

    nice -n 15 python docs/decisions/scripts/generation_tables.py CASE [CASE ...]

CASE: gff-heun-bias, gff-steps, ising4-steps, ising6 (or its rows ising6-T2, ising6-Tc), ising8-T2, ising8-Tc, ising8-T2.6,
ising8-Tc-200, ising8-T2.6-100, ising6-gauss, ising6-steps, loops6,
loops8, loops8-default, loops8-100, loops8-200, gff-local, loops-local,
ising-local, ising6-hybrid.
Each prints one line per run: the case, the schedule, steps, wall seconds, then every observable as
value (reference) and whether it is within its 95% CI, W1 and the energy-distance p-value.
"""

from __future__ import annotations

import sys
import time

from phasebench.lattice_models import make_model
from phasebench.lattice_models.channels import make_channel
from phasebench.lattice_models.exact.ising_exact import T_CRITICAL
from phasebench.suites.generation.run import run_generation


def line(tag, model, channel, L, n, family, radius, steps, seed=1, **kw):
    t0 = time.perf_counter()
    ds = run_generation(model, channel, L, n, family, radius, steps=steps, seed=seed, **kw)
    gen = ds.metadata["diagnostics"]["generation"]
    comp = gen["comparison"]
    cells = []
    for r in comp["observables"]:
        ok = {True: "", False: "*", None: "?"}[r["consistent"]]
        ref = r["reference"]
        cells.append(f"{r['name']}={r['value']:.4g}({ref:.4g}){ok}" if ref is not None else f"{r['name']}={r['value']:.4g}")
    w, e = comp["wasserstein"], comp["energy_distance"]
    sched = gen["schedule"]
    glob = "" if sched["global"] is None else f"+{sched['global']['family']}@{sched['window']}({sched['global_fraction']:.2f})"
    print(f"{tag} | {family} r={radius}{glob} | steps={gen['path']['steps']} n={n} | {time.perf_counter() - t0:.0f}s | "
          + " ".join(cells) + f" | W1={w['value']:.3g}(null {w['null_quantile']:.3g}){'' if w['consistent'] else '*'}"
          f" | Eδ p={e['p_value']:.3f} | all_ok={comp['all_consistent']}", flush=True)
    return comp


def heun_variance_bias(L, mass_sq, step_counts):
    """Generated over exact variance of each GFF mode after the stochastic Heun path with the exact posterior mean,
    by the variance recursion of the linear SDE (no sampling), averaged in the three spectrum bands."""
    import numpy as np
    from phasebench.lattice_models.exact import gff_theory as theory
    from phasebench.suites.generation.schedule import localisation_path

    g, lam = theory.prior_spectrum(L, mass_sq).ravel(), theory.laplacian_eigenvalues(L).ravel()
    edges = np.quantile(lam, [1 / 3, 2 / 3])
    bands = {"low": lam <= edges[0], "mid": (lam > edges[0]) & (lam <= edges[1]), "high": lam > edges[1]}
    for steps in step_counts:
        path = localisation_path(steps, L * L, real=True)
        t, lv, var = path.times, path.levels, np.zeros_like(g)
        for k in range(steps):  # Y' = c Y + s dW, the Heun step of dY = g Y / (1 + g t) dt + dW
            dt, a0, a1 = t[k + 1] - t[k], g / (1 + g * lv[k]), g / (1 + g * lv[k + 1])
            var = (1 + dt / 2 * (a0 + a1 + a1 * dt * a0)) ** 2 * var + dt * (1 + dt * a1 / 2) ** 2
        ratio = (g / (1 + g * lv[-1])) ** 2 * var / g
        print(f"gff-heun-bias | steps={steps} | " + " ".join(f"{k}={ratio[b].mean() - 1:+.5f}" for k, b in bands.items()))


#: single rows of the Ising bit-flip self-check: case -> (L, T, steps); n = 400, 4000 reference samples
ISING_FLIP_ROWS = {"ising6-T2": (6, 2.0, 50), "ising6-Tc": (6, T_CRITICAL, 50), "ising8-T2": (8, 2.0, 50),
                   "ising8-Tc": (8, T_CRITICAL, 50), "ising8-T2.6": (8, 2.6, 50), "ising8-Tc-200": (8, T_CRITICAL, 200),
                   "ising8-T2.6-100": (8, 2.6, 100)}
#: loops at L = 8, n = 200: case -> flip-reversal steps
LOOPS8_STEPS = {"loops8-default": 50, "loops8-100": 100, "loops8-200": 200}


def main(cases):
    gauss, flip = make_channel("gaussian"), make_channel("bitflip")
    gff = make_model("gff", m=0.5)
    loops = make_model("toric_loops", x=1.0)
    for case in cases:
        if case == "gff-heun-bias":  # the deterministic error of the stochastic Heun path on every GFF mode
            heun_variance_bias(32, 0.25, (100, 200, 400, 800))
        elif case == "gff-steps":
            for steps in (25, 50, 100, 200, 400):
                line(case, gff, gauss, 32, 1000, "exact", None, steps)
        elif case == "ising4-steps":
            for ch in (flip, gauss):
                for steps in (12, 25, 50, 100):
                    line(f"{case}-{ch.name}", make_model("ising", T=2.0), ch, 4, 1000, "exact", None, steps,
                         n_reference=4000)
        elif case == "ising6":
            for T in (2.0, T_CRITICAL, 2.6):
                line(f"{case}-T{T:.3f}", make_model("ising", T=T), flip, 6, 400, "exact", None, 50, n_reference=4000)
        elif case in ISING_FLIP_ROWS:  # one self-check row per run (to run rows side by side)
            L, T, steps = ISING_FLIP_ROWS[case]
            line(f"ising{L}-T{T:.3f}", make_model("ising", T=T), flip, L, 400, "exact", None, steps, n_reference=4000)
        elif case == "ising6-gauss":
            line(f"{case}-T2.0", make_model("ising", T=2.0), gauss, 6, 300, "exact", None, 50, n_reference=4000)
        elif case == "ising6-steps":
            for steps in (12, 25, 100):
                line(f"{case}-Tc", make_model("ising", T=T_CRITICAL), flip, 6, 400, "exact", None, steps, n_reference=4000)
        elif case == "loops6":
            for steps in (50, 200):
                line(case, loops, flip, 6, 200, "exact", None, steps)
        elif case == "loops8":
            line(case, loops, flip, 8, 100, "exact", None, 20)
        elif case in LOOPS8_STEPS:  # the defect density against the step count
            line(case, loops, flip, 8, 200, "exact", None, LOOPS8_STEPS[case])
        elif case == "gff-local":
            for r in (1, 2, 3, 5):
                line(case, gff, gauss, 32, 1000, "exact", r, 200)
            for r in (1, 2, 3):
                line(case, gff, gauss, 32, 1000, "linear", r, 200)
        elif case == "loops-local":
            for r in (1, 2):
                line(case, loops, flip, 8, 300, "exact", r, 50)
            for r in (1, 2):
                line(case, loops, flip, 8, 300, "linear", r, 50)
        elif case == "ising-local":
            for T in (2.0, T_CRITICAL, 2.6):
                model = make_model("ising", T=T)
                for r in (1, 2, 4):
                    line(f"{case}-T{T:.3f}", model, gauss, 16, 500, "bp", r, 50, n_reference=2000)
                line(f"{case}-T{T:.3f}", model, gauss, 16, 500, "linear", 2, 50, n_reference=2000)
        elif case == "ising-bp-global":  # calibration of the local failure: the same family's global member
            for T in (2.0, 2.6):
                line(f"{case}-T{T:.3f}", make_model("ising", T=T), gauss, 16, 500, "bp", None, 50, n_reference=2000)
        elif case == "ising6-hybrid":
            model = make_model("ising", T=2.0)
            for window in (None, (0.4, 0.5), (0.3, 0.4), (0.2, 0.3), (0.1, 0.2), (0.0, 0.1), (0.0, 0.5)):
                extra = {} if window is None else {"global_family": "exact", "window": window}
                line(case, model, flip, 6, 300, "bp", 1, 50, n_reference=4000, **extra)
        else:
            raise SystemExit(f"unknown case {case!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
