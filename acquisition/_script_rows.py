"""Rows of plain numbers that a lab script appends one at a time, gathered cheaply.

`run.append("iv", {"v": v, "i": i})` in a loop is the commonest lab script. Building a
Reading per row and copying it into NumPy buffers costs several microseconds; appending to
three Python lists costs a few hundred nanoseconds. The lists go to the stream as one block
every `BATCH` rows and at least every `LATENCY` seconds, so a live reader and a crash lose
no more than the flush interval already allows (plus `LATENCY`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._readings import ReadingStream

__all__ = ["BATCH", "LATENCY", "PlainRows"]

BATCH = 4096
"""Rows gathered before they go to the stream's buffer as one block."""
LATENCY = 0.1
"""Seconds a gathered row may wait for the next append before it goes to the stream."""


class PlainRows:
    """The gathered rows of one readings stream; the caller holds the run's lock.

    Before the run is live there is no stream yet (`stream` is None): rows wait in the
    lists until the run declares it, or are taken as one Reading when a record of the
    general path must follow them.
    """

    __slots__ = (
        "channels", "deadline", "drained", "monotonic", "stream", "times", "units", "values"
    )  # fmt: skip

    def __init__(self, channels: tuple[str, ...], units: Any) -> None:
        self.stream: ReadingStream | None = None
        self.channels = channels
        self.units = units
        """The `units=` the stream was declared with; later rows may repeat it or omit it."""
        self.times: list[int] = []
        self.monotonic: list[float] = []
        self.values: list[float] = []
        self.deadline = 0.0
        self.drained = 0

    @property
    def gathered(self) -> int:
        """Rows gathered and handed to the stream so far, or still in the lists."""
        return self.drained + len(self.times)

    def __len__(self) -> int:
        return len(self.times)

    def add(self, record: Any) -> bool:
        """Gather one row: one number, or a dict of the stream's channels in their order.

        False, gathering nothing, for anything else (the caller's general path explains).
        """
        kind = type(record)
        values = self.values
        if kind is float or kind is int:
            values.append(float(record))
        elif kind is dict and tuple(record) == self.channels:
            filled = len(values)
            try:
                values.extend(map(float, record.values()))
            except (TypeError, ValueError):
                del values[filled:]  # not numbers
                return False
        else:
            return False
        now = time.monotonic()
        self.times.append(time.time_ns())
        self.monotonic.append(now)
        if (now >= self.deadline or len(self.times) >= BATCH) and self.stream is not None:
            self.drain()
        return True

    def take(self) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """The gathered rows as arrays (wall stamps, monotonic stamps, values), emptied."""
        count = len(self.times)
        times = np.array(self.times, dtype=np.int64)
        monotonic = np.array(self.monotonic, dtype=np.float64)
        values = np.array(self.values, dtype=np.float64).reshape(count, -1)
        self.times, self.monotonic, self.values = [], [], []
        return times, monotonic, values

    def drain(self) -> None:
        """Hand the gathered rows to the stream as one block (it flushes when due)."""
        if self.times and self.stream is not None:
            times, monotonic, values = self.take()
            self.drained += len(times)
            self.stream.append_block(times, values, monotonic=monotonic)
        self.deadline = time.monotonic() + LATENCY
