"""Members fitted in worker processes are the members fitted in-process (suites.parallel_fit)."""

import pickle

import numpy as np
import pytest

from phasebench.lattice_models.channels import BitFlipChannel, GaussianChannel
from phasebench.suites.executors import n_workers
from phasebench.suites.parallel_fit import MemberSpec, fit_members


def _specs():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (16, 2, 8, 8)).astype(np.int8)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), (24, 1, 6, 6))
    tiny = dict(width=8, depth=1, embed_dim=8)
    return [
        MemberSpec("cnn", 1, bits, BitFlipChannel(), [0.05, 0.1], 3, 0.5, None, tiny),
        MemberSpec("cnn-bayes", 2, spins, GaussianChannel(), [0.1, 1.0], 4, 0.5, None, tiny,
                   np.repeat([2.0, 2.5], 12)),
        MemberSpec("linear", 1, spins.astype(np.float64), GaussianChannel(), [0.1, 1.0], 5, None, None),
    ]


def _outputs(fits, specs):
    out = []
    for (fam, info), s in zip(fits, specs):
        y = s.channel.corrupt(s.train[:2], s.levels[0], seed=9)
        kw = {} if s.conditions is None else {"condition": float(s.conditions[0])}
        out.append(fam.denoise(y, s.levels[0], **kw))
    return out


def test_workers_give_the_in_process_members_bit_for_bit():
    specs = _specs()
    local = _outputs(fit_members(specs, workers=1), specs)
    remote = _outputs(fit_members(specs, workers=2), specs)
    for a, b in zip(local, remote):
        assert np.array_equal(a, b)


def test_a_fitted_cnn_survives_pickling():
    spec = _specs()[0]
    (fam, _), = fit_members([spec], workers=1)
    clone = pickle.loads(pickle.dumps(fam))
    y = spec.channel.corrupt(spec.train[:3], 0.1, seed=1)
    assert np.array_equal(fam.denoise(y, 0.1), clone.denoise(y, 0.1))


def test_a_cnn_fitted_on_a_gpu_loads_where_there_is_none(monkeypatch):
    """A member pickled on a GPU (device 'cuda') is evaluated on this machine's device after loading."""
    import torch

    spec = _specs()[0]
    (fam, _), = fit_members([spec], workers=1)
    state = fam.__getstate__()
    state["device_"] = "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("PHASEBENCH_DEVICE", raising=False)
    clone = type(fam).__new__(type(fam))
    clone.__setstate__(state)
    assert clone.device_ == "cpu"
    y = spec.channel.corrupt(spec.train[:3], 0.1, seed=1)
    assert np.array_equal(fam.denoise(y, 0.1), clone.denoise(y, 0.1))


def test_worker_errors_reach_the_caller(monkeypatch):
    spec = _specs()[0]
    bad = MemberSpec("cnn", 9, spec.train, spec.channel, spec.levels, 0, 0.5, None)  # radius > L
    with pytest.raises(ValueError, match="radius"):
        fit_members([spec, bad], workers=2)


def test_worker_count(monkeypatch):
    monkeypatch.setenv("PHASEBENCH_WORKERS", "3")
    assert n_workers() == 3
    monkeypatch.delenv("PHASEBENCH_WORKERS")
    monkeypatch.setenv("PHASEBENCH_DEVICE", "cuda")  # a GPU: one process drives it
    assert n_workers() == 1
    monkeypatch.setenv("PHASEBENCH_DEVICE", "cpu")
    assert n_workers() >= 1
    monkeypatch.setenv("PHASEBENCH_WORKERS", "zero")
    with pytest.raises(ValueError, match="PHASEBENCH_WORKERS"):
        n_workers()


def test_fitted_members_are_cached_and_reused(tmp_path, monkeypatch):
    """With PHASEBENCH_FIT_CACHE set, a trainable member is stored after its fit and taken from the store the next
    time (same outputs, and info says where from); a change to what the fit depends on is a miss."""
    import dataclasses

    monkeypatch.setenv("PHASEBENCH_FIT_CACHE", str(tmp_path))
    specs = _specs()
    first = fit_members(specs, workers=1)
    stored = sorted(p.name for p in tmp_path.iterdir())
    assert [n.split("-s")[0] for n in stored] == ["cnn-bayes-r2", "cnn-r1", "linear-r1"]
    second = fit_members(specs, workers=1)
    assert all("fit_cache" in info for _, info in second)
    for a, b in zip(_outputs(first, specs), _outputs(second, specs)):
        assert np.array_equal(a, b)
    changes = ({"seed": 4}, {"budget": 0.6}, {"levels": [0.05, 0.11]}, {"options": {**specs[0].options, "width": 9}},
               {"train": specs[0].train[:-1]})
    for change in changes:
        (_, info), = fit_members([dataclasses.replace(specs[0], **change)], workers=1)
        assert "fit_cache" not in info, change
    assert len(list(tmp_path.iterdir())) == len(specs) + len(changes)


def test_an_unreadable_cache_entry_is_refused_with_its_path(tmp_path, monkeypatch):
    from phasebench.suites import fit_cache

    monkeypatch.setenv("PHASEBENCH_FIT_CACHE", str(tmp_path))
    spec = _specs()[0]
    fit_members([spec], workers=1)
    path = fit_cache.member_path(spec, tmp_path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="unreadable fitted-member cache entry"):
        fit_members([spec], workers=1)


def test_no_cache_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("PHASEBENCH_FIT_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    fit_members(_specs()[:1], workers=1)
    assert list(tmp_path.iterdir()) == []


def test_members_fitted_before_a_failure_stay_cached(tmp_path, monkeypatch):
    from phasebench.suites import fit_cache

    monkeypatch.setenv("PHASEBENCH_FIT_CACHE", str(tmp_path))
    good = _specs()[0]
    bad = MemberSpec("cnn", 9, good.train, good.channel, good.levels, 0, 0.5, None)  # radius > L
    with pytest.raises(ValueError, match="radius"):
        fit_members([good, bad], workers=1)
    assert fit_cache.member_path(good, tmp_path).exists()
