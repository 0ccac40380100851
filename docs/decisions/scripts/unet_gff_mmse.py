"""The ``unet``'s MSE against the exact global MMSE (GFF, m = 0.5, L = 32, lambda = 1 by default; or the Ising model
at one (T, lambda) cell): docs/decisions/architectures.md.

    python docs/decisions/scripts/unet_gff_mmse.py [--model ising -p T=2.269] [--L L] [--level LAMBDA ...] [--budget B]
        [--n-train N] [--n-test N] [--family-option K=V ...]

Fits one ``unet`` on ``n_train`` clean configurations (noise-conditioned over every level given), denoises
``n_test`` fresh ones (seeded noise) at each level and compares its per-configuration MSE with the exact posterior
mean's on the same noisy configurations (paired), with a bootstrap CI over test configurations; prints, per level,
the exact MMSE (theory where the model has one, and measured), the unet's MSE and their ratio.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from phasebench.denoisers import make_family
from phasebench.lattice_models import GaussianChannel, make_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--L", type=int, default=32)
    parser.add_argument("--level", type=float, nargs="+", default=[1.0])
    parser.add_argument("--model", default="gff")
    parser.add_argument("-p", "--param", action="append", default=[], help="NAME=VALUE (a model parameter)")
    parser.add_argument("--family-option", action="append", default=[], help="NAME=VALUE (a unet hyperparameter)")
    args = parser.parse_args()
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.family_option)}
    params = {k: float(v) for k, v in (p.split("=", 1) for p in args.param)}
    model, channel = make_model(args.model, **({"m": 0.5} if args.model == "gff" and not params else params)), GaussianChannel()
    train = model.sample(args.n_train, args.L, seed=0)
    test = model.sample(args.n_test, args.L, seed=1)
    t0 = time.perf_counter()
    unet = make_family("unet", None, **options).fit(train, channel, args.level, seed=0, budget=args.budget, model=model)
    fit_s = time.perf_counter() - t0
    exact = make_family("exact", None).fit(train, channel, args.level, model=model)
    print(json.dumps({
        "model": args.model, "params": params, "L": args.L, "budget": args.budget, "n_train": args.n_train,
        "n_test": args.n_test, "options": options, "fit_seconds": round(fit_s, 1), "steps": unet.fit_info_["steps"],
        "polish_configs": unet.fit_info_.get("polish_configs"), "output": unet.fit_info_["output"],
        "n_params": unet.n_params, "flops_per_site": unet.flops_per_site}, indent=1))
    boot = np.random.default_rng(0).integers(0, args.n_test, size=(1000, args.n_test))
    for j, level in enumerate(args.level):
        y = channel.corrupt(test, level, seed=2 + j, variable_type=model.variable_type)
        err_unet = ((unet.denoise(y, level) - test) ** 2).mean(axis=(1, 2, 3))
        err_exact = ((exact.denoise(y, level) - test) ** 2).mean(axis=(1, 2, 3))
        ratios = err_unet[boot].mean(1) / err_exact[boot].mean(1)
        print(json.dumps({"level": level, "mmse_theory": model.exact_mmse(channel, level, args.L), "mmse_measured": float(err_exact.mean()),
                          "unet_mse": float(err_unet.mean()), "ratio": float(err_unet.mean() / err_exact.mean()),
                          "ratio_ci": [float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))]}), flush=True)


if __name__ == "__main__":
    main()
