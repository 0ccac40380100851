"""Toric-code-like closed-loop model on the L x L torus (docs/physics.md, section 3).

Conventions (the single place where they are fixed for the whole project)
-------------------------------------------------------------------------
* **Edge variables** ``x_e in {0, 1}`` are stored as an array ``(n, 2, L, L)`` of int8:

  - channel 0, ``h[i, j]``: the horizontal edge from vertex ``(i, j)`` to ``(i, j+1)``;
  - channel 1, ``v[i, j]``: the vertical edge from vertex ``(i, j)`` to ``(i+1, j)``;

  all indices are taken mod L (row index ``i`` first, column index ``j`` second).
* **Vertex** ``(i, j)`` touches the four edges ``h[i, j]``, ``h[i, j-1]``, ``v[i, j]``,
  ``v[i-1, j]``.  A configuration is *valid* (a cycle, i.e. a union of closed loops) when
  every vertex has even parity; valid configurations form the cycle space, a GF(2)
  subspace of dimension ``L^2 + 1``.
* **Plaquette** ``(i, j)`` is bounded by ``h[i, j]``, ``h[i+1, j]``, ``v[i, j]``, ``v[i, j+1]``.
  Conversely ``h[i, j]`` lies on plaquettes ``(i, j)`` and ``(i-1, j)``, and ``v[i, j]``
  on plaquettes ``(i, j)`` and ``(i, j-1)``.
* **Homology.**  The two non-contractible reference loops are the row ``h[0, :]`` and the
  column ``v[:, 0]``.  The homology parities of a cycle are ``w_x = XOR_i h[i, 0]`` (the
  parity of loops crossing the vertical cut through column 0 of horizontal edges; every
  plaquette boundary crosses it an even number of times) and ``w_y = XOR_j v[0, j]``.
  Every cycle is uniquely ``boundary(b) XOR w_x * h-row XOR w_y * v-column`` up to
  complementing the plaquette field ``b``.
* **Noise.**  The bit-flip channel flips edges with probability p.  The Gaussian channel
  acts on the spin encoding ``1 - 2 x`` (``GaussianChannel(encode_binary_as_spin=True)``),
  so ``y_e = a (1 - 2 x_e) + s z_e``.  Estimates (posterior means) are probabilities
  ``P(x_e = 1 | y)`` on the 0/1 scale.

Weights: a configuration has weight ``x^{#occupied edges}`` (loop weight / fugacity per
edge ``x`` in ``(0, 1]``).  At ``x = 1`` this is the uniform distribution on the cycle space
(the Z-basis ground-state distribution of the toric code), sampled exactly here as the
XOR of independent fair-coin plaquette boundaries and two fair homology loops.

For ``x < 1`` (transition at ``x_c = tanh K_c = sqrt(2) - 1``) the sampler is a Markov chain
(:mod:`phasebench.lattice_models.kernels.loop_gas`), exact only in the long-run limit.  By Kramers-Wannier
duality the occupied edges are the domain walls of dual Ising spins on the plaquettes at
``e^{-2K*} = x``: XOR-ing the boundary of plaquette ``(i, j)`` flips dual spin ``(i, j)``, and
each homology sector is that domain-wall set XOR-ed with the reference loops (row ``h[0, :]``,
column ``v[:, 0]``); the full cycle-space measure is the dual Ising model summed over its four
periodic/antiperiodic boundary conditions.  Moves: heat-bath plaquette-boundary flips
(acceptance ``x^{dn} / (1 + x^{dn})``, ``dn`` the change in occupied edges) in checkerboard
order, plus homology moves that XOR every translate ``h[r, :]`` and ``v[:, c]`` of the
reference loops, accepted with the same heat-bath probability.  Both satisfy detailed
balance for ``x^n`` and together are ergodic on the cycle space (heat-bath, not Metropolis,
so that the fixed-order sweep is itself irreducible: see
:mod:`phasebench.lattice_models.kernels.loop_gas`), so the homology sector weights are exact in the
MCMC limit.  Chains start from the empty configuration, are thermalized, a pilot run
measures the integrated autocorrelation time ``tau_int`` of the occupation (Sokal
windowing, :mod:`phasebench.lattice_models.mcmc_stats`), and each chain then emits a sample every
``spacing >= 2 tau_int`` sweeps.  Every chain has its own counter-based random stream
(:mod:`phasebench.lattice_models.kernels.counter_rng`), so the output is bitwise identical for any
``NUMBA_NUM_THREADS``.  Options (``model.sample(..., chains=, thermalization=,
pilot_sweeps=, spacing=)``) and the measured ``tau_int`` are recorded in the diagnostics.
Near ``x_c`` and for large L the local moves slow down (critical slowing down); check
``diagnostics['pilot_over_tau']`` (>= 50 wanted) and ``thermalization_over_tau``.

The exact r-local Bayes posterior is in :mod:`phasebench.lattice_models.exact.toric_window`.
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .base import MODELS, LatticeModel, Param, Transition
from .channels import NoiseChannel

X_CRITICAL = math.sqrt(2.0) - 1.0
#: the vertex check at (i, j) in the model's ``parity_checks`` form (channel, di, dj): the edges of
#: :func:`vertex_parity`
VERTEX_CHECK = ((0, 0, 0), (0, 0, -1), (1, 0, 0), (1, -1, 0))
P_CRITICAL_BITFLIP = 0.10922
P_CRITICAL_UNCERTAINTY = 0.0003
#: the recollected Gaussian RBIM Nishimori point J_0/sigma ~ 1.02, squared: K_e ~ N(lambda, lambda) gives J_0/sigma = sqrt(lambda)
LAMBDA_CRITICAL_GAUSSIAN_UNVERIFIED = 1.04
#: correlation-length exponent along the Nishimori line, 1/y_1 with y_1 = 0.655(15) (docs/physics.md, section 3)
NU_NISHIMORI = 1 / 0.655


# -- cycle-space helpers (arrays (..., 2, L, L)) ------------------------------------------------
def vertex_parity(x: np.ndarray) -> np.ndarray:
    """Parity (0/1) at every vertex ``(i, j)``: ``h[i,j] + h[i,j-1] + v[i,j] + v[i-1,j] mod 2``."""
    x = np.asarray(x)
    h, v = x[..., 0, :, :], x[..., 1, :, :]
    return (h ^ np.roll(h, 1, axis=-1) ^ v ^ np.roll(v, 1, axis=-2)) & 1


def plaquette_boundary(b: np.ndarray) -> np.ndarray:
    """The edge field ``(..., 2, L, L)`` of the boundaries of the plaquettes where ``b = 1``."""
    b = np.asarray(b)
    h = b ^ np.roll(b, 1, axis=-2)  # h[i, j] lies on plaquettes (i, j) and (i-1, j)
    v = b ^ np.roll(b, 1, axis=-1)  # v[i, j] lies on plaquettes (i, j) and (i, j-1)
    return np.stack([h, v], axis=-3)


def homology_parities(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(w_x, w_y)``: parities of ``h[:, 0]`` and of ``v[0, :]`` (see the module docstring)."""
    x = np.asarray(x)
    w_x = np.bitwise_xor.reduce(x[..., 0, :, 0], axis=-1)
    w_y = np.bitwise_xor.reduce(x[..., 1, 0, :], axis=-1)
    return w_x, w_y


def sample_uniform_cycles(n: int, L: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` exact uniform draws from the cycle space of the L x L torus, int8 ``(n, 2, L, L)``."""
    out = np.empty((n, 2, L, L), dtype=np.int8)
    chunk = max(1, 2**22 // (L * L))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        b = rng.integers(0, 2, size=(stop - start, L, L), dtype=np.int8)
        loops = rng.integers(0, 2, size=(stop - start, 2), dtype=np.int8)
        x = plaquette_boundary(b)
        x[:, 0, 0, :] ^= loops[:, 0:1]  # horizontal non-contractible loop: row h[0, :]
        x[:, 1, :, 0] ^= loops[:, 1:2]  # vertical non-contractible loop: column v[:, 0]
        out[start:stop] = x
    return out


LOOP_GAS_SAMPLER = "loop-gas-heatbath"
LOOP_GAS_OPTIONS = ("chains", "thermalization", "pilot_sweeps", "spacing")
PRODUCTION_SERIES_MAX = 10_000
# site sweeps per kernel call (~0.2 s at the 20M site sweeps/s of a loaded 2-core machine): Python handles
# Ctrl-C between calls only, so one call of a long chain would delay it for minutes
KERNEL_CALL_SITE_SWEEPS = 1 << 22


def sample_loop_gas(n: int, L: int, seed: int, x: float, *, chains: Optional[int] = None,
                    thermalization: int = 1000, pilot_sweeps: int = 1000,
                    spacing: Optional[int] = None) -> Tuple[np.ndarray, dict]:
    """``n`` samples of the loop gas ``x^{#edges}`` (0 < x < 1) by heat-bath MCMC (module docstring).

    ``chains`` independent chains (default ``min(n, 64)``) each run ``thermalization``
    sweeps from the empty configuration, then ``pilot_sweeps`` sweeps that measure
    ``tau_int`` of the occupation, then emit one sample every ``spacing`` sweeps
    (default ``max(1, ceil(2 tau_int))``).  Sample ``k * chains + c`` is the k-th of chain c.
    Returns ``(samples int8 (n, 2, L, L), diagnostics)``.
    """
    from .base import validate_int
    from .kernels.counter_rng import chain_keys
    from .kernels.loop_gas import acceptance_table, draws_per_sweep, run_chains
    from .mcmc_stats import integrated_autocorrelation_time

    if not 0.0 < x < 1.0:
        raise ValueError(f"loop weight x must be in (0, 1) for the loop-gas sampler, got {x!r}")
    n = validate_int(n, "n", 1)
    L = validate_int(L, "L", 2)
    chains = validate_int(min(n, 64) if chains is None else chains, "chains", 1)
    thermalization = validate_int(thermalization, "thermalization", 0)
    pilot_sweeps = validate_int(pilot_sweeps, "pilot_sweeps", 2)
    if spacing is not None:
        spacing = validate_int(spacing, "spacing", 1)

    keys = chain_keys(seed, chains, purpose=0x700F)
    table = acceptance_table(x, L)
    per_sweep = draws_per_sweep(L)
    state = np.zeros((chains, 2, L, L), dtype=np.int8)
    no_snapshots = np.zeros((0, chains, 2, L, L), dtype=np.int8)
    counter = 0

    def run(sweeps: int, every: int, snapshots: np.ndarray, recorded: int) -> np.ndarray:
        """Run all chains ``sweeps`` sweeps; returns the occupation of the first ``recorded``."""
        nonlocal counter
        occupation = np.zeros((chains, min(sweeps, recorded)), dtype=np.float64)
        # in calls of about KERNEL_CALL_SITE_SWEEPS, each a whole number of `every` sweeps where snapshots are
        # taken; the counter-based streams make the split exact (the same samples as one call)
        unit = every if len(snapshots) else 1
        step = max(1, KERNEL_CALL_SITE_SWEEPS // (chains * L * L) // unit) * unit
        for t0 in range(0, sweeps, step):
            part = np.zeros((chains, max(0, min(step, sweeps - t0, recorded - t0))), dtype=np.float64)
            run_chains(state, keys, np.uint64(counter + t0 * per_sweep), min(step, sweeps - t0), every, table,
                       snapshots[t0 // every:] if len(snapshots) else snapshots, part)
            occupation[:, t0:t0 + part.shape[1]] = part
        counter += sweeps * per_sweep
        return occupation

    run(thermalization, thermalization + 1, no_snapshots, 0)
    tau_pilot = integrated_autocorrelation_time(run(pilot_sweeps, pilot_sweeps + 1, no_snapshots, pilot_sweeps))
    if spacing is None:
        spacing = max(1, math.ceil(2.0 * tau_pilot))
    rounds = -(-n // chains)
    snapshots = np.empty((rounds, chains, 2, L, L), dtype=np.int8)
    # the production occupation series (for tau_int_production_sweeps) is kept for at most
    # PRODUCTION_SERIES_MAX sweeps per chain, bounding its memory
    occupation = run(rounds * spacing, spacing, snapshots, PRODUCTION_SERIES_MAX)
    tau_production = (integrated_autocorrelation_time(occupation) if occupation.shape[1] >= 2 else float("nan"))
    samples = snapshots.reshape(rounds * chains, 2, L, L)[:n]
    diagnostics = {
        "sampler": LOOP_GAS_SAMPLER,
        "exact": False,
        "method": ("heat-bath plaquette-boundary flips (dual Ising spins at exp(-2K*) = x) in checkerboard order "
                   "+ homology moves XOR-ing every row h[r,:] and column v[:,c] loop, acceptance x^dn/(1+x^dn)"),
        "sector_weights": "exact in the MCMC limit (sampled by homology moves)",
        "x": float(x),
        "chains": chains,
        "start": "empty configuration",
        "thermalization_sweeps": thermalization,
        "pilot_sweeps": pilot_sweeps,
        "tau_int_sweeps": float(tau_pilot),
        "tau_int_production_sweeps": float(tau_production),
        "spacing_sweeps": spacing,
        "spacing_over_tau": float(spacing / tau_pilot),
        "pilot_over_tau": float(pilot_sweeps / tau_pilot),
        "thermalization_over_tau": float(thermalization / tau_pilot),
        "production_sweeps_per_chain": rounds * spacing,
        "total_sweeps_per_chain": thermalization + pilot_sweeps + rounds * spacing,
        "rng": "counter-based SplitMix64, one stream per chain (kernels.counter_rng)",
    }
    warnings = []
    if pilot_sweeps < 50 * tau_pilot:
        warnings.append("pilot_sweeps < 50 tau_int: the tau_int estimate is unreliable; raise pilot_sweeps")
    if thermalization < 20 * tau_pilot:
        warnings.append("thermalization < 20 tau_int: raise thermalization")
    diagnostics["warnings"] = warnings
    return samples, diagnostics


@MODELS.register("toric_loops")
class ToricLoops(LatticeModel):
    """Closed loops on the edges of the L x L torus with weight ``x^{#edges}`` (docs/physics.md, section 3).

    Conventions (edge channels, vertices, plaquettes, homology) are in the module docstring
    of :mod:`phasebench.lattice_models.toric_loops`.
    """

    description = "toric-code-like closed loops; exact uniform sampler at x=1, loop-gas heat-bath MCMC for x<1; decoding transition p_c=0.10922"
    params = (
        Param("x", 1.0, low=0.0, high=1.0, low_inclusive=False,
              doc="loop weight per occupied edge in (0, 1]; x = 1 is the uniform cycle measure"),
    )
    variable_type = "binary"
    channels = 2
    parity_checks = (VERTEX_CHECK,)
    sampler_name = "plaquette-xor-exact"
    min_L = 2

    def __init__(self, **values: Any):
        super().__init__(**values)
        if self.x < 1.0:  # recorded in dataset metadata; the class default names the exact sampler
            self.sampler_name = LOOP_GAS_SAMPLER

    def _sample(self, n: int, L: int, seed: int, **options: Any) -> Tuple[np.ndarray, dict]:
        if self.x < 1.0:
            unknown = sorted(set(options) - set(LOOP_GAS_OPTIONS))
            if unknown:
                raise ValueError(f"unknown toric_loops sampler option {unknown[0]!r} (options: {', '.join(LOOP_GAS_OPTIONS)})")
            return sample_loop_gas(n, L, seed, self.x, **options)
        if options:
            raise ValueError(f"the exact x = 1 toric_loops sampler takes no options, got {sorted(options)}")
        samples = sample_uniform_cycles(n, L, np.random.default_rng(seed))
        return samples, {"sampler": self.sampler_name, "exact": True}

    def validate_samples(self, samples: np.ndarray) -> None:
        super().validate_samples(samples)
        bad = vertex_parity(samples.astype(np.int8, copy=False)).any(axis=(-2, -1))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"toric_loops sample {k} violates vertex parity (not a closed-loop configuration)")

    # -- metadata ------------------------------------------------------------------------------
    def transitions(self) -> list[Transition]:
        out = [Transition("x", X_CRITICAL, 0.0, "Kramers-Wannier duality: x_c = tanh K_c = sqrt(2)-1 (docs/physics.md, section 3)")]
        if self.x == 1.0:  # the decoding transitions are those of the toric code (uniform loops)
            out.append(Transition(
                "p", P_CRITICAL_BITFLIP, P_CRITICAL_UNCERTAINTY,
                "RBIM Nishimori point: 0.1092212(4) Wan-Dai-Zhu arXiv 2511.02907; 0.10919(7) Hasenbusch et al. "
                "arXiv 0803.0444; 0.10929(2) Ohzeki-Jacobsen arXiv 1410.0166 (docs/physics.md, section 3)",
                channel="bitflip", nu=NU_NISHIMORI))
            out.append(Transition(
                "lambda", LAMBDA_CRITICAL_GAUSSIAN_UNVERIFIED, 0.05,
                "Gaussian RBIM Nishimori point, recollected J0/sigma ~ 1.02 (unverified; placeholder uncertainty; docs/physics.md, section 3)",
                channel="gaussian", scored=False, nu=NU_NISHIMORI))  # assumed: the same Nishimori class
        return out

    def observables(self, samples: np.ndarray) -> Dict[str, Tuple[float, float]]:
        x = np.asarray(samples).astype(np.int8, copy=False)
        w_x, w_y = homology_parities(x)
        per_config = {
            "occupation": x.mean(axis=(1, 2, 3), dtype=np.float64),
            "homology_x": w_x.astype(np.float64),
            "homology_y": w_y.astype(np.float64),
        }
        n = len(x)
        return {k: (float(v.mean()), float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"))
                for k, v in per_config.items()}

    def exact_observables(self, L: int) -> Dict[str, float]:
        if self.x == 1.0:  # every edge and both homology bits are fair coins
            return {"occupation": 0.5, "homology_x": 0.5, "homology_y": 0.5}
        return {}

    # -- exact posterior -----------------------------------------------------------------------
    @staticmethod
    def _global_oracle():
        try:
            return importlib.import_module("phasebench.lattice_models.exact.toric_global")
        except ModuleNotFoundError:
            return None

    def supports_exact_posterior(self, channel: NoiseChannel, radius: Optional[int], L: int) -> bool:
        if self.x != 1.0 or not channel.supports("binary"):
            return False
        if radius is None:  # the global oracle may restrict channels or sizes via supports(channel, L)
            oracle = self._global_oracle()
            if oracle is None:
                return False
            supports = getattr(oracle, "supports", None)
            return bool(supports(channel, L)) if callable(supports) else True
        return 2 * int(radius) + 1 < L

    def exact_posterior_mean(self, y: np.ndarray, channel: NoiseChannel, level: float, radius: Optional[int]) -> np.ndarray:
        """``P(x_e = 1 | y)`` (radius None) or ``P(x_e = 1 | y_W(e))`` for the radius-r window."""
        if self.x != 1.0:
            raise ValueError(f"the toric_loops exact posterior needs x = 1 (uniform loops), got x={self.x:g}")
        if radius is None:
            oracle = self._global_oracle()
            if oracle is None:
                raise NotImplementedError("the global toric_loops oracle (lattice_models.exact.toric_global) is not available")
            return oracle.toric_posterior_marginals(y, channel, level)
        from .exact.toric_window import local_posterior_marginals

        return local_posterior_marginals(y, channel, level, radius)

    def exact_posterior_mean_at(self, y: np.ndarray, channel: NoiseChannel, level: float, radius: int,
                                mask: np.ndarray) -> np.ndarray:
        """The radius-r window posterior on the edges of ``mask`` only (0 elsewhere): one window per edge."""
        from .exact.toric_window import local_posterior_marginals

        prob, _ = local_posterior_marginals(y, channel, level, radius, edges=mask)
        return np.where(mask, prob, 0.0)

    def exact_window_seconds(self, radius: int) -> float:
        """One window of the r-local oracle per masked vertex (both its edges): the measured table."""
        from .exact.toric_window import window_cpu_seconds

        return window_cpu_seconds(int(radius))

    def exact_failure_probability(self, y: np.ndarray, channel: NoiseChannel, level: float) -> Optional[np.ndarray]:
        """``1 - max_class P(homology class | y)`` per configuration: the failure probability of optimal
        (maximum-likelihood homology class) decoding given y (None without the global oracle)."""
        oracle = self._global_oracle()
        return None if oracle is None else oracle.toric_bayes_failure_probability(y, channel, level)
