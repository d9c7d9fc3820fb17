"""The generator helpers both vendors use: load replies and tokens, limits per load and
frequency, the model from `*IDN?`, and the waveforms the lab models emit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from instrumentkit.drivers._fgen import (
    FgenLimits,
    LoadValidator,
    load_from_reply,
    load_token,
    model_from_idn,
)
from instrumentkit.drivers._fgen_sim import waveform

LIMITS = FgenLimits(
    model="TEST",
    max_frequency={"SIN": 30e6, "RAMP": 200e3},
    stored_frequency_max=30e6,
    peak_derating=((10e6, 0.5), (30e6, 0.25)),
)


@pytest.mark.parametrize(
    ("reply", "ohms"),
    [("+9.9E+37", math.inf), ("9.900000E+37", math.inf), ("INFINITY", math.inf), ("INF", math.inf),
     ("+5.00000000000000E+01", 50.0), ("1.000000E+04", 1e4), ("1", 1.0)],
)  # fmt: skip
def test_load_replies(reply, ohms):
    assert load_from_reply(reply) == ohms


def test_load_tokens():
    assert load_token(math.inf) == "INF"
    assert load_token(50.0) == "50"
    assert load_token(1234.5) == "1234.5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("high-z", math.inf), ("High-Z", math.inf), ("INF", math.inf), (math.inf, math.inf),
     (1, 1.0), (10_000, 1e4), (50.0, 50.0)],
)  # fmt: skip
def test_load_validator_accepts(value, expected):
    assert LoadValidator()(value) == expected


@pytest.mark.parametrize("value", [0.99, 10_001, -math.inf, "open", True, None, math.nan])
def test_load_validator_refuses(value):
    with pytest.raises(ValueError):  # noqa: PT011 - any refusal is right
        LoadValidator()(value)


def test_peak_and_floor_follow_the_divider_with_50_ohm():
    assert LIMITS.peak(50.0) == pytest.approx(5.0)
    assert LIMITS.peak(150.0) == pytest.approx(7.5)
    assert LIMITS.peak(math.inf) == 10.0
    assert LIMITS.min_amplitude(50.0) == pytest.approx(1e-3)
    assert LIMITS.min_amplitude(math.inf) == pytest.approx(2e-3)
    assert LIMITS.min_amplitude(10.0) == pytest.approx(1e-3 * 2 * 10 / 60)


@pytest.mark.parametrize(
    ("frequency", "top"), [(None, 10.0), (10e6, 10.0), (10.5e6, 5.0), (30e6, 5.0), (31e6, 2.5)]
)
def test_swing_is_derated_above_each_step(frequency, top):
    assert LIMITS.amplitude_range(50.0, 0.0, frequency).maximum == pytest.approx(top)


def test_amplitude_range_with_an_offset_and_none_left():
    assert LIMITS.amplitude_range(50.0, -2.0, None).maximum == pytest.approx(6.0)
    with pytest.raises(ValueError, match="lower the offset"):
        LIMITS.amplitude_range(50.0, 4.9999, None)


def test_offset_range_counts_the_amplitude_except_for_dc():
    assert LIMITS.offset_range(50.0, 2.0, "SIN").maximum == pytest.approx(4.0)
    assert LIMITS.offset_range(50.0, 2.0, "SIN").minimum == pytest.approx(-4.0)
    assert LIMITS.offset_range(50.0, 2.0, "dc").maximum == pytest.approx(5.0)
    with pytest.raises(ValueError, match="no room"):
        LIMITS.offset_range(50.0, 10.5, "SIN")


def test_frequency_range_per_function_and_stored_ones():
    assert LIMITS.frequency_range("ramp").maximum == 200e3
    assert LIMITS.frequency_range("NOIS").maximum == 30e6
    assert LIMITS.frequency_range("SIN").minimum == 1e-6


def test_model_from_idn():
    fallback = FgenLimits(model="LOW", max_frequency={}, stored_frequency_max=1.0)
    table = {"33522B": LIMITS}
    assert model_from_idn("Keysight Technologies,33522B,MY1,1.0", table, fallback) is LIMITS
    assert model_from_idn("KEYSIGHT TECHNOLOGIES, 33522b ,MY1,1.0", table, fallback) is LIMITS
    assert model_from_idn("Keysight Technologies,33599B,MY1,1.0", table, fallback) is fallback
    assert model_from_idn("garbage", table, fallback) is fallback


def test_waveforms():
    t = np.array([0.0, 0.1e-3, 0.3e-3, 0.6e-3, 0.9e-3])  # 1 kHz
    common = {"frequency": 1e3, "amplitude": 2.0, "offset": 0.5}
    np.testing.assert_allclose(
        waveform("PULS", t, duty=20.0, **common), [1.5, 1.5, -0.5, -0.5, -0.5]
    )
    np.testing.assert_allclose(waveform("SQU", t, **common), [1.5, 1.5, 1.5, -0.5, -0.5])
    np.testing.assert_allclose(
        waveform("RAMP", t, symmetry=0.0, **common), [1.5, 1.3, 0.9, 0.3, -0.3]
    )
    np.testing.assert_allclose(waveform("RAMP", t, **common), [-0.5, -0.3, 0.1, 0.7, 1.3])
    np.testing.assert_allclose(waveform("TRI", t, **common), [-0.5, -0.1, 0.7, 1.1, -0.1])
    np.testing.assert_allclose(waveform("DC", t, **common), 0.5)
    np.testing.assert_allclose(waveform("ARB", t, **common), 0.5)
    noise = waveform("NOIS", np.zeros(200_000), rng=np.random.default_rng(1), **common)
    assert noise.mean() == pytest.approx(0.5, abs=0.01)
    assert noise.std() == pytest.approx(2.0 / 6, rel=0.02)
