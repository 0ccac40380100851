"""Measure the cnn global member against the exact Ising posterior mean (ising-temperature, quick division).

Not a test.  For each L it rebuilds the task's data exactly (``task_split`` with the task's
seeds), fits the cnn member of radius ceil(L/2) the way the task does (one network over the
whole temperature grid, conditioned on T, the division's budget), and compares its MSE with
the exact transfer-matrix posterior mean on the same first ``n_exact`` noisy test
configurations of every (T, lambda) cell (paired).  Prints per cell the relative gap
(mean mse_cnn - mean mse_exact) / mean mse_exact with its standard error (paired,
delta method), and the worst cell.  Exact results are cached in ``--cache``.

    NUMBA_NUM_THREADS=1 PHASEBENCH_TORCH_THREADS=1 PYTHONPATH=. python scripts/ising_global_vs_exact.py \
        --L 6 10 --n-exact 1000 16

Besides the task's raw statistic it prints the gap by orthogonality: for the exact posterior
mean, E mse(f) - E mse(exact) = E |f - exact|^2 (valid for test data drawn from the model),
whose error bar is much smaller.  The exact oracle costs ~1 s per configuration at L = 10
(hence 16 there, the full division's exact_n) and ~2 ms at L = 6.

Measured (2 shared cores, 1 torch thread, quick budget 25 s, 2026-11-26; worst cell | mean over 84 cells;
run-to-run spread of the L=6 worst orthogonality gap over repeated fits: ~3.5-5%):

    before (linear readout + LS refit)  L=6  task stat (first 50) +175.5% (T=2.15, lam=3.16);
                                             orthogonality 144.6% +- 4.1% (T=2.0, lam=3.16) | 25.1%
                                        L=10 orthogonality 299% +- 38% (T=2.1, lam=3.16) | 35.3%
    after (Bayes output, adaptive)      L=6  task stat (first 50) +11.4% (T=2.1, lam=1.0);
                                             orthogonality 3.9% +- 0.2% (T=2.3, lam=3.16) | 1.4%
                                        L=10 orthogonality 11.9% +- 3.7% (T=2.1, lam=3.16) | 3.9%
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


def exact_means(task, cfg, L, levels, models, noisy, n_ex, cache):
    """(n_T, n_levels, n_ex, 1, L, L) exact posterior means, cached per temperature (L = 10: ~1 s per configuration)."""
    ch = task.channel()
    out = []
    for k, m in enumerate(models):
        path = os.path.join(cache, f"ising_exact_mean_L{L}_n{n_ex}_s{cfg.seed}_T{m.values['T']}.npz")
        if not os.path.exists(path):
            t0 = time.perf_counter()
            mean = np.stack([m.exact_posterior_mean(y[:n_ex], ch, lv, None) for y, lv in zip(noisy[k], levels)])
            print(f"L={L} T={m.values['T']}: exact oracle {time.perf_counter() - t0:.1f}s", flush=True)
            os.makedirs(cache, exist_ok=True)
            np.savez(path, mean=mean)
        out.append(np.load(path)["mean"])
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
        x_ex = np.stack([t.samples[:n_ex] for t in test]).astype(np.float64)[:, None]  # (n_T, 1, n_ex, 1, L, L)
        post = exact_means(task, cfg, L, levels, models, noisy, n_ex, args.cache)
        ex = ((post - x_ex) ** 2).mean(axis=(-3, -2, -1))  # (n_T, n_lv, n_ex)
        if args.exact_only:
            continue
        r = global_radius(L) if args.radius is None else args.radius
        x = np.concatenate([t.samples for t in train])
        cond = np.repeat(np.asarray(temps, float), [len(t.samples) for t in train])
        fam, info = fit_member("cnn", r, x, ch, levels, derive_seed(cfg.seed, L, r, 3), budget, models[0], opts, cond)
        fit = info.get("fit", {})
        print(f"L={L} r={r}: fit {info['fit_seconds']:.1f}s steps={fit.get('steps')} polish={fit.get('polish_configs')} "
              f"loss={fit.get('final_loss')}", flush=True)
        est = np.stack([np.stack([fam.denoise(y[:n_ex], lv, condition=T) for y, lv in zip(noisy[k], levels)])
                        for k, T in enumerate(temps)])
        net = ((est - x_ex) ** 2).mean(axis=(-3, -2, -1))
        # orthogonality: E mse(f) - E mse(exact) = E |f - exact|^2 (exact posterior mean), a low-variance estimate
        dist = ((est - post) ** 2).mean(axis=(-3, -2, -1))
        gap_orth = dist.mean(-1) / ex.mean(-1)
        se_orth = dist.std(-1, ddof=1) / np.sqrt(n_ex) / ex.mean(-1)
        m_net, m_ex = net.mean(-1), ex.mean(-1)
        gap = (m_net - m_ex) / m_ex
        # delta-method standard error of the ratio of paired means
        d = net - ex * (m_net / m_ex)[..., None]
        se = d.std(-1, ddof=1) / np.sqrt(n_ex) / m_ex
        print(f"L={L}: rel gap (cnn - exact)/exact [%], rows T, cols lambda = {levels}")
        for k, T in enumerate(temps):
            print(f"  T={T:<5} " + " ".join(f"{100 * g:+7.1f}({100 * s:4.1f})" for g, s in zip(gap[k], se[k])))
        print(f"L={L}: same via orthogonality E|cnn - exact|^2 / mse_exact [%]")
        for k, T in enumerate(temps):
            print(f"  T={T:<5} " + " ".join(f"{100 * g:+7.2f}({100 * s:4.2f})" for g, s in zip(gap_orth[k], se_orth[k])))
        wo = np.unravel_index(np.argmax(gap_orth), gap.shape)
        print(f"L={L}: orthogonality worst {100 * gap_orth[wo]:.2f}% +- {100 * se_orth[wo]:.2f}% at T={temps[wo[0]]}, "
              f"lambda={levels[wo[1]]}; cells below 2%: {(gap_orth <= 0.02).sum()}/{gap.size}; mean {100 * gap_orth.mean():.2f}%")
        w = np.unravel_index(np.argmax(np.abs(gap)), gap.shape)
        print(f"L={L}: worst {100 * gap[w]:+.1f}% +- {100 * se[w]:.1f}% at T={temps[w[0]]}, lambda={levels[w[1]]}; "
              f"cells within 2%: {(np.abs(gap) <= 0.02).sum()}/{gap.size}; mean |gap| {100 * np.abs(gap).mean():.1f}%",
              flush=True)
        if n_ex > 50:  # the task's own statistic: the first exact_n = 50 configurations (quick division)
            g50 = (net[..., :50].mean(-1) - ex[..., :50].mean(-1)) / ex[..., :50].mean(-1)
            w50 = np.unravel_index(np.argmax(np.abs(g50)), g50.shape)
            print(f"L={L}: first 50 configurations: worst {100 * g50[w50]:+.1f}% at T={temps[w50[0]]}, lambda={levels[w50[1]]}")
        if args.dump:
            np.savez(f"{args.dump}_L{L}.npz", net=net, exact=ex, dist=dist, temps=temps, levels=levels)
        summary[L] = {"worst": float(gap[w]), "se": float(se[w]), "T": temps[w[0]], "lambda": levels[w[1]],
                      "orth_worst": float(gap_orth[wo]), "orth_se": float(se_orth[wo]), "orth_T": temps[wo[0]],
                      "orth_lambda": levels[wo[1]], "orth_mean": float(gap_orth.mean())}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
