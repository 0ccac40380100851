"""Place a transition along the noise level (e.g. the bit-flip decoding threshold) from r-local denoisers.

The target is the model's declared transition along the level of the task's channel
(:class:`phasebench.lattice_models.Transition` with ``channel`` set): its value, whether it is scored
(an unverified value is measured and compared, never scored against) and ``nu``.  Where the Markov
length of the noisy distribution diverges (for closed loops under bit flips: the Nishimori point,
docs/physics.md, section 3), the r-local error converges ever more slowly in r.  Per family:

* MSE(level, r) per variable and the cross-entropy, on the *same* random sites of the same noisy
  configurations for every radius (for the ``exact`` r-local oracle these are infinite-lattice
  values where the window oracle does not depend on L);
* ``xi_eff(level)`` from the convergence in r, ``MSE(r) = MSE_inf + A e^{-r/xi}``, through the
  paired increments ``MSE(r) - MSE(r+1)`` of the largest radii (they decay with the same xi and
  need no estimate of MSE_inf);
* the critical level: the peak of ``xi_eff`` at each scale (largest radius ``r_max``), and its
  finite-r extrapolation with the transition's ``nu`` (:mod:`phasebench.suites.estimators.xi_eff`),
  with bootstrap CIs over test configurations; the table of peaks against ``r_max`` is reported;
* for a learned family the increments are Rao-Blackwellised against the exact posterior of the
  largest exact radius R (when the ``exact`` family ran first and R covers the family's radii):
  every member f_r with r <= R is a function of the radius-R window, so
  ``E (f_r - x)^2 = E (f_r - q_R)^2 + E (q_R - x)^2`` and ``MSE(r) - MSE(r+1)`` equals
  ``E (f_r - q_R)^2 - E (f_{r+1} - q_R)^2`` in expectation, without the Bernoulli noise of x
  (variance ~ MSE, against increments of ~1e-3 MSE at r = 5 near p_c).  Still the family's
  own MSE increments; only the estimator's variance changes (``increments_method``);
* for learned families, the excess over the exact r-local optimum q_r per (level, r), as
  ``E |f_r - q_r|^2`` on the sampled sites: f_r sees only the window q_r conditions on, so
  ``E mse(f_r) - E mse(q_r) = E |f_r - q_r|^2`` exactly (the posterior mean is orthogonal to
  every function of its window), and this estimate has no Bernoulli noise of x in it;
* for learned families, the share of the exact gain per ring r -> r + 1
  (:func:`phasebench.suites.estimators.gain_captured`): how much
  of the signal that places the transition their increments carry.

Cross-check (with the ``exact`` family, where the model has an exact global decoder,
:meth:`LatticeModel.exact_failure_probability`): the logical failure rate of exact optimal decoding at
several L (``extra["global_L"]``), whose size crossings lie near the transition.

The variables are binary and the estimates probabilities ``P(x = 1 | y)`` (the cross-entropy needs them).

``extra["exact_L"]`` (default none): further lattice sizes at which only the ``exact`` family runs, at the radii
``extra["exact_radii"]`` (those with 2r + 1 < L): the yardstick at radii beyond the learned families' reach.  Its
window oracle does not depend on L, so the exact r-local values it measures are those of the other sizes; its
placement uses the larger radii (docs/physics.md, section 3).  There, ``extra["exact_levels"]`` and
``extra["exact_n_test"]`` (default: the grid's) spend its windows on the levels around the transition.

``extra["common_noise"]`` (default False): every level corrupts the test configurations with the same random
draws (common random numbers; under bit flip one uniform per variable, flipped where it falls below p, so the
flips at p are a subset of those at p' > p).  The levels' errors are then correlated and the curve in p is
smoother; the bootstrap resamples configurations with all their levels, so its intervals stay valid.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List

import numpy as np

from phasebench.denoisers import DENOISERS, validate_radius
from phasebench.lattice_models.base import validate_count

from ..estimators import BootstrapConfig, crossing_with_ci, derive_seed, gain_captured, mean_with_ci, threshold_from_increments
from ..estimators.systematic import consistent_with, error_text, interval_text
from ..evaluation import COLLAPSE_FRACTION, collapsed_members
from ..study import MemberRequest, Split, Study
from .base import Task, TaskConfig
from .targets import noise_transition

#: the level grid around a declared critical level for a task built from a model alone: ``level_c * factor``,
#: the relative spacing of the toric-bitflip quick grid (p = 0.04 .. 0.18 around 0.10922)
RELATIVE_LEVELS = (0.366, 0.549, 0.641, 0.732, 0.824, 0.916, 1.007, 1.099, 1.19, 1.373, 1.648)


class NoiseTransition(Task):
    """Place the model's declared transition along the level of the task's channel (see the module doc)."""

    objective = "noise-transition"
    placement_quantity = "the threshold along the noise level"
    #: the other families' increments are taken against the exact family's window oracle (module doc)
    seed_reference_families = ("exact",)

    def transition(self):
        t = noise_transition(self.model(), self.channel_name)
        if t is None:
            raise ValueError(f"model {self.model_name!r} {self.model_params} declares no transition along the level "
                             f"of the {self.channel_name} channel")
        return t

    @property
    def scored(self) -> bool:
        return self.transition().scored

    @property
    def target(self) -> float:
        return self.transition().value

    @property
    def level_label(self) -> str:
        return self.channel().level_name

    def config(self, division: str) -> TaskConfig:
        """Around the declared level: the relative grid of the toric-bitflip quick division."""
        levels = tuple(round(self.target * f, 5) for f in RELATIVE_LEVELS)
        return TaskConfig(L=(16,), levels=levels, radii=(1, 2, 3, 4, 5, 6), n_train=400, n_test=300, budget=20.0,
                          extra={"centres_per_config": 16, "learned_radii": (1, 2, 3)})

    def validate_config(self, cfg: TaskConfig) -> None:
        if self.model().variable_type != "binary":
            raise ValueError(f"the noise-axis objective scores probabilities of binary variables; model "
                             f"{self.model_name!r} has {self.model().variable_type} variables")
        exact_L = tuple(cfg.extra.get("exact_L", ()))
        if exact_L:
            radii = tuple(cfg.extra.get("exact_radii", ()))
            if not radii:
                raise ValueError("extra['exact_L'] needs extra['exact_radii'], the exact family's radii there")
            for L in exact_L:
                self.model().validate_L(L)
                if not any(2 * r + 1 < L for r in radii):
                    raise ValueError(f"extra['exact_radii'] {radii}: no window fits in L = {L} (2r + 1 < L)")
            for r in radii:
                validate_radius(r)
            for lv in cfg.extra.get("exact_levels", ()):
                try:
                    self.channel().validate_level(lv)
                except ValueError as err:
                    raise ValueError(f"extra['exact_levels']: {err}") from None
            if "exact_n_test" in cfg.extra:
                validate_count(cfg.extra["exact_n_test"], "extra['exact_n_test']")

    def members_needed(self, family, cfg, L):
        if L in cfg.extra.get("exact_L", ()) and L not in cfg.L:  # the exact family's yardstick size (module doc)
            return [r for r in cfg.extra["exact_radii"] if 2 * r + 1 < L] if family.name == "exact" else []
        if not family.local_members:
            return [None]
        return [r for r in cfg.radii_for(family.name)
                if 2 * r + 1 < L and (family.name == "exact" or r in cfg.extra["learned_radii"])]

    def sizes(self, cfg: TaskConfig) -> List[int]:
        """The grid's lattice sizes and, where the exact family runs, its yardstick sizes."""
        return list(cfg.L) + [L for L in cfg.extra.get("exact_L", ()) if L not in cfg.L]

    # -- the plan: datasets and members ------------------------------------------------------------
    def plan(self, families: List[str], cfg: TaskConfig) -> List[Study]:
        """Per L, every member of every family on the same sampled edges, the ``exact`` family first (the others
        are compared with its oracle); with it, the exact global decoder at ``extra["global_L"]``
        (:mod:`phasebench.suites.evaluators.sampled_edges`)."""
        channel = self.channel()
        levels = [channel.validate_level(v) for v in cfg.levels]
        families = sorted(families, key=lambda name: name != "exact")
        studies = []
        for L in self.sizes(cfg):
            radii = {name: self.members_needed(DENOISERS.get(name), cfg, L) for name in families}  # [None]: global only
            split = Split(L, common_noise=bool(cfg.extra.get("common_noise", False)))
            study_levels = levels
            if L not in cfg.L:  # an exact-only size: its study is the exact family's alone
                if "exact" not in families:
                    continue
                radii = {"exact": radii["exact"]}
                study_levels = [channel.validate_level(v) for v in cfg.extra.get("exact_levels", levels)]
                split = Split(L, common_noise=split.common_noise, n_test=cfg.extra.get("exact_n_test"))
            members = {(name, r): MemberRequest(name, r, (0,), derive_seed(cfg.seed, L, 3) if r is None else
                                                derive_seed(cfg.seed, L, r, 3))
                       for name in radii for r in radii[name]}
            studies.append(Study("sampled-edges", f"L{L}", study_levels, [split], members,
                                 {"families": list(radii), "radii": radii, "centres_per_config": cfg.extra["centres_per_config"],
                                  "global_only": [name for name in radii if not DENOISERS.get(name).local_members]}))
        if "exact" in families and cfg.extra.get("global_L"):  # the exact family's global reference
            n = cfg.extra["global_n"]  # per-L sizes: the L = 10 transfer matrix costs ~0.7 s
            studies.append(Study("global-decoder", "global-decoder",
                                 [channel.validate_level(v) for v in cfg.extra.get("global_levels", cfg.levels)],
                                 settings={"L": list(cfg.extra["global_L"]),
                                           "n": {L: n[L] if isinstance(n, dict) else n for L in cfg.extra["global_L"]}}))
        return studies

    # -- scores -----------------------------------------------------------------------------------
    def summarize(self, records: List[Dict[str, Any]], bootstrap: BootstrapConfig) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        exact_records = {r["L"]: r for r in records if r["kind"] == "local" and r["family"] == "exact"}
        for rec in (r for r in records if r["kind"] == "local"):
            levels, radii = np.array(rec["levels"]), rec["radii"]
            key = f"{rec['family']}/L{rec['L']}"
            entry: Dict[str, Any] = {"family": rec["family"], "L": rec["L"], "radii": radii, "levels": rec["levels"],
                                     "n_test": int(rec["mse"].shape[-1]),
                                     "members": rec["members"], "locality": {str(k): v for k, v in rec["locality"].items()},
                                     "refused": any(not v["passed"] for v in rec["locality"].values()),
                                     "collapsed_fits": collapsed_members(rec["members"])}
            boot = bootstrap.indices(rec["mse"].shape[-1], "local", rec["L"])  # shared by the families: paired
            entry["mse"] = [[mean_with_ci(rec["mse"][i, j], boot).to_dict() for j in range(len(levels))] for i in range(len(radii))]
            entry["cross_entropy"] = rec["ce"].mean(axis=-1).tolist()
            if rec["exact_mse"] is not None and rec["family"] != "exact":
                entry["excess_over_exact_local"] = [  # E|f_r - q_r|^2 (see the module doc)
                    [mean_with_ci(rec["dist_to_exact"][i, j], boot).to_dict() if r in rec["exact_mse"] else None
                     for j in range(len(levels))] for i, r in enumerate(radii)]
            if rec["family"] != "exact" and rec["L"] in exact_records:
                entry["gain_captured"] = gain_captured(rec, exact_records[rec["L"]], boot)
            th = threshold_from_increments(levels, radii[:-1], rec["increments"], boot, nu=self.transition().nu)
            entry["increments_method"] = rec.get("increments_method", "mse differences")
            entry["xi_eff"] = th["xi_eff"]  # at the largest scale, radii up to max(radii)
            entry["pc_vs_rmax"] = th["by_rmax"]
            entry["pc_extrapolated"] = th["extrapolated"]
            entry["pc_estimate"] = th["estimate"]
            best = th["estimate"]["value"]
            entry["pc_error"] = abs(best - self.target) if math.isfinite(best) else float("nan")
            entry["pc_consistent"] = consistent_with(th["estimate"], self.target)  # inside the combined interval
            if not self.scored:  # an unverified target: measured and compared, never scored against
                entry["agrees_with_declared"] = bool(entry["pc_consistent"])
            out[key] = entry
        for rec in (r for r in records if r["kind"] == "global"):
            boot = bootstrap.indices(rec["mse"].shape[-1], "global-family", rec["L"])
            out[f"_{rec['family']}/L{rec['L']}"] = {"family": rec["family"], "L": rec["L"], "refused": False, "global": True,
                                                    "levels": rec["levels"], "members": rec["members"],
                                                    "mse": [mean_with_ci(m, boot).to_dict() for m in rec["mse"]]}
        glob = [r for r in records if r["kind"] == "global-decoder"]
        if glob:
            curves = {r["L"]: bootstrap.means(r["failures"], "global-decoder", r["L"]) for r in glob}
            Ls = sorted(curves)
            pairs = []
            sign = -1.0 if self.channel().noise_increases_with_level else 1.0
            for L1, L2 in zip(Ls, Ls[1:]):  # on the noisy side, the larger lattice fails more often
                c = crossing_with_ci(glob[0]["levels"], sign * curves[L1], sign * curves[L2])
                pairs.append({"L": [L1, L2], **c})
            out["_global_decoder"] = {"family": "exact-global decoder", "refused": False, "levels": glob[0]["levels"],
                                      "failure_rate": {str(L): curves[L][0].tolist() for L in Ls}, "crossings": pairs}
        return out

    def placements(self, summary):
        """The threshold and each family's estimate of it per lattice size (its global-only families place none)."""
        return self.target, {k: {"family": e["family"], "estimate": e["pc_estimate"]}
                             for k, e in summary.items() if not k.startswith("_")}

    def cells(self, records, bootstrap: BootstrapConfig):
        cells = []
        for rec in (r for r in records if r["kind"] == "local"):
            for i, r in enumerate(rec["radii"]):
                for j, lv in enumerate(rec["levels"]):
                    m, d = rec["mse"][i, j], rec["dist_to_exact"][i, j]
                    cells.append({"family": rec["family"], "L": rec["L"], "level": lv, "radius": r,
                                  "mse": float(m.mean()), "mse_stderr": float(m.std(ddof=1) / math.sqrt(len(m))),
                                  "cross_entropy": float(rec["ce"][i, j].mean()),
                                  "excess_over_exact_local": float(d.mean()) if np.isfinite(d).all() else None})
        for rec in (r for r in records if r["kind"] == "global-decoder"):
            for j, lv in enumerate(rec["levels"]):
                f = rec["failures"][j]
                cells.append({"family": rec["family"], "L": rec["L"], "level": lv, "radius": None,
                              "logical_failure": float(f.mean()), "stderr": float(f.std(ddof=1) / math.sqrt(len(f)))})
        return cells

    def leaderboard_rows(self, summary):
        label = self.level_label
        header = ["family", "L", "status", f"{label}_c estimate [95% CI: stat; sys; comb]",
                  f"|{label}_c^ - target|" if self.scored else "target",
                  "peak of xi_eff vs largest r (extrapolated to r = inf in the estimate)",
                  f"excess over exact r-local, worst {label} per r (relative)",
                  f"share of the exact gain per ring r -> r+1 at the exact {label}_c^", "seconds (fit)"]
        rows = []
        for key, s in summary.items():
            if s.get("global"):
                mse = ", ".join(f"{lv:g}: {m['mean']:.4f}" for lv, m in zip(s["levels"], s["mse"]))
                rows.append([s["family"], str(s["L"]), "global (not scored)", "n/a", "", f"MSE per {label}: {mse}", "", "", ""])
                continue
            if key.startswith("_"):
                continue
            e = s["pc_estimate"]
            drift = ", ".join(f"r<={d['r_max']}: " + ("maximum at the grid edge" if d.get("peak_at_grid_edge") else
                                                      f"{d['value']:.4g} [{d['lo']:.4g}, {d['hi']:.4g}]")
                              for d in s["pc_vs_rmax"])
            fit_s = sum(m.get("fit_seconds", 0.0) for m in s["members"].values())
            note = "" if e.get("extrapolated") else f" ({e.get('method', 'no estimate')})"  # results files of older versions lack the flag
            status = "REFUSED (locality audit)" if s["refused"] else "ok"
            if s.get("collapsed_fits"):  # results files of older versions lack the entry
                status += (f"; fits at r = {', '.join(s['collapsed_fits'])} collapsed (final training loss >= "
                           f"{COLLAPSE_FRACTION:g} x the untrained network's)")
            rows.append([s["family"], str(s["L"]), status,
                         interval_text(e) + note, error_text(e, self.target) if self.scored else "unscored", drift, _excess_text(s, summary, label),
                         _gain_text(s, summary, label, self.target), f"{fit_s:.1f}"])
        g = summary.get("_global_decoder")
        if g:
            cross = "; ".join(f"L={p['L'][0]}/{p['L'][1]}: {p['value']:.4g} [{p['lo']:.4g}, {p['hi']:.4g}]" for p in g["crossings"])
            rows.append(["exact global decoder (logical failure crossings)", ",".join(g["failure_rate"]), "reference", cross,
                         "", "", "", "", ""])
        return header, rows

    def plots(self, records, summary, out_dir):
        from .. import plots

        paths = [plots.toric_xi_curves(self.name, summary, out_dir, self.target, self.level_label),
                 plots.toric_mse_heatmaps(self.name, records, out_dir, self.level_label)]
        if any(s.get("gain_captured") for s in summary.values()):  # learned families beside the exact one
            paths.append(plots.toric_gain_shares(self.name, summary, out_dir, self.level_label))
        return paths


def _excess_text(s: Dict[str, Any], summary: Dict[str, Any], label: str) -> str:
    """Per radius, the largest relative excess E|f_r - q_r|^2 / MSE(q_r) over the levels, and where."""
    exact = summary.get(f"exact/L{s['L']}")
    if "excess_over_exact_local" not in s or exact is None:
        return "n/a"
    parts = []
    for i, r in enumerate(s["radii"]):
        if r not in exact["radii"]:
            continue
        k = exact["radii"].index(r)
        rel = [(e["mean"] / m["mean"], lv) for e, m, lv in zip(s["excess_over_exact_local"][i], exact["mse"][k], s["levels"])
               if e is not None and m["mean"] > 0]
        if rel:
            worst, lv = max(rel)
            parts.append(f"r={r}: {worst:.1%} ({label}={lv:g})")
    return ", ".join(parts) or "n/a"


def _gain_text(s: Dict[str, Any], summary: Dict[str, Any], label: str, target: float) -> str:
    """The share of the exact gain per ring at the grid level nearest the exact family's estimate (else the target)."""
    rings = s.get("gain_captured")
    if not rings:  # the exact family, or results files of older versions
        return "n/a"
    exact = summary.get(f"exact/L{s['L']}", {}).get("pc_estimate", {}).get("value", float("nan"))
    centre = exact if math.isfinite(exact) else target
    j = int(np.argmin(np.abs(np.asarray(s["levels"], dtype=np.float64) - centre)))
    lv = s["levels"][j]
    shares = [(g["r"], g["share"][j]["mean"]) for g in rings]
    return f"{label}={lv:g}: " + ", ".join(f"{r}->{r + 1}: {0.0 if abs(v) < 0.005 else v:.0%}" for r, v in shares)  # no "-0%"; NaN stays
