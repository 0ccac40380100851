"""The ``member-pairs`` evaluation: a local and a global member of each family along a model parameter g.

One study per lattice size L: one split per value of g (common noise over the levels), and per family
the members at radii ``r_local`` and ``r_global`` (settings): keyed ``(family, r)`` for a conditioned
family, fitted once over every value of g, else ``(family, r, k)``, fitted on value k alone.  Per
family, on the same noisy test sets (per-configuration arrays, (n_values, n_levels, n_test)): each
member's MSE, the distance ``mean |f_local - f_global|^2`` between them and, on the first ``exact_n``
configurations where the settings ask for it, each member's distance to the exact global posterior
mean (the transfer-matrix oracle, a reference computation).  Also the data's own squared
magnetisation on an independent sample of ``data_n`` configurations per value (the estimator check),
and the locality audit of the local member.
"""

from __future__ import annotations

import numpy as np

from phasebench.denoisers.locality import audit_locality
from phasebench.lattice_models.datasets import load_or_generate

from ..estimators import derive_seed, per_config_mse
from ..evaluation import batched, config_magnetisation
from .references import exact_posterior_mean as reference_exact_posterior_mean
from .resume import family_records, persisted_array


def evaluate_member_pairs(task, study, data, fitted, cfg, tick):
    s, levels, values = study.settings, study.levels, study.settings["values"]
    channel = task.channel()
    L = study.splits[0].L
    models = [task.model(**dict(split.params)) for split in study.splits]
    train, test, noisy = zip(*data)
    shared = {}

    def references():  # the study's shared references, computed (or read back) once a family needs them
        if not shared:
            shared["data_m2"] = persisted_array("data_m2", lambda: np.stack([  # (n_values, data_n)
                config_magnetisation(load_or_generate(m, s["data_n"], L, derive_seed(cfg.seed, L, k, 5)).samples) ** 2
                for k, m in enumerate(models)]))
            shared["post"] = shared["exact"] = None
            if s["exact_n"] is not None:
                tick(f"{task.name}:exact-oracle:L{L}")
                n_ex = s["exact_n"]
                # exact posterior means, (n_values, n_levels, n_ex, C, L, L), and their per-configuration MSE
                post = shared["post"] = persisted_array("exact_posterior_mean", lambda: np.stack([np.stack([
                    reference_exact_posterior_mean(m, y[:n_ex], channel, lv, None) for y, lv in zip(noisy[k], levels)])
                    for k, m in enumerate(models)]))
                x_ex = np.stack([t.samples[:n_ex] for t in test]).astype(np.float64)[:, None]  # (n_values, 1, n_ex, C, L, L)
                shared["exact"] = ((post - x_ex) ** 2).mean(axis=(-3, -2, -1))
        return shared

    def family_record(fam_name):
        ref = references()
        tick(f"{task.name}:{fam_name}:L{L}")
        ev = member_pair_errors(fam_name, (r_loc, r_glob), cfg, levels, values, test, noisy, ref["post"], fitted)
        mid = len(levels) // 2
        fam = ev["families"][r_loc]
        kw = {"condition": values[0]} if fam.conditionable else {}
        locality = {r_loc: audit_locality(_Bound(fam, kw), noisy[0][mid][:1], levels[mid]).to_dict()}
        return [{
            "family": fam_name, "L": L, "values": values, "levels": levels, "r_local": r_loc, "r_global": r_glob,
            "local": ev["mse"][r_loc], "global": ev["mse"][r_glob], "exact": ref["exact"], "data_m2": ref["data_m2"],
            "local_to_global": ev["between"], "nested_projections": fam.nested_projections,
            "local_dist_to_exact": ev["to_exact"][r_loc], "global_dist_to_exact": ev["to_exact"][r_glob],
            "members": {str(r): info for r, info in ev["info"].items()}, "locality": locality,
            "datasets": {f"{s['axis']}={v}": [tr.sha256, te.sha256] for v, tr, te in zip(values, train, test)},
        }]

    r_loc, r_glob = s["r_local"], s["r_global"]
    records = []
    for fam_name in s["families"]:
        records += family_records(fam_name, lambda fam_name=fam_name: family_record(fam_name))
    return records


#: site evaluations (values x levels x test configurations x sites x 2 members) from which the values are
#: evaluated side by side on the run's executor (its workers already started by the fits); below it shipping the
#: members and data costs more than it saves (docs/decisions/worker-pool-per-run.md)
PARALLEL_SITE_EVALUATIONS = 5e6


def member_pair_errors(fam_name, radii, cfg, levels, values, test, noisy, post, fitted):
    """Evaluate the local and the global member together, on the same noisy test sets.

    Returns a dict of per-configuration arrays (n_values, n_levels, n_test): ``mse`` per radius,
    ``between`` = mean |f_local - f_global|^2, and ``to_exact`` per radius = mean |f - q|^2 to
    the exact posterior means ``post`` (n_values, n_levels, n_ex, C, L, L) on the first n_ex test
    configurations (None without them); plus ``info`` (fit info; fit seconds summed over the values of
    a family fitted per value) and ``families`` (the last fitted family) per radius.

    The values are independent: above :data:`PARALLEL_SITE_EVALUATIONS` they are evaluated on the run's
    executor (:func:`phasebench.suites.executors.current`), one value per item; inference on one torch thread
    gives the same bytes in any process.
    """
    from .. import executors

    shape = (len(values), len(levels), cfg.n_test)
    mse = {r: np.empty(shape) for r in radii}
    to_exact = {r: None if post is None else np.empty(post.shape[:3]) for r in radii}
    between = np.empty(shape)
    info = {r: {"fit_seconds": 0.0} for r in radii}
    families = {}
    items = []
    for k, g in enumerate(values):
        members = {}
        for r in radii:
            if (fam_name, r) in fitted:  # conditioned on g, one member over the whole grid
                families[r], info[r] = fitted[fam_name, r]
                members[r] = (families[r], {"condition": g})
            else:
                families[r], one = fitted[fam_name, r, k]
                info[r] = {**one, "fit_seconds": info[r]["fit_seconds"] + one["fit_seconds"]}
                members[r] = (families[r], {})
        items.append((radii, members, levels, test[k].samples, noisy[k], None if post is None else post[k]))
    sites = int(np.prod(test[0].samples.shape[1:]))
    work = len(values) * len(levels) * cfg.n_test * sites * len(radii)
    executor = executors.current() if work >= PARALLEL_SITE_EVALUATIONS else executors.SerialExecutor()
    for k, (value_mse, value_to_exact, value_between) in executor.map_unordered(value_pair_errors, items):
        for r in radii:
            mse[r][k] = value_mse[r]
            if post is not None:
                to_exact[r][k] = value_to_exact[r]
        between[k] = value_between
    return {"mse": mse, "between": between, "to_exact": to_exact, "info": info, "families": families}


def value_pair_errors(item):
    """One value of g (:func:`member_pair_errors`): per radius the MSE (n_levels, n_test) and the distance to the
    exact posterior means (n_levels, n_ex) or None; and the local-global distance (n_levels, n_test)."""
    radii, members, levels, x, noisy, post = item
    mse = {r: np.empty((len(levels), len(x))) for r in radii}
    to_exact = {r: None if post is None else np.empty(post.shape[:2]) for r in radii}
    between = np.empty((len(levels), len(x)))
    for j, lv in enumerate(levels):
        out = {r: batched(lambda b, fam=fam, kw=kw: fam.denoise(b, lv, **kw), noisy[j])
               for r, (fam, kw) in members.items()}
        for r in radii:
            mse[r][j] = per_config_mse(out[r], x)
            if post is not None:
                to_exact[r][j] = per_config_mse(out[r][: post.shape[1]], post[j])
        between[j] = per_config_mse(out[radii[0]], out[radii[1]])
    return mse, to_exact, between


class _Bound:
    """A fitted family with its condition bound, for the locality audit."""

    def __init__(self, fam, kw):
        self.fam, self.kw = fam, kw
        self.name, self.radius = fam.name, fam.radius

    def denoise(self, y, level):
        return self.fam.denoise(y, level, **self.kw)
