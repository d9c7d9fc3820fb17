"""Streams of scalar readings: one row per sample, one dataset per channel."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import h5py
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from instrumentkit.data import Reading

from ._layout import MONOTONIC, TIME, status_flags
from ._streams import ColumnSpec, Stream, channel_names, declare, time_columns

# The buffer key of the channels (a "/" keeps it apart from every dataset name).
_VALUES = "/values"


class ReadingStream(Stream):
    """Scalar readings of one or more channels, each channel a dataset with its units.

    `append(reading)` takes a `Reading` of any number of samples; `append_block` takes
    plain arrays. An optional `status` dataset (samples, channels) holds status codes.
    """

    kind = "readings"

    def __init__(
        self,
        group: h5py.Group,
        channels: tuple[str, ...],
        units: tuple[str, ...],
        *,
        status: bool,
        dtype: DTypeLike,
        monotonic: bool,
        filters: dict[str, Any],
        on_append: Callable[[], None],
        status_meanings: Mapping[int, str] | None = None,
    ) -> None:
        names = channel_names(group.name, channels)
        if len(units) != len(names):
            raise ValueError(f"stream {group.name!r}: one unit per channel, got {units}")
        value_type = np.dtype(dtype)
        specs = time_columns(monotonic) + [
            ColumnSpec(name, (), value_type, unit, channel, fill=np.nan)
            for name, unit, channel in zip(names, units, channels, strict=True)
        ]
        if status:
            long_name = "instrument status code per channel (0 = valid)"
            specs.append(ColumnSpec("status", (len(names),), np.dtype(np.int16), "", long_name))
        group.attrs["channels"] = list(channels)
        datasets = declare(group, specs, filters, signals=names, axes=[TIME])
        if status:  # what each code means, as CF flags: plots and readers can say why
            codes, words = status_flags(status_meanings)
            datasets["status"].attrs["flag_values"] = codes
            datasets["status"].attrs["flag_meanings"] = words
        super().__init__(group, datasets, on_append=on_append, grouped={_VALUES: names})
        self.channels = channels
        self.units = units
        self.has_status = status
        # Direct references for the one-sample fast path (buffers are never reallocated).
        self._time = self._buffers[TIME].array
        self._values = self._buffers[_VALUES].array
        self._status = self._buffers["status"].array if status else None
        self._mono = self._buffers[MONOTONIC].array if monotonic else None

    def append(self, reading: Reading, *, monotonic: ArrayLike | None = None) -> None:
        """Append every sample of a Reading (channels and units must match the stream).

        `monotonic` is one monotonic-clock stamp (s) per sample, for streams declared with
        `monotonic=True`.
        """
        if reading.channels != self.channels or reading.units != self.units:
            raise ValueError(
                f"stream {self.name!r} holds channels {self.channels} in {self.units}, "
                f"got {reading.channels} in {reading.units}"
            )
        if (
            len(reading.timestamps_ns) != 1
            or self._fill == self.capacity
            or self._refusal is not None
            or (monotonic is not None and (self._mono is None or np.size(monotonic) != 1))
            or (reading.status is not None and self._status is None)
        ):  # many samples, a full buffer, or something to explain: the general path
            self.append_block(
                reading.timestamps_ns, reading.values, status=reading.status, monotonic=monotonic
            )
            return
        # One sample, the common case of a polled sensor: a few scalar copies.
        row = self._fill
        self._time[row] = reading.timestamps_ns[0]
        self._values[row] = reading.values  # (1, channels) into one buffer row
        if self._status is not None:
            self._status[row] = 0 if reading.status is None else reading.status
        if self._mono is not None:
            self._mono[row : row + 1] = np.nan if monotonic is None else monotonic
        self._fill = row + 1
        self._on_append()

    def append_block(
        self,
        timestamps_ns: ArrayLike,
        values: ArrayLike,
        *,
        status: ArrayLike | None = None,
        monotonic: ArrayLike | None = None,
    ) -> None:
        """Append samples: `values` of shape (samples, channels), one timestamp per sample."""
        block = np.asarray(values)
        n = block.shape[0] if block.ndim == 2 else -1
        if block.shape != (n, len(self.channels)):
            raise ValueError(
                f"stream {self.name!r}: values must have shape (samples, {len(self.channels)}), "
                f"got {block.shape}"
            )
        arrays: dict[str, Any] = {TIME: self._times(n, timestamps_ns), _VALUES: block}
        arrays.update(self._monotonic_rows(n, monotonic))
        if self.has_status:
            codes = np.zeros(block.shape, np.int16) if status is None else np.asarray(status)
            if codes.shape != block.shape:
                raise ValueError(f"stream {self.name!r}: status must have the shape of values")
            arrays["status"] = codes
        elif status is not None:
            raise ValueError(f"stream {self.name!r} was declared without status codes")
        self._push(n, arrays)
