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

from ._readings import ReadingStream

__all__ = ["BATCH", "LATENCY", "PlainRows"]

BATCH = 4096
"""Rows gathered before they go to the stream's buffer as one block."""
LATENCY = 0.1
"""Seconds a gathered row may wait for the next append before it goes to the stream."""


class PlainRows:
    """The gathered rows of one live readings stream; the caller holds the run's lock."""

    __slots__ = (
        "channels",
        "deadline",
        "drained",
        "monotonic",
        "stream",
        "times",
        "units",
        "values",
    )

    def __init__(self, stream: ReadingStream, channels: tuple[str, ...], units: Any) -> None:
        self.stream = stream
        self.channels = channels
        self.units = units
        """The `units=` the stream was declared with; later rows may repeat it or omit it."""
        self.times: list[int] = []
        self.monotonic: list[float] = []
        self.values: list[Any] = []
        self.deadline = 0.0
        self.drained = 0

    @property
    def gathered(self) -> int:
        """Rows gathered so far (handed to the stream or still in the lists)."""
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
        if now >= self.deadline or len(self.times) >= BATCH:
            self.drain()
        return True

    def drain(self) -> None:
        """Hand the gathered rows to the stream as one block (it flushes when due)."""
        if self.times:
            count = len(self.times)
            times = np.array(self.times, dtype=np.int64)
            monotonic = np.array(self.monotonic, dtype=np.float64)
            values = np.array(self.values, dtype=np.float64).reshape(count, -1)
            self.times, self.monotonic, self.values = [], [], []
            self.drained += count
            self.stream.append_block(times, values, monotonic=monotonic)
        self.deadline = time.monotonic() + LATENCY
