"""MINE (Donsker-Varadhan) CMI on the GFF (m^2 = 0.25, L = 32, lambda = 1, r = 1..3; C within radius 6) against
the exact values, three seeds of 2000 configurations (docs/decisions/cmi-gff.md)."""
import numpy as np, time, json
from phasebench.lattice_models import GaussianChannel, make_model
from phasebench.suites.cmi import mine, gaussian_field as gf
from phasebench.lattice_models.exact import gff_theory
from phasebench.lattice_models.geometry import window_offsets
lam = 1.0; a, s = GaussianChannel().amplitudes(lam); L = 32; outer = 6
G = gff_theory.torus_green(L, 0.25); cov = a * a * G; cov[0, 0] += s * s
def cond_var(r):  # Var(y_A | y_{window r minus A})
    sbb, sba, _ = gf._window_moments(cov, r); return cov[0, 0] - sba @ np.linalg.solve(sbb, sba)
exact = {"i_a_bc_outer": 0.5 * np.log(cov[0, 0] / cond_var(outer))}
for r in (1, 2, 3):
    exact[f"i_a_b_{r}"] = 0.5 * np.log(cov[0, 0] / cond_var(r))
    exact[f"cmi_trunc_{r}"] = 0.5 * np.log(cond_var(r) / cond_var(outer))
    exact[f"cmi_full_{r}"] = gf.exact_cmi(L, 0.25, a, s, r)["value"]
print(json.dumps(exact))
runs = []
for seed in range(3):
    x = make_model("gff", m=0.5).sample(2000, L, seed=100 + seed)[:, 0]
    y = GaussianChannel().corrupt(x, lam, 200 + seed)
    res = mine.mine_cmi(y, (1, 2, 3), seed, outer=outer)
    print(seed, json.dumps(res), flush=True)
    runs.append(res)
