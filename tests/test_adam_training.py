"""The Adam loop: the captured (replayed) step is the eager step, and the CUDA-graph switch is validated."""

import functools

import numpy as np
import pytest

import phasebench.denoisers.harness.learned as learned_module
from phasebench.denoisers import make_family
from phasebench.denoisers.harness.adam import cuda_graphs_requested, eager_capture, train_x0_predictor
from phasebench.lattice_models.base import make_model
from phasebench.lattice_models.channels import BitFlipChannel, GaussianChannel
from phasebench.lattice_models.datasets import load_or_generate

TINY = dict(width=8, depth=1, embed_dim=8, steps=9)


def _weights(fam):
    return {k: v.detach().clone() for k, v in fam.net_.state_dict().items()}


@pytest.mark.parametrize("case", ["toric-bitflip", "spins-gaussian"])
def test_captured_step_replayed_eagerly_is_the_eager_fit(monkeypatch, case):
    """Warm-up steps, then one capture replayed with each step's batch copied into fixed buffers: on CPU,
    with the eager stand-in for the graph, the weights equal the eager loop's bit for bit (same batches in the
    same order, same adaptive weights, same learning rates), so the orchestration a CUDA graph replays is right."""
    if case == "toric-bitflip":
        model = make_model("toric_loops", x=1.0)
        x, channel, levels = load_or_generate(model, 12, 6, 5).samples, BitFlipChannel(), [0.05, 0.1, 0.15]
    else:
        model = None
        x = np.where(np.random.default_rng(2).random((12, 1, 6, 6)) < 0.5, -1, 1).astype(np.int8)
        channel, levels = GaussianChannel(), [0.3, 1.0, 3.0]

    def fit():
        return make_family("cnn", 2, **TINY).fit(x, channel, levels, seed=4, model=model)

    eager = fit()
    monkeypatch.setattr(learned_module, "train_x0_predictor", functools.partial(train_x0_predictor, capture=eager_capture))
    replayed = fit()
    assert not eager.fit_info_["captured_step"] and replayed.fit_info_["captured_step"]
    assert not replayed.fit_info_["cuda_graph"]  # on CPU the stand-in, never a graph
    assert replayed.fit_info_["steps"] == eager.fit_info_["steps"] == 9
    a, b = _weights(eager), _weights(replayed)
    assert all(a[k].equal(b[k]) for k in a)
    assert replayed.fit_info_["final_loss"] == eager.fit_info_["final_loss"]
    # and the replay is not a no-op: fewer steps give other weights
    short = make_family("cnn", 2, **{**TINY, "steps": 8}).fit(x, channel, levels, seed=4, model=model)
    assert not all(a[k].equal(w) for k, w in _weights(short).items())


def test_a_captured_step_needs_every_group_in_one_call(monkeypatch):
    x = np.where(np.random.default_rng(1).random((12, 1, 6, 6)) < 0.5, -1, 1).astype(np.int8)
    monkeypatch.setattr(learned_module, "train_x0_predictor", functools.partial(train_x0_predictor, capture=eager_capture))
    with pytest.raises(ValueError, match="every group in one call"):
        make_family("cnn", 1, groups_per_step=1, **TINY).fit(x, GaussianChannel(), [0.3, 1.0], seed=1)


def test_cuda_graph_switch(monkeypatch):
    monkeypatch.delenv("PHASEBENCH_CUDA_GRAPHS", raising=False)
    assert cuda_graphs_requested() is False
    monkeypatch.setenv("PHASEBENCH_CUDA_GRAPHS", "1")
    assert cuda_graphs_requested() is True
    monkeypatch.setenv("PHASEBENCH_CUDA_GRAPHS", "yes")
    with pytest.raises(ValueError, match="PHASEBENCH_CUDA_GRAPHS must be 0 or 1"):
        cuda_graphs_requested()


def test_cuda_graph_fit_follows_the_eager_fit_on_a_gpu(monkeypatch):
    """On a GPU (skipped without one): the captured step replays what the eager step computes.  Not bit for bit
    (Adam with ``capturable=True`` and a tensor learning rate orders its arithmetic differently, and cuDNN's
    backward need not repeat itself), so the graph fit must lie as close to an eager fit as two eager fits lie to
    each other, within 10 times that spread (or 1e-5 relative where two eager fits agree exactly)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    model = make_model("toric_loops", x=1.0)
    x = load_or_generate(model, 24, 8, 5).samples

    def fit(graphs: str):
        monkeypatch.setenv("PHASEBENCH_CUDA_GRAPHS", graphs)
        return make_family("cnn", 2, width=16, steps=40, device="cuda").fit(x, BitFlipChannel(), [0.05, 0.1, 0.15],
                                                                            seed=4, model=model)

    def distance(f, g):
        a, b = _weights(f), _weights(g)
        return max(float((a[k] - b[k]).abs().max() / (a[k].abs().max() + 1e-12)) for k in a)

    eager, again, graph = fit("0"), fit("0"), fit("1")
    assert graph.fit_info_["cuda_graph"] and not eager.fit_info_["cuda_graph"]
    spread = distance(eager, again)
    assert distance(eager, graph) <= max(10 * spread, 1e-5), (distance(eager, graph), spread)
    loss_spread = abs(again.fit_info_["final_loss"] - eager.fit_info_["final_loss"])
    assert abs(graph.fit_info_["final_loss"] - eager.fit_info_["final_loss"]) <= max(
        10 * loss_spread, 1e-5 * abs(eager.fit_info_["final_loss"]))


TORIC_LEVELS = [0.05, 0.1, 0.15]


@functools.lru_cache(maxsize=None)
def _toric_train():
    """The toric model and 12 of its configurations at L = 6 (generated on first use, not at import)."""
    model = make_model("toric_loops", x=1.0)
    return model, load_or_generate(model, 12, 6, 5).samples


def _toric_fit(**options):
    """A tiny radius-2 cnn fitted on the toric configurations under bit flip, with the given options."""
    model, x = _toric_train()
    return make_family("cnn", 2, **{**TINY, **options}).fit(x, BitFlipChannel(), TORIC_LEVELS, seed=4, model=model)


def test_the_fit_records_the_untrained_networks_loss_to_show_a_collapse():
    """``initial_loss`` is the first step's loss, that of the untrained network (the single-site posterior with the
    Bayes output): a one-step fit's final loss is that same number; a fit that learns ends well below it; one driven
    at an absurd learning rate ends near or above it, which is how a collapsed member shows in the results."""
    x, levels = _toric_train()[1], TORIC_LEVELS

    def fit(**options):
        return _toric_fit(**options).fit_info_

    one = fit(steps=1)
    assert one["initial_loss"] == one["final_loss"]
    # the untrained output is the single-site posterior (1 - 2p) y, and each level's loss term its squared error over
    # the single-site MMSE 4 p (1 - p): per edge p / (1 - p) or, flipped (probability p), (1 - p) / p, mean 1 and
    # variance p^2 / (1 - p) + (1 - p)^2 / p - 1; the loss is the mean over the levels of b = 2 configurations x 72
    # edges each (1.25 here, 1.7 standard deviations from 1)
    edges = 2 * x[0].size
    sd = np.sqrt(sum(p * p / (1 - p) + (1 - p) ** 2 / p - 1 for p in levels) / edges) / len(levels)
    assert abs(one["initial_loss"] - 1.0) < 4 * sd
    learned = fit(steps=150)
    assert learned["initial_loss"] == one["initial_loss"]  # the same first batch, the same untrained network
    assert learned["final_loss"] < 0.8 * learned["initial_loss"]
    wild = fit(steps=150, lr=30.0, lr_final=30.0)
    assert wild["final_loss"] > 0.9 * wild["initial_loss"]


def test_gradient_clipping_rescales_only_larger_gradients():
    """``grad_clip``: a bound far above every gradient norm leaves the fit bit for bit as without it (the
    gradient is multiplied by exactly 1); a tiny bound changes it; the bound is recorded; it must be positive."""
    free, loose, tight = _toric_fit(), _toric_fit(grad_clip=1e9), _toric_fit(grad_clip=1e-4)
    a, b, c = _weights(free), _weights(loose), _weights(tight)
    assert all(a[k].equal(b[k]) for k in a)
    assert not all(a[k].equal(c[k]) for k in a)
    assert loose.fit_info_["grad_clip"] == 1e9 and free.fit_info_["grad_clip"] is None
    with pytest.raises(ValueError, match="grad_clip"):
        make_family("cnn", 2, grad_clip=0.0)
