"""The full division's exact yardstick on toric-bitflip without its global decoder, resumable.

PHASEBENCH_FIT_CACHE=DIR python docs/decisions/scripts/toric_exact_yardstick.py OUT_DIR
Runs the full division's toric-bitflip exact family (L = 16, r <= 6 and the exact-only L = 22, r <= 10 study)
with ``global_L`` empty.  With the fit cache set, every finished (radius, level) pair of the window oracle is kept
there, so a run stopped part-way (SIGTERM) resumes, and a later ``phasebench run --division full`` with the same
cache reads them.  Prints the L = 22 peak against r_max and the extrapolated estimate."""
import json
import sys

from phasebench.suites.interrupts import stop_signals_raise
from phasebench.suites.runner import run
from phasebench.suites.tasks import get_task

if __name__ == "__main__":
    extra = {**get_task("toric-bitflip").config("full").extra, "global_L": ()}
    with stop_signals_raise():  # SIGTERM stops the workers too; the finished pairs stay in the cache
        res = run(tasks=["toric-bitflip"], families=["exact"], out_dir=sys.argv[1], division="full", progress=False,
                  overrides={"extra": extra})
    task = res["tasks"]["toric-bitflip"]
    entry = task["summary"]["exact/L22"]
    print(json.dumps({k: entry.get(k) for k in ("pc_vs_rmax", "pc_estimate", "pc_extrapolated")}, indent=1))
    print("stage seconds", json.dumps(task.get("stage_seconds")))
