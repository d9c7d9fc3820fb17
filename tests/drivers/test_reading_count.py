"""`read_many(n)` of drivers without a reading buffer: `n` checked before anything is sent."""

from __future__ import annotations

import pytest

import instrumentkit as ik
from instrumentkit.drivers._readings import MAX_READINGS, reading_count
from instrumentkit.drivers.thorlabs import ThorlabsPM100D
from instrumentkit.testing import expected_protocol


@pytest.mark.parametrize("n", [1, 7, MAX_READINGS])
def test_counts_in_range_come_back_as_ints(n):
    assert reading_count(n, instrument="meter") == n
    assert type(reading_count(float(n), instrument="meter")) is int


@pytest.mark.parametrize("n", [0, -3, MAX_READINGS + 1, 2.5])
def test_other_counts_are_refused_naming_the_instrument(n):
    with pytest.raises(
        ik.ValidationError, match=r"read_many\(.*\) refused before sending"
    ) as refused:
        reading_count(n, instrument="meter")
    assert refused.value.instrument == "meter"


def test_a_driver_refuses_before_a_byte_is_sent():
    with expected_protocol(ThorlabsPM100D, []) as meter, pytest.raises(ik.ValidationError):
        meter.read_many(0)  # an exchange here would fail the empty protocol
