"""What the oscilloscope drivers share: codes-to-volts scaling, channel names, status polling.

Every scope reports a preamble that maps raw ADC codes to volts and sample indices to
seconds with two straight lines. `Scaling` holds both lines, whatever the vendor calls
the numbers, and `Scaling.waveform()` applies them to a whole record in one NumPy pass.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrumentkit.data import Waveform, now_ns
from instrumentkit.errors import ProtocolError, Timeout, ValidationError, show_bytes

__all__ = [
    "RecycledRecord",
    "Scaling",
    "TriggerSource",
    "channel_number",
    "numbers",
    "poll_until",
    "record_dtype",
]

PARALLEL_POINTS = 1 << 19
"""Records this long are converted by two threads (NumPy releases the GIL): the fresh
float64 pages fault in, and fill, on both cores (10 M points: ~22 ms -> ~14 ms here)."""
RECYCLE_POINTS = 1 << 16
"""Records this long get their volts array from a `RecycledRecord` when one is free."""

_CHANNEL = re.compile(r"^\s*(?:CH|CHAN|CHANNEL)?\s*(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Scaling:
    """`volts = code * gain + bias` and `time = x0 + index * dx`, from one preamble."""

    gain: float
    bias: float
    x0: float
    dx: float

    def volts(
        self, codes: NDArray[Any], out: NDArray[np.float64] | None = None
    ) -> NDArray[np.float64]:
        """Codes to volts, whatever the codes' width or order, into `out` if given.

        Long records are split between this thread and one helper thread.
        """
        volts = np.empty(codes.shape, dtype=np.float64) if out is None else out
        points = codes.shape[0]
        if points < PARALLEL_POINTS:
            self._convert(codes, volts)
            return volts
        half = points // 2
        helper = threading.Thread(target=self._convert, args=(codes[half:], volts[half:]))
        helper.start()
        try:
            self._convert(codes[:half], volts[:half])
        finally:
            helper.join()
        return volts

    def _convert(self, codes: NDArray[Any], out: NDArray[np.float64]) -> None:
        np.multiply(codes, self.gain, out=out)
        if self.bias:  # often 0 (no offset, no position): skip a pass over the record
            np.add(out, self.bias, out=out)

    def waveform(
        self,
        codes: NDArray[Any],
        channel: str,
        *,
        timestamp_ns: int | None = None,
        recycled: RecycledRecord | None = None,
        **meta: Any,
    ) -> Waveform:
        """A `Waveform` in volts that keeps `codes` (as received, no copy) in `raw`.

        With `recycled`, the volts go into the array of an earlier waveform nobody holds.
        """
        out = None if recycled is None else recycled.take(codes.shape[0])
        return Waveform(
            y=self.volts(codes, out),
            x0=self.x0,
            dx=self.dx,
            channel=channel,
            timestamp_ns=now_ns() if timestamp_ns is None else timestamp_ns,
            raw=codes,
            meta={"gain": self.gain, "bias": self.bias, **meta},
        )


class RecycledRecord:
    """The float64 array of the last long record, handed out again once nobody holds it.

    A fresh 80 MB array (10 M points) costs ~8 ms of page faults before the first value
    is written; a loop that fetches, stores and drops each waveform gets the previous
    record's memory back, already mapped. The array is reused only when no reference to
    it (or to a view of it) is left outside this object: the reference count says so.
    The price is one record's volts kept alive between fetches.
    """

    def __init__(self) -> None:
        self._kept: NDArray[np.float64] | None = None
        self._lock = threading.Lock()

    def take(self, points: int) -> NDArray[np.float64]:
        """An uninitialised float64 array of `points` values, recycled when possible."""
        if points < RECYCLE_POINTS:
            return np.empty(points, dtype=np.float64)
        with self._lock:
            # No local name for the kept array before the count: it would be one more.
            kept_fits = self._kept is not None and self._kept.shape[0] == points
            if kept_fits and _unshared(self, "_kept"):
                return self._kept  # type: ignore[return-value]
            self._kept = None  # free the old one first: fresh memory may reuse its pages
            self._kept = np.empty(points, dtype=np.float64)
            return self._kept


def _unshared(holder: object, attribute: str) -> bool:
    """Whether `holder.attribute` is referenced by nothing but `holder`."""
    return sys.getrefcount(getattr(holder, attribute)) <= _ONLY_HELD_BY_AN_ATTRIBUTE


class _Holder:
    value: object = None


def _baseline_reference_count() -> int:
    holder = _Holder()
    holder.value = object()
    return sys.getrefcount(holder.value)  # interpreter-specific: measured, not assumed


_ONLY_HELD_BY_AN_ATTRIBUTE = _baseline_reference_count()


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


def record_dtype(width: int, signed: bool, byte_order: str) -> np.dtype[Any]:
    """The NumPy dtype of one sample: 1 or 2 bytes, signed or not, '<' or '>'."""
    if width not in (1, 2):
        raise ValueError(f"sample width must be 1 or 2 bytes, not {width}")
    kind = np.dtype(f"{'i' if signed else 'u'}{width}")
    return kind.newbyteorder(byte_order) if width > 1 else kind


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
    return values


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
