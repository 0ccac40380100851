"""``python -m phasebench.suites.coverage [--reps N] [--seed S] [--case NAME ...] [--fast]``: print the coverage table."""

from __future__ import annotations

import argparse
import sys

from . import CASES, coverage_table, render_table
from . import cases  # noqa: F401  (registers the cases)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m phasebench.suites.coverage", description=__doc__)
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--case", action="append", default=[], help="a case name (repeatable; default: all)")
    ap.add_argument("--fast", action="store_true", help="only the cases cheap enough for the test suite")
    args = ap.parse_args(argv)
    unknown = [c for c in args.case if c not in CASES]
    if unknown or args.reps < 1:
        print(f"error: unknown case {unknown[0]!r}" if unknown else "error: --reps must be >= 1", file=sys.stderr)
        return 2
    chosen = [CASES[c] for c in args.case] if args.case else [c for c in CASES.values() if c.fast or not args.fast]
    print(render_table(coverage_table(chosen, args.reps, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
