"""The exact family's xi_eff peak against r_max on toric-bitflip, with independent or common noise across p.

python docs/decisions/scripts/toric_common_noise_peak.py OUT_DIR [--common] [--n-test N] [--L L]
Runs the toric-bitflip task's exact family at r = 1..10 on 9 levels around p_c (the grid of
docs/decisions/toric-exact-xi-peak-rmax10.md) and prints the peak per r_max and the extrapolated estimate."""
import argparse
import json

from phasebench.suites.runner import run
from phasebench.suites.tasks import get_task

LEVELS = (0.08, 0.09, 0.095, 0.1, 0.105, 0.11, 0.115, 0.12, 0.13)

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--common", action="store_true")
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--L", type=int, default=22)
    a = ap.parse_args()
    extra = {**get_task("toric-bitflip").config("quick").extra, "global_L": (), "common_noise": a.common}
    res = run(tasks=["toric-bitflip"], families=["exact"], out_dir=a.out, progress=False,
              overrides={"L": (a.L,), "levels": LEVELS, "radii": tuple(range(1, 11)), "n_test": a.n_test,
                         "extra": extra})
    entry = res["tasks"]["toric-bitflip"]["summary"][f"exact/L{a.L}"]
    print(json.dumps({k: entry.get(k) for k in ("pc_vs_rmax", "pc_estimate", "pc_extrapolated")}, indent=1,
                     allow_nan=True))
    print("wall", res["provenance"]["wall_seconds"])
