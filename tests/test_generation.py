"""Generation with posterior-mean denoisers: reverse processes, schedules, observables, ``phasebench generate``."""

from __future__ import annotations

import itertools
import numpy as np
import pytest
from scipy.stats import chisquare

from phasebench.lattice_models import datasets, make_model
from phasebench.lattice_models.channels import make_channel
from phasebench.lattice_models.exact.ising_posterior import ising_posterior_mean_brute_force
from phasebench.suites.cli import main
from phasebench.suites.generation.members import fit_member
from phasebench.suites.generation.observables import compare, energy_distance
from phasebench.suites.generation.reverse import flip_probability, generate_samples
from phasebench.suites.generation.run import DEFAULT_STEPS, default_steps, prepare
from phasebench.suites.generation.schedule import (Schedule, denoiser_levels, flip_reversal_path, level_path,
                                                   localisation_path, parse_window, validate_window)


# -- the one-site reverse flip kernel --------------------------------------------------------------------------------
@pytest.mark.parametrize("p_from,p_to", [(0.5, 0.3), (0.3, 0.1), (0.1, 0.0), (0.02, 0.01)])
def test_flip_probability_is_the_exact_one_site_reverse_kernel(p_from, p_to):
    """For one site with clean law P(x = +1) = pi, Bayes on the chain x -> w (level p_to) -> v (level p_from)
    gives P(w != v | v), which the kernel must reproduce from the posterior marginal P(x = v | v)."""
    q = 0.5 * (1 - (1 - 2 * p_from) / (1 - 2 * p_to))
    for pi in (0.1, 0.5, 0.8):
        for v in (1, -1):
            joint = {}
            for x, w in itertools.product((1, -1), repeat=2):
                px = pi if x == 1 else 1 - pi
                pw = (1 - p_to) if w == x else p_to
                pv = (1 - q) if v == w else q
                joint[(x, w)] = px * pw * pv
            z = sum(joint.values())
            flip = sum(val for (x, w), val in joint.items() if w != v) / z
            agree = sum(val for (x, w), val in joint.items() if x == v) / z
            assert flip_probability(np.array(agree), p_from, p_to) == pytest.approx(flip, abs=1e-12)


# -- paths and schedules ----------------------------------------------------------------------------------------------
def test_paths_span_noise_to_data():
    sl = localisation_path(10, 16, real=False)
    assert sl.steps == 10 and sl.times[0] == 0 and sl.levels[-1] == pytest.approx(30.0)
    assert np.all(np.diff(sl.times) > 0)
    fr = flip_reversal_path(10, 16)
    assert fr.levels[0] == 0.5 and fr.levels[-2] == pytest.approx(1e-3) and fr.levels[-1] == 0.0
    assert np.all(np.diff(fr.levels) < 0)
    assert denoiser_levels(fr)[0] > 0  # the target level 0 is never denoised


@pytest.mark.parametrize("model,channel", [("toric_loops", "bitflip"), ("ising", "bitflip"), ("gff", "gaussian")])
def test_a_run_without_steps_takes_its_process_default(model, channel):
    """``steps`` omitted: the path has the process's default count (DEFAULT_STEPS, fixed by the self-checks of
    docs/decisions/generation.md), whatever the model."""
    m, ch = make_model(model), make_channel(channel)
    _, _, path = prepare(m, ch, 4, 2, "exact", None, None, None, None)
    assert path.steps == default_steps(ch) == DEFAULT_STEPS[path.kind]


def test_window_validation_names_the_bad_bound():
    path = flip_reversal_path(10, 16)
    assert validate_window((0.05, 0.2), path, "p") == (0.05, 0.2)
    with pytest.raises(ValueError, match="lo < hi"):
        validate_window((0.2, 0.05), path, "p")
    with pytest.raises(ValueError, match="hi=0.7 is outside"):
        validate_window((0.1, 0.7), path, "p")
    with pytest.raises(ValueError, match="LO:HI"):
        parse_window("0.1")


def test_schedule_picks_the_global_member_inside_its_window():
    local, glob = object(), object()
    s = Schedule(local, glob, (0.1, 0.2))
    assert s.member_at(0.15) is glob and s.member_at(0.3) is local and s.member_at(0.1) is glob
    path = flip_reversal_path(10, 16)
    inside = sum(0.1 <= v <= 0.2 for v in path.levels[:-1])
    assert s.global_fraction(path) == pytest.approx(inside / 10)
    global_alone = type("Member", (), {"radius": None})()  # e.g. the exact oracle's global member
    assert Schedule(global_alone).global_fraction(path) == 1 and Schedule(local).global_fraction(path) == 0
    with pytest.raises(ValueError):
        Schedule(local, glob, None)


# -- exactness in a tiny case ---------------------------------------------------------------------------------------
T_TINY = 2.0
STATES = np.array(list(itertools.product((-1, 1), repeat=4)), dtype=np.int8).reshape(-1, 2, 2)
STATE_ENERGY = -(STATES * np.roll(STATES, 1, 1) + STATES * np.roll(STATES, 1, 2)).sum(axis=(1, 2)).astype(float)


class _Ising2Posterior:
    """E[s | y] on the 2 x 2 torus by enumerating its 16 states (posterior = prior x exp(h . s), h the channel's
    site field), vectorised over configurations: the exact global denoiser, fast enough for 4000 samples."""

    name, radius = "enumeration", None

    def __init__(self, channel):
        self.channel = channel

    def denoise(self, y, level):
        h = self.channel.spin_field(y, level, "spin").reshape(len(y), 4)
        logw = -STATE_ENERGY[None, :] / T_TINY + h @ STATES.reshape(16, 4).T
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        return ((w @ STATES.reshape(16, 4)) / w.sum(axis=1, keepdims=True)).reshape(y.shape)


@pytest.mark.parametrize("channel,level", [("gaussian", 0.7), ("bitflip", 0.2)])
def test_enumeration_posterior_is_the_exact_oracle_one(channel, level):
    ch = make_channel(channel)
    y = ch.corrupt(STATES[:5, None], level, seed=0, variable_type="spin")
    exact = ising_posterior_mean_brute_force(y, 1 / T_TINY, ch, level)
    assert np.allclose(_Ising2Posterior(ch).denoise(y, level), exact, atol=1e-12)


@pytest.mark.parametrize("channel,steps", [("bitflip", 160), ("gaussian", 40)])
def test_reverse_process_with_the_exact_posterior_reproduces_the_ising_law(channel, steps):
    """Ising on the 2 x 2 torus at T = 2: the 16 states' frequencies in 4000 generated samples against the exact
    law, chi-square.  Measured with 40000 samples (docs/decisions/generation.md): total-variation error 0.0028
    (bit flip, 160 steps) and 0.0061 (Gaussian, 40 steps) against a noise floor of 0.0042, p = 0.89 and 0.20;
    with 40 bit-flip steps it is 0.0098 (the two checkerboard states twice too often), p = 1e-8.  4000 samples
    resolve about 0.013, so p < 1e-3 here means a bug, not the step error."""
    ch = make_channel(channel)
    path = level_path(ch, steps, 4, "spin")
    samples, _ = generate_samples(Schedule(_Ising2Posterior(ch)), path, ch, "spin", 4000, 1, 2, seed=3)
    law = np.exp(-STATE_ENERGY / T_TINY)
    law /= law.sum()
    index = {s.tobytes(): i for i, s in enumerate(STATES)}
    counts = np.bincount([index[s[0].astype(np.int8).tobytes()] for s in samples], minlength=16)
    assert chisquare(counts, law * len(samples)).pvalue > 1e-3


# -- reproducibility ------------------------------------------------------------------------------------------------
def test_same_seed_same_bytes():
    model, ch = make_model("gff", m=0.5), make_channel("gaussian")
    path = level_path(ch, 8, 64, "real")
    member, _ = fit_member("exact", 1, model, ch, 8, denoiser_levels(path), 0)
    a, rec = generate_samples(Schedule(member), path, ch, "real", 20, 1, 8, seed=5)
    b, _ = generate_samples(Schedule(member), path, ch, "real", 20, 1, 8, seed=5)
    c, _ = generate_samples(Schedule(member), path, ch, "real", 20, 1, 8, seed=6)
    assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()
    assert rec["denoiser_calls"] == {"local": 2 * 8 + 1, "global": 0}


# -- observables ------------------------------------------------------------------------------------------------------
def test_observables_of_exact_samples_are_consistent_and_of_wrong_ones_not():
    model = make_model("toric_loops")
    good = model.sample(400, 4, seed=1)
    ref = model.sample(400, 4, seed=2)
    ok = compare(model, good, ref, seed=0)
    assert {r["name"] for r in ok["observables"]} >= {"defect_density", "occupation", "sector_00"}
    assert all(r["consistent"] for r in ok["observables"])
    bad = good.copy()
    bad[:, 0, 0, 0] ^= 1  # one flipped edge: two parity defects per configuration
    res = compare(model, bad, ref, seed=0)
    row = next(r for r in res["observables"] if r["name"] == "defect_density")
    assert row["value"] == pytest.approx(2 / 16) and not row["consistent"] and not res["all_consistent"]


def test_energy_distance_is_zero_for_equal_samples_and_positive_otherwise():
    a = np.random.default_rng(0).normal(size=(50, 2))
    assert energy_distance(a, a) == pytest.approx(0.0, abs=1e-12)
    assert energy_distance(a, a + 1.0) > 0.5


# -- the command line ---------------------------------------------------------------------------------------------
def test_generate_writes_samples_with_the_dataset_record(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PHASEBENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "g.npz"
    assert main(["generate", "gff", "-p", "m=0.5", "--L", "8", "--n", "40", "--family", "exact", "--radius", "1",
                 "--global", "exact", "--window", "0.1:10", "--steps", "10", "--seed", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "nn_cov" in text and "(exact)" in text and "energy distance" in text
    ds = datasets.load(out)
    gen = ds.metadata["diagnostics"]["generation"]
    assert ds.samples.shape == (40, 1, 8, 8) and ds.metadata["model"] == "gff" and ds.metadata["seed"] == 2
    assert gen["schedule"]["global"] == {"family": "exact", "radius": None} and gen["schedule"]["window"] == [0.1, 10.0]
    assert 0 < gen["schedule"]["global_fraction"] < 1 and gen["fits"]["local"]["radius"] == 1


@pytest.mark.parametrize("args,message", [
    (["--family", "nope", "--radius", "1"], "unknown denoiser family 'nope'"),
    (["--family", "exact", "--radius", "9"], "no radius-9 member"),
    (["--family", "exact", "--radius", "1", "--steps", "0"], "steps must be"),
    (["--family", "exact", "--radius", "1", "--global", "exact", "--window", "1:0.5"], "lo < hi"),
    (["--family", "exact", "--radius", "1", "--global", "exact", "--window", "1e-9:1"], "outside"),
    (["--family", "exact", "--radius", "1", "--window", "0.1:1"], "--global and --window"),
])
def test_generate_bad_input_exits_2_without_output(tmp_path, capsys, args, message):
    out = tmp_path / "bad.npz"
    assert main(["generate", "gff", "--L", "8", "--n", "10", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()


def test_w1_interval_holds_its_estimate_and_the_true_shift():
    """The bias-shifted bootstrap interval of W1: never below 0, holds the point estimate even when the true
    distance is small (the plain percentile interval sat wholly above it), and covers a known shift."""
    from phasebench.suites.generation.observables import wasserstein_test

    rng = np.random.default_rng(4)
    same = wasserstein_test(rng.standard_normal(400), rng.standard_normal(4000), seed=1)
    assert 0 <= same["lo"] <= same["value"] <= same["hi"] and same["consistent"]
    shifted = wasserstein_test(rng.standard_normal(400) + 0.3, rng.standard_normal(4000), seed=2)
    assert shifted["lo"] <= 0.3 <= shifted["hi"] and not shifted["consistent"]
