"""GFF (m^2 = 0.25, L = 32): the I-MMSE identity's closed form, its endpoint against the exact family's r-local
excess, and the recovery bound 2 TV^2 <= I(A:C|B) (docs/decisions/cmi-gff.md)."""
from phasebench.lattice_models import GaussianChannel
from phasebench.suites.cmi import gaussian_field as gf, recovery_bound as rb

print("| lambda | r | CMI (exact) | 1/2 int excess (quadrature) | rel. diff | excess Delta(lambda, r) | "
      "I-MMSE integrand at gamma = lambda | TV | 2 TV^2 | 2 TV^2 / I |")
print("|---|---|---|---|---|---|---|---|---|---|")
for lam in (0.1, 1.0, 10.0):
    a, s = GaussianChannel().amplitudes(lam)
    for r in (1, 2, 3, 4):
        b = rb.gff_bound(32, 0.25, a, s, r)
        half = gf.immse_closed_form(32, 0.25, a, s, r)
        print(f"| {lam:g} | {r} | {b['cmi']:.4g} | {half:.4g} | {abs(half / b['cmi'] - 1):.1e} | {b['excess']:.4g} | "
              f"{b['immse_endpoint']:.4g} | {b['tv']:.4g} | {b['two_tv_squared']:.4g} | {b['two_tv_squared'] / b['cmi']:.3f} |")
