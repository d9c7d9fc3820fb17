"""Gathering one-sample readings into blocks, so the writer and the stages see arrays."""

from __future__ import annotations

import numpy as np

from instrumentkit.data import Reading

__all__ = ["ReadingBatcher"]


class ReadingBatcher:
    """Gathers Readings of one stream into blocks of about `block_bytes`.

    Handing a block to the writer costs tens of microseconds (queue, thread hand-over,
    stamping, one append) whatever its size, while copying a row costs nanoseconds: so
    one-sample reads and small buffered reads alike travel in blocks of ~256 KiB. Readings
    of more than half a block pass on whole. The one-sample case (a polled sensor) is the
    hot path: a few scalar copies, no allocation.
    """

    def __init__(self, block_bytes: int = 256 * 1024) -> None:
        self.block_bytes = block_bytes
        self.capacity = 0
        self.fill = 0
        self._channels: tuple[str, ...] = ()
        self._units: tuple[str, ...] = ()
        self._values: np.ndarray = np.empty((0, 0))
        self._stamps: np.ndarray = np.empty(0, np.int64)
        self._status: np.ndarray | None = None

    def capacity_for(self, reading: Reading) -> int:
        row = 8 + reading.values.dtype.itemsize * reading.values.shape[1]
        if reading.status is not None:
            row += reading.status.dtype.itemsize * reading.status.shape[1]
        return max(16, self.block_bytes // row)

    def add(self, reading: Reading) -> list[Reading] | None:
        """Take in `reading`; return the blocks that are complete (None: none yet)."""
        fill = self.fill
        channels, units, stamps = reading.channels, reading.units, reading.timestamps_ns
        if (
            fill
            and len(stamps) == 1
            and reading.status is None
            and self._status is None
            and (channels is self._channels or channels == self._channels)
            and (units is self._units or units == self._units)
        ):
            self._values[fill] = reading.values  # one sample: (1, k) into a (k,) row
            self._stamps[fill] = stamps[0]
            self.fill = fill = fill + 1
            return [self.take()] if fill == self.capacity else None
        return self._add_slow(reading)

    def _add_slow(self, reading: Reading) -> list[Reading] | None:
        out: list[Reading] = []
        n = len(reading)
        passes = 2 * n > self.capacity_for(reading)
        if self.fill and (
            passes
            or self.fill + n > self.capacity
            or reading.channels != self._channels
            or reading.units != self._units
            or reading.values.dtype != self._values.dtype
            or (reading.status is None) != (self._status is None)
        ):
            out.append(self.take())
        if passes:
            out.append(reading)
            return out
        if self.fill == 0:
            self._allocate(reading)
        start, stop = self.fill, self.fill + n
        self._values[start:stop] = reading.values
        self._stamps[start:stop] = reading.timestamps_ns
        if self._status is not None:
            self._status[start:stop] = reading.status
        self.fill = stop
        if stop == self.capacity:
            out.append(self.take())
        return out or None

    def _allocate(self, reading: Reading) -> None:
        # Fresh arrays per block: the previous block may still wait in the queue.
        self.capacity = capacity = self.capacity_for(reading)
        self._channels, self._units = reading.channels, reading.units
        self._values = np.empty((capacity, reading.values.shape[1]), reading.values.dtype)
        self._stamps = np.empty(capacity, np.int64)
        self._status = (
            None if reading.status is None else np.empty(self._values.shape, reading.status.dtype)
        )

    def take(self) -> Reading:
        """The gathered samples as one Reading; the batcher is empty afterwards."""
        n, self.fill = self.fill, 0
        status = None if self._status is None else self._status[:n]
        return Reading(self._values[:n], self._stamps[:n], self._channels, self._units, status)
