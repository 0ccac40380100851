"""Schedules: diffusion time t <-> (a, s) <-> lambda, and t <-> p."""

import math

import pytest

from phasebench.lattice_models import schedules


@pytest.mark.parametrize("schedule", ["linear", "ou", "vp-cosine"])
@pytest.mark.parametrize("lam", [1e-3, 0.1, 1.0, 10.0, 500.0])
def test_lambda_t_roundtrip(schedule, lam):
    t = schedules.t_from_lambda(schedule, lam)
    assert math.isclose(schedules.lambda_from_t(schedule, t), lam, rel_tol=1e-9)


@pytest.mark.parametrize("schedule,t", [("linear", 0.3), ("ou", 0.7), ("vp-cosine", 0.5)])
def test_t_lambda_roundtrip(schedule, t):
    assert math.isclose(schedules.t_from_lambda(schedule, schedules.lambda_from_t(schedule, t)), t, rel_tol=1e-9)


def test_schedule_formulas():
    assert schedules.schedule_amplitudes("linear", 0.25) == (0.75, 0.25)
    a, s = schedules.schedule_amplitudes("ou", 0.5)
    assert math.isclose(a * a + s * s, 1.0)
    a, s = schedules.schedule_amplitudes("vp-cosine", 0.5)
    assert math.isclose(a * a + s * s, 1.0)
    assert math.isclose(schedules.lambda_from_t("linear", 0.5), 1.0)
    with pytest.raises(ValueError, match="schedule"):
        schedules.lambda_from_t("cosine", 0.1)


def test_bitflip_time_roundtrip():
    for p in (0.0, 0.01, 0.1092, 0.3):
        assert math.isclose(schedules.p_from_t(schedules.t_from_p(p)), p, abs_tol=1e-15)
    assert schedules.p_from_t(0.0) == 0.0 and schedules.t_from_p(0.5) == math.inf
