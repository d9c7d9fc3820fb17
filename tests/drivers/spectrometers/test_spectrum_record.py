"""The Spectrum record every spectrometer driver returns: its hand-written constructor
keeps the dataclass behaviour (defaults, shape check, immutability, replace, equality)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from instrumentkit.data import Spectrum


def test_defaults_and_fields_in_order():
    before = time.time_ns()
    spectrum = Spectrum(np.arange(4.0), np.ones(4))
    assert before <= spectrum.timestamp_ns <= time.time_ns()
    assert (spectrum.units, spectrum.wavelength_units) == ("counts", "nm")
    assert spectrum.integration_time is None
    assert not spectrum.saturated
    assert not spectrum.dark_corrected
    assert spectrum.meta == {}
    assert spectrum.meta is not Spectrum(np.arange(4.0), np.ones(4)).meta
    names = [f.name for f in dataclasses.fields(Spectrum)]
    assert names == [
        "wavelengths", "intensities", "units", "wavelength_units", "timestamp_ns",
        "integration_time", "saturated", "dark_corrected", "meta",
    ]  # fmt: skip
    positional = Spectrum(np.arange(4.0), np.ones(4), "W", "um", 7, 0.5, True, True, {"a": 1})
    assert [getattr(positional, name) for name in names[2:]] == [
        "W",
        "um",
        7,
        0.5,
        True,
        True,
        {"a": 1},
    ]


def test_axis_must_match_the_last_dimension():
    Spectrum(np.arange(3.0), np.ones((5, 3)))  # a batch: one row per acquisition
    with pytest.raises(ValueError, match=r"axis has \(3,\) points, intensities \(4,\)"):
        Spectrum(np.arange(3.0), np.ones(4))


def test_immutable_and_replace_gives_an_equal_copy():
    spectrum = Spectrum(np.arange(3.0), np.ones(3), timestamp_ns=5, meta={"scans": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        spectrum.units = "W"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del spectrum.meta  # type: ignore[misc]
    copy = dataclasses.replace(spectrum, units="W")
    assert (copy.units, copy.timestamp_ns, copy.meta) == ("W", 5, {"scans": 1})
    assert dataclasses.replace(copy, units="counts") == spectrum
    with pytest.raises(ValueError, match="axis"):
        dataclasses.replace(spectrum, intensities=np.ones(2))
