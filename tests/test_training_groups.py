"""Conditioned training draws a random subset of its (level, condition) groups per step."""

import numpy as np
import pytest

from phasebench.denoisers import make_family
from phasebench.denoisers.harness.noisy_batches import CHUNK_SITES, sites_per_step_groups, step_groups
from phasebench.lattice_models.channels import GaussianChannel

TINY = dict(width=8, depth=1, embed_dim=8, steps=6, polish_configs=4, dtype="float64")


def test_step_groups_all_in_order_or_a_sorted_subset():
    rng = np.random.default_rng(0)
    assert np.array_equal(step_groups(5, None, rng), np.arange(5))
    assert np.array_equal(step_groups(5, 9, rng), np.arange(5))
    state = rng.bit_generator.state
    step_groups(5, 5, rng)  # every group: the generator is not touched (so such fits are unchanged)
    assert rng.bit_generator.state == state
    draws = [step_groups(20, 6, rng) for _ in range(400)]
    for d in draws:
        assert len(d) == 6 and len(np.unique(d)) == 6 and (np.diff(d) > 0).all()
    counts = np.bincount(np.concatenate(draws), minlength=20)  # each group: Binomial(400, 6/20)
    mean, sd = 400 * 6 / 20, np.sqrt(400 * 0.3 * 0.7)
    assert np.abs(counts - mean).max() < 4 * sd


def test_sites_per_step_groups():
    assert sites_per_step_groups(208, 13, 1, 36) == 208  # L = 6: all
    assert sites_per_step_groups(208, 13, 1, 196) == CHUNK_SITES // 196  # L = 14: about CHUNK_SITES sites
    assert sites_per_step_groups(208, 13, 1, 100_000) == 13  # never fewer than the level grid
    assert sites_per_step_groups(5, 13, 1, 100_000) == 5


def _conditioned(L=8, **hyper):
    rng = np.random.default_rng(1)
    x = np.where(rng.random((24, 1, L, L)) < 0.5, -1, 1).astype(np.int8)
    cond = np.repeat([1.0, 2.0, 3.0, 4.0], 6)
    return make_family("cnn", 1, **{**TINY, **hyper}).fit(x, GaussianChannel(), [0.1, 0.3, 1.0], seed=3, conditions=cond)


def test_subset_fit_is_reproducible_and_recorded():
    a, b = _conditioned(groups_per_step=4), _conditioned(groups_per_step=4)
    full = _conditioned()  # 12 groups of 64 sites: all of them per step
    assert a.fit_info_["groups"] == 12 and a.fit_info_["groups_per_step"] == 4
    assert full.fit_info_["groups_per_step"] == 12
    y = GaussianChannel().corrupt(np.ones((2, 1, 8, 8)), 0.3, seed=0)
    ya, yb, yf = (f.denoise(y, 0.3, condition=2.0) for f in (a, b, full))
    assert np.array_equal(ya, yb)
    assert not np.allclose(ya, yf)


@pytest.mark.parametrize("output", ["linear", "bayes"])
def test_default_subset_for_large_conditioned_lattices(output):
    fam = _conditioned(L=40, output=output)  # 1600 sites: CHUNK_SITES // (1600 batch) of 12 groups, at least 3
    assert fam.fit_info_["groups_per_step"] == max(3, CHUNK_SITES // (1600 * fam.fit_info_["batch"])) < 12


@pytest.mark.parametrize("channel_name", ["bitflip", "gaussian"])
@pytest.mark.parametrize("subsets", [False, True])
def test_draw_groups_is_the_groups_draws_one_after_the_other(channel_name, subsets):
    """The vectorised draw of a step's groups gives, bit for bit (CPU), the numbers of drawing the groups one after
    the other from the same generators (configuration indices, then the channel's noise at the group's level, then
    the group's standardisation), so a fit does not depend on how the groups are batched; L = 3 and 3
    configurations make group sizes that are not multiples of 16."""
    import torch

    from phasebench.denoisers.harness.noisy_batches import NoisyBatches, Standardiser, make_generators
    from phasebench.lattice_models.channels import BitFlipChannel

    rng = np.random.default_rng(1)
    clean = rng.choice(np.array([-1.0, 1.0]), (10, 2, 3, 3))
    channel = BitFlipChannel() if channel_name == "bitflip" else GaussianChannel()
    levels = [0.05, 0.1, 0.2, 0.3]
    std = Standardiser.from_data(clean, channel, "spin")
    u = torch.as_tensor((clean - std.mu.reshape(1, -1, 1, 1)) / std.sd.reshape(1, -1, 1, 1))
    parts = [np.arange(0, 5), np.arange(5, 10), np.arange(2, 8), np.arange(10)] if subsets else None
    batches = NoisyBatches(u, std, levels, 7, "cpu", subsets=parts)
    idx_rng, gen = make_generators(7, "cpu")

    def one_group(k, b):
        pool = np.arange(len(u)) if parts is None else parts[k]
        target = u[torch.as_tensor(pool[idx_rng.integers(0, len(pool), size=b)])]
        y = channel.corrupt_torch(target * batches.sd + batches.mu, [levels[k]], gen)
        mean_y, sd_y = std.noisy_moments(levels[k])
        shift, scale = (torch.as_tensor(v, dtype=u.dtype).view(1, -1, 1, 1) for v in (mean_y, 1.0 / sd_y))
        return (y - shift) * scale, target

    for groups in ([0, 1, 2, 3], [3, 1], [2]):
        y, target = zip(*(one_group(k, 3) for k in groups))
        y_all, target_all = batches.draw_groups(np.array(groups), 3)
        assert torch.equal(torch.cat(target), target_all)
        assert torch.equal(torch.cat(y), y_all)
