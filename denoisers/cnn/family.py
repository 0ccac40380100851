"""``cnn``: a learned local denoiser whose receptive field is exactly the radius-r window.

Architecture (:mod:`phasebench.denoisers.cnn.network`; one network per radius covers the whole level grid
it is fitted on): ``r`` circular 3x3 layers and ``depth`` 1x1 layers with FiLM conditioning on the
level (log lambda, or atanh(1 - 2p) for bit flip; :func:`phasebench.denoisers.harness.noisy_batches.level_feature`), a
level-generated linear radius-r skip, optional window features and optional periodic (cos)
units.  Its light cone is exactly the radius-r window; there is no normalisation or pooling over
space.  Input and output scaling are per level and per channel from the training moments
(:class:`phasebench.denoisers.harness.noisy_batches.Standardiser`); the output is the posterior-mean estimate in data
space (clipped to [0, 1] for binary and [-1, 1] for spin data).

Defaults that depend on the data and channel (each measured; see the constants below):

* window features: 4 with the Bayes output, 0 with the linear readout (there they made the GFF
  calibration worse in the one quick run measured: worst |xi_eff/xi_M - 1| 0.05 -> 1.05) and under
  bit flip;
* periodic units: half the width under the bit-flip channel (the noisy data are bits, and the
  posterior is a Boolean function of them), 0 otherwise; configurations per level per step: 2
  under bit flip, 8 otherwise; share of the budget for the readout refit: 0.1 under bit flip, 0.5
  otherwise; learning rate 1e-2 -> 1e-4 under bit flip, 3e-3 -> 1e-5 otherwise (:data:`phasebench.denoisers.cnn.settings.BITFLIP_DEFAULTS`,
  overlaid on the output's defaults; explicit options win);
* parity checks (``checks=True``, the default): when the model declares local parity checks
  (``LatticeModel.parity_checks``, e.g. the toric code's vertex checks) and the Bayes output applies,
  the first trunk layer also sees the checks' values on the single-site posteriors (the syndrome under
  bit flip; :mod:`phasebench.denoisers.cnn.network`), with the light cone unchanged;
* error frame (``error_frame``; by default on exactly where the first layer sees parity checks): the
  network's field is taken in the frame of the sign of the site's own observation,
  ``E[u_i | y] = tanh(g y_i + sign(y_i) G_i)``, which is ``y_i tanh(g + G_i)`` under bit flip.  This is no
  restriction (``G_i = sign(y_i) H_i``), but it is the posterior's own structure: a prior uniform over the
  configurations that satisfy the checks is invariant under flipping any closed loop, so the posterior is
  covariant, ``E[u | c y] = c E[u | y]``, and ``G`` is a function of loop-invariant inputs (the check
  values, ``|y|``) that the trunk sees directly; ``H`` would be that function times the own sign, a product
  the trunk must learn.  Measured on the quick toric grid (L = 16, r = 3, 60 reference s, 2114
  Adam steps, excess over the exact r-local posterior at p = 0.04 / 0.08 / 0.11): 7.2% / 3.9% / 2.1% with
  it, 12.7% / 9.4% / 3.6% without.  Under the Gaussian channel (toric-gaussian quick grid, r = 3, 60
  reference s, 768 steps, lambda = 0.4 / 1.0 / 2.2): 2.2% / 29.8% / 654% with it, 3.7% / 40.2% / 946% without.

Bayes output (the default, ``output="auto"``, wherever it applies: +-1 data under the Gaussian
or the bit-flip channel, i.e. spins, or bits the channel encodes as spins; ``"linear"`` forces the
linear readout, ``"bayes"`` requires the Bayes output): the posterior of a +-1 site is
``E[u_i | y] = tanh(g y_i + H_i)`` with ``g = a / s^2`` (Gaussian) or ``atanh(1 - 2p)`` (bit flip)
(physics reference, section 2: the site's own likelihood field plus the field of the prior given
the other observations; :mod:`phasebench.denoisers.harness.output_heads`), so the network's output (head + skip) is
the field ``H_i`` and the estimate is the tanh above; the trunk also sees ``tanh(g y)`` (a per-site
function of the input, so the light cone is unchanged).  The untrained network (zero head and skip) is the single-site posterior.
Measured on the quick ising-temperature division against the linear readout (same budget, same
data; ``cnn`` had the linear readout by default until then, and the Bayes output was the family
``cnn-bayes``, now an alias): the global member's worst gap to the exact posterior at L = 6 was
10% against 34% (cells within 2%: 62 against 45 of 84), and at every T both members' test MSE was
within 1.1% of the best of the three families (linear readout: 2.5 to 44% above it).

Training (:mod:`phasebench.denoisers.harness.noisy_batches`): Adam on the level-weighted x0-prediction MSE with
fresh noise every step (warm-up, then exponential LR decay) for a share
``1 - polish_fraction`` of the budget; then :func:`phasebench.denoisers.cnn.readout_refit.refit_readout` solves the readout
(skip-kernel generator and head) by exact weighted least squares on fresh noise for the
rest.  The budget is in reference seconds (:mod:`phasebench.denoisers.harness.budget`): it fixes the
Adam step count and the refit's configurations from the network and data shapes, so a fit
is reproducible whatever the machine's speed or load.  SGD alone converges too slowly to reach the r-local optimum to the
1e-4 relative precision the GFF calibration asks for; the refit reaches it with the
sampling error of a linear regression (about mse * parameters / sites).  With the Bayes
output the readout is no longer linear: Adam gets the whole budget, with every group
weighted by ``1 / (single-site MMSE)`` times an adaptive factor ``1 / (running mean of the
group's own loss)``, normalised to mean 1, so each (level, condition) cell is fitted to a
similar *relative* excess (measured on ising-temperature against the exact posterior at L = 6 and 10).
Groups of a step go through the network together (:meth:`forward_groups`), in chunks of about
:data:`phasebench.denoisers.harness.noisy_batches.CHUNK_SITES` sites.  ``grad_clip`` (off by default) rescales each step's gradient
to at most that norm.  Long runs at the bit-flip rate 1e-2 can blow up and collapse (:mod:`phasebench.denoisers.cnn.settings`);
clipping saved the toric r = 5 member of a 24000-step run but only delayed the r = 6 member's collapse (Adam's step
is about the learning rate whatever the gradient's norm); a peak rate of 3e-3 with clipping trains every radius
(the full division's toric-bitflip training).  The fit record's ``initial_loss`` (the untrained network's) shows a
collapse.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from phasebench.lattice_models.base import validate_int

from ..base import DENOISERS, DenoiserFamily, torch_device
from .network import build_network
from .settings import OUTPUTS, resolve_settings
from ..harness.output_heads import BayesLocalField, bayes_output_applies, likelihood_gain
from .readout_refit import n_regressors, n_unknowns, refit_readout
from ..harness.budget import adam_steps, refit_configs, step_seconds
from ..harness.adam import TrainConfig, train_x0_predictor
from ..harness.noisy_batches import (
    NoisyBatches,
    Standardiser,
    groups_per_call,
    infer_data_kind,
    sites_per_step_groups,
    level_feature,
    step_size,
    set_torch_threads,
)


def _positive_float(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number > 0, got {value!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    return v


@DENOISERS.register("cnn")
class CNNDenoiser(DenoiserFamily):
    description = (
        "FiLM-conditioned CNN: r circular 3x3 layers + 1x1 layers + level-generated linear radius-r skip; "
        "Bayes output tanh(a y/s^2 + H) for +-1 data under the Gaussian channel; periodic (cos) units under bit flip"
    )
    supports_global = False
    conditionable = True  # one network per radius can cover a grid of model parameters (e.g. T)

    def __init__(
        self,
        radius: Optional[int] = None,
        width: int = 32,
        depth: int = 2,
        embed_dim: int = 32,
        lr: Optional[float] = None,
        lr_final: Optional[float] = None,
        batch: Optional[int] = None,
        steps: Optional[int] = None,
        polish_configs: Optional[int] = None,
        polish_fraction: Optional[float] = None,
        dtype: str = "float32",
        device: Optional[str] = None,
        output: str = "auto",
        adaptive_weights: Optional[bool] = None,
        window_features: Optional[int] = None,
        periodic: Optional[int] = None,
        groups_per_step: Optional[int] = None,
        checks: Optional[bool] = None,
        error_frame: Optional[bool] = None,
        grad_clip: Optional[float] = None,
    ):
        if radius is None:
            raise ValueError("family 'cnn' has no global member: give a radius r >= 0")
        super().__init__(radius)
        self.width = validate_int(width, "width")
        self.depth = validate_int(depth, "depth", minimum=0)
        self.embed_dim = validate_int(embed_dim, "embed_dim")
        self.lr = None if lr is None else _positive_float(lr, "lr")
        self.lr_final = None if lr_final is None else _positive_float(lr_final, "lr_final")
        self.batch = None if batch is None else validate_int(batch, "batch")
        self.steps = None if steps is None else validate_int(steps, "steps")
        self.polish_configs = None if polish_configs is None else validate_int(polish_configs, "polish_configs", minimum=0)
        self.polish_fraction = None if polish_fraction is None else float(polish_fraction)
        if self.polish_fraction is not None and not (0.0 <= self.polish_fraction < 1.0):
            raise ValueError(f"polish_fraction must be in [0, 1), got {polish_fraction!r}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = dtype
        self.device = device
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.output = output
        self.adaptive_weights = None if adaptive_weights is None else bool(adaptive_weights)
        self.window_features = None if window_features is None else validate_int(window_features, "window_features", minimum=0)
        if self.window_features and self.depth < 1:
            raise ValueError("window_features need depth >= 1 (a 1x1 layer to take them)")
        self.periodic = None if periodic is None else validate_int(periodic, "periodic", minimum=0)
        if self.periodic is not None and self.periodic >= self.width:
            raise ValueError(f"periodic must be < width={self.width}, got {periodic!r}")
        self.groups_per_step = None if groups_per_step is None else validate_int(groups_per_step, "groups_per_step")
        if checks not in (None, True, False):
            raise ValueError(f"checks must be true or false, got {checks!r}")
        self.checks = checks
        if error_frame not in (None, True, False):
            raise ValueError(f"error_frame must be true or false, got {error_frame!r}")
        self.error_frame = error_frame
        self.grad_clip = None if grad_clip is None else _positive_float(grad_clip, "grad_clip")
        self.net_, self.error_frame_ = None, False
        self.fit_info_: dict = {}

    # -- fitting ----------------------------------------------------------------------------
    def _bayes(self, channel, std) -> bool:
        applies = bayes_output_applies(channel, std)
        if self.output == "bayes" and not applies:
            raise ValueError("output='bayes' needs +-1 (encoded) data under the Gaussian or bit-flip channel")
        return self.output == "bayes" or (self.output == "auto" and applies)

    def _settings(self, channel, std, model) -> dict:
        """The training and architecture settings of this fit (:func:`phasebench.denoisers.cnn.settings.resolve_settings`)."""
        return resolve_settings(self, channel, self._bayes(channel, std), model)

    def _torch_dtype(self):
        import torch

        return torch.float32 if self.dtype == "float32" else torch.float64

    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        import torch

        if clean_train.shape[-1] < max(1, self.radius):
            raise ValueError(f"radius r={self.radius} must be <= L={clean_train.shape[-1]} (circular padding)")
        before = torch.get_num_threads()  # restored: the caller's OpenMP runtime (numba's too) keeps its threads
        set_torch_threads()
        try:
            self._train(clean_train, channel, levels, seed, budget, model)
        finally:
            torch.set_num_threads(before)

    def _train(self, clean_train, channel, levels, seed, budget, model) -> None:
        import torch

        device = self.device or torch_device()
        dtype = self._torch_dtype()
        kind = infer_data_kind(clean_train, model)
        std = Standardiser.from_data(clean_train, channel, kind)
        C = clean_train.shape[1]
        settings = self._settings(channel, std, model)
        bayes = settings["bayes"]
        self.net_args_ = dict(channels=C, radius=self.radius, width=self.width, depth=self.depth, embed_dim=self.embed_dim,
                              feature_dim=1 if self.conditions_ is None else 2, extra_inputs=C if bayes else 0,
                              window_features=settings["window_features"], periodic=settings["periodic"],
                              check_stencils=settings["check_stencils"])
        with torch.random.fork_rng(devices=[]):  # seeded initialisation, global RNG state untouched
            torch.manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))
            net = build_network(**self.net_args_)
        net = net.to(device=device, dtype=dtype)
        # groups: every level, or every (level, condition) pair for a conditioned fit
        conds = self.conditions_
        if conds is None:
            groups, subsets = list(levels), None
            features = [level_feature(channel, lv) for lv in levels]
        else:
            values = np.unique(conds)
            groups = [lv for lv in levels for _ in values]
            subsets = [np.flatnonzero(conds == c) for _ in levels for c in values]
            features = [(level_feature(channel, lv), float(c)) for lv in levels for c in values]
        feats = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
        feature_table = torch.as_tensor(feats, dtype=dtype, device=device)  # indexed by group on the device
        net.feature_shift.copy_(torch.as_tensor(feats.mean(axis=0), dtype=dtype))
        scale = feats.std(axis=0)
        net.feature_scale.copy_(torch.as_tensor(np.where(scale > 0, scale, 1.0), dtype=dtype))
        u = std.encode(np.asarray(clean_train, dtype=np.float64))
        u_std = (u - std.mu.reshape(1, -1, 1, 1)) / std.sd.reshape(1, -1, 1, 1)
        u_std = torch.as_tensor(u_std, dtype=dtype, device=device)
        budget = 30.0 if budget is None else _positive_float(budget, "budget")
        polish_fraction = 0.0 if bayes else settings["polish_fraction"]  # the Bayes output is not linear in its readout
        batch = max(1, round(settings["batch"] * len(levels) / len(groups)))  # same configurations per step overall
        sites = int(np.prod(clean_train.shape[2:]))
        madds = net.flops_per_site()
        if self.groups_per_step is None and conds is not None:  # conditioned: a random subset of (level, condition) groups
            per_step = sites_per_step_groups(len(groups), len(levels), batch, sites)
        else:
            per_step = step_size(len(groups), self.groups_per_step)
        calls = -(-per_step // groups_per_call(per_step, batch, sites))
        step_s = step_seconds(calls, per_step, per_step * batch * sites, madds)
        steps = self.steps or adam_steps(budget * (1.0 - polish_fraction), step_s)
        batches = NoisyBatches(u_std, std, groups, seed, device, subsets=subsets)
        if bayes:
            local = BayesLocalField(std, groups, dtype, device)
            batches.weights = local.weights
        cfg = TrainConfig(steps=steps, lr=settings["lr"], lr_final=settings["lr_final"], batch=batch,
                          adaptive_weights=settings["adaptive_weights"], groups_per_step=per_step,
                          grad_clip=settings["grad_clip"])
        if bayes:

            frame = settings["error_frame"]

            def predict_groups(y, b, ks):
                y_encoded = local.encoded(y, b, ks)
                field = local.field(y_encoded, b, ks)
                H = net.forward_groups(torch.cat([y, torch.tanh(field)], 1), feature_table[ks], b)
                return local.standardised_output(field, H * torch.sign(y_encoded) if frame else H)
        else:
            def predict_groups(y, b, ks):
                return net.forward_groups(y, feature_table[ks], b)
        net.train()
        info = train_x0_predictor(net, predict_groups, batches, cfg)
        net.eval()
        t0 = time.perf_counter()
        chunk = max(1, 16 * len(levels) // len(groups))
        if bayes:
            n_polish = 0
        elif self.polish_configs is not None:
            n_polish = self.polish_configs
        elif self.steps is not None:
            n_polish = 256
        elif polish_fraction == 0:
            n_polish = 0
        else:
            n_polish = refit_configs(budget * polish_fraction, len(groups), chunk, sites, madds, n_regressors(net),
                                     n_unknowns(net, len(groups)), C)
        if n_polish:
            refit_readout(net, batches, features, n_polish, chunk=chunk)
        info["polish_configs"] = n_polish
        info["polish_seconds"] = time.perf_counter() - t0
        self.bayes_, self.error_frame_ = bayes, settings["error_frame"]
        self.net_, self.std_, self.device_, self.kind_ = net, std, device, kind
        self.fit_info_ = {**info, "device": device, "torch_threads": torch.get_num_threads(), "data_kind": kind,
                          "budget_reference_seconds": budget, "reference_step_seconds": step_s, "levels": list(levels),
                          "output": "bayes" if bayes else "linear",
                          **{k: settings[k] for k in ("lr", "lr_final", "adaptive_weights", "window_features", "periodic",
                                                      "polish_fraction", "error_frame", "grad_clip")},
                          "parity_checks": len(self.net_args_["check_stencils"]),
                          "batch": batch, "groups": len(groups), "groups_per_step": per_step}

    # -- pickling (a fitted member travels between processes: suites.parallel_fit) --------------
    def __getstate__(self):
        state = dict(self.__dict__)
        if state.get("net_") is not None:  # the module's class is local to build_network: ship the weights
            state["net_"] = {k: v.detach().cpu() for k, v in self.net_.state_dict().items()}
        return state

    def __setstate__(self, state):
        import torch

        weights = state.get("net_")
        self.__dict__.update(state)
        if weights is not None:
            net = build_network(**self.net_args_).to(dtype=self._torch_dtype())  # before loading: float64 stays float64
            net.load_state_dict(weights)
            if str(self.device_).startswith("cuda") and not torch.cuda.is_available():
                self.device_ = torch_device()  # fitted on a GPU, loaded where there is none: evaluate on this machine's device
            self.net_ = net.to(device=self.device_).eval()

    # -- denoising ----------------------------------------------------------------------------
    def _denoise(self, y: np.ndarray, level: float, **condition: float) -> np.ndarray:
        import torch

        if y.shape[1] != self.net_.channels:
            raise ValueError(f"y has {y.shape[1]} channels, the network was fitted on {self.net_.channels}")
        if y.shape[-1] != y.shape[-2] or y.shape[-1] < max(1, self.radius):
            raise ValueError(f"y must have shape (n, C, L, L) with L >= r = {self.radius}, got {y.shape}")
        set_torch_threads()
        std = self.std_
        mean_y, sd_y = std.noisy_moments(level)
        y_encoded = std.noisy_to_encoded(y)
        shape = (1, -1, 1, 1)
        y_std = (y_encoded - mean_y.reshape(shape)) / sd_y.reshape(shape)
        feature = level_feature(self.channel_, level)
        if condition:
            feature = (feature, condition["condition"])
        out = np.empty(y.shape, dtype=np.float64)
        chunk = max(1, 2**18 // (y.shape[-1] ** 2))
        if self.bayes_:  # the network sees the likelihood field's posterior tanh(a y / s^2) too
            local = likelihood_gain(self.channel_, level) * y_encoded
            y_std = np.concatenate([y_std, np.tanh(local)], axis=1)
        with torch.no_grad():
            for lo in range(0, len(y), chunk):
                yt = torch.as_tensor(y_std[lo : lo + chunk], dtype=self._torch_dtype(), device=self.device_)
                out[lo : lo + chunk] = self.net_(yt, feature).double().cpu().numpy()
        if self.bayes_:  # the network output is the field added to the likelihood field
            if self.error_frame_:  # ... in the frame of the observation: its sign times H
                out *= np.sign(y_encoded)
            return std.decode(np.tanh(local + out))
        u = out * std.sd.reshape(shape) + std.mu.reshape(shape)
        bounds = std.output_range()
        if bounds is not None:
            u = np.clip(u, *bounds)
        return std.decode(u)

    # -- description ---------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        if self.net_ is None:
            return 0
        return int(sum(p.numel() for p in self.net_.parameters()))

    @property
    def flops_per_site(self) -> float:
        """Multiply-adds per output site (:meth:`phasebench.denoisers.cnn.network` ``flops_per_site``)."""
        return float("nan") if self.net_ is None else self.net_.flops_per_site()

    def describe(self) -> dict:
        return {
            **super().describe(),
            "width": self.width,
            "depth": self.depth,
            "embed_dim": self.embed_dim,
            "lr": self.lr,
            "lr_final": self.lr_final,
            "adaptive_weights": self.adaptive_weights,
            "window_features": self.window_features,
            "periodic": self.periodic,
            "batch": self.batch,
            "polish_fraction": self.polish_fraction,
            "groups_per_step": self.groups_per_step,
            "checks": self.checks,
            "error_frame": self.error_frame,
            "grad_clip": self.grad_clip,
            "dtype": self.dtype,
            "output": self.output,
            "fit": dict(self.fit_info_),
        }
