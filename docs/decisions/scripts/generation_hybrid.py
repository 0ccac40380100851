"""Hybrid and local generation through the generation tasks (docs/decisions/generation.md, "The generation
tasks"): each case is a ``phasebench run`` of one generation task on a grid of its own, written to OUT/CASE/
(results.json, leaderboard.md, plots).

    python docs/decisions/scripts/generation_hybrid.py OUT CASE [CASE ...]

CASE: ising6-hybrid (T = 2, L = 6, bit flip: bp, linear, cnn at r = 1, 2, each with the exact global member in
eight windows of p), loops6-hybrid (x = 1, L = 6, bit flip: the exact r = 1 member with the exact global
member in five windows around p_c), gff32-hybrid (m = 0.5, L = 32: exact and linear at r = 1, 2, 3, 5, r = 1 with the
exact global member in five windows of lambda), gff32-selfcheck (the exact global and r = 1 members alone at L = 32,
the default steps).
"""

from __future__ import annotations

import sys
from pathlib import Path

from phasebench.suites.runner import run

#: the windows of p on the flip-reversal path (1/2 down to 1e-3) and of lambda on the localisation path
ISING_WINDOWS = ((0.45, 0.5), (0.35, 0.45), (0.25, 0.35), (0.15, 0.25), (0.05, 0.15), (0.001, 0.05), (0.25, 0.5),
                 (0.15, 0.45))
LOOPS_WINDOWS = ((0.15, 0.5), (0.09, 0.15), (0.05, 0.09), (0.001, 0.05), (0.05, 0.15))
GFF_WINDOWS = ((0.01, 0.1), (0.1, 1.0), (1.0, 10.0), (10.0, 100.0), (0.01, 10.0))

CASES = {
    "ising6-hybrid": dict(tasks=["ising-generation"], families=["bp", "linear", "cnn"], overrides={
        "L": (6,), "radii": (1, 2), "n_train": 4000, "n_test": 4000, "budget": 30.0, "model_params_grid": ({"T": 2.0},),
        "extra": {"n_generated": 300, "hybrid_radii": (1, 2), "windows": ISING_WINDOWS}}),
    "loops6-hybrid": dict(tasks=["toric-generation"], families=["exact"], overrides={
        "L": (6,), "radii": (1,), "n_test": 4000,
        "extra": {"n_generated": 200, "hybrid_radii": (1,), "windows": LOOPS_WINDOWS}}),
    "gff32-selfcheck": dict(tasks=["gff-generation"], families=["exact"], overrides={
        "L": (32,), "radii": (1,), "n_test": 4000, "extra": {"n_generated": 1000}}),
    "gff32-hybrid": dict(tasks=["gff-generation"], families=["exact", "linear"], overrides={
        "L": (32,), "radii": (1, 2, 3, 5), "n_train": 8000, "n_test": 4000,
        "extra": {"n_generated": 1000, "hybrid_radii": (1,), "windows": GFF_WINDOWS}}),
}


def main(out: str, cases) -> None:
    for case in cases:
        spec = CASES[case]
        run(tasks=spec["tasks"], families=spec["families"], division="full", out_dir=str(Path(out) / case),
            progress=False, overrides=spec["overrides"])
        print((Path(out) / case / "leaderboard.md").read_text(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
