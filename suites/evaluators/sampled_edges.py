"""The ``sampled-edges`` and ``global-decoder`` evaluations of binary variables along the noise level.

``sampled-edges`` (one study per L, one split): on ``centres_per_config`` random window centres per
test configuration (every variable of each centre), per family and radius (settings ``radii``:
family -> its radii; a family in ``global_only``, such as mwpm, has the one member ``(family, None)``):

* per-configuration MSE and cross-entropy of the member's probabilities ``P(x = 1 | y)``;
* the ``exact`` family (evaluated first) gives the exact r-local marginals q_r on those sites (the
  window oracle is evaluated on the sampled sites only); its increments are ``E (q_{r+1} - q_r)^2``,
  free of the Bernoulli noise of x (Pythagoras for nested conditional expectations);
* for another family: ``E |f_r - q_r|^2`` per configuration where q_r exists, and its increments
  Rao-Blackwellised against the exact posterior of the largest exact radius R when R covers the
  family's radii (``E (f_r - q_R)^2 - E (f_{r+1} - q_R)^2``), else the MSE differences;
* the locality audit of every member.

``global-decoder``: the logical failure rate of exact maximum-likelihood decoding per L (settings ``L``,
``n``: configurations per L), estimated as the mean of ``1 - max_class P(class | y)``, the decoder's
exact failure probability given y: unbiased, with less variance than the failure indicator.
"""

from __future__ import annotations

import json
from typing import Dict

import numpy as np

from phasebench.denoisers.locality import audit_locality
from phasebench.lattice_models.datasets import load_or_generate
from phasebench.lattice_models.provenance import package_version

from ..estimators import derive_seed
from .references import call_key
from .references import exact_failure_probability as reference_exact_failure_probability
from .references import exact_posterior_mean_at as reference_exact_posterior_mean_at
from .resume import family_records


def sampled_edge_mask(n: int, C: int, L: int, k: int, seed: int) -> np.ndarray:
    """k random window centres per configuration (every variable of each centre: both edges of a toric
    vertex), (n, C, L, L)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, L * L), dtype=bool)
    for s in range(n):
        mask[s, rng.choice(L * L, size=k, replace=False)] = True
    return np.repeat(mask.reshape(n, 1, L, L), C, axis=1)


def edge_scores(prob: np.ndarray, x: np.ndarray, mask: np.ndarray) -> Dict[str, np.ndarray]:
    """Per-configuration MSE and cross-entropy (nats) over the masked edges."""
    q = np.clip(np.asarray(prob, dtype=np.float64), 1e-12, 1 - 1e-12)
    xf = np.asarray(x, dtype=np.float64)
    sq = np.where(mask, (q - xf) ** 2, 0.0)
    ce = np.where(mask, -(xf * np.log(q) + (1 - xf) * np.log1p(-q)), 0.0)
    count = mask.reshape(len(mask), -1).sum(axis=1)
    return {"mse": sq.reshape(len(q), -1).sum(axis=1) / count, "ce": ce.reshape(len(q), -1).sum(axis=1) / count}


#: window evaluations (sampled centres x levels x radii) of the ``exact`` family from which its (radius, level)
#: pairs are evaluated side by side on the run's executor; below it the oracle's few seconds stay in this process
PARALLEL_EXACT_WINDOWS = 1e6


def exact_marginals(fam, radii, levels, noisy, mask) -> Dict:
    """The exact family's r-local marginals on the sampled sites, ``{(r, j): prob[mask]}`` for every radius and
    level (the window oracle is evaluated on the sampled sites only; ``prob`` is 0 elsewhere).

    The pairs are independent and the window oracle deterministic: above :data:`PARALLEL_EXACT_WINDOWS` they run
    on the run's executor (:func:`phasebench.suites.executors.current`), the costliest (largest radius) first, with
    the same bytes as in one process.  With ``PHASEBENCH_FIT_CACHE`` set each pair is stored there as it finishes
    and taken from there on the next run (:func:`phasebench.suites.fit_cache.load_values`)."""
    from .. import executors, fit_cache

    directory = fit_cache.cache_directory()
    pairs = sorted(((r, j) for r in radii for j in range(len(levels))), key=lambda p: -p[0])
    keys = {(r, j): exact_values_key(fam, noisy[j], levels[j], r, mask) for r, j in pairs} if directory else {}
    out = {p: v for p in pairs if directory and (v := fit_cache.load_values(keys[p], directory)) is not None}
    todo = [p for p in pairs if p not in out]
    work = int(mask.sum()) * len(todo)
    executor = executors.current() if work >= PARALLEL_EXACT_WINDOWS else executors.SerialExecutor()
    items = [(fam, noisy[j], levels[j], mask, r) for r, j in todo]
    for k, values in executor.map_unordered(_exact_pair, items):
        out[todo[k]] = values
        if directory:
            fit_cache.store_values(keys[todo[k]], values, directory)
    return out


def exact_values_key(fam, y, level, r, mask) -> str:
    """What one pair's marginals depend on: the model, channel, level, radius, noisy input and mask, and the version."""
    return json.dumps([call_key("posterior-mean-at", fam.model_, fam.channel_, y, level, r, mask), package_version()])


def _exact_pair(item):
    fam, y, level, mask, r = item
    return np.ascontiguousarray(reference_exact_posterior_mean_at(fam.model_, y, fam.channel_, level, r, mask)[mask])


def _on_lattice(values, mask) -> np.ndarray:
    """``prob`` from ``prob[mask]``: 0 off the mask, as the oracle returns it."""
    prob = np.zeros(mask.shape)
    prob[mask] = values
    return prob


def evaluate_sampled_edges(task, study, data, fitted, cfg, tick):
    model, levels, L = task.model(), study.levels, study.splits[0].L
    train, test, noisy = data[0]
    x = test.samples
    mask = sampled_edge_mask(len(x), model.channels, L, study.settings["centres_per_config"], derive_seed(cfg.seed, L, 4))
    families = study.settings["families"]
    exact_radii = study.settings["radii"].get("exact", []) if "exact" in families else []
    exact = {}  # the exact family's marginals on the mask per (r, level) ("values"), as (n, sites) arrays ("q"), its MSE

    def exact_q():  # computed together (exact_marginals), read back from the fit cache on a resumed run
        if "q" not in exact:
            exact["values"] = (exact_marginals(fitted["exact", exact_radii[0]][0], exact_radii, levels, noisy, mask)
                               if exact_radii else {})
            exact["q"] = {p: v.reshape(len(x), -1) for p, v in exact["values"].items()}
        return exact

    records = []
    for k, fam_name in enumerate(families):
        after_exact = "exact" in families[:k + 1]  # the exact family is evaluated first; the families after it use it
        records += family_records(fam_name, lambda fam_name=fam_name, after_exact=after_exact: [edge_record(
            task, study, data, fitted, fam_name, mask, exact_q() if after_exact else {}, tick)])
        if fam_name == "exact":
            exact["mse"] = records[-1]["exact_mse"]
    return records


def edge_record(task, study, data, fitted, fam_name, mask, exact, tick):
    """One family's record of a ``sampled-edges`` study (module doc).  ``exact``: the exact family's marginals on
    the mask (``values`` per (r, level); ``q``, the same as (n, sites) arrays) and, once its record is made, its
    MSE per radius (``mse``); empty for a family evaluated before the exact family."""
    levels, L = study.levels, study.splits[0].L
    train, test, noisy = data[0]
    x = test.samples
    tick(f"{task.name}:{fam_name}:L{L}")
    radii = study.settings["radii"][fam_name]
    if fam_name in study.settings["global_only"]:  # MSE per level on the same edges; no radius scan
        fam, info = fitted[fam_name, None]
        mse = np.stack([edge_scores(fam.denoise(y, lv), x, mask)["mse"] for lv, y in zip(levels, noisy)])
        return {"kind": "global", "family": fam_name, "L": L, "levels": levels, "mse": mse, "members": {"global": info}}
    exact_values, exact_q = exact.get("values", {}), exact.get("q", {})
    mse = np.empty((len(radii), len(levels), len(x)))
    ce = np.empty_like(mse)
    on_masks = {}
    dist = np.full((len(radii), len(levels), len(x)), np.nan)  # E|f_r - q_r|^2 per configuration
    members, locality = {}, {}
    for i, r in enumerate(radii):
        fam, info = fitted[fam_name, r]
        members[str(r)] = info
        for j, lv in enumerate(levels):
            prob = _on_lattice(exact_values[r, j], mask) if fam_name == "exact" else fam.denoise(noisy[j], lv)
            on_mask = on_masks[i, j] = prob[mask].reshape(len(x), -1)
            if fam_name != "exact" and (r, j) in exact_q:
                dist[i, j] = ((on_mask - exact_q[r, j]) ** 2).mean(axis=1)
            sc = edge_scores(prob, x, mask)
            mse[i, j], ce[i, j] = sc["mse"], sc["ce"]
        mid = len(levels) // 2
        locality[r] = audit_locality(fam, noisy[mid][:1], levels[mid], n_sites=1).to_dict()
    increments, method = mse[:-1] - mse[1:], "mse differences"
    reference = max((r for r, _ in exact_q), default=-1)
    if fam_name != "exact" and radii and reference >= radii[-1]:  # Rao-Blackwellised (module doc)
        method = f"against the exact radius-{reference} posterior"
        to_ref = np.stack([[((on_masks[i, j] - exact_q[reference, j]) ** 2).mean(axis=1)
                            for j in range(len(levels))] for i in range(len(radii))])  # E (f_r - q_R)^2
        increments = to_ref[:-1] - to_ref[1:]
    exact_mse = exact.get("mse")
    if fam_name == "exact":
        method = "E (q_{r+1} - q_r)^2"
        exact_mse = {r: mse[i] for i, r in enumerate(radii)}
        count = mask.reshape(len(x), -1).sum(axis=1)
        for i in range(len(radii) - 1):
            for j in range(len(levels)):
                upper, lower = (_on_lattice(exact_values[radii[k], j], mask) for k in (i + 1, i))
                d2 = np.where(mask, (upper - lower) ** 2, 0.0)
                increments[i, j] = d2.reshape(len(x), -1).sum(axis=1) / count
    return {"kind": "local", "family": fam_name, "L": L, "levels": levels, "radii": radii,
            "mse": mse, "ce": ce, "increments": increments, "increments_method": method,
            "members": members, "locality": locality, "dist_to_exact": dist, "exact_mse": exact_mse,
            "datasets": {"train": train.sha256, "test": test.sha256}}


def evaluate_global_decoder(task, study, data, fitted, cfg, tick):
    return family_records("exact-global", lambda: _global_decoder_records(task, study, cfg, tick))


def _global_decoder_records(task, study, cfg, tick):
    model, channel, levels = task.model(), task.channel(), study.levels
    out = []
    for L in study.settings["L"]:
        tick(f"{task.name}:global-decoder:L{L}")
        x = load_or_generate(model, study.settings["n"][L], L, derive_seed(cfg.seed, L, 5)).samples
        fails = np.empty((len(levels), len(x)))
        for j, lv in enumerate(levels):
            y = channel.corrupt(x, lv, derive_seed(cfg.seed, L, 6, j), model.variable_type)
            fail = reference_exact_failure_probability(model, y, channel, lv)  # E = failure rate
            if fail is None:  # the model has no exact global decoder
                return []
            fails[j] = fail
        out.append({"kind": "global-decoder", "family": "exact-global", "L": L, "levels": levels, "failures": fails})
    return out
