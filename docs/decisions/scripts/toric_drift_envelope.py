"""The drift model's share of the toric p_c interval, without sampling noise.

    python docs/decisions/scripts/toric_drift_envelope.py

Noise-free peaks on the nominal model, p*(r_max) = p_c + b rho^(-1/nu) with p_c = 0.10922, rho = r_max - 1.5,
1/nu = 0.655 and b fitted (intercept fixed at p_c, weighted) to the L = 22 peaks measured at ab73125
(docs/decisions/toric-exact-yardstick.md), weighted as those peaks (1 / CI width^2; more data shrinks every
width alike).  Each systematic variant of the estimator (``variant_coefficients``) refits them: its shift is
pure model error, which no amount of data removes (Barlow's subtraction only takes out noise).
"""

import numpy as np

from phasebench.suites.estimators.xi_eff import INV_NU_NOMINAL, RHO_OFFSET, intercept_coefficients, variant_coefficients

P_C = 0.10922
R_MAX = np.arange(4, 11)
PEAKS = np.array([0.0875, 0.0936, 0.0969, 0.0977, 0.0954, 0.0984, 0.1028])  # ab73125, L = 22
CI = np.array([[0.0853, 0.0911], [0.0909, 0.0959], [0.0935, 0.1011], [0.0899, 0.1010], [0.0477, 0.0989],
               [0.0860, 0.1101], [0.0723, 0.1078]])


def main() -> None:
    r = R_MAX - 3.0  # the local rate's radius: D_r / D_{r+2} reaches r_max = r + 3
    weights = 1.0 / np.diff(CI, axis=1)[:, 0] ** 2
    x = (r + RHO_OFFSET) ** (-INV_NU_NOMINAL)
    b = float(np.sum(weights * x * (PEAKS - P_C)) / np.sum(weights * x * x))
    peaks = P_C + b * x
    print(f"b = {b:.4f}; noise-free peaks at r_max 4..10: {np.round(peaks, 4).tolist()}")
    nominal = float(intercept_coefficients(x, weights) @ peaks)
    print(f"nominal fit: {nominal:.5f}")
    shifts = {}
    for name, coef in variant_coefficients(r, weights, 1.0 / INV_NU_NOMINAL).items():
        shifts[name] = float(coef @ peaks) - nominal
        print(f"  {name}: {nominal + shifts[name]:.5f} (shift {shifts[name]:+.5f})")
    lo, hi = min(0.0, *shifts.values()), max(0.0, *shifts.values())
    print(f"envelope: [{lo:+.5f}, {hi:+.5f}]")
    for last in (10, 12, 14, 16, 20):
        rr = np.arange(4, last + 1) - 3.0
        w = np.full(len(rr), 1.0)
        xx = (rr + RHO_OFFSET) ** (-INV_NU_NOMINAL)
        pk = P_C + b * xx
        nom = float(intercept_coefficients(xx, w) @ pk)
        sh = [float(c @ pk) - nom for c in variant_coefficients(rr, w, 1.0 / INV_NU_NOMINAL).values()]
        print(f"r_max up to {last} (equal weights): envelope [{min(sh):+.5f}, {max(sh):+.5f}]")


if __name__ == "__main__":
    main()
