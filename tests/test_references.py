"""The exact reference computations of the evaluations are computed once per distinct call
(phasebench.suites.evaluators.references)."""

import numpy as np
import pytest

from phasebench.lattice_models import make_channel, make_model
from phasebench.suites.evaluators import references


class CountingModel:
    """Wraps a model and counts its exact computations."""

    def __init__(self, model):
        self.model, self.values, self.calls = model, model.values, 0

    def exact_posterior_mean(self, y, channel, level, radius):
        self.calls += 1
        return self.model.exact_posterior_mean(y, channel, level, radius)


@pytest.fixture(autouse=True)
def empty_memory():
    references.forget()
    yield
    references.forget()


def test_a_repeated_call_is_computed_once_and_equals_the_model():
    gff, channel = make_model("gff", m=0.5), make_channel("gaussian")
    counting = CountingModel(gff)
    y = np.random.default_rng(0).standard_normal((3, 1, 8, 8))
    first = references.exact_posterior_mean(counting, y, channel, 1.0, 2)
    again = references.exact_posterior_mean(counting, y.copy(), channel, 1.0, 2)
    assert counting.calls == 1 and again is first
    assert np.array_equal(first, gff.exact_posterior_mean(y, channel, 1.0, 2))
    with pytest.raises(ValueError):
        first[0, 0, 0, 0] = 1.0  # read-only: another caller holds it


def test_each_argument_is_part_of_the_key():
    channel = make_channel("gaussian")
    counting = CountingModel(make_model("gff", m=0.5))
    y = np.random.default_rng(1).standard_normal((2, 1, 8, 8))
    other_y = y.copy()
    other_y[1, 0, 3, 3] += 1e-12
    calls = [(counting, y, channel, 1.0, 2), (counting, y, channel, 1.0, 1), (counting, y, channel, 0.5, 2),
             (counting, y, channel, 1.0, None), (counting, other_y, channel, 1.0, 2),
             (counting, y, make_channel("gaussian", a=2.0), 1.0, 2)]
    for args in calls:
        references.exact_posterior_mean(*args)
    assert counting.calls == len(calls)
    heavier = CountingModel(make_model("gff", m=0.25))
    references.exact_posterior_mean(heavier, y, channel, 1.0, 2)
    assert heavier.calls == 1  # other model parameters: computed anew


def test_the_oldest_results_leave_first_beyond_the_memory_limit(monkeypatch):
    channel = make_channel("gaussian")
    counting = CountingModel(make_model("gff", m=0.5))
    y = np.random.default_rng(2).standard_normal((1, 1, 8, 8))
    monkeypatch.setattr(references, "MEMORY_LIMIT_BYTES", 2 * y.nbytes)
    for level in (1.0, 2.0, 3.0):
        references.exact_posterior_mean(counting, y, channel, level, 1)
    references.exact_posterior_mean(counting, y, channel, 3.0, 1)  # kept
    assert counting.calls == 3
    references.exact_posterior_mean(counting, y, channel, 1.0, 1)  # evicted: computed again
    assert counting.calls == 4
