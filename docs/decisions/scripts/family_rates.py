"""The cost model's per-family rates (``history_rates``: ``shared_rate``, ``family_rates``) of stored cells that
were run before the store recorded ``family_units``: each cell's cost is planned again from its spec (task,
families, division, training seeds; default grids only) and must reproduce the stored ``units``.

    python docs/decisions/scripts/family_rates.py STORE [STORE ...]

Prints, per task, the rates of the cells in the order given (a later store's family wins), as
``suites/sweep_plan.py`` reads them.
"""

import dataclasses
import json
import sys
import tempfile

from phasebench.suites.results_store import ResultsStore
from phasebench.suites.sweep_plan import cost_figures, history_rates
from phasebench.suites.tasks import get_task


def main(paths) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        merged = ResultsStore(tmp)
        for path in paths:
            for entry in ResultsStore(path).entries():
                spec, cost = entry["spec"], dict(entry.get("cost") or {})
                task = get_task(spec["task"])
                cfg = dataclasses.replace(task.config(spec["division"]), train_seeds=spec["config"]["train_seeds"])
                planned = cost_figures(task, spec["families"], cfg, int(cost["slots"]))
                if planned["units"] != cost["units"]:
                    sys.exit(f"{path}: {spec['task']} {spec['families']}: planned units {planned['units']:.6g} "
                             f"differ from the stored {cost['units']:.6g} (not the default grid)")
                cost["family_units"] = planned["family_units"]
                merged.append({**entry, "cost": cost})
        print(json.dumps(history_rates(merged), indent=1, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
