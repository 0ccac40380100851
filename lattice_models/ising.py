"""2D Ising model on the periodic L x L torus (J = 1, k_B = 1): Numba MCMC samplers.

Reference: docs/physics.md, section 2.  ``p(s) ~ exp(K sum_<ij> s_i s_j)``, K = 1/T, s = +-1
stored as int8, shape ``(n, 1, L, L)``.  Samplers (``lattice_models/kernels``):
checkerboard Metropolis (L even, >= 4), Swendsen-Wang and Wolff, all with per-chain
counter-based random streams, so a dataset is a pure function of the seed and the
options, whatever ``NUMBA_NUM_THREADS``.

Sampling protocol (:meth:`Ising._sample`):

1. ``n_chains`` chains, even-numbered ones from a cold start (all +1), odd-numbered
   ones from a hot start (independent fair spins).
2. ``thermalization`` sweeps, then a ``pilot`` run that records the energy and |m|
   after every sweep.  The pilot is doubled (up to 16 times its size) until it spans
   >= 50 tau_int; the **two-start check** then compares the cold and hot chains'
   pilot means of e and |m|; a difference above 4 combined standard errors
   (autocorrelation-corrected) raises :class:`ThermalizationError` -- never a silent
   dataset.
3. Production: each chain stores a sample every ``spacing`` sweeps, by default
   ``ceil(SPACING_TAUS tau)`` with ``tau = max tau_int`` of e, |m| and m^2, so that stored samples
   are independent for every bootstrap downstream (lag-1 autocorrelation ~ exp(-6) for an exponential
   decay).  The pilot's tau is short-run and often low (2.1 against 3.1 on the production chains at
   T = 2.2, L = 10), so tau is re-measured on the production traces (hundreds of tau long): where the
   spacing is below ``MIN_PRODUCTION_TAUS`` production taus, the chains continue and the samples are
   drawn again with the spacing from the production tau (at most ``MAX_RESPACINGS`` times; the first
   run then served as more thermalization).  Measured: docs/decisions/ising-sample-spacing.md.
   Samples are ordered chain by chain.  The integrated autocorrelation times of e and |m| measured on
   the production traces go into the diagnostics (and the dataset metadata).

``algorithm="auto"`` runs a short deterministic pilot (``AUTO_PILOT_SWEEPS``, two
hot-start chains) of each algorithm, measures ``tau = max(tau_int(e), tau_int(|m|))``
and picks the smallest cost ``tau * (1 for Metropolis, CLUSTER_COST_RATIO for a
cluster update)``, the ratio being the measured wall time of a cluster sweep in
Metropolis sweeps.  Metropolis is eligible only if the pilot resolves its tau
(``tau <= AUTO_PILOT_SWEEPS / 50``).  A hot start below T_c makes Metropolis
coarsen slowly, which shows up as a long tau; Wolff decorrelates the energy slowly
in the ordered phase (its clusters are mostly the majority domain), so auto picks
Wolff near T_c, Swendsen-Wang below it and Metropolis well above it.
For odd L or L = 2 auto uses Wolff.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .base import MODELS, LatticeModel, Param, Transition, validate_count, validate_int, validate_size
from .devices import torch_device
from .exact import ising_exact as exact
from .kernels import ising_cluster, ising_metropolis
from .kernels.counter_rng import chain_keys
from .exact.torus_ising import MAX_L as ORACLE_MAX_L
from .mcmc_stats import integrated_autocorrelation_time, mean_and_error, series_means

ALGORITHMS = ("auto", "metropolis", "swendsen-wang", "wolff")
#: where Metropolis sweeps run: the Numba kernel, or torch (CUDA if available), which is bitwise identical
BACKENDS = ("numba", "torch")
# Wall time of one Wolff sweep over one checkerboard Metropolis sweep at T_c
# (measured: docs/decisions/ising-sampler-cluster-cost.md)
CLUSTER_COST_RATIO = 10.0
TWO_START_Z_MAX = 4.0
MIN_PILOT_TAUS = 50.0
MAX_PILOT_GROWTH = 16
AUTO_PILOT_SWEEPS = 200
DEFAULT_THERMALIZATION = {"metropolis": 1000, "swendsen-wang": 200, "wolff": 200}
DEFAULT_PILOT = 200
WOLFF_CALIBRATION_CLUSTERS = 50
WOLFF_CALIBRATION_MAX = 2000
AUTO_WOLFF_THERMALIZATION = 50
SPACING_TAUS = 6.0
MIN_PRODUCTION_TAUS = 4.0
MAX_RESPACINGS = 3
_PURPOSE_INIT, _PURPOSE_AUTO, _PURPOSE_CHAIN, _PURPOSE_GLOBAL_FLIP = 1, 2, 3, 4


class ThermalizationError(ValueError):
    """The hot- and cold-start chains disagree, or the pilot is too short for tau_int.

    A ValueError so that the CLI reports it as a bad option (exit status 2): more
    ``thermalization``/``pilot`` sweeps or a cluster ``algorithm`` fix it.
    """


def run_chains(algorithm: str, spins: np.ndarray, keys: np.ndarray, counters: np.ndarray, K: float,
               n_sweeps: int, record_every: int = 1, n_records: int = 0, trace: bool = True,
               clusters_per_sweep: int = 1, backend: str = "numba"):
    """Advance ``spins`` (n_chains, L, L) in place by ``n_sweeps`` sweeps of ``algorithm``.

    Returns ``(samples (n_chains, n_records, L, L), energy trace, magnetisation trace)``;
    the traces are totals after each sweep, shape (n_chains, n_sweeps), empty if not ``trace``.
    A Wolff sweep is ``clusters_per_sweep`` clusters (see :func:`calibrate_wolff`).
    ``backend="torch"`` runs Metropolis sweeps with :mod:`.kernels.ising_metropolis_torch`
    (the same numbers bit for bit); cluster updates always run in Numba.
    """
    n_chains, L, _ = spins.shape
    width = n_sweeps if trace else 0
    e_tr = np.zeros((n_chains, width), dtype=np.int64)
    m_tr = np.zeros((n_chains, width), dtype=np.int64)
    if algorithm == "metropolis":
        sub = ising_metropolis.to_split(spins)
        out = np.zeros((n_chains, n_records, 2, L, L // 2), dtype=np.int8)
        kernel = ising_metropolis.run_metropolis_chains
        if backend == "torch":
            from .kernels.ising_metropolis_torch import run_metropolis_chains_torch as kernel
        kernel(sub, keys, counters, ising_metropolis.acceptance_thresholds(K), n_sweeps, record_every, out, e_tr, m_tr)
        spins[...] = ising_metropolis.from_split(sub)
        samples = ising_metropolis.from_split(out.reshape((-1, 2, L, L // 2))).reshape(n_chains, n_records, L, L)
    else:
        samples = np.zeros((n_chains, n_records, L, L), dtype=np.int8)
        cps = int(clusters_per_sweep) if algorithm == "wolff" else 0
        ising_cluster.run_cluster_chains(spins, keys, counters, ising_cluster.bond_threshold(K),
                                         cps, n_sweeps, record_every, samples, e_tr, m_tr)
    return samples, e_tr, m_tr


def calibrate_wolff(spins: np.ndarray, keys: np.ndarray, counters: np.ndarray, K: float, rounds: int = 4) -> int:
    """Clusters per Wolff sweep, ``ceil(L^2 / <cluster size>)``, measured on the running chains.

    Call it on equilibrated chains.  Each round runs ``clusters_per_sweep`` clusters
    per chain (at least ``WOLFF_CALIBRATION_CLUSTERS``, at most
    ``WOLFF_CALIBRATION_MAX``) and re-estimates the size; deterministic for a given seed.
    """
    n_chains, L, _ = spins.shape
    cps = 1
    no_samples = np.zeros((n_chains, 0, L, L), dtype=np.int8)
    no_trace = np.zeros((n_chains, 0), dtype=np.int64)
    thr = ising_cluster.bond_threshold(K)
    for _ in range(rounds):
        n = min(max(WOLFF_CALIBRATION_CLUSTERS, cps), WOLFF_CALIBRATION_MAX)
        flipped = ising_cluster.run_cluster_chains(spins, keys, counters, thr, n, 1, 1, no_samples, no_trace, no_trace)
        mean_size = flipped.sum() / (n * n_chains)
        cps = max(1, math.ceil(L * L / mean_size))
    return cps


def thermalize(algorithm: str, spins: np.ndarray, keys: np.ndarray, counters: np.ndarray, K: float,
               sweeps: int, backend: str = "numba") -> int:
    """Thermalize in place; returns the Wolff clusters per sweep (1 for other algorithms).

    Wolff thermalizes with Swendsen-Wang sweeps (same stationary law; SW also
    removes the domains of a hot start below T_c quickly), then calibrates its sweep.
    """
    therm_algorithm = "swendsen-wang" if algorithm == "wolff" else algorithm
    run_chains(therm_algorithm, spins, keys, counters, K, sweeps, trace=False, backend=backend)
    return calibrate_wolff(spins, keys, counters, K) if algorithm == "wolff" else 1


def initial_states(n_chains: int, L: int, seed: int) -> np.ndarray:
    """Even chains cold (all +1), odd chains hot (fair random spins)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFFFFFFFFFF, _PURPOSE_INIT]))
    spins = np.ones((n_chains, L, L), dtype=np.int8)
    hot = spins[1::2]
    hot[...] = np.where(rng.random(hot.shape) < 0.5, 1, -1)
    return spins


@MODELS.register("ising")
class Ising(LatticeModel):
    """Ferromagnetic 2D Ising model, ``p(s) ~ exp((1/T) sum_<ij> s_i s_j)`` on the torus."""

    description = "2D Ising model (J=1) on the torus; Metropolis / Swendsen-Wang / Wolff MCMC"
    params = (Param("T", exact.T_CRITICAL, low=0.0, high=math.inf, low_inclusive=False, high_inclusive=False,
                    doc="temperature T > 0 (default T_c = 2/ln(1+sqrt 2))"),)
    variable_type = "spin"
    channels = 1
    execution_options = ("backend",)  # torch and Numba Metropolis give the same bits
    sampler_name = "ising-mcmc"
    sampler_version = 2  # 2: spacing ceil(6 tau_int), checked on the production chains (1: ceil(2 tau_int) of the pilot)

    @property
    def K(self) -> float:
        return 1.0 / self.T

    def transitions(self) -> list[Transition]:
        # 2D Ising class: beta = 1/8, nu = 1, so Phi ~ <m^2> scales as L^(-2 beta/nu) = L^(-1/4)
        return [Transition(axis="T", value=exact.T_CRITICAL, uncertainty=0.0,
                           reference="Onsager 1944: T_c = 2/ln(1+sqrt 2)", crossing_exponent=0.25, nu=1.0)]

    # -- options ----------------------------------------------------------------------------
    def _options(self, n: int, L: int, opts: Dict[str, Any]) -> Dict[str, Any]:
        known = ("algorithm", "n_chains", "spacing", "thermalization", "pilot", "backend")
        unknown = sorted(set(opts) - set(known))
        if unknown:
            raise ValueError(f"unknown ising sampler option {unknown[0]!r} (options: {', '.join(known)})")
        algorithm = opts.get("algorithm", "auto")
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown ising sampler algorithm {algorithm!r} (choose from: {', '.join(ALGORITHMS)})")
        if algorithm == "metropolis":
            # checkerboard needs even L; on the 2 x 2 torus it is not ergodic (measured:
            # its sweep matrix has several stationary vectors), so L >= 4
            if L % 2 or L < 4:
                raise ValueError(f"L must be an even integer >= 4 for checkerboard Metropolis, got {L}")
        backend = opts.get("backend", "numba")
        if backend not in BACKENDS:
            raise ValueError(f"unknown ising sampler backend {backend!r} (choose from: {', '.join(BACKENDS)})")
        n_chains = opts.get("n_chains")
        n_chains = max(2, min(n, 8)) if n_chains is None else validate_int(n_chains, "n_chains", 2)
        spacing = opts.get("spacing")
        spacing = None if spacing is None else validate_int(spacing, "spacing", 1)
        therm = opts.get("thermalization")
        therm = None if therm is None else validate_int(therm, "thermalization", 0)
        pilot = validate_int(opts.get("pilot", DEFAULT_PILOT), "pilot", 20)
        return {"algorithm": algorithm, "n_chains": n_chains, "spacing": spacing, "thermalization": therm, "pilot": pilot,
                "backend": backend}

    def _choose_algorithm(self, L: int, seed: int) -> Tuple[str, dict]:
        taus, costs = {}, {}
        for alg in ("metropolis", "wolff", "swendsen-wang"):
            spins = initial_states(2, L, seed)
            spins[0] = spins[1]  # both hot
            keys = chain_keys(seed, 2, _PURPOSE_AUTO)
            counters = np.zeros(2, np.uint64)
            cps = thermalize(alg, spins, keys, counters, self.K, AUTO_WOLFF_THERMALIZATION) if alg == "wolff" else 1
            _, e_tr, m_tr = run_chains(alg, spins, keys, counters, self.K, AUTO_PILOT_SWEEPS, clusters_per_sweep=cps)
            taus[alg] = max(integrated_autocorrelation_time(e_tr), integrated_autocorrelation_time(np.abs(m_tr)))
            costs[alg] = taus[alg] * (1.0 if alg == "metropolis" else CLUSTER_COST_RATIO)
        if taus["metropolis"] > AUTO_PILOT_SWEEPS / MIN_PILOT_TAUS:  # not resolved by the pilot: too slow
            costs["metropolis"] = math.inf
        choice = min(costs, key=costs.get)
        return choice, {"pilot_sweeps": AUTO_PILOT_SWEEPS, "tau_int": taus, "cost_in_metropolis_sweeps": costs,
                        "cluster_cost_ratio": CLUSTER_COST_RATIO, "chosen": choice}

    # -- sampling -----------------------------------------------------------------------------
    def _sample(self, n: int, L: int, seed: int, **options: Any) -> Tuple[np.ndarray, dict]:
        opt = self._options(n, L, options)
        diag: Dict[str, Any] = {"sampler": self.sampler_name, "rng": "splitmix64 counter streams per chain"}
        algorithm = opt["algorithm"]
        if algorithm == "auto" and (L % 2 or L < 4):
            algorithm, diag["auto"] = "wolff", {"chosen": "wolff", "reason": "checkerboard Metropolis needs even L >= 4"}
        elif algorithm == "auto":
            algorithm, diag["auto"] = self._choose_algorithm(L, seed)
        N = L * L
        n_chains = opt["n_chains"]
        therm = DEFAULT_THERMALIZATION[algorithm] if opt["thermalization"] is None else opt["thermalization"]
        spins = initial_states(n_chains, L, seed)
        keys = chain_keys(seed, n_chains, _PURPOSE_CHAIN)
        counters = np.zeros(n_chains, dtype=np.uint64)
        backend = opt["backend"]
        if backend == "torch":
            diag["backend_device"] = torch_device()
        cps = thermalize(algorithm, spins, keys, counters, self.K, therm, backend)
        if algorithm == "wolff":
            diag["wolff_clusters_per_sweep"] = cps

        # pilot: doubled until it spans MIN_PILOT_TAUS tau_int, then the two-start check
        pilot = opt["pilot"]
        e_tr = np.zeros((n_chains, 0))
        m_tr = np.zeros((n_chains, 0))
        for _ in range(MAX_PILOT_GROWTH.bit_length()):
            more = pilot - e_tr.shape[1]
            _, e_new, m_new = run_chains(algorithm, spins, keys, counters, self.K, more, clusters_per_sweep=cps,
                                         backend=backend)
            e_tr = np.concatenate([e_tr, e_new / N], axis=1)
            m_tr = np.concatenate([m_tr, np.abs(m_new) / N], axis=1)
            tau = slowest_tau(e_tr, m_tr)
            if pilot >= MIN_PILOT_TAUS * tau or pilot >= MAX_PILOT_GROWTH * opt["pilot"]:
                break
            pilot *= 2
        if pilot < MIN_PILOT_TAUS * tau:
            raise ThermalizationError(
                f"pilot of {pilot} sweeps is shorter than {MIN_PILOT_TAUS:g} tau_int (tau_int = {tau:.1f} sweeps) "
                f"for algorithm {algorithm!r} at T={self.T:g}, L={L}; use a cluster algorithm or a larger pilot")
        diag["two_start"] = two_start_check(e_tr, m_tr, algorithm, self.T, L, therm + pilot)
        fixed = opt["spacing"] is not None
        spacing = opt["spacing"] if fixed else max(1, math.ceil(SPACING_TAUS * tau))

        per_chain = -(-n // n_chains)
        respaced = []  # (spacing, production tau) of each discarded production run
        while True:
            samples, e_tr, m_tr = run_chains(algorithm, spins, keys, counters, self.K, per_chain * spacing,
                                             record_every=spacing, n_records=per_chain, clusters_per_sweep=cps,
                                             backend=backend)
            e_tr = e_tr / N
            m_tr = np.abs(m_tr) / N
            tau_production = slowest_tau(e_tr, m_tr)
            if fixed or spacing >= MIN_PRODUCTION_TAUS * tau_production or len(respaced) == MAX_RESPACINGS:
                break
            respaced.append((spacing, tau_production))
            spacing = max(spacing + 1, math.ceil(SPACING_TAUS * tau_production))
        diag.update(
            algorithm=algorithm, backend=backend, n_chains=n_chains, thermalization_sweeps=therm, pilot_sweeps=pilot,
            pilot_tau_int=tau, spacing=spacing, samples_per_chain=per_chain,
            spacing_rule="fixed (option)" if fixed else f"ceil({SPACING_TAUS:g} tau_int), >= {MIN_PRODUCTION_TAUS:g} production tau_int",
            production_tau_int=tau_production, respaced=[{"spacing": a, "production_tau_int": b} for a, b in respaced],
            production_sweeps=per_chain * spacing + sum(per_chain * a for a, _ in respaced),
            tau_int_energy=integrated_autocorrelation_time(e_tr),
            tau_int_abs_m=integrated_autocorrelation_time(m_tr),
            sample_order="chain-major",
        )
        out = samples.reshape(n_chains * per_chain, 1, L, L)[:n]
        # Z2 symmetrisation: the measure is invariant under s -> -s, so an independent fair global
        # flip of each sample is exact; it removes the sign bias of chains that stay in one phase
        # below T_c (|m|, the energy and every even observable are unchanged).
        flip_rng = np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFFFFFFFFFF, _PURPOSE_GLOBAL_FLIP]))
        out = out * np.where(flip_rng.random(len(out)) < 0.5, -1, 1).astype(np.int8)[:, None, None, None]
        diag["global_flip_symmetrised"] = True
        return np.ascontiguousarray(out), diag

    # -- observables -------------------------------------------------------------------------
    def observables(self, samples: np.ndarray) -> Dict[str, Tuple[float, float]]:
        """Energy per site, |m| and m^2 with standard errors.

        The errors are corrected for residual correlation along the sample order
        (chain-major, so neighbours in the array are neighbours in a chain) with
        ``sqrt(max(1, 2 tau_int))``.
        """
        s = samples[:, 0].astype(np.int32)
        N = s.shape[1] * s.shape[2]
        e = -(s * np.roll(s, 1, axis=1) + s * np.roll(s, 1, axis=2)).sum(axis=(1, 2)) / N
        m = s.sum(axis=(1, 2)) / N
        return series_means({"energy": e, "abs_m": np.abs(m), "m2": m * m})

    def exact_observables(self, L: int) -> Dict[str, float]:
        """Brute force (``energy``, ``abs_m``, ``m2``) for L <= 4; Kaufman ``energy`` beyond."""
        L = validate_size(L)
        if L <= exact.BRUTE_FORCE_MAX_L:
            bf = exact.brute_force(L, self.T)
            return {k: bf[k] for k in ("energy", "abs_m", "m2")}
        return {"energy": exact.kaufman_energy_per_site(self.T, L)}

    # -- exact posterior (transfer matrix) ---------------------------------------------------------
    def supports_exact_posterior(self, channel, radius: Optional[int], L: int) -> bool:
        """The global posterior mean, by the torus transfer matrix, for L <= ORACLE_MAX_L.

        Any channel on spins (a site field, :meth:`NoiseChannel.spin_field`); a radius whose window covers the
        torus is global; there is no exact r-local oracle."""
        covers = radius is None or 2 * radius + 1 >= L
        return channel.supports("spin") and covers and L <= ORACLE_MAX_L

    def exact_posterior_mean(self, y: np.ndarray, channel, level: float, radius: Optional[int]) -> np.ndarray:
        from .exact.ising_posterior import ising_posterior_mean

        L = y.shape[-1]
        if radius is not None and 2 * radius + 1 < L:
            raise ValueError(f"the ising model has no exact r-local oracle (radius {radius} < L/2); use radius None")
        if L > ORACLE_MAX_L:
            raise ValueError(f"L={L} is too large for the exact ising oracle (transfer matrix, L <= {ORACLE_MAX_L})")
        return ising_posterior_mean(y, self.K, channel, level)


def slowest_tau(e_tr: np.ndarray, abs_m_tr: np.ndarray) -> float:
    """The largest tau_int of the energy, |m| and m^2 traces (chains on the first axis, per site)."""
    return max(integrated_autocorrelation_time(e_tr), integrated_autocorrelation_time(abs_m_tr),
               integrated_autocorrelation_time(abs_m_tr * abs_m_tr))


def two_start_check(e_tr: np.ndarray, m_tr: np.ndarray, algorithm: str, T: float, L: int, sweeps: int) -> dict:
    """Compare cold (even) and hot (odd) chains; raise :class:`ThermalizationError` on disagreement."""
    report = {}
    for name, tr in (("energy", e_tr), ("abs_m", m_tr)):
        mc, ec, _ = mean_and_error(tr[0::2])
        mh, eh, _ = mean_and_error(tr[1::2])
        sigma = math.hypot(ec, eh)
        z = abs(mc - mh) / sigma if sigma > 0 else (0.0 if mc == mh else math.inf)
        report[name] = {"cold": mc, "hot": mh, "z": z}
        if z > TWO_START_Z_MAX:
            raise ThermalizationError(
                f"two-start check failed for {name}: cold start {mc:.5f} vs hot start {mh:.5f} "
                f"({z:.1f} sigma) after {sweeps} sweeps of {algorithm!r} at T={T:g}, L={L}; "
                "increase thermalization or use a cluster algorithm")
    return report
