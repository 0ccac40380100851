"""Breakdown and speciation windows of ordered Ising data against L (docs/decisions/ising-breakdown-speciation.md).

    python docs/decisions/scripts/ising_breakdown.py OUT [L:N[:CENTRES[:R,R...]] ...]
        # default 4:400 6:300 8:120 (8 centres, every r with 2r + 1 < L up to 3); the L = 10 row: 10:40:4:1,4

Runs ``phasebench cmi ising-speciation --estimator exact`` (T = 2, Gaussian channel) at each L with N
configurations on one level grid, then prints, per L and radius, the speciation window of the exact global
posterior (where M(lambda) reaches 10% and 90% of <|m|>) and the breakdown windows (half maximum of the exact
r-local excess and of the CMI), each end with its 95% bootstrap CI.  Results: OUT/L{L}/cmi_exact.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

LEVELS = [f"{v:.6g}" for v in np.logspace(-3.5, 1.0, 19)]


def run(out: Path, spec: str) -> dict:
    L, n, *rest = spec.split(":")
    centres = rest[0] if rest else "8"
    radii = rest[1].split(",") if len(rest) > 1 else [str(r) for r in range(1, 4) if 2 * r + 1 < int(L)]
    path = out / f"L{L}" / "cmi_exact.json"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "phasebench.suites.cli", "cmi", "ising-speciation", "--estimator", "exact",
                        "--L", L, "--n", n, "--centres", centres, "--radii", *radii, "--levels", *LEVELS,
                        "--out", str(path.parent)], check=True)
    return json.loads(path.read_text())


def fmt(end: dict) -> str:
    if end.get("value") is None:
        return "censored"
    ci = f"[{end['lo']:.3g}, {end['hi']:.3g}]" if end.get("lo") is not None else "[no interval]"
    return f"{end['value']:.3g} {ci}"


def main(argv) -> None:
    out = Path(argv[0])
    specs = argv[1:] or ["4:400", "6:300", "8:120"]
    print("| L | n | s | speciation 10% | speciation 90% | r | excess peak | excess window | CMI peak | CMI window |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for spec in specs:
        d = run(out, spec)
        L, n = d["L"], d["n"]
        sp = d["speciation"]
        for r, ex in d["breakdown_excess"].items():
            cm = d["breakdown_cmi"][r]
            print(f"| {L} | {n} | {d['wall_seconds']:.0f} | {fmt(sp['0.1'])} | {fmt(sp['0.9'])} | {r} | {ex['peak_level']:.3g} "
                  f"| {fmt(ex['lo'])} – {fmt(ex['hi'])} | {cm['peak_level']:.3g} | {fmt(cm['lo'])} – {fmt(cm['hi'])} |")


if __name__ == "__main__":
    main(sys.argv[1:])
