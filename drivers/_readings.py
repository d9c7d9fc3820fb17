"""Checks on numbers an instrument sends that a driver stores or sizes things with.

An instrument never sends `nan` or `inf` as text, nor an empty list for a reading it
was asked for: such a reply is garbage on the line (or a different instrument), and
accepting it would store a fake measurement. Overload markers the manuals do describe
(9.9E+37 on Keysight and Keithley meters) are finite and pass through (decision 0500).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrumentkit.errors import ProtocolError, ValidationError, show_bytes
from instrumentkit.validators import Range

__all__ = ["bounded_count", "finite_readings", "positive_finite", "reading_count"]


def finite_readings(
    values: NDArray[np.float64], text: str, *, instrument: str, command: str
) -> NDArray[np.float64]:
    """`values` parsed from `text`, refused (ProtocolError showing the bytes) if empty or
    not all finite."""
    if values.size == 0:
        raise ProtocolError(
            f"expected at least one reading, got {show_bytes(text.encode())}",
            instrument=instrument,
            command=command,
        )
    if not np.isfinite(values).all():
        raise ProtocolError(
            f"reply holds a value that is not a finite number, which the instrument never "
            f"sends (overload reads 9.9E+37): {show_bytes(text.encode())}",
            instrument=instrument,
            command=command,
        )
    return values


def bounded_count(
    value: Any, minimum: int, maximum: int, what: str, *, reply: str, instrument: str, command: str
) -> int:
    """A count the instrument reported (points, pixels), checked to be a whole number in
    [minimum, maximum] before anything is sized or sent with it."""
    number = float(value)
    if not (math.isfinite(number) and number == int(number) and minimum <= number <= maximum):
        raise ProtocolError(
            f"{what} is {value!r}, not a whole number in [{minimum}, {maximum}] as the "
            f"instrument can have: {show_bytes(reply.encode())}",
            instrument=instrument,
            command=command,
        )
    return int(number)


def positive_finite(value: float, what: str, *, reply: str, instrument: str, command: str) -> float:
    """A step the instrument reported (sample interval, volts per code), checked finite
    and > 0."""
    if not (math.isfinite(value) and value > 0):
        raise ProtocolError(
            f"{what} is {value!r}, not a finite number > 0: {show_bytes(reply.encode())}",
            instrument=instrument,
            command=command,
        )
    return value


MAX_READINGS = 1_000_000
"""Readings one `read_many` takes from an instrument without a buffer, at most."""


def reading_count(n: Any, *, instrument: str) -> int:
    """`n` for `read_many(n)` as an int in 1..MAX_READINGS, refused before anything is sent."""
    try:
        return int(Range(1, MAX_READINGS, integer=True)(n))
    except ValueError as error:
        raise ValidationError(
            f"read_many({n!r}) refused before sending: {error}", instrument=instrument
        ) from error
