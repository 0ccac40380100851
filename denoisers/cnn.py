"""``cnn``: a learned local denoiser whose receptive field is exactly the radius-r window.

Architecture (one network per radius covers the whole level grid it is fitted on):

* trunk: ``r`` 3x3 convolutions with circular padding (torus; never zero padding),
  then ``depth`` 1x1 convolutions, width ``width``; for ``r = 0`` the trunk starts with
  a 1x1 layer instead.  After every trunk layer: a FiLM affine map
  ``h -> h (1 + gamma_l) + beta_l`` and SiLU.  The 1x1 head maps to ``C`` outputs
  (zero-initialised);
* linear skip: a ``(2r+1) x (2r+1)`` circular convolution of the input whose kernel
  is generated from the level embedding, so the network represents the best linear
  radius-r filter at every level exactly (the r-local optimum of the GFF);
* window features (``window_features = F``; default 4 with the Bayes output, 0 with the
  linear readout, where they made the GFF calibration worse in the one quick run measured:
  worst |xi_eff/xi_M - 1| 0.05 -> 1.05): F more linear ``(2r+1) x (2r+1)``
  circular convolutions of the input (all input channels), kernels generated from the
  level embedding like the skip's, concatenated to the trunk before its first 1x1 layer.
  The 1x1 layers can then apply a nonlinearity to a sum over the whole window, such as
  the window magnetisation whose sign a global Ising member must read (a stack of 3x3
  layers has to learn that sum through r nonlinear layers);
* conditioning: an MLP embedding of the scalar level feature (log lambda, or
  atanh(1 - 2p) for bit flip; :func:`denoisers.training.level_feature`) produces every
  ``gamma_l, beta_l`` and the skip kernel.  The level is a scalar, not data, so it does
  not widen the light cone.

Light cone: the trunk's radius is the number of 3x3 layers, ``r``; 1x1 layers, FiLM,
SiLU and the head are per-site; the skip and window-feature kernels have radius ``r``.  So every output
site depends on the noisy inputs within Chebyshev distance ``r`` (cyclically) and on
nothing else.  There is no normalisation or pooling over space.  Input and output
scaling are per level and per channel from the training moments
(:class:`denoisers.training.Standardiser`); the output is the posterior-mean estimate
in data space (clipped to [0, 1] for binary and [-1, 1] for spin data).

Bayes output (the family ``cnn-bayes``, :mod:`denoisers.cnn_bayes`; +-1 data under the
Gaussian channel: spins, or bits the channel encodes as spins; ``output="auto"`` or ``"bayes"``): the posterior of a +-1 site is
``E[u_i | y] = tanh(a y_i / s^2 + H_i)`` (physics reference, section 2: the site's own
likelihood field plus the field of the prior given the other observations), so the network's
output (head + skip) is the field ``H_i`` and the estimate is the tanh above; the trunk
also sees ``tanh(a y / s^2)`` (a per-site function of the input, so the light cone is
unchanged).  The untrained network (zero head and skip) is the single-site posterior.

Training (:mod:`denoisers.training`): Adam on the level-weighted x0-prediction MSE with
fresh noise every step (warm-up, then exponential LR decay) for a share
``1 - polish_fraction`` of the budget; then :func:`denoisers.readout_refit.refit_readout` solves the readout
(skip-kernel generator and head) by exact weighted least squares on fresh noise for the
rest of the budget.  SGD alone converges too slowly to reach the r-local optimum to the
1e-4 relative precision the GFF calibration asks for; the refit reaches it with the
sampling error of a linear regression (about mse * parameters / sites).  With the Bayes
output the readout is no longer linear: Adam gets the whole budget, with every group
weighted by ``1 / (single-site MMSE)`` times an adaptive factor ``1 / (running mean of the
group's own loss)``, normalised to mean 1, so each (level, condition) cell is fitted to a
similar *relative* excess (measured on ising-temperature: see scripts/ising_global_vs_exact.py).
Groups of a step go through the network together (:meth:`forward_groups`), in chunks of about
:data:`denoisers.training.CHUNK_SITES` sites.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from lattice_models.base import validate_int

from .base import DENOISERS, DenoiserFamily, torch_device
from .spin_output import BayesLocalField, bayes_output_applies
from .readout_refit import refit_readout
from .training import (
    NoisyBatches,
    Standardiser,
    TrainConfig,
    infer_data_kind,
    level_feature,
    set_torch_threads,
    train_x0_predictor,
)


def _positive_float(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number > 0, got {value!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    return v


def build_network(channels: int, radius: int, width: int, depth: int, embed_dim: int, feature_dim: int = 1,
                  extra_inputs: int = 0, window_features: int = 0):
    """The torch module (see module doc); ``forward(y_std, feature) -> u'_hat``.

    ``feature`` is the level feature, or a tuple (level feature, condition) when
    ``feature_dim = 2`` (a family conditioned on a model parameter such as T).
    ``window_features`` linear (2r+1)x(2r+1) circular convolutions of all inputs, with
    level-generated kernels like the skip, join the trunk before its first 1x1 layer.
    """
    import torch
    from torch import nn
    import torch.nn.functional as F

    class LocalCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.radius = radius
            self.channels = channels
            self.embed = nn.Sequential(nn.Linear(feature_dim, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim), nn.SiLU())
            layers = []
            c_in = channels + extra_inputs  # the skip sees the first ``channels`` inputs only
            for _ in range(radius):
                layers.append(nn.Conv2d(c_in, width, 3, padding=1, padding_mode="circular"))
                c_in = width
            if radius == 0:
                layers.append(nn.Conv2d(c_in, width, 1))
                c_in = width
            self.window_at = len(layers)  # window features join the input of this (1x1) layer
            if window_features and depth < 1:
                raise ValueError("window_features need depth >= 1 (a 1x1 layer to take them)")
            for i in range(depth):
                layers.append(nn.Conv2d(width + (window_features if i == 0 else 0), width, 1))
            self.trunk = nn.ModuleList(layers)
            self.film = nn.ModuleList(nn.Linear(embed_dim, 2 * width) for _ in layers)
            self.head = nn.Conv2d(width, channels, 1)
            k = 2 * radius + 1
            self.skip = nn.Linear(embed_dim, channels * channels * k * k)
            self.n_inputs = channels + extra_inputs
            self.window = nn.Linear(embed_dim, window_features * self.n_inputs * k * k) if window_features else None
            for m in list(self.film) + [self.head, self.skip] + ([self.window] if window_features else []):
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
            self.register_buffer("feature_shift", torch.zeros(feature_dim))
            self.register_buffer("feature_scale", torch.ones(feature_dim))

        def embedding(self, feature):
            """Embedding(s) of one feature, shape (1, embed_dim), or of a list of features, (G, embed_dim)."""
            shift = self.feature_shift
            values = np.asarray(feature, dtype=np.float64)
            values = values.reshape(len(feature), -1) if isinstance(feature, list) else values.reshape(1, -1)
            f = torch.as_tensor(values, dtype=shift.dtype, device=shift.device)
            return self.embed((f - shift) / self.feature_scale)

        def window_linear(self, y, e, generator, c_in: int):
            """A (2r+1)^2 circular convolution of the first c_in input channels, kernels from the embedding(s)."""
            k, x = 2 * self.radius + 1, self.padded(y[:, :c_in])
            weights = generator(e)
            if len(e) == 1:  # one kernel for the batch
                return F.conv2d(x, weights.view(-1, c_in, k, k))
            patches = F.unfold(x, kernel_size=k)  # (n, c_in k k, L L)
            return torch.bmm(weights.view(len(e), -1, c_in * k * k), patches).view(len(y), -1, *y.shape[2:])

        def _trunk(self, y, e):
            """Trunk output for embeddings e of shape (1, E) (one for the batch) or (n, E) (per sample)."""
            h = y
            for i, (conv, film) in enumerate(zip(self.trunk, self.film)):
                if self.window is not None and i == self.window_at:
                    h = torch.cat([h, self.window_linear(y, e, self.window, self.n_inputs)], 1)
                gamma, beta = film(e).view(len(e), 2, -1).unbind(1)
                h = F.silu(conv(h) * (1.0 + gamma[:, :, None, None]) + beta[:, :, None, None])
            return h

        def trunk_features(self, y, feature):
            """(trunk output h (n, width, L, L), level embedding e (embed_dim,))."""
            e = self.embedding(feature)
            return self._trunk(y, e), e[0]

        def padded(self, y):
            r = self.radius
            return F.pad(y, (r, r, r, r), mode="circular") if r else y

        def forward(self, y, feature):
            h, e = self.trunk_features(y, feature)
            return self.head(h) + self.window_linear(y, e[None], self.skip, self.channels)

        def forward_groups(self, y, features, b: int):
            """``forward`` for a batch of G groups of b consecutive samples, group g at ``features[g]``."""
            e = self.embedding(list(features)).repeat_interleave(b, dim=0)  # (G b, E)
            return self.head(self._trunk(y, e)) + self.window_linear(y, e, self.skip, self.channels)

    return LocalCNN()


OUTPUTS = ("auto", "linear", "bayes")
#: training defaults per output: the linear readout is refitted by least squares after Adam; the
#: Bayes output is trained by Adam alone, with adaptive group weights.  Final learning rate 1e-5 for
#: both: for the Bayes output, measured on the ising-temperature L = 6 global member (budget 150 s,
#: 50 configurations, exact posterior), 1e-4 left a heavy tail of badly fitted configurations at the
#: largest lambda (worst cell 9.3%, 64/84 cells within 2%) that 1e-5 removes (4.2%, 79/84); at
#: L = 10 the two agree (hard cells: worst 1.7% vs 1.9%)
LINEAR_DEFAULTS = {"lr_final": 1e-5, "adaptive_weights": False, "window_features": 0}
BAYES_DEFAULTS = {"lr_final": 1e-5, "adaptive_weights": True, "window_features": 4}


@DENOISERS.register("cnn")
class CNNDenoiser(DenoiserFamily):
    description = "FiLM-conditioned CNN: r circular 3x3 layers + 1x1 layers + level-generated linear radius-r skip"
    supports_global = False
    conditionable = True  # one network per radius can cover a grid of model parameters (e.g. T)

    def __init__(
        self,
        radius: Optional[int] = None,
        width: int = 32,
        depth: int = 2,
        embed_dim: int = 32,
        lr: float = 3e-3,
        lr_final: Optional[float] = None,
        batch: int = 8,
        steps: Optional[int] = None,
        polish_configs: Optional[int] = None,
        polish_fraction: float = 0.5,
        dtype: str = "float32",
        device: Optional[str] = None,
        output: str = "linear",
        adaptive_weights: Optional[bool] = None,
        window_features: Optional[int] = None,
    ):
        if radius is None:
            raise ValueError("family 'cnn' has no global member: give a radius r >= 0")
        super().__init__(radius)
        self.width = validate_int(width, "width")
        self.depth = validate_int(depth, "depth", minimum=0)
        self.embed_dim = validate_int(embed_dim, "embed_dim")
        self.lr = _positive_float(lr, "lr")
        self.lr_final = None if lr_final is None else _positive_float(lr_final, "lr_final")
        self.batch = validate_int(batch, "batch")
        self.steps = None if steps is None else validate_int(steps, "steps")
        self.polish_configs = None if polish_configs is None else validate_int(polish_configs, "polish_configs", minimum=0)
        self.polish_fraction = float(polish_fraction)
        if not (0.0 <= self.polish_fraction < 1.0):
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
        self.net_ = None
        self.fit_info_: dict = {}

    # -- fitting ----------------------------------------------------------------------------
    def _bayes(self, channel, std) -> bool:
        applies = bayes_output_applies(channel, std)
        if self.output == "bayes" and not applies:
            raise ValueError("output='bayes' needs +-1 (encoded) data under the Gaussian channel")
        return self.output == "bayes" or (self.output == "auto" and applies)

    def _window_features(self, channel, std) -> int:
        if self.window_features is not None:
            return self.window_features
        if self.depth < 1:  # no 1x1 layer to take them
            return 0
        return (BAYES_DEFAULTS if self._bayes(channel, std) else LINEAR_DEFAULTS)["window_features"]

    def _torch_dtype(self):
        import torch

        return torch.float32 if self.dtype == "float32" else torch.float64

    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        import torch

        if clean_train.shape[-1] < max(1, self.radius):
            raise ValueError(f"radius r={self.radius} must be <= L={clean_train.shape[-1]} (circular padding)")
        set_torch_threads()
        device = self.device or torch_device()
        dtype = self._torch_dtype()
        kind = infer_data_kind(clean_train, model)
        std = Standardiser.from_data(clean_train, channel, kind)
        C = clean_train.shape[1]
        window_features = self._window_features(channel, std)
        with torch.random.fork_rng(devices=[]):  # seeded initialisation, global RNG state untouched
            torch.manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))
            net = build_network(C, self.radius, self.width, self.depth, self.embed_dim,
                                feature_dim=1 if self.conditions_ is None else 2,
                                extra_inputs=C if self._bayes(channel, std) else 0,
                                window_features=window_features)
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
        net.feature_shift.copy_(torch.as_tensor(feats.mean(axis=0), dtype=dtype))
        scale = feats.std(axis=0)
        net.feature_scale.copy_(torch.as_tensor(np.where(scale > 0, scale, 1.0), dtype=dtype))
        u = std.encode(np.asarray(clean_train, dtype=np.float64))
        u_std = (u - std.mu.reshape(1, -1, 1, 1)) / std.sd.reshape(1, -1, 1, 1)
        u_std = torch.as_tensor(u_std, dtype=dtype, device=device)
        budget = 30.0 if budget is None else _positive_float(budget, "budget")
        train_budget = budget * (1.0 - self.polish_fraction)
        batch = max(1, round(self.batch * len(levels) / len(groups)))  # same configurations per step overall
        batches = NoisyBatches(u_std, std, groups, seed, device, subsets=subsets)
        bayes = self._bayes(channel, std)
        defaults = BAYES_DEFAULTS if bayes else LINEAR_DEFAULTS
        lr_final = defaults["lr_final"] if self.lr_final is None else self.lr_final
        adaptive = defaults["adaptive_weights"] if self.adaptive_weights is None else self.adaptive_weights
        if bayes:
            local = BayesLocalField(std, groups, dtype, device)
            batches.weights = local.weights
            train_budget = budget  # no linear refit: the output is nonlinear in the readout
        cfg = TrainConfig(lr=self.lr, lr_final=lr_final, batch=batch, steps=self.steps, budget=train_budget,
                          adaptive_weights=adaptive)
        if bayes:

            def predict_groups(y, b, lo, hi):
                field = local.field(y, b, lo, hi)
                x = torch.cat([y, torch.tanh(field)], 1)
                return local.standardised_output(field, net.forward_groups(x, features[lo:hi], b))
        else:
            def predict_groups(y, b, lo, hi):
                return net.forward_groups(y, features[lo:hi], b)
        net.train()
        info = train_x0_predictor(net, predict_groups, batches, cfg)
        net.eval()
        t0 = time.perf_counter()
        if bayes:
            n_polish, limit = 0, None
        elif self.polish_configs is not None:
            n_polish, limit = self.polish_configs, None
        elif self.steps is not None:
            n_polish, limit = 256, None
        else:
            # the rest of the budget, but at least half the refit's share if training overran
            n_polish, limit = 10**6, max(budget - info["train_seconds"], 0.5 * self.polish_fraction * budget)
        if n_polish:
            chunk = max(1, 16 * len(levels) // len(groups))
            info["polish_configs"] = refit_readout(net, batches, features, n_polish, chunk=chunk, time_limit=limit)
        info["polish_seconds"] = time.perf_counter() - t0
        self.bayes_ = bayes
        self.net_, self.std_, self.device_, self.kind_ = net, std, device, kind
        self.fit_info_ = {**info, "device": device, "data_kind": kind, "budget": budget, "levels": list(levels),
                          "output": "bayes" if bayes else "linear", "lr_final": lr_final, "adaptive_weights": adaptive,
                          "window_features": window_features}

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
        shape = (1, -1, 1, 1)
        y_std = (std.noisy_to_encoded(y) - mean_y.reshape(shape)) / sd_y.reshape(shape)
        feature = level_feature(self.channel_, level)
        if condition:
            feature = (feature, condition["condition"])
        out = np.empty(y.shape, dtype=np.float64)
        chunk = max(1, 2**18 // (y.shape[-1] ** 2))
        if self.bayes_:  # the network sees the likelihood field's posterior tanh(a y / s^2) too
            a, s = self.channel_.amplitudes(level)
            local = a * std.noisy_to_encoded(y) / (s * s)
            y_std = np.concatenate([y_std, np.tanh(local)], axis=1)
        with torch.no_grad():
            for lo in range(0, len(y), chunk):
                yt = torch.as_tensor(y_std[lo : lo + chunk], dtype=self._torch_dtype(), device=self.device_)
                out[lo : lo + chunk] = self.net_(yt, feature).double().cpu().numpy()
        if self.bayes_:  # the network output is the field added to the likelihood field
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
        """Multiply-adds per output site: convolutions, FiLM, head and skip (the per-level MLP excluded)."""
        if self.net_ is None:
            return float("nan")
        total = 0
        for conv in self.net_.trunk:
            c_out, c_in, kh, kw = conv.weight.shape
            total += c_out * c_in * kh * kw + c_out  # convolution + FiLM scale/shift
        total += self.net_.head.weight.numel()
        C = self.net_.channels
        total += C * C * (2 * self.radius + 1) ** 2
        if self.net_.window is not None:  # one multiply-add per generated kernel entry
            total += self.net_.window.out_features
        return float(total)

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
            "batch": self.batch,
            "polish_fraction": self.polish_fraction,
            "dtype": self.dtype,
            "output": self.output,
            "fit": dict(self.fit_info_),
        }
