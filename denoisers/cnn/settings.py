"""Default training and architecture settings of the ``cnn`` family (:mod:`phasebench.denoisers.cnn`), and their resolution.

A fit's settings are the output's defaults (linear readout or Bayes output), overlaid by the
bit-flip defaults under a channel with discrete observations (bit flip), overlaid by every option the user gave explicitly.  Every
default below was measured; the comments give the numbers.
"""

from __future__ import annotations

#: training defaults per output: the linear readout is refitted by least squares after Adam; the
#: Bayes output is trained by Adam alone, with adaptive group weights.  Final learning rate 1e-5 for
#: both: for the Bayes output, measured on the ising-temperature L = 6 global member (budget 150 s,
#: 50 configurations, exact posterior), 1e-4 left a heavy tail of badly fitted configurations at the
#: largest lambda (worst cell 9.3%, 64/84 cells within 2%) that 1e-5 removes (4.2%, 79/84); at
#: L = 10 the two agree (hard cells: worst 1.7% vs 1.9%)
LINEAR_DEFAULTS = {"lr": 3e-3, "lr_final": 1e-5, "adaptive_weights": False, "window_features": 0, "periodic_share": 0.0,
                   "batch": 8, "polish_fraction": 0.5, "checks": True, "error_frame": None, "grad_clip": None}
BAYES_DEFAULTS = {**LINEAR_DEFAULTS, "adaptive_weights": True, "window_features": 4}
#: defaults under the bit-flip channel, measured on toric-bitflip (quick grid, L = 16, budget 120 s): the excess
#: over the exact r-local optimum, E|f - q_r|^2 / E mse(q_r), at p = 0.04 / 0.11
#:
#: * periodic units, half the width: r = 1, 61% / 11.5% with none, 8.3% / 2.0% with 16 of 32 (products
#:   (A h)(B h) of two convolutions in their place: 54% / 10.9%);
#: * 2 configurations per level per step (8 elsewhere): 3-4x more Adam steps in the same time; r = 2,
#:   106% / 16% with 8, 41% / 6.7% with 2, 52% / 8.4% with 1; r = 3, 317% / 34% with 8, 87% / 13% with 2.  The
#:   fit is limited by optimisation steps, not gradient noise: r = 4 at equal compute (later defaults, p = 0.04 /
#:   0.08 / 0.11), 8000 steps at 2 configurations 2.1% / 3.1% / 1.9%, 500 steps at 32 7.8% / 9.5% / 4.5%;
#: * a tenth of the budget for the least-squares readout refit (half elsewhere): its cost grows as the skip's
#:   (2r+1)^4 normal matrix, and Adam needs the steps; r = 4 / 5 / 6 at p = 0.04: 117% / 289% / 497% with half,
#:   58% / 71% / 79% with a tenth
#:
#: With the Bayes output and the parity-check inputs (the default under bit flip since then), r = 3, 1500 Adam
#: steps, same grid and data (excess at p = 0.04 / 0.11): learning rate
#: 3e-3 -> 1e-5 35.7% / 7.8%, 1e-2 -> 1e-5 21.8% / 5.1%, 1e-2 -> 1e-4 14.7% / 4.1%, 2e-2 -> 1e-4 15.5% / 3.8%;
#: without periodic units (1e-2 -> 1e-5) 19.6% / 4.5%.  The raw-bit trunk before it: r = 2 / 3 at 120 s,
#: 41% / 6.7% and 87% / 13%.  No window features (4 with the Bayes output elsewhere; they serve the Ising
#: magnetisation): with them the full toric grid's r = 6 member at 1e-2 collapsed to the single-site posterior
#: (final loss 0.97 against 0.37-0.46 at r = 2..5; 300 steps: also at 5e-3, and with gradient-norm clipping at 1
#: or 0.1, tried and not kept); without them it trains, and at 600 steps r = 3 / 6: 33.4% / 8.0% and 85.5% / 23.1%, against 65.9% /
#: 12.5% and 80.9% / 22.4% with them at 3e-3 -> 1e-4, at three quarters of the cost per step
#:
#: Tried against these defaults and not kept (quick grid, 2000 Adam steps, excess at p = 0.08; the defaults give
#: 7.3% / 6.8% at r = 4 and 13.5% / 14.9% at r = 6 with two seeds): residual trunk layers 11.0% (r = 4); the same
#: 3x3 weights in every trunk layer after the first 9.7% (r = 4) and 15.6% (r = 6); two 5x5 layers in place of
#: four 3x3 16.9%; a 1x1 layer after every 3x3 6.7% at 1.17x the cost; depth 4 6.8%; Muon updates for the
#: convolutions 7.2% (12-13% at a third or three times the step); bf16 autocast 7.0% at <= 1.2x the speed;
#: final learning rate 1e-3 6.3%, with an average of the weights over the second half 5.6% / 7.1% (r = 4) and
#: 13.0% / 12.8% (r = 6); one r = 6 trunk with an exit per radius 7.3-7.6% (exit 4) and 12.3-12.6% (exit 6) at
#: about twice the cost of the r = 6 member; the r = 4 member as a frozen r = 3 member plus a new network 15%;
#: the cross-entropy of the Bayes output's logit (softplus(-2 u z)) in place of the MSE 7.1% / 7.3% (seeds 0 / 1).
#: At r = 6 (seeds 0 / 1; defaults 13.5% / 14.9%): gradient-norm clipping at 1 14.5% / 13.6%; Adam beta2 = 0.99
#: 14.6% / 14.1%; width 64 at the default rate collapsed (174%) / 34.4%, and at 3e-3 with clipping at 1
#: 11.1% / 14.5% for 2.4x the cost per step (capacity is not the limit); the trunk without the raw bits (checks
#: only) 58.5% / 13.8%, and also without the skip 24.1% / 12.9%.  Where the deficit comes from, measured with
#: a diagnostic that is not a family (it uses the oracle): the exact r-local posterior in place of x as the
#: training target, same steps and fresh noise, gives at p = 0.04 / 0.08 / 0.1 / 0.11 / 0.13 4.9 / 2.3 / 1.3 /
#: 1.1 / 0.5% at r = 3 (x: 8.2 / 4.0 / 2.3 / 2.4 / 1.4%) and 11.6 / 4.4 / 3.0 / 1.9 / 1.0% at r = 4 (x: 21.3 / 7.3 /
#: 5.0 / 3.5 / 2.0%): the Bernoulli noise of the target costs about half of the excess, and the other half
#: stays with noise-free targets.  Targets with less noise that need no oracle, tried and not (yet) kept: under
#: the uniform cycle prior, (x + c, e + c) has the same y for every cycle c, so the average of x_e along a
#: heat-bath chain of plaquette flips started at the drawn (x, e) (a posterior sample, so every state of the
#: chain is one) is an unbiased target with the same r-local optimum.  It cuts the target's noise about
#: E (t - q_4)^2 to a third with 10 sweeps and a quarter with 40 (p = 0.08-0.12), yet the excess only by
#: 15-25% near p_c: r = 6, p = 0.08 / 0.1 / 0.11, 10.4 / 6.9 / 5.2% and 12.4 / 7.4 / 5.0% with 10 sweeps (seeds
#: 0 / 1), 10.9 / 6.7 / 4.5% with 40 (defaults 13.5 / 8.5 / 6.4% and 14.9 / 8.0 / 5.5%), 2x at p = 0.04; r = 4
#: with 10 sweeps 6.3 / 5.0 / 3.2% (defaults 7.3 / 5.0 / 3.5%); the two-plaquette orbit alone (exact average
#: over the 4 gauge images that flip edge e) r = 4 6.2 / 4.7 / 3.2%, r = 6 11.4 / 6.8 / 5.8%.  The part no
#: data-based target removes, E (q_inf - q_r)^2, stays in all of them.
#: 4x the steps (8000) gives 4.3%, and 4x the configurations per step (batch 8) 5.6%: optimisation steps are the
#: lever (a GPU's, where a bigger batch costs little: :mod:`phasebench.denoisers.harness.adam`)
#:
#: On the full grid (18 levels, 2000 configurations) the lever is weaker and long runs are unstable: 24000 Adam
#: steps for every radius (``--family-option cnn.steps=24000``; 2.1-6.3x the budget's 7524..3802 at r = 3..6)
#: lowered the excess at p = 0.09 from 8.6e-4 to 6.6e-4 at r = 3 and from 17.6e-4 to 13.9e-4 at r = 4, but the
#: r = 5 and 6 members collapsed to the single-site posterior (final loss 1.10 and 1.15, against 0.38 and 0.35
#: with the budget's steps; excess 0.052): the exponential schedule keeps the rate above 3e-3 for over 6000
#: steps.  The r = 5 member's loss trace (same seed) shows how: at steps 500-1000 (rate 9e-3) one gradient of norm
#: 115, then loss 1.12 and a zero gradient for the remaining 23000 steps (a saturated output; final loss
#: 1.0961230397224426, the collapsed run's to the last digit).  With ``grad_clip=1`` the same fit trains through
#: all 24000 steps (final loss 0.390, mean 0.355 over the last 500; 5161 of the 23000 steps after step 1000
#: clipped, norms up to 47), but its excess barely moved (p = 0.08 / 0.09 / 0.10 / 0.11 / 0.12: 21.0 / 21.2 /
#: 19.2 / 17.5 / 14.8e-4, against 24.1 / 23.5 / 21.5 / 20.0 / 16.7e-4 at the budget's 4556 steps), and the r = 6
#: member collapsed all the same: its trace (same seed) has gradient norms above 1 from step 300 and growing
#: (max 1.5 / 2.9 / 5.5 per 100 steps from step 900), then 129 at steps 1500-1600 (rate 7.5e-3) and a zero
#: gradient from step 1700, ending at the unclipped run's saturated output (final loss 1.1501696705818176 both).
#: Adam's step is about the learning rate whatever the gradient's norm, so clipping only delays a collapse
#: driven by a long phase at a high rate.  Off by default (clipping would change every default fit, which
#: spikes too, and at r = 6 on the quick grid it gave no gain, below); ``initial_loss`` in the fit record shows
#: a collapse (final loss near or above it; the toric leaderboard names such members)
#:
#: A lower peak rate does what clipping could not: 24000 steps from 3e-3 (to 1e-4) with clipping at 1 train every
#: radius (final loss r = 1..6 0.596 / 0.441 / 0.389 / 0.355 / 0.378 / 0.391), and the excess falls at every radius,
#: most where it grew (x 1e-4 at p = 0.08 / 0.09 / 0.10 / 0.11 / 0.12; budget steps at 1e-2 in brackets): r = 3
#: 6.1 / 6.2 / 5.9 / 6.0 / 5.6 (8.8 / 8.6 / 8.2 / 8.4 / 8.2), r = 4 11.1 / 11.3 / 10.5 / 9.9 / 8.8 (17.1 / 17.6 /
#: 16.2 / 15.0 / 13.7), r = 5 14.8 / 14.9 / 13.4 / 12.2 / 10.2 (24.1 / 23.5 / 21.5 / 20.0 / 16.7), r = 6 16.1 / 17.6 /
#: 15.5 / 14.1 / 11.0 (30.4 / 31.5 / 27.6 / 24.6 / 20.3).  The share of the exact gain per ring at p = 0.09 rose from
#: 98 / 83 / 60 / 57 / 11% to 99 / 88 / 77 / 74 / 70%, and p_c^ from 0.1333 [0.0662, 0.1991] to 0.0944 [0.0367,
#: 0.1368].  That is the full division's toric-bitflip training (``FULL_CNN_TRAINING`` in
#: :mod:`phasebench.suites.tasks.toric_bitflip`); the bit-flip defaults here stay those of the budgeted fits (the quick
#: division's short runs want the higher rate: at r = 3 and 1500 steps, 3e-3 -> 1e-5 gave 35.7% / 7.8% against
#: 21.8% / 5.1% from 1e-2, above)
BITFLIP_DEFAULTS = {"periodic_share": 0.5, "batch": 2, "polish_fraction": 0.1, "lr": 1e-2, "lr_final": 1e-4,
                    "window_features": 0}


def resolve_settings(family, channel, bayes: bool, model=None) -> dict:
    """The settings of one fit of ``family`` (a ``CNNDenoiser``) under ``channel``, with or without the Bayes output.

    ``check_stencils``: the parity checks the first layer sees (the ``model``'s, with the Bayes output and
    ``checks`` on, at r >= 1).  ``error_frame`` (``None``: automatic) is on exactly where there are such checks.
    """
    discrete = channel.discrete_observations  # bit flip: the noisy inputs are bits
    s = {**(BAYES_DEFAULTS if bayes else LINEAR_DEFAULTS), **(BITFLIP_DEFAULTS if discrete else {})}
    s["periodic"] = int(s.pop("periodic_share") * family.width)
    if family.depth < 1:  # no 1x1 layer to take window features
        s["window_features"] = 0
    for name in list(s):  # every setting is a hyperparameter of the family: the ones the user gave win
        if getattr(family, name) is not None:
            s[name] = getattr(family, name)
    checks = getattr(model, "parity_checks", ()) if bayes and s["checks"] and family.radius else ()
    if s["error_frame"] and not bayes:
        raise ValueError("error_frame needs the Bayes output (+-1 data under the Gaussian or bit-flip channel)")
    if s["error_frame"] is None:
        s["error_frame"] = bool(checks)
    return {**s, "bayes": bayes, "check_stencils": checks}
