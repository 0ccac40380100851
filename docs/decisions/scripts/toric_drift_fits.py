"""Which drift models the measured toric peaks allow, and where each puts p_c.

    python docs/decisions/scripts/toric_drift_fits.py [RESULTS_JSON]

Fits p*(r_max) = p_c + b rho^(-1/nu), rho = r_max - 3 + offset, to the xi_eff peaks against r_max of the
full division's L = 22 exact study (``summary["exact/L22"]["pc_vs_rmax"]`` of RESULTS_JSON; by default the
10 000-configuration peaks measured on 2026-12-04, docs/decisions/toric-exact-yardstick.md), each peak weighted
by its 95% interval (sigma = width / 3.92).  For every corner of the estimator's model ranges it prints the
intercept and chi^2; then, with p_c held at 0.10922, the 1/nu that fits best at each offset and its chi^2.
When every row fits about equally well, the data cannot choose between the intercepts: the spread is model error.
"""

import json
import sys

import numpy as np
from scipy.optimize import minimize_scalar

from phasebench.suites.estimators.xi_eff import (INV_NU_NOMINAL, INV_NU_RANGE, RHO_OFFSET, RHO_OFFSET_RANGE,
                                                intercept_coefficients)

P_C = 0.10922
MEASURED = [(4, 0.08646, 0.08457, 0.08821), (5, 0.09199, 0.09020, 0.09348), (6, 0.09401, 0.09226, 0.09550),
            (7, 0.09571, 0.09377, 0.09726), (8, 0.09674, 0.09472, 0.09833), (9, 0.09973, 0.09812, 0.10102),
            (10, 0.10144, 0.10008, 0.10258)]  # (r_max, peak, lo, hi), L = 22, 10 000 configurations x 48 centres


def load(path):
    if path is None:
        return np.array(MEASURED, dtype=np.float64)
    with open(path) as fh:
        rows = json.load(fh)["tasks"]["toric-bitflip"]["summary"]["exact/L22"]["pc_vs_rmax"]
    return np.array([(p["r_max"], p["value"], p["lo"], p["hi"]) for p in rows if p.get("resolved")], dtype=float)


def fit(r_max, peaks, sigma, offset, inv_nu, p_c=None):
    """The estimator's weighted fit of the drift model (``p_c`` free unless given); returns (p_c, b, chi^2)."""
    x = (r_max - 3.0 + offset) ** (-inv_nu)
    w = 1.0 / sigma ** 2
    if p_c is None:
        p_c = intercept_coefficients(x, w) @ peaks
    b = np.sum(w * x * (peaks - p_c)) / np.sum(w * x * x)  # the least-squares slope at that intercept
    return float(p_c), float(b), float(np.sum(w * (peaks - p_c - b * x) ** 2))


def main() -> None:
    data = load(sys.argv[1] if len(sys.argv) > 1 else None)
    r_max, peaks, sigma = data[:, 0], data[:, 1], (data[:, 3] - data[:, 2]) / 3.92
    dof = len(peaks) - 2
    print(f"{len(peaks)} peaks, r_max {int(r_max[0])}..{int(r_max[-1])}; chi^2 on {dof} degrees of freedom")
    corners = [(RHO_OFFSET, INV_NU_NOMINAL)] + [(o, n) for o in RHO_OFFSET_RANGE for n in INV_NU_RANGE]
    for offset, inv_nu in corners:
        p_c, b, chi2 = fit(r_max, peaks, sigma, offset, inv_nu)
        print(f"  offset {offset:g}, 1/nu {inv_nu:.3g}: p_c {p_c:.5f} (b {b:+.4f}), chi^2 {chi2:.2f}")
    print(f"p_c held at {P_C}:")
    for offset in (RHO_OFFSET_RANGE[0], RHO_OFFSET, RHO_OFFSET_RANGE[1]):
        best = minimize_scalar(lambda k: fit(r_max, peaks, sigma, offset, k, P_C)[2], bounds=(0.2, 2.0),
                               method="bounded")
        print(f"  offset {offset:g}: best 1/nu {best.x:.3f}, chi^2 {best.fun:.2f} on {dof + 1} degrees of freedom")


if __name__ == "__main__":
    main()
