"""The anisotropic 2D Ising model as a phasebench plugin (an example of a third-party model).

``p(s) ~ exp((J_x sum s_{i,j} s_{i,j+1} + J_y sum s_{i,j} s_{i+1,j}) / T)`` on the L x L torus,
spins +-1 stored as int8 ``(n, 1, L, L)``.  Onsager (1944) solved it: the transition is at
``sinh(2 J_x / T_c) sinh(2 J_y / T_c) = 1`` (:mod:`.exact`), in the 2D Ising universality class
for every ratio ``J_y / J_x`` (beta = 1/8, nu = 1), so the local denoisers' nonlocality
``Phi L^(2 beta/nu) = Phi L^(1/4)`` crosses at T_c exactly as for the isotropic model.  The model
declares that transition; ``phasebench run --model aniso_ising -p Jx=1 -p Jy=0.5`` places it.

Sampling (:meth:`AnisotropicIsing._sample`): ``n_chains`` Swendsen-Wang chains
(:mod:`.swendsen_wang`), even-numbered ones from a cold start (all +1), odd-numbered ones from a
hot start; ``thermalization`` sweeps; a pilot that records the energy and |m| per sweep,
doubled (up to 16 times) until it spans 50 integrated autocorrelation times; a two-start check
(cold and hot chains' pilot means of e and |m| within 4 combined standard errors, else
ValueError); then each chain stores a sample every ``spacing = ceil(2 tau_int)`` sweeps,
chain-major.  Each chain has its own counter-based random stream, so a dataset is a pure
function of the seed and the options.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Tuple

import numpy as np

from phasebench.lattice_models import LatticeModel, Param, Transition
from phasebench.lattice_models.base import validate_int
from phasebench.lattice_models.kernels.counter_rng import chain_keys
from phasebench.lattice_models.mcmc_stats import integrated_autocorrelation_time, mean_and_error, series_means

from . import exact, swendsen_wang

__all__ = ["AnisotropicIsing", "exact"]

MIN_PILOT_TAUS = 50.0
MAX_PILOT_GROWTH = 16
TWO_START_Z_MAX = 4.0
OPTIONS = {"n_chains": None, "thermalization": 200, "pilot": 200, "spacing": None}
_PURPOSE_INIT, _PURPOSE_CHAIN = 1, 3


def _positive(name: str, default: float, doc: str) -> Param:
    return Param(name, default, low=0.0, high=math.inf, low_inclusive=False, high_inclusive=False, doc=doc)


class AnisotropicIsing(LatticeModel):
    """Ferromagnetic 2D Ising model with couplings J_x (along rows) and J_y (along columns)."""

    description = "anisotropic 2D Ising model (J_x, J_y) on the torus; Swendsen-Wang MCMC (example plugin)"
    params = (_positive("Jx", 1.0, "coupling along x (between columns j, j+1), > 0"),
              _positive("Jy", 1.0, "coupling along y (between rows i, i+1), > 0"),
              _positive("T", exact.ISOTROPIC_TC_OVER_J, "temperature T > 0 (default: T_c of J_x = J_y = 1)"))
    variable_type = "spin"
    channels = 1
    sampler_name = "aniso-ising-swendsen-wang"

    def transitions(self) -> list[Transition]:
        return [Transition(axis="T", value=exact.critical_temperature(self.Jx, self.Jy), uncertainty=0.0,
                           reference="Onsager 1944: sinh(2 J_x/T_c) sinh(2 J_y/T_c) = 1",
                           crossing_exponent=0.25, nu=1.0)]

    # -- sampling -----------------------------------------------------------------------------
    def _options(self, n: int, opts: Dict[str, Any]) -> Dict[str, Any]:
        unknown = sorted(set(opts) - set(OPTIONS))
        if unknown:
            raise ValueError(f"unknown aniso_ising sampler option {unknown[0]!r} (options: {', '.join(OPTIONS)})")
        out = {**OPTIONS, **opts}
        out["n_chains"] = max(2, min(n, 8)) if out["n_chains"] is None else validate_int(out["n_chains"], "n_chains", 2)
        out["thermalization"] = validate_int(out["thermalization"], "thermalization", 0)
        out["pilot"] = validate_int(out["pilot"], "pilot", 20)
        if out["spacing"] is not None:
            out["spacing"] = validate_int(out["spacing"], "spacing", 1)
        return out

    def _run(self, spins, keys, counters, n_sweeps, record_every=1, n_records=0, trace=True):
        n_chains, L, _ = spins.shape
        samples = np.zeros((n_chains, n_records, L, L), dtype=np.int8)
        e_tr = np.zeros((n_chains, n_sweeps if trace else 0))
        m_tr = np.zeros_like(e_tr)
        swendsen_wang.run_chains(spins, keys, counters, swendsen_wang.bond_threshold(self.Jx / self.T),
                                 swendsen_wang.bond_threshold(self.Jy / self.T), self.Jx, self.Jy,
                                 n_sweeps, record_every, samples, e_tr, m_tr)
        return samples, e_tr, np.abs(m_tr)

    def _sample(self, n: int, L: int, seed: int, **options: Any) -> Tuple[np.ndarray, dict]:
        opt = self._options(n, options)
        n_chains = opt["n_chains"]
        rng = np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFFFFFFFFFF, _PURPOSE_INIT]))
        spins = np.ones((n_chains, L, L), dtype=np.int8)
        spins[1::2] = np.where(rng.random(spins[1::2].shape) < 0.5, 1, -1)
        keys = chain_keys(seed, n_chains, _PURPOSE_CHAIN)
        counters = np.zeros(n_chains, dtype=np.uint64)
        self._run(spins, keys, counters, opt["thermalization"], trace=False)

        pilot = opt["pilot"]
        _, e_tr, m_tr = self._run(spins, keys, counters, pilot)
        tau = max(integrated_autocorrelation_time(e_tr), integrated_autocorrelation_time(m_tr))
        while pilot < MIN_PILOT_TAUS * tau and pilot < MAX_PILOT_GROWTH * opt["pilot"]:
            _, e_new, m_new = self._run(spins, keys, counters, pilot)
            e_tr, m_tr, pilot = np.concatenate([e_tr, e_new], 1), np.concatenate([m_tr, m_new], 1), 2 * pilot
            tau = max(integrated_autocorrelation_time(e_tr), integrated_autocorrelation_time(m_tr))
        if pilot < MIN_PILOT_TAUS * tau:
            raise ValueError(f"aniso_ising pilot of {pilot} sweeps is shorter than {MIN_PILOT_TAUS:g} tau_int "
                             f"({tau:.1f} sweeps) at {self!r}, L={L}; raise the pilot option")
        two_start = {name: _two_start_z(tr) for name, tr in (("energy", e_tr), ("abs_m", m_tr))}
        worst = max(two_start, key=two_start.get)
        if two_start[worst] > TWO_START_Z_MAX:
            raise ValueError(f"aniso_ising two-start check failed for {worst} ({two_start[worst]:.1f} sigma) at "
                             f"{self!r}, L={L}; raise the thermalization option")
        spacing = opt["spacing"] or max(1, math.ceil(2.0 * tau))
        per_chain = -(-n // n_chains)
        samples, _, _ = self._run(spins, keys, counters, per_chain * spacing, spacing, per_chain, trace=False)
        diag = {"sampler": self.sampler_name, "algorithm": "swendsen-wang", "n_chains": n_chains,
                "thermalization_sweeps": opt["thermalization"], "pilot_sweeps": pilot, "pilot_tau_int": tau,
                "two_start_z": two_start, "spacing": spacing, "samples_per_chain": per_chain,
                "sample_order": "chain-major", "rng": "splitmix64 counter streams per chain"}
        return np.ascontiguousarray(samples.reshape(n_chains * per_chain, 1, L, L)[:n]), diag

    # -- observables --------------------------------------------------------------------------
    def observables(self, samples: np.ndarray) -> Dict[str, Tuple[float, float]]:
        """Energy per site, |m| and m^2 with standard errors corrected for correlation along the sample order."""
        s = samples[:, 0].astype(np.int64)
        N = s.shape[1] * s.shape[2]
        e = -(self.Jx * (s * np.roll(s, -1, axis=2)).sum(axis=(1, 2))
              + self.Jy * (s * np.roll(s, -1, axis=1)).sum(axis=(1, 2))) / N
        m = s.sum(axis=(1, 2)) / N
        return series_means({"energy": e, "abs_m": np.abs(m), "m2": m * m})

    def exact_observables(self, L: int) -> Dict[str, float]:
        """Brute-force ``energy``, ``abs_m`` and ``m2`` for L <= 4 (none beyond)."""
        if L > exact.BRUTE_FORCE_MAX_L:
            return {}
        return exact.brute_force(L, self.Jx, self.Jy, self.T)


def _two_start_z(trace: np.ndarray) -> float:
    """|cold - hot| pilot means of the even (cold) and odd (hot) chains, in combined standard errors."""
    mc, ec, _ = mean_and_error(trace[0::2])
    mh, eh, _ = mean_and_error(trace[1::2])
    sigma = math.hypot(ec, eh)
    return abs(mc - mh) / sigma if sigma > 0 else (0.0 if mc == mh else math.inf)
