"""Generation: what local denoisers generate, scored by physical observables against the exact ensemble.

Every family estimates the posterior mean, which drives a reverse diffusion process (docs/physics.md, section 8;
:mod:`phasebench.suites.generation`).  Per family and lattice size the objective generates with

* each radius-r member alone (*local generation*),
* the global family's global member alone, where the model has it (the *self-check*: the exact posterior mean
  must reproduce the ensemble at the default step count),
* each radius of ``hybrid_radii`` with the global member inside each ``window`` of the level axis (*hybrid*),

and compares the samples with the model's validated sampler (the test split; exact values where the theory
has them): every observable with its CI and whether it is consistent at the family-wise 5% level, W1 of the
distribution observable against its permutation null, the energy-distance p-value
(:func:`phasebench.suites.generation.observables.compare`).  All schedules of a task share one generation
seed (common random numbers).  Per hybrid radius the summary gives the smallest global fraction whose run is
consistent in every observable and the best window (that run's window; with no consistent run, the window with the
smallest W1), beside the transition measured on the
same data: the speciation level ``lambda_S = 1 / Lambda_max`` of the reference data's covariance (under bit
flips, the level whose Nishimori coupling J has ``J^2 = lambda_S``), and the model's declared transition along
the channel's level where it has one.  Nothing here places a transition; the task is scored by the consistency
of the generated ensembles (``all_consistent``) and W1.

Settings (``TaskConfig.extra``): ``n_generated``, ``steps`` (None: the process's default,
:data:`phasebench.suites.generation.run.DEFAULT_STEPS`), ``global_family`` (default ``exact``),
``self_check`` (default True), ``windows`` ((lo, hi) pairs of levels), ``hybrid_radii``, ``hybrid_at`` (where the
windows run, :meth:`Generation.hybrid_here`).  ``TaskConfig.levels``
is unused (the path fixes the levels); ``n_test`` is the size of the reference ensemble.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

from phasebench.denoisers import DENOISERS

from ..estimators import derive_seed
from ..generation.run import default_steps
from ..generation.schedule import denoiser_levels, level_path, validate_window
from ..study import MemberRequest, Split, Study
from .base import Task, TaskConfig
from .targets import noise_transition

GLOBAL = "global"


class Generation(Task):
    """Local, global and hybrid generation scored against the reference ensemble (module doc)."""

    objective = "generation"
    scored = True

    # -- settings ------------------------------------------------------------------------------------
    def settings(self, cfg: TaskConfig) -> Dict[str, Any]:
        extra = cfg.extra
        return {"n": int(extra.get("n_generated", 200)), "steps": extra.get("steps") or default_steps(self.channel()),
                "global_family": extra.get("global_family", "exact"), "self_check": bool(extra.get("self_check", True)),
                "windows": [tuple(float(v) for v in w) for w in extra.get("windows", ())],
                "hybrid_radii": tuple(extra.get("hybrid_radii", cfg.radii[:1])), "hybrid_at": extra.get("hybrid_at")}

    def hybrid_here(self, cfg: TaskConfig, L: int, params: Dict[str, float]) -> bool:
        """Whether the hybrid windows run at size L and model parameters ``params`` (``hybrid_at``: a list of
        partial points such as ``{"L": 6, "T": 2.0}``, matched key by key; None: everywhere)."""
        at = self.settings(cfg)["hybrid_at"]
        point = {"L": L, **params}
        return at is None or any(all(point.get(k) == v for k, v in where.items()) for where in at)

    def levels_text(self, cfg: TaskConfig) -> str:
        s = self.settings(cfg)
        return f"levels: a {s['steps']}-step reverse path, {s['n']} samples"

    def path(self, cfg: TaskConfig, L: int):
        model = self.model()
        return level_path(self.channel(), self.settings(cfg)["steps"], model.channels * L * L, model.variable_type)

    def has_global(self, cfg: TaskConfig, L: int) -> bool:
        name = self.settings(cfg)["global_family"]
        return name in DENOISERS.names() and DENOISERS.get(name).supports_member(self.model(), self.channel(), None, L)

    def validate_config(self, cfg: TaskConfig) -> None:
        s = self.settings(cfg)
        if s["n"] < 2 or s["steps"] < 1:
            raise ValueError(f"task {self.name!r} needs n_generated >= 2 and steps >= 1")
        for L in cfg.L:
            path = self.path(cfg, L)
            for window in s["windows"]:
                validate_window(window, path, self.channel().level_name)
            hybrid = s["windows"] and any(self.hybrid_here(cfg, L, p) for p in cfg.model_params_grid)
            if (hybrid or s["self_check"]) and not self.has_global(cfg, L):
                raise ValueError(f"task {self.name!r}: family {s['global_family']!r} has no global member at L={L} "
                                 f"for its self-check and hybrid windows")
        if not set(s["hybrid_radii"]) <= set(cfg.radii):
            raise ValueError(f"task {self.name!r}: hybrid radii {s['hybrid_radii']} must be among the radii {cfg.radii}")

    # -- families ------------------------------------------------------------------------------------
    def family_radii(self, family, cfg: TaskConfig, L: int) -> List[int]:
        """The radii of the grid that ``family`` (a class) has a member of at size L."""
        return [r for r in cfg.radii_for(family.name) if family.supports_member(self.model(), self.channel(), r, L)]

    def members_needed(self, family, cfg: TaskConfig, L: int) -> List[Optional[int]]:
        needed: List[Optional[int]] = list(self.family_radii(family, cfg, L))
        if family.name == self.settings(cfg)["global_family"] and self.settings(cfg)["self_check"]:
            needed.append(None)
        return needed

    def accepts_family(self, family, cfg: TaskConfig) -> bool:
        """A family with a member the objective can generate with at every size: some radius, or the global one."""
        return all(self.members_needed(family, cfg, L) for L in cfg.L)

    # -- plan ----------------------------------------------------------------------------------------
    def plan(self, families: List[str], cfg: TaskConfig) -> List[Study]:
        s = self.settings(cfg)
        studies = []
        for fam in families:
            cls = DENOISERS.get(fam)
            for L, params in ((L, p) for L in cfg.L for p in cfg.model_params_grid):
                seed = derive_seed(cfg.seed, L, 3)
                members: Dict[Any, MemberRequest] = {}
                schedules = []
                for r in self.family_radii(cls, cfg, L):
                    members[r] = MemberRequest(fam, r, (0,), seed)
                    schedules.append(_schedule(f"r{r}", r, r))
                if fam == s["global_family"] and s["self_check"]:
                    members[GLOBAL] = MemberRequest(fam, None, (0,), seed)
                    schedules.append(_schedule(GLOBAL, None, GLOBAL))
                hybrid_radii = s["hybrid_radii"] if self.hybrid_here(cfg, L, params) else ()
                for r in (r for r in hybrid_radii if r in members):
                    for lo, hi in s["windows"]:
                        members[GLOBAL] = MemberRequest(s["global_family"], None, (0,), seed)
                        schedules.append(_schedule(f"r{r}+{GLOBAL}[{lo:g}:{hi:g}]", r, r, GLOBAL, (lo, hi)))
                levels = denoiser_levels(self.path(cfg, L))
                label = " ".join([f"{fam}:L{L}", *(f"{k}={v:g}" for k, v in sorted(params.items()))])
                studies.append(Study("generation", label, levels, [Split(L, tuple(sorted(params.items())))], members,
                                     {"family": fam, "steps": s["steps"], "n": s["n"], "schedules": schedules,
                                      "seed": derive_seed(cfg.seed, L, 5)}, noisy_tests=False))
        return studies

    # -- scores --------------------------------------------------------------------------------------
    def summarize(self, records: List[Dict[str, Any]], bootstrap) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for rec in records:
            schedules = {s["name"]: _schedule_summary(s) for s in rec["schedules"]}
            entry = {"family": rec["family"], "L": rec["L"], "params": rec["params"], "process": rec["process"], "steps": rec["steps"],
                     "n": rec["n"], "n_reference": rec["n_reference"], "seed": rec["seed"],
                     "distribution": rec["distribution_name"], "schedules": schedules,
                     "members": rec["members"]}
            hybrid = self.hybrid_summary(rec, schedules)
            if hybrid:
                entry["hybrid"] = hybrid
            out[rec["label"]] = entry
        return out

    def transition_levels(self, speciation_lambda: float) -> Dict[str, Any]:
        """The transitions along the level measured on (or declared for) the data (module doc)."""
        channel = self.channel()
        level = speciation_lambda
        if channel.level_name == "p":  # the bit flip whose Nishimori coupling squared is lambda_S
            level = 0.5 * (1.0 - math.tanh(math.sqrt(speciation_lambda)))
        out: Dict[str, Any] = {"speciation": level, "speciation_lambda": speciation_lambda}
        declared = noise_transition(self.model(), self.channel_name)
        if declared is not None:
            out["declared"] = declared.value
        return out

    def hybrid_summary(self, rec: Dict[str, Any], schedules: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
        """Per hybrid radius: the windows' global fractions and verdicts, the smallest consistent fraction, the
        window with the smallest W1, and the transition levels of the data."""
        out: Dict[str, Any] = {}
        for s in rec["schedules"]:
            if s["window"] is None:
                continue
            row = out.setdefault(f"r{s['radius']}", {"radius": s["radius"], "windows": []})
            summ = schedules[s["name"]]
            row["windows"].append({"window": list(s["window"]), "global_fraction": summ["global_fraction"],
                                   "all_consistent": summ["all_consistent"], "w1": summ["wasserstein"]["value"]})
        for row in out.values():
            ok = [w for w in row["windows"] if w["all_consistent"]]
            row["minimal_global_fraction"] = min(w["global_fraction"] for w in ok) if ok else None
            # the consistent window with the smallest global fraction, else the one with the smallest W1
            best = min(ok, key=lambda w: (w["global_fraction"], w["w1"])) if ok else min(row["windows"], key=lambda w: w["w1"])
            row["best_window"] = best["window"]
            row["transition"] = self.transition_levels(rec["speciation_lambda"])
            row["speciation_in_best_window"] = best["window"][0] <= row["transition"]["speciation"] <= best["window"][1]
        return out

    def cells(self, records, bootstrap) -> List[Dict[str, Any]]:
        return [{"family": rec["family"], "L": rec["L"], "params": rec["params"], "schedule": s["name"], "radius": s["radius"],
                 "window": s["window"], "global_fraction": s["schedule"]["global_fraction"],
                 "all_consistent": s["comparison"]["all_consistent"], "w1": s["comparison"]["wasserstein"]["value"],
                 "n": rec["n"], "steps": rec["steps"]}
                for rec in records for s in rec["schedules"]]

    def leaderboard_rows(self, summary: Dict[str, Any]) -> Tuple[List[str], List[List[str]]]:
        header = ["L", "family", "schedule", "global fraction", "observables consistent (family-wise 5%)",
                  "W1 [95% CI] (null quantile)", "energy-distance p", "wall s"]
        rows = []
        for e in summary.values():
            for name, s in e["schedules"].items():
                w = s["wasserstein"]
                bad = [k for k, o in s["observables"].items() if o["consistent"] is False]
                verdict = f"{s['n_consistent']}/{s['n_tested']}" + (f" (not: {', '.join(bad)})" if bad else "")
                rows.append([_size_text(e), e["family"], name, f"{s['global_fraction']:.2f}", verdict,
                             f"{w['value']:.4g} [{w['lo']:.4g}, {w['hi']:.4g}] ({w['null_quantile']:.4g})",
                             f"{s['energy_distance']['p_value']:.3g}", f"{s['wall_seconds']:.0f}"])
            for key, h in e.get("hybrid", {}).items():
                frac = h["minimal_global_fraction"]
                t = h["transition"]
                rows.append([_size_text(e), e["family"], f"{key} hybrid: smallest consistent global fraction",
                             "none" if frac is None else f"{frac:.2f}",
                             f"best window {h['best_window'][0]:g}:{h['best_window'][1]:g}"
                             + (" (holds the speciation level)" if h["speciation_in_best_window"] else ""),
                             f"speciation {t['speciation']:.4g}" + (f", declared {t['declared']:.4g}" if "declared" in t else ""),
                             "", ""])
        return header, rows

    def plots(self, records, summary, out_dir) -> List[str]:
        from ..generation import plots

        return plots.generation_plots(self.name, records, summary, out_dir)


def _size_text(entry: Dict[str, Any]) -> str:
    return " ".join([str(entry["L"]), *(f"{k}={v:g}" for k, v in sorted(entry["params"].items()))])


def _schedule(name: str, radius: Optional[int], local, global_key=None, window=None) -> Dict[str, Any]:
    return {"name": name, "radius": radius, "local": local, "global": global_key,
            "window": None if window is None else list(window)}


def _schedule_summary(s: Dict[str, Any]) -> Dict[str, Any]:
    """One schedule's scores: the observables (value, CI, reference, verdict), W1, energy distance."""
    comp = s["comparison"]
    observables = {}
    for row in comp["observables"]:
        o = {k: row[k] for k in ("value", "lo", "hi", "reference", "source", "consistent")}
        if row["source"] == "sampler":
            o["difference"] = {"value": row["value"] - row["reference"], "lo": row["difference_lo"],
                               "hi": row["difference_hi"]}
        observables[row["name"]] = o
    tested = [o["consistent"] for o in observables.values() if o["consistent"] is not None]
    w = comp["wasserstein"]
    return {"radius": s["radius"], "window": s["window"], "global_fraction": s["schedule"]["global_fraction"],
            "all_consistent": comp["all_consistent"], "n_consistent": sum(tested) + int(w["consistent"]),
            "n_tested": len(tested) + 1, "observables": observables,
            "wasserstein": {k: w[k] for k in ("observable", "value", "lo", "hi", "null_quantile", "consistent")},
            "energy_distance": {k: comp["energy_distance"][k] for k in ("value", "p_value")},
            "denoiser_calls": s["denoiser_calls"], "wall_seconds": s["wall_seconds"]}
