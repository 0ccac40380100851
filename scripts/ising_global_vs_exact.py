"""Measure the cnn global member against the exact Ising posterior mean (ising-temperature, quick division).

Not a test.  For each L it rebuilds the task's data exactly (``task_split`` with the task's
seeds), fits the cnn member of radius ceil(L/2) the way the task does (one network over the
whole temperature grid, conditioned on T, the division's budget), and compares its MSE with
the exact transfer-matrix posterior mean on the same first ``n_exact`` noisy test
configurations of every (T, lambda) cell (paired).  Prints per cell the relative gap
(mean mse_cnn - mean mse_exact) / mean mse_exact with its standard error (paired,
delta method), and the worst cell.  Exact results are cached in ``--cache``.

    NUMBA_NUM_THREADS=1 PHASEBENCH_TORCH_THREADS=1 python scripts/ising_global_vs_exact.py --L 6 10
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from suites.evaluation import derive_seed, fit_member, member_statistics, task_split
from suites.tasks import TASKS
from suites.tasks.ising_temperature import global_radius


def exact_errors(task, cfg, L, levels, models, test, noisy, n_ex, cache):
    """(n_T, n_levels, n_ex) exact-oracle MSE, cached per temperature (L = 10 costs ~1 s per configuration)."""
    ch = task.channel()
    out = []
    for k, m in enumerate(models):
        path = os.path.join(cache, f"ising_exact_L{L}_n{n_ex}_s{cfg.seed}_T{m.values['T']}.npz")
        if not os.path.exists(path):
            t0 = time.perf_counter()
            mse = member_statistics(lambda y, lv: m.exact_posterior_mean(y, ch, lv, None),
                                    [y[:n_ex] for y in noisy[k]], levels, test[k].samples[:n_ex])["mse"]
            print(f"L={L} T={m.values['T']}: exact oracle {time.perf_counter() - t0:.1f}s", flush=True)
            os.makedirs(cache, exist_ok=True)
            np.savez(path, mse=mse)
        out.append(np.load(path)["mse"])
    return np.stack(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--L", type=int, nargs="+", default=[6, 10])
    ap.add_argument("--division", default="quick")
    ap.add_argument("--n-exact", type=int, nargs="+", default=[50], help="per L (last value repeats)")
    ap.add_argument("--options", default="{}", help="cnn hyperparameters as JSON")
    ap.add_argument("--budget", type=float, default=None, help="override the division's budget (s)")
    ap.add_argument("--exact-only", action="store_true")
    ap.add_argument("--cache", default="/tmp/phasebench-ising-exact")
    ap.add_argument("--dump", default=None, help="save per-configuration errors (npz) here")
    ap.add_argument("--radius", type=int, default=None, help="default: the task's global radius ceil(L/2)")
    args = ap.parse_args()
    task = TASKS.get("ising-temperature")()
    cfg = task.config(args.division)
    ch = task.channel()
    levels = [ch.validate_level(v) for v in cfg.levels]
    temps = [p["T"] for p in cfg.model_params_grid]
    budget = cfg.budget if args.budget is None else args.budget
    opts = json.loads(args.options)
    summary = {}
    for i, L in enumerate(args.L):
        models = [task.model(T=T) for T in temps]
        train, test, noisy = zip(*(task_split(m, ch, cfg, L, levels, key=(k,)) for k, m in enumerate(models)))
        n_ex = min(args.n_exact[min(i, len(args.n_exact) - 1)], cfg.n_test)
        ex = exact_errors(task, cfg, L, levels, models, test, noisy, n_ex, args.cache)  # (n_T, n_lv, n_ex)
        if args.exact_only:
            continue
        r = global_radius(L) if args.radius is None else args.radius
        x = np.concatenate([t.samples for t in train])
        cond = np.repeat(np.asarray(temps, float), [len(t.samples) for t in train])
        fam, info = fit_member("cnn", r, x, ch, levels, derive_seed(cfg.seed, L, r, 3), budget, models[0], opts, cond)
        fit = info.get("fit", {})
        print(f"L={L} r={r}: fit {info['fit_seconds']:.1f}s steps={fit.get('steps')} polish={fit.get('polish_configs')} "
              f"loss={fit.get('final_loss')}", flush=True)
        net = np.stack([member_statistics(fam.denoise, [y[:n_ex] for y in noisy[k]], levels, test[k].samples[:n_ex],
                                          condition=T)["mse"] for k, T in enumerate(temps)])
        m_net, m_ex = net.mean(-1), ex.mean(-1)
        gap = (m_net - m_ex) / m_ex
        # delta-method standard error of the ratio of paired means
        d = net - ex * (m_net / m_ex)[..., None]
        se = d.std(-1, ddof=1) / np.sqrt(n_ex) / m_ex
        print(f"L={L}: rel gap (cnn - exact)/exact [%], rows T, cols lambda = {levels}")
        for k, T in enumerate(temps):
            print(f"  T={T:<5} " + " ".join(f"{100 * g:+7.1f}({100 * s:4.1f})" for g, s in zip(gap[k], se[k])))
        w = np.unravel_index(np.argmax(np.abs(gap)), gap.shape)
        print(f"L={L}: worst {100 * gap[w]:+.1f}% +- {100 * se[w]:.1f}% at T={temps[w[0]]}, lambda={levels[w[1]]}; "
              f"cells within 2%: {(np.abs(gap) <= 0.02).sum()}/{gap.size}; mean |gap| {100 * np.abs(gap).mean():.1f}%",
              flush=True)
        if args.dump:
            np.savez(f"{args.dump}_L{L}.npz", net=net, exact=ex, temps=temps, levels=levels)
        summary[L] = {"worst": float(gap[w]), "se": float(se[w]), "T": temps[w[0]], "lambda": levels[w[1]]}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
