"""The data types drivers return: waveforms from codes, immutability, copies, pickling."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from instrumentkit.data import PARALLEL_POINTS, Waveform, scale_codes


def codes_waveform(points: int = 5) -> Waveform:
    raw = np.arange(points, dtype=">i2") - 2
    return Waveform.from_codes(raw, 0.5, 0.25, -1e-3, 1e-6, "CH1", timestamp_ns=7, meta={"a": 1})


def test_volts_from_codes_are_computed_on_first_read_and_kept():
    waveform = codes_waveform()
    assert "from codes" in repr(waveform)
    assert waveform.describe()["y"].dtype == "<f8"  # known without computing
    assert waveform.describe()["y"].shape == (5,)
    assert waveform.describe()["raw"].units == "counts"
    assert len(waveform) == 5
    y = waveform.y
    np.testing.assert_array_equal(y, [-0.75, -0.25, 0.25, 0.75, 1.25])
    assert waveform.y is y
    assert "from values" in repr(waveform)
    np.testing.assert_allclose(waveform.t, -1e-3 + 1e-6 * np.arange(5))


def test_a_waveform_needs_values_or_codes_with_their_gain():
    with pytest.raises(ValueError, match="needs y, or raw codes"):
        Waveform(None, 0.0, 1.0, "CH1", raw=np.zeros(3, dtype=np.int8))
    with pytest.raises(ValueError, match="raw codes"):
        Waveform(np.zeros(4), 0.0, 1.0, "CH1", raw=np.zeros(3, dtype=np.int8))
    with pytest.raises(ValueError, match="1-D"):
        Waveform.from_codes(np.zeros((2, 2), dtype=np.int8), 1.0, 0.0, 0.0, 1.0, "CH1")


def test_waveforms_are_immutable():
    waveform = codes_waveform()
    with pytest.raises(AttributeError, match="immutable"):
        waveform.x0 = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del waveform.channel


def test_replace_keeps_codes_lazy_and_drops_codes_that_no_longer_match():
    waveform = codes_waveform()
    renamed = waveform.replace(channel="CH2")
    assert renamed.channel == "CH2"
    assert renamed.raw is waveform.raw
    assert "from codes" in repr(renamed)
    np.testing.assert_array_equal(renamed.y, waveform.y)
    processed = waveform.replace(y=np.ones(5))
    assert processed.raw is None
    assert processed.gain is None
    regained = waveform.replace(gain=1.0)
    np.testing.assert_array_equal(regained.y, waveform.raw.astype(float) + 0.25)
    if hasattr(copy, "replace"):  # Python 3.13+
        assert copy.replace(waveform, dx=2.0).dx == 2.0


def test_a_pickled_waveform_comes_back_whole():
    waveform = codes_waveform()
    back = pickle.loads(pickle.dumps(waveform))
    np.testing.assert_array_equal(back.raw, waveform.raw)
    np.testing.assert_array_equal(back.y, waveform.y)
    assert (back.x0, back.dx, back.channel, back.timestamp_ns, back.meta) == (
        -1e-3, 1e-6, "CH1", 7, {"a": 1}
    )  # fmt: skip


@pytest.mark.parametrize("dtype", ["i1", "u1", "<i2", ">i2", ">u2"])
def test_scale_codes_any_width_and_order_one_and_two_threads(dtype: str):
    for points in (1000, PARALLEL_POINTS + 3):
        codes = (np.arange(points) % 200).astype(dtype)
        expected = codes.astype(np.float64) * 1e-3 - 0.5
        np.testing.assert_array_equal(scale_codes(codes, 1e-3, -0.5), expected)
        np.testing.assert_array_equal(scale_codes(codes, 2.0), codes.astype(np.float64) * 2.0)
