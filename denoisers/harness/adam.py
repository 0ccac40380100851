"""The Adam loop of learned x0-prediction denoisers, and its CUDA-graph form.

:func:`train_x0_predictor` runs ``cfg.steps`` Adam steps on the level-weighted MSE of fresh noisy batches
(:class:`phasebench.denoisers.harness.noisy_batches.NoisyBatches`; the loss and the weights are described there and below).  Every step
is the same sequence of tensor operations: the groups' weights, the running mean of the adaptive weights and the
step's loss stay on the device, and the host reads the loss once, after the last step.  On CPU, with one torch
thread, a fixed step count gives bitwise-identical weights.

On a GPU a small network's step costs its kernel launches, not its arithmetic (measured:
docs/decisions/gpu-training-and-workers.md).  Where
every group goes through the network in one call each step (static shapes: the toric grids), the step can be
captured once as a CUDA graph and replayed (``PHASEBENCH_CUDA_GRAPHS=1``, CUDA only): only the noise draw and
the copy into the graph's input buffers run eagerly.  Adam then runs with ``capturable=True`` and a tensor
learning rate.  The capture follows PyTorch's whole-network recipe (warm-up steps on a side stream, gradients
set to None before capture, so that the captured backward writes them).  It is opt-in until it has been measured
on a GPU; the fit it gives is a fit like any other (fresh data every step, the same schedule), not bitwise the
eager one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional

import numpy as np

from .noisy_batches import NoisyBatches, chunk_sites, groups_per_call, step_groups, step_size

#: eager steps on a side stream before a CUDA graph is captured (allocator and cuDNN warm-up), as in PyTorch's recipe
GRAPH_WARMUP_STEPS = 3
#: rate of the running mean of each group's loss behind the adaptive weights (per step in which the group is drawn)
EMA_RATE = 0.02


@dataclass
class TrainConfig:
    steps: int  # Adam steps (from a budget: denoisers.harness.budget.adam_steps)
    lr: float = 3e-3
    lr_final: float = 1e-5  # exponential decay from lr to lr_final over the run
    warmup: int = 20
    batch: int = 8  # configurations per group per step
    adaptive_weights: bool = False  # reweight groups by 1 / (running mean of their own loss)
    groups_per_step: Optional[int] = None  # draw this many groups per step at random (None: every group)
    grad_clip: Optional[float] = None  # rescale the gradient to this norm where it is larger (None: never)


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = min(1.0, (step - cfg.warmup) / max(1, total - cfg.warmup))
    return cfg.lr * (cfg.lr_final / cfg.lr) ** frac


def cuda_graphs_requested() -> bool:
    """``PHASEBENCH_CUDA_GRAPHS``: ``1`` captures the training step as a CUDA graph where it can (default 0)."""
    value = os.environ.get("PHASEBENCH_CUDA_GRAPHS", "0").strip()
    if value not in ("0", "1"):
        raise ValueError(f"PHASEBENCH_CUDA_GRAPHS must be 0 or 1, got {value!r}")
    return value == "1"


class _Step:
    """One Adam step: forward and backward per call, the adaptive weights' update, ``opt.step()``.

    ``calls`` yields ``(y, target, ks)`` per network call (``ks``: the call's groups, a device index tensor);
    ``chosen``: all the step's groups (device index tensor).  Returns the step's loss terms (device tensors).
    """

    def __init__(self, predict_groups: Callable, batches: NoisyBatches, cfg: TrainConfig, opt):
        import torch

        device = batches.clean.device
        self.predict_groups, self.cfg, self.opt = predict_groups, cfg, opt
        self.params = [p for group in opt.param_groups for p in group["params"]]  # what grad_clip rescales
        self.weights = torch.cat(batches.weights)  # (groups, C, 1, 1)
        # running mean of each group's weighted loss, on the device (NaN until the group is first drawn)
        self.ema = torch.full((len(batches.levels),), float("nan"), dtype=torch.float64, device=device)

    def __call__(self, calls, chosen):
        import torch

        b = self.cfg.batch
        ema = self.ema
        inv = torch.where(torch.isnan(ema), torch.ones_like(ema), 1.0 / ema)
        rel = inv / inv.mean()
        per_group, terms = [], []
        for y, target, ks in calls:
            w = self.weights[ks].repeat_interleave(b, dim=0)  # (groups b, C, 1, 1)
            sq = w * (self.predict_groups(y, b, ks) - target) ** 2
            per_group.append(sq.detach().view(len(ks), -1).mean(1))
            scale = rel[ks].to(sq).repeat_interleave(b).view(-1, 1, 1, 1) if self.cfg.adaptive_weights else 1.0
            term = (scale * sq).sum() / (len(chosen) * sq[0].numel() * b)
            term.backward()
            terms.append(term.detach())
        if self.cfg.adaptive_weights:
            new = torch.cat(per_group).double().clamp_min(1e-30)
            old = ema[chosen]
            ema[chosen] = torch.where(torch.isnan(old), new, (1.0 - EMA_RATE) * old + EMA_RATE * new)
        if self.cfg.grad_clip is not None:  # no host read: capturable
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
        self.opt.step()
        return terms


def train_x0_predictor(net, predict_groups: Callable, batches: NoisyBatches, cfg: TrainConfig,
                       capture: Optional[Callable] = None) -> Dict[str, float]:
    """``cfg.steps`` Adam steps on the level-weighted MSE of ``predict_groups(y_std, b, groups) -> u'_hat``.

    Each step takes the groups of :func:`phasebench.denoisers.harness.noisy_batches.step_groups` (every group (level, or (level,
    condition)), or ``cfg.groups_per_step`` drawn at random) and draws ``cfg.batch``
    configurations per group with fresh noise, in group order; the groups ``groups`` (a device index
    tensor) go through the network in one call (``y_std`` holds their b samples consecutively),
    :func:`phasebench.denoisers.harness.noisy_batches.groups_per_call` groups per call, with the gradients accumulated.  The loss is the
    mean over the step's groups of the ``weights``-weighted per-group MSE, each group's term
    further scaled, with ``cfg.adaptive_weights``, by the inverse of its running mean loss
    (EMA of rate :data:`EMA_RATE` per step in which the group is drawn, from the previous steps; 1 before
    it) normalised to mean 1 over all groups, so that every group is fitted to a similar
    relative error.  Deterministic on CPU with one torch thread.  Returns the step count, time,
    final loss, initial loss and whether the step ran captured.

    The initial loss is the first step's: the untrained network's, which for the suite's networks (zero-initialised
    head, skip and FiLM) is the trivial predictor's (the single-site posterior with the Bayes output, the mean
    otherwise).  A final loss near or above it means the fit collapsed to the trivial predictor: long runs at a
    learning rate of 1e-2 did so for the toric radius-5 and -6 members (:mod:`phasebench.denoisers.cnn.settings`).

    ``capture(body) -> (outputs, replay)`` records a step for replay (default: :func:`cuda_graph_capture` where
    the step can be captured and ``PHASEBENCH_CUDA_GRAPHS=1``; tests pass :func:`eager_capture`, which makes the
    captured loop run on CPU, where it must give the eager loop's weights bit for bit).
    """
    import torch

    n_groups = len(batches.levels)
    b = cfg.batch
    device = batches.clean.device
    sites = int(np.prod(batches.clean.shape[2:]))
    per_step = step_size(n_groups, cfg.groups_per_step)
    chunk = groups_per_call(per_step, b, sites, chunk_sites(device.type))
    static = per_step == n_groups and chunk >= n_groups  # every group, one call: the same shapes every step
    if capture is None and static and device.type == "cuda" and cuda_graphs_requested():
        capture = cuda_graph_capture
    if capture is not None and not static:
        raise ValueError("a captured step needs every group in one call per step")
    graph = capture is not None and device.type == "cuda"  # Adam reads a tensor learning rate inside the graph
    total = int(cfg.steps)
    lr = torch.tensor(lr_at(0, total, cfg), device=device) if graph else cfg.lr
    opt = torch.optim.Adam(net.parameters(), lr=lr, capturable=graph)
    step_fn = _Step(predict_groups, batches, cfg, opt)
    start = time.perf_counter()

    def set_lr(step):
        for group in opt.param_groups:
            if graph:
                group["lr"].fill_(lr_at(step, total, cfg))
            else:
                group["lr"] = lr_at(step, total, cfg)

    initial = []  # the first step's loss: the untrained network's (the trivial predictor's), read once

    def eager_step(step):
        set_lr(step)
        opt.zero_grad(set_to_none=True)
        chosen = step_groups(n_groups, cfg.groups_per_step, batches.rng)
        index = torch.as_tensor(chosen, device=device)
        calls = ((*batches.draw_groups(chosen[lo : lo + chunk], b), index[lo : lo + chunk])
                 for lo in range(0, len(chosen), chunk))  # drawn call by call: one call's batch in memory at a time
        terms = step_fn(calls, index)
        if step == 0:
            initial.append(sum(float(t) for t in terms))
        return terms

    terms, step = [], 0
    if capture is not None:
        terms, step = _train_captured(eager_step, step_fn, batches, cfg, total, set_lr, capture)
    while step < total:
        terms = eager_step(step)
        step += 1
    last = sum(float(t) for t in terms) if terms else float("nan")  # the host's one read of the loss
    return {"steps": step, "train_seconds": time.perf_counter() - start, "final_loss": last,
            "initial_loss": initial[0] if initial else float("nan"), "captured_step": capture is not None, "cuda_graph": graph}


def cuda_graph_capture(body: Callable):
    """Capture ``body()`` as a CUDA graph: ``(its outputs, replay)``.  Capture records without running."""
    import torch

    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outputs = body()
    return outputs, graph.replay


def eager_capture(body: Callable):
    """The stand-in for :func:`cuda_graph_capture` on any device: ``replay`` runs ``body()`` and refreshes the outputs."""
    outputs: list = []

    def replay():
        outputs[:] = body()

    return outputs, replay


def _train_captured(eager_step, step_fn, batches: NoisyBatches, cfg: TrainConfig, total: int, set_lr, capture):
    """All ``total`` steps with the step captured once and replayed (every group in one call); ``(terms, steps)``.

    The first :data:`GRAPH_WARMUP_STEPS` steps run eagerly (on a side stream on a GPU); the rest replay the
    captured step on fixed input buffers, into which each step's fresh batch is copied.  The batches come from
    the generators in the eager loop's order, so the fit is the eager one's wherever the replay computes what
    the eager step computes (on CPU, bit for bit: tested with :func:`eager_capture`).
    """
    import contextlib

    import torch

    n_groups, b = len(batches.levels), cfg.batch
    everyone = np.arange(n_groups)
    index = torch.arange(n_groups, device=batches.clean.device)
    warm = min(GRAPH_WARMUP_STEPS, total)
    cuda = batches.clean.device.type == "cuda"
    side = torch.cuda.Stream() if cuda else None
    if cuda:
        side.wait_stream(torch.cuda.current_stream())
    terms = []
    with torch.cuda.stream(side) if cuda else contextlib.nullcontext():
        for step in range(warm):
            terms = eager_step(step)
    if cuda:
        torch.cuda.current_stream().wait_stream(side)
    if warm == total:
        return terms, total
    set_lr(warm)
    step_fn.opt.zero_grad(set_to_none=True)  # the captured backward then writes the gradients, not adds to them
    y, target = batches.draw_groups(everyone, b)  # the input buffers, holding step ``warm``'s batch
    terms, replay = capture(lambda: step_fn([(y, target, index)], index))
    replay()  # step ``warm``
    for step in range(warm + 1, total):
        set_lr(step)
        if not cuda:  # replayed eagerly: as the eager loop (a graph's backward writes its gradients afresh)
            step_fn.opt.zero_grad(set_to_none=True)
        new_y, new_target = batches.draw_groups(everyone, b)
        y.copy_(new_y)
        target.copy_(new_target)
        replay()
    return terms, total
