"""What the oscilloscope drivers share: codes-to-volts scaling, channel names, status polling.

Every scope reports a preamble that maps raw ADC codes to volts and sample indices to
seconds with two straight lines. `Scaling` holds both lines, whatever the vendor calls
the numbers; `Scaling.waveform()` wraps a record's codes with them in a `Waveform`, whose
volts come in one NumPy pass when first read.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrumentkit.data import Waveform, now_ns, scale_codes
from instrumentkit.errors import ProtocolError, Timeout, ValidationError, show_bytes
from instrumentkit.validators import Range

__all__ = [
    "Scaling",
    "TriggerSource",
    "channel_number",
    "checked_preamble",
    "numbers",
    "poll_until",
    "probe_scaled_scale",
    "record_dtype",
]

_CHANNEL = re.compile(r"^\s*(?:CH|CHAN|CHANNEL)?\s*(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Scaling:
    """`volts = code * gain + bias` and `time = x0 + index * dx`, from one preamble."""

    gain: float
    bias: float
    x0: float
    dx: float

    def volts(self, codes: NDArray[Any]) -> NDArray[np.float64]:
        """Codes to volts, whatever the codes' width or byte order (a new float64 array)."""
        return scale_codes(codes, self.gain, self.bias)

    def waveform(
        self, codes: NDArray[Any], channel: str, *, timestamp_ns: int | None = None, **meta: Any
    ) -> Waveform:
        """A `Waveform` that keeps `codes` (as received, no copy) and computes its volts
        when they are first read (decision 0304)."""
        return Waveform.from_codes(
            codes,
            self.gain,
            self.bias,
            self.x0,
            self.dx,
            channel,
            timestamp_ns=now_ns() if timestamp_ns is None else timestamp_ns,
            meta=meta,
        )


class TriggerSource:
    """A validator for trigger sources: `1`, `"CH1"`, `"chan1"` -> `"ch1"`; other names as given.

    Drivers map the canonical names (`"ch1"`, `"ext"`, `"line"`) to their own tokens.
    """

    def __init__(self, channels: Sequence[int], *others: str) -> None:
        self.names = [f"ch{n}" for n in channels] + [o.lower() for o in others]

    def __call__(self, value: Any) -> str:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            value = f"ch{value}"
        if isinstance(value, str):
            match = _CHANNEL.match(value)
            name = f"ch{match.group(1)}" if match else value.strip().lower()
            if name in self.names:
                return name
        raise ValueError(f"not one of {self.names} (or a channel number)")

    def __repr__(self) -> str:
        return f"TriggerSource({self.names!r})"


@functools.cache  # a handful of combinations, asked for on every fetch
def record_dtype(width: int, signed: bool, byte_order: str) -> np.dtype[Any]:
    """The NumPy dtype of one sample: 1 or 2 bytes, signed or not, '<' or '>'."""
    if width not in (1, 2):
        raise ValueError(f"sample width must be 1 or 2 bytes, not {width}")
    kind = np.dtype(f"{'i' if signed else 'u'}{width}")
    return kind.newbyteorder(byte_order) if width > 1 else kind


def probe_scaled_scale(channel: Any) -> Range:
    """A channel's vertical scale limits: its model's span at a 1x probe (`scale_at_1x`,
    from the manual) times the probe ratio the channel reports (one query, before sending).
    """
    low, high = channel.scale_at_1x
    ratio = float(channel.probe_attenuation)
    return Range(low * ratio, high * ratio)


def channel_number(channel: int | str, valid: Sequence[int], instrument: str) -> int:
    """`1`, `"1"`, `"CH1"`, `"CHAN1"` or `"channel1"` -> 1; anything else is refused."""
    number: int | None = None
    if isinstance(channel, (int, np.integer)) and not isinstance(channel, bool):
        number = int(channel)
    elif isinstance(channel, str):
        match = _CHANNEL.match(channel)
        number = int(match.group(1)) if match else None
    if number not in valid:
        raise ValidationError(
            f"no analog channel {channel!r}; channels are {list(valid)}", instrument=instrument
        )
    return number  # type: ignore[return-value]


def numbers(
    reply: str, count: int, *, separator: str, instrument: str, command: str
) -> list[float]:
    """Split a preamble reply into exactly `count` numbers, or raise ProtocolError."""
    fields = reply.strip().split(separator)
    try:
        values = [float(field) for field in fields]
    except ValueError as error:
        raise ProtocolError(
            f"preamble is not {count} numbers: {show_bytes(reply.encode())}",
            instrument=instrument,
            command=command,
        ) from error
    if len(values) != count:
        raise ProtocolError(
            f"preamble has {len(values)} fields, expected {count}: {show_bytes(reply.encode())}",
            instrument=instrument,
            command=command,
        )
    if not all(map(math.isfinite, values)):
        raise ProtocolError(
            f"preamble holds a number that is not finite: {show_bytes(reply.encode())}",
            instrument=instrument,
            command=command,
        )
    return values


def checked_preamble(
    pre: dict[str, Any],
    *,
    max_points: int,
    steps: tuple[str, str],
    reply: str,
    instrument: str,
    command: str,
) -> dict[str, Any]:
    """`pre` with `points` as an int, once it can describe a record this scope can have.

    A garbled preamble must not size a buffer (1e12 points: a 931 GiB allocation) or a
    command (`:WAV:STOP -5`): every number is finite, `points` is a whole number in
    [1, max_points] (the model's longest record, from its manual) and both `steps`
    (seconds per sample, volts per code) are > 0. Otherwise ProtocolError with the bytes.
    """
    shown = show_bytes(reply.encode())

    def refuse(what: str) -> ProtocolError:
        return ProtocolError(
            f"preamble {what}; is this the scope the driver expects? {shown}",
            instrument=instrument,
            command=command,
        )

    for name, value in pre.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise refuse(f"{name} is {value!r}, not a finite number")
    points = pre["points"]
    if not (points == int(points) and 1 <= points <= max_points):
        raise refuse(f"points is {points!r}, not a whole number in [1, {max_points}]")
    for name in steps:
        if not pre[name] > 0:
            raise refuse(f"{name} is {pre[name]!r}, not > 0")
    return {**pre, "points": int(points)}


def poll_until(
    done: Callable[[], bool],
    *,
    timeout: float,
    interval: float,
    instrument: str,
    command: str,
    waiting_for: str,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Call `done()` every `interval` s until it is true; Timeout saying what was awaited."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            raise Timeout(
                f"waited {timeout:g} s for {waiting_for}; is the trigger armed and the "
                "signal crossing its level? (try a longer timeout, or trigger mode auto)",
                instrument=instrument,
                command=command,
                timeout=timeout,
            )
        sleep(interval)
