"""The base class of learned families: what a fit does, whatever the network.

:class:`LearnedFamily` fits an x0-predictor (docs/physics.md, section 1: MSE training of the clean variable
from fresh noisy copies gives the posterior mean ``E[x | y]``):

1. standardise (:class:`phasebench.denoisers.harness.noisy_batches.Standardiser`) and pick the output head
   (:mod:`phasebench.denoisers.harness.output_heads`: the Bayes output for +-1 variables, else the linear readout);
2. ask the architecture for its settings (:meth:`LearnedFamily.resolve_settings`) and its network
   (:meth:`LearnedFamily.network_args`, :meth:`LearnedFamily.build_network`), initialised from the seed;
3. turn the budget in reference seconds into an Adam step count (:mod:`phasebench.denoisers.harness.budget`);
4. train on fresh noisy batches (:mod:`phasebench.denoisers.harness.noisy_batches`) with the Adam loop
   (:mod:`phasebench.denoisers.harness.adam`), then let the architecture spend the rest of the budget
   (:meth:`LearnedFamily.finish`, e.g. the ``cnn`` readout refit);
5. record the fit (:class:`phasebench.denoisers.harness.fit_record.FitRecord`).

Pickling ships the network's weights and rebuilds the network from its arguments (workers, the fit cache).

A network (what :meth:`LearnedFamily.build_network` returns) is a torch module with buffers ``feature_shift`` and
``feature_scale`` (``(feature_dim,)``: the conditioning features are standardised with them), ``forward(y_std,
feature)`` and ``forward_groups(y_std, features, b)`` (:meth:`phasebench.denoisers.cnn.network.build_network`),
an attribute ``channels`` and a method ``flops_per_site()``.  Optionally ``infer(y_std, feature)``: ``forward``
without gradients computed faster, equal to float rounding; denoising calls it where it exists.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Tuple

import numpy as np

from phasebench.lattice_models.base import validate_positive

from ..base import DenoiserFamily, Hyperparameter, torch_device
from .adam import TrainConfig, train_x0_predictor
from .budget import adam_steps, step_seconds
from .fit_record import TRAINING_PASS_FACTOR, FitRecord
from .noisy_batches import (
    NoisyBatches,
    Standardiser,
    groups_per_call,
    infer_data_kind,
    set_torch_threads,
    sites_per_step_groups,
    standardised_clean,
    step_size,
    training_groups,
)
from .output_heads import BayesOutput, LinearReadout, uses_bayes_output

#: budget in reference seconds of a fit that is given none
DEFAULT_BUDGET = 30.0
#: lattice sites per inference batch: 2^14 (16 configurations at L = 32) keeps a width-32 layer's activations
#: (2 MB) in cache; 2^18 took 2.8 times as long (docs/decisions/inference-chunk.md)
INFERENCE_CHUNK_SITES = 2**14
OUTPUTS = ("auto", "linear", "bayes")


def _rate(name: str, doc: str) -> Hyperparameter:
    return Hyperparameter(name, None, "float", doc, low=0.0, low_inclusive=False)


#: the hyperparameters of the training machinery, common to every learned family; ``None``: the architecture's
#: default for the data and channel (:meth:`LearnedFamily.resolve_settings`)
TRAINING_HYPERPARAMETERS: Tuple[Hyperparameter, ...] = (
    _rate("lr", "peak Adam learning rate (after a 20-step warm-up)"),
    _rate("lr_final", "final learning rate of the exponential decay"),
    Hyperparameter("batch", None, "int", "configurations per level per Adam step", low=1),
    Hyperparameter("steps", None, "int", "Adam steps (None: as many as the budget buys)", low=1),
    _rate("train_flops", "training compute of the Adam loop in multiply-adds, forward and backward (3 x the network's "
          "forward multiply-adds per site x sites trained on); fixes the step count, as the closed division does "
          "(None: the budget buys the steps)"),
    Hyperparameter("adaptive_weights", None, "bool",
                   "weight each group by 1 / (running mean of its own loss), so every group reaches a similar relative error"),
    Hyperparameter("groups_per_step", None, "int", "groups drawn per step (None: every group, or enough for one "
                   "forward call in a conditioned fit)", low=1),
    _rate("grad_clip", "rescale each step's gradient to at most this norm (None: never)"),
    Hyperparameter("output", "auto", "choice", "the output head: the Bayes output where it applies (auto), the "
                   "linear readout, or the Bayes output required", choices=OUTPUTS),
    Hyperparameter("dtype", "float32", "choice", "the network's floating-point type", choices=("float32", "float64")),
    Hyperparameter("device", None, "str", "torch device (None: CUDA when available, else CPU)"),
)


class LearnedFamily(DenoiserFamily):
    """A family whose members are networks fitted by the harness (module doc).  An architecture subclasses it,
    declares ``hyperparameters`` (its own plus :data:`TRAINING_HYPERPARAMETERS`) and implements
    :meth:`resolve_settings`, :meth:`network_args` and :meth:`build_network` (and, optionally, :meth:`finish` with its :meth:`finish_share`)."""

    conditionable = True  # one network per radius can cover a grid of model parameters (e.g. T)
    hyperparameters: ClassVar[Tuple[Hyperparameter, ...]] = TRAINING_HYPERPARAMETERS
    #: wall seconds of a fit per budget (reference) second, relative to the ``cnn``'s: the budget's cost model counts
    #: the network's multiply-adds, and a family whose steps do work beyond them is slower per budget second.  It
    #: changes no step count, only the dry run's price (suites/sweep_plan.py); measured by
    #: suites/benchmarks/test_bench_reference_cost.py
    wall_per_budget_second: ClassVar[float] = 1.0

    def __init__(self, radius=None, **hyper: Any):
        super().__init__(radius, **hyper)
        self.net_ = None
        self.fit_info_: dict = {}

    @classmethod
    def validate_hyperparameters(cls, hyper):
        values = super().validate_hyperparameters(hyper)
        if values.get("steps") is not None and values.get("train_flops") is not None:
            raise ValueError(f"family {cls.name!r}: give steps or train_flops, not both")
        return values

    # -- what an architecture supplies ----------------------------------------------------------
    def resolve_settings(self, channel, bayes: bool, model) -> Dict[str, Any]:
        """This fit's settings: ``lr``, ``lr_final``, ``batch``, ``adaptive_weights``, ``grad_clip`` and
        ``error_frame`` (the Bayes output's frame), plus whatever the architecture needs."""
        raise NotImplementedError

    def network_args(self, channels: int, feature_dim: int, extra_inputs: int, settings: Dict[str, Any]) -> dict:
        """Keyword arguments of :meth:`build_network` (kept, so that pickling can rebuild the network)."""
        raise NotImplementedError

    @staticmethod
    def build_network(**args):
        """The network (the contract in the module doc) from :meth:`network_args`' keywords."""
        raise NotImplementedError

    def finish_share(self, settings: Dict[str, Any], bayes: bool) -> float:
        """Share of the budget for :meth:`finish`; the Adam loop gets the rest (default: none, all for Adam)."""
        return 0.0

    def finish(self, net, batches: NoisyBatches, features, levels, settings: Dict[str, Any], budget: float,
               bayes: bool) -> dict:
        """Work after the Adam loop on ``budget`` reference seconds (default: none), with the loop's ``batches`` and
        the groups' ``features`` (:func:`training_groups`) for the fit's ``levels``; returns what to record."""
        return {}

    def fit_details(self, settings: Dict[str, Any]) -> dict:
        """The architecture's settings to record in the fit record (default: none)."""
        return {}

    # -- fitting ----------------------------------------------------------------------------------
    def _torch_dtype(self):
        import torch

        return torch.float32 if self.dtype == "float32" else torch.float64

    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        import torch

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
        bayes = uses_bayes_output(self.output, channel, std)
        settings = self.resolve_settings(channel, bayes, model)
        head = BayesOutput(std, settings["error_frame"]) if bayes else LinearReadout(std)
        conds = self.conditions_
        self.net_args_ = self.network_args(C, 1 if conds is None else 2, head.extra_inputs(C), settings)
        with torch.random.fork_rng(devices=[]):  # seeded initialisation, global RNG state untouched
            torch.manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))
            net = self.build_network(**self.net_args_)
        net = net.to(device=device, dtype=dtype)
        groups, subsets, features = training_groups(channel, levels, conds)
        feats = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
        feature_table = torch.as_tensor(feats, dtype=dtype, device=device)  # indexed by group on the device
        net.feature_shift.copy_(torch.as_tensor(feats.mean(axis=0), dtype=dtype))
        scale = feats.std(axis=0)
        net.feature_scale.copy_(torch.as_tensor(np.where(scale > 0, scale, 1.0), dtype=dtype))
        u_std = standardised_clean(clean_train, std, dtype, device)
        budget = DEFAULT_BUDGET if budget is None else validate_positive(budget, "budget")
        rest = self.finish_share(settings, bayes)  # the budget's share left for ``finish``
        batch = max(1, round(settings["batch"] * len(levels) / len(groups)))  # same configurations per step overall
        sites = int(np.prod(clean_train.shape[2:]))
        if self.groups_per_step is None and conds is not None:  # conditioned: a random subset of (level, condition) groups
            per_step = sites_per_step_groups(len(groups), len(levels), batch, sites)
        else:
            per_step = step_size(len(groups), self.groups_per_step)
        calls = -(-per_step // groups_per_call(per_step, batch, sites))
        step_s = step_seconds(calls, per_step, per_step * batch * sites, net.flops_per_site())
        steps = self.steps or adam_steps(budget * (1.0 - rest), step_s)
        if self.train_flops is not None:  # the same compute for every architecture (the closed division)
            per_step_madds = TRAINING_PASS_FACTOR * net.flops_per_site() * per_step * batch * sites
            steps = max(1, int(self.train_flops // per_step_madds))
        batches = NoisyBatches(u_std, std, groups, seed, device, subsets=subsets)
        predict_groups = head.predictor(net, feature_table, batches, groups, dtype, device)
        cfg = TrainConfig(steps=steps, lr=settings["lr"], lr_final=settings["lr_final"], batch=batch,
                          adaptive_weights=settings["adaptive_weights"], groups_per_step=per_step,
                          grad_clip=settings["grad_clip"])
        net.train()
        info = train_x0_predictor(net, predict_groups, batches, cfg)
        net.eval()
        info.update(self.finish(net, batches, features, levels, settings, budget * rest, bayes))
        self.head_, self.net_, self.std_, self.device_, self.kind_ = head, net, std, device, kind
        details = {**info, "device": device, "torch_threads": torch.get_num_threads(), "data_kind": kind,
                   "budget_reference_seconds": budget, "reference_step_seconds": step_s, "levels": list(levels),
                   "output": head.name, **{k: settings[k] for k in ("lr", "lr_final", "adaptive_weights", "error_frame",
                                                                    "grad_clip")},
                   **self.fit_details(settings), "batch": batch, "groups": len(groups), "groups_per_step": per_step,
                   "train_sites": int(info["steps"]) * per_step * batch * sites}  # output sites of the Adam loop
        record = FitRecord(steps=info["steps"], initial_loss=info["initial_loss"], final_loss=info["final_loss"],
                           n_params=self.n_params, flops_per_site=self.flops_per_site, details=details)
        self.fit_info_ = record.as_dict()

    # -- pickling (a fitted member travels between processes and into the fit cache) -------------
    def __getstate__(self):
        state = dict(self.__dict__)
        if state.get("net_") is not None:  # the module's class may be local to build_network: ship the weights
            state["net_"] = {k: v.detach().cpu() for k, v in self.net_.state_dict().items()}
        return state

    def __setstate__(self, state):
        import torch

        weights = state.get("net_")
        self.__dict__.update(state)
        if weights is not None:
            net = self.build_network(**self.net_args_).to(dtype=self._torch_dtype())  # before loading: float64 stays
            net.load_state_dict(weights)
            if str(self.device_).startswith("cuda") and not torch.cuda.is_available():
                self.device_ = torch_device()  # fitted on a GPU, loaded where there is none: evaluate on this machine's device
            self.net_ = net.to(device=self.device_).eval()

    # -- denoising ----------------------------------------------------------------------------------
    def _denoise(self, y: np.ndarray, level: float, **condition: float) -> np.ndarray:
        import torch

        if y.shape[1] != self.net_.channels:
            raise ValueError(f"y has {y.shape[1]} channels, the network was fitted on {self.net_.channels}")
        set_torch_threads()
        std = self.std_
        mean_y, sd_y = std.noisy_moments(level)
        y_encoded = std.noisy_to_encoded(y)
        shape = (1, -1, 1, 1)
        y_std = (y_encoded - mean_y.reshape(shape)) / sd_y.reshape(shape)
        feature = self.channel_.level_feature(level)
        if condition:
            feature = (feature, condition["condition"])
        out = np.empty(y.shape, dtype=np.float64)
        chunk = max(1, INFERENCE_CHUNK_SITES // (y.shape[-1] ** 2))
        inputs = self.head_.inputs(y_std, y_encoded, level)
        infer = getattr(self.net_, "infer", self.net_)  # optional in the network contract (module doc)
        with torch.no_grad():
            for lo in range(0, len(y), chunk):
                yt = torch.as_tensor(inputs[lo : lo + chunk], dtype=self._torch_dtype(), device=self.device_)
                out[lo : lo + chunk] = infer(yt, feature).double().cpu().numpy()
        return self.head_.estimate(out, y_encoded, level)

    # -- description -----------------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        if self.net_ is None:
            return 0
        return int(sum(p.numel() for p in self.net_.parameters()))

    @property
    def flops_per_site(self) -> float:
        """Multiply-adds per output site (the network's ``flops_per_site()``)."""
        return float("nan") if self.net_ is None else self.net_.flops_per_site()

    def describe(self) -> dict:
        return {**super().describe(), "fit": dict(self.fit_info_)}

