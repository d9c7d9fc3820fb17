"""The four stream kinds: readings, waveforms, spectra and generic fixed-shape arrays.

Each kind declares its datasets (NeXus NXdata group with dimension scales) before SWMR
starts, and offers `append(record)` for one record of the core data types and
`append_block(...)` for many rows at once as NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import h5py
import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from instrumentkit.data import Reading, Spectrum, Waveform, now_ns

from ._layout import MONOTONIC, TIME, safe_name
from ._streams import ColumnSpec, Stream, create_column, time_columns

_Filters = dict[str, Any]


def _declare(
    group: h5py.Group,
    specs: list[ColumnSpec],
    filters: _Filters,
    *,
    signals: list[str],
    axes: list[str],
    fixed_axes: dict[str, tuple[NDArray[Any], str, str]],
) -> list[tuple[ColumnSpec, h5py.Dataset]]:
    """Create the row datasets and fixed axes of a stream and wire up NeXus attributes.

    `fixed_axes` maps an axis name to (values, units, long name): a dataset that does not
    grow (wavelengths, sample index), attached as the scale of dimension 1 of each signal.
    """
    columns = [(spec, create_column(group, spec, filters)) for spec in specs]
    datasets = dict((spec.name, ds) for spec, ds in columns)
    scales = [datasets[TIME]] + ([datasets[MONOTONIC]] if MONOTONIC in datasets else [])
    for scale in scales:
        scale.make_scale(scale.name.rsplit("/", 1)[-1])
    for spec, dataset in columns:
        if spec.name in (TIME, MONOTONIC):
            continue
        dataset.dims[0].label = TIME
        for scale in scales:
            dataset.dims[0].attach_scale(scale)
    for axis_name, (values, units, long_name) in fixed_axes.items():
        axis = group.create_dataset(axis_name, data=values)
        axis.attrs["units"] = units
        axis.attrs["long_name"] = long_name
        axis.make_scale(axis_name)
        for spec, dataset in columns:
            if len(spec.row_shape) == 1 and spec.row_shape[0] == values.shape[0]:
                dataset.dims[1].label = axis_name
                dataset.dims[1].attach_scale(axis)
    group.attrs["NX_class"] = "NXdata"
    group.attrs["signal"] = signals[0]
    if len(signals) > 1:
        group.attrs["auxiliary_signals"] = signals[1:]
    group.attrs["axes"] = axes
    group.attrs[f"{TIME}_indices"] = 0
    for index, axis_name in enumerate(axes[1:], start=1):
        if axis_name != ".":
            group.attrs[f"{axis_name}_indices"] = index
    return columns


class ReadingStream(Stream):
    """Scalar readings: one row per sample, one dataset per channel, with its units."""

    kind = "readings"

    @classmethod
    def create(
        cls,
        group: h5py.Group,
        channels: Sequence[str],
        units: Sequence[str],
        *,
        status: bool,
        dtype: DTypeLike,
        monotonic: bool,
        filters: _Filters,
        on_append: Callable[[], None],
    ) -> ReadingStream:
        names = [safe_name(c) for c in channels]
        reserved = {TIME, MONOTONIC, "status"}
        if len(set(names)) != len(names) or reserved & set(names):
            raise ValueError(
                f"stream {group.name!r}: channel names {list(channels)} must be distinct and "
                f"not one of {sorted(reserved)}"
            )
        specs = time_columns(monotonic)
        value_type = np.dtype(dtype)
        specs += [
            ColumnSpec(name, (), value_type, unit, channel, fill=np.nan)
            for name, unit, channel in zip(names, units, channels, strict=False)
        ]
        if status:
            specs.append(
                ColumnSpec(
                    "status",
                    (len(names),),
                    np.dtype(np.int16),
                    "",
                    "instrument status code per channel (0 = valid)",
                )
            )
        group.attrs["channels"] = list(channels)
        columns = _declare(group, specs, filters, signals=names, axes=[TIME], fixed_axes={})
        stream = cls(
            group.name.rsplit("/", 1)[-1], group, columns, monotonic=monotonic, on_append=on_append
        )
        stream.channels = tuple(channels)
        stream.units = tuple(units)
        stream._names = names
        stream.has_status = status
        return stream

    channels: tuple[str, ...]
    units: tuple[str, ...]
    has_status: bool
    _names: list[str]

    def append(self, reading: Reading, *, monotonic: ArrayLike | None = None) -> None:
        """Append every sample of a Reading (channels and units must match the stream)."""
        if reading.channels != self.channels or reading.units != self.units:
            raise ValueError(
                f"stream {self.name!r} holds channels {self.channels} in {self.units}, "
                f"got {reading.channels} in {reading.units}"
            )
        self.append_block(
            reading.timestamps_ns, reading.values, status=reading.status, monotonic=monotonic
        )

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
        if block.shape != (n, len(self._names)):
            raise ValueError(
                f"stream {self.name!r}: values must have shape (samples, {len(self._names)}), "
                f"got {block.shape}"
            )
        arrays: dict[str, Any] = {TIME: self._times(n, timestamps_ns)}
        arrays.update(self._monotonic_rows(n, monotonic))
        for index, name in enumerate(self._names):
            arrays[name] = block[:, index]
        if self.has_status:
            arrays["status"] = 0 if status is None else np.asarray(status, dtype=np.int16)
            if status is not None and arrays["status"].shape != block.shape:
                raise ValueError(f"stream {self.name!r}: status must have the shape of values")
        elif status is not None:
            raise ValueError(f"stream {self.name!r} was declared without status codes")
        self._push(n, arrays)


class WaveformStream(Stream):
    """Oscilloscope records of fixed length: `y` per record, its x0/dx and trigger time."""

    kind = "waveforms"

    @classmethod
    def create(
        cls,
        group: h5py.Group,
        record_length: int,
        *,
        units: str,
        x_units: str,
        channel: str,
        dtype: DTypeLike,
        raw_dtype: DTypeLike | None,
        monotonic: bool,
        filters: _Filters,
        on_append: Callable[[], None],
    ) -> WaveformStream:
        length = int(record_length)
        specs = [
            *time_columns(monotonic),
            ColumnSpec(
                "y",
                (length,),
                np.dtype(dtype),
                units,
                f"{channel or 'signal'} ({units})",
                fill=np.nan,
            ),
            ColumnSpec("x0", (), np.dtype(np.float64), x_units, "time of the first sample"),
            ColumnSpec("dx", (), np.dtype(np.float64), x_units, "sample interval"),
        ]
        if raw_dtype is not None:
            specs.append(
                ColumnSpec("raw", (length,), np.dtype(raw_dtype), "counts", "raw digitizer codes")
            )
        group.attrs["channel"] = channel
        sample = (np.arange(length, dtype=np.int64), "", "sample index (t = x0 + index * dx)")
        columns = _declare(
            group,
            specs,
            filters,
            signals=["y"],
            axes=[TIME, "sample"],
            fixed_axes={"sample": sample},
        )
        stream = cls(
            group.name.rsplit("/", 1)[-1], group, columns, monotonic=monotonic, on_append=on_append
        )
        stream.record_length = length
        stream.units = units
        stream.has_raw = raw_dtype is not None
        return stream

    record_length: int
    units: str
    has_raw: bool

    def append(self, waveform: Waveform, *, monotonic: float | None = None) -> None:
        """Append one Waveform (its length and units must match the stream)."""
        if waveform.units != self.units:
            raise ValueError(f"stream {self.name!r} holds {self.units}, got {waveform.units}")
        self.append_block(
            waveform.y[np.newaxis],
            timestamps_ns=[waveform.timestamp_ns],
            x0=waveform.x0,
            dx=waveform.dx,
            raw=None if waveform.raw is None else waveform.raw[np.newaxis],
            monotonic=None if monotonic is None else [monotonic],
        )

    def extend(self, waveforms: Sequence[Waveform], *, monotonic: ArrayLike | None = None) -> None:
        """Append several Waveforms in one block."""
        if not waveforms:
            return
        if any(w.units != self.units for w in waveforms):
            raise ValueError(f"stream {self.name!r} holds {self.units}; got other units")
        raws = [w.raw for w in waveforms]
        self.append_block(
            np.stack([w.y for w in waveforms]),
            timestamps_ns=[w.timestamp_ns for w in waveforms],
            x0=[w.x0 for w in waveforms],
            dx=[w.dx for w in waveforms],
            raw=None if raws[0] is None else np.stack(raws),
            monotonic=monotonic,
        )

    def append_block(
        self,
        y: ArrayLike,
        *,
        timestamps_ns: ArrayLike,
        x0: ArrayLike,
        dx: ArrayLike,
        raw: ArrayLike | None = None,
        monotonic: ArrayLike | None = None,
    ) -> None:
        """Append records: `y` of shape (records, record_length); x0/dx scalar or per record."""
        block = np.asarray(y)
        n = block.shape[0] if block.ndim == 2 else -1
        if block.shape != (n, self.record_length):
            raise ValueError(
                f"stream {self.name!r}: y must have shape (records, {self.record_length}), "
                f"got {block.shape}"
            )
        arrays: dict[str, Any] = {TIME: self._times(n, timestamps_ns), "y": block}
        arrays.update(self._monotonic_rows(n, monotonic))
        for key, value in (("x0", x0), ("dx", dx)):
            arrays[key] = _per_row(self.name, key, n, value, np.float64)
        if self.has_raw:
            if raw is None:
                raise ValueError(f"stream {self.name!r} stores raw codes; pass raw=")
            arrays["raw"] = np.asarray(raw)
            if arrays["raw"].shape != block.shape:
                raise ValueError(f"stream {self.name!r}: raw must have the shape of y")
        elif raw is not None:
            raise ValueError(f"stream {self.name!r} was declared without raw codes")
        self._push(n, arrays)


class SpectrumStream(Stream):
    """Spectra on one wavelength axis: intensities per record with exposure and flags."""

    kind = "spectra"

    @classmethod
    def create(
        cls,
        group: h5py.Group,
        wavelengths: ArrayLike,
        *,
        units: str,
        wavelength_units: str,
        dtype: DTypeLike,
        monotonic: bool,
        filters: _Filters,
        on_append: Callable[[], None],
    ) -> SpectrumStream:
        axis = np.asarray(wavelengths, dtype=np.float64)
        if axis.ndim != 1:
            raise ValueError(f"stream {group.name!r}: wavelengths must be 1-D, got {axis.shape}")
        points = axis.shape[0]
        specs = [
            *time_columns(monotonic),
            ColumnSpec(
                "intensities",
                (points,),
                np.dtype(dtype),
                units,
                f"intensity ({units})",
                fill=np.nan,
            ),
            ColumnSpec(
                "integration_time", (), np.dtype(np.float64), "s", "integration time", fill=np.nan
            ),
            ColumnSpec("saturated", (), np.dtype(bool), "", "some pixel saturated", fill=False),
            ColumnSpec(
                "dark_corrected", (), np.dtype(bool), "", "dark spectrum subtracted", fill=False
            ),
        ]
        fixed = {"wavelength": (axis, wavelength_units, f"wavelength ({wavelength_units})")}
        columns = _declare(
            group,
            specs,
            filters,
            signals=["intensities"],
            axes=[TIME, "wavelength"],
            fixed_axes=fixed,
        )
        stream = cls(
            group.name.rsplit("/", 1)[-1], group, columns, monotonic=monotonic, on_append=on_append
        )
        stream.wavelengths = axis
        stream.units = units
        stream._checked_axis = axis
        return stream

    wavelengths: NDArray[np.float64]
    units: str
    _checked_axis: NDArray[np.float64]

    def append(self, spectrum: Spectrum, *, monotonic: float | None = None) -> None:
        """Append one Spectrum (same wavelength axis and units as the stream)."""
        self._check_axis(spectrum)
        self.append_block(
            spectrum.intensities[np.newaxis],
            timestamps_ns=[spectrum.timestamp_ns],
            integration_time=np.nan
            if spectrum.integration_time is None
            else spectrum.integration_time,
            saturated=spectrum.saturated,
            dark_corrected=spectrum.dark_corrected,
            monotonic=None if monotonic is None else [monotonic],
        )

    def extend(self, spectra: Sequence[Spectrum], *, monotonic: ArrayLike | None = None) -> None:
        """Append several Spectra in one block."""
        if not spectra:
            return
        for spectrum in spectra:
            self._check_axis(spectrum)
        self.append_block(
            np.stack([s.intensities for s in spectra]),
            timestamps_ns=[s.timestamp_ns for s in spectra],
            integration_time=[
                np.nan if s.integration_time is None else s.integration_time for s in spectra
            ],
            saturated=[s.saturated for s in spectra],
            dark_corrected=[s.dark_corrected for s in spectra],
            monotonic=monotonic,
        )

    def _check_axis(self, spectrum: Spectrum) -> None:
        if spectrum.units != self.units:
            raise ValueError(f"stream {self.name!r} holds {self.units}, got {spectrum.units}")
        axis = spectrum.wavelengths
        if axis is self._checked_axis:  # the usual case: a driver reuses its axis array
            return
        if not np.array_equal(axis, self.wavelengths):
            raise ValueError(
                f"stream {self.name!r}: spectrum has another wavelength axis than the stream "
                "(declare a new stream after a grating or range change)"
            )
        self._checked_axis = axis

    def append_block(
        self,
        intensities: ArrayLike,
        *,
        timestamps_ns: ArrayLike,
        integration_time: ArrayLike = np.nan,
        saturated: ArrayLike = False,
        dark_corrected: ArrayLike = False,
        monotonic: ArrayLike | None = None,
    ) -> None:
        """Append spectra: `intensities` of shape (records, points); flags scalar or per record."""
        block = np.asarray(intensities)
        n = block.shape[0] if block.ndim == 2 else -1
        if block.shape != (n, self.wavelengths.shape[0]):
            raise ValueError(
                f"stream {self.name!r}: intensities must have shape (records, "
                f"{self.wavelengths.shape[0]}), got {block.shape}"
            )
        arrays: dict[str, Any] = {TIME: self._times(n, timestamps_ns), "intensities": block}
        arrays.update(self._monotonic_rows(n, monotonic))
        arrays["integration_time"] = _per_row(
            self.name, "integration_time", n, integration_time, np.float64
        )
        arrays["saturated"] = _per_row(self.name, "saturated", n, saturated, bool)
        arrays["dark_corrected"] = _per_row(self.name, "dark_corrected", n, dark_corrected, bool)
        self._push(n, arrays)


class ArrayStream(Stream):
    """Generic fixed-shape arrays (any dtype, compound included), one per row."""

    kind = "arrays"

    @classmethod
    def create(
        cls,
        group: h5py.Group,
        shape: tuple[int, ...],
        dtype: DTypeLike,
        *,
        units: str,
        long_name: str,
        monotonic: bool,
        filters: _Filters,
        on_append: Callable[[], None],
    ) -> ArrayStream:
        row_shape = tuple(int(s) for s in shape)
        row_type = np.dtype(dtype)
        fill = np.nan if row_type.kind in "fc" else np.zeros((), row_type)[()]
        specs = [
            *time_columns(monotonic),
            ColumnSpec("data", row_shape, row_type, units, long_name, fill=fill),
        ]
        columns = _declare(
            group,
            specs,
            filters,
            signals=["data"],
            axes=[TIME, *(["."] * len(row_shape))],
            fixed_axes={},
        )
        stream = cls(
            group.name.rsplit("/", 1)[-1], group, columns, monotonic=monotonic, on_append=on_append
        )
        stream.shape = row_shape
        stream.dtype = row_type
        return stream

    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    def append(
        self, array: ArrayLike, *, timestamp_ns: int | None = None, monotonic: float | None = None
    ) -> None:
        """Append one array of the stream's shape, stamped now unless `timestamp_ns` is given."""
        row = np.asarray(array, dtype=self.dtype)
        self.append_block(
            row[np.newaxis],
            timestamps_ns=[now_ns() if timestamp_ns is None else timestamp_ns],
            monotonic=None if monotonic is None else [monotonic],
        )

    def append_block(
        self, arrays: ArrayLike, *, timestamps_ns: ArrayLike, monotonic: ArrayLike | None = None
    ) -> None:
        """Append rows: `arrays` of shape (rows, *shape), one timestamp per row."""
        block = np.asarray(arrays)
        n = block.shape[0] if block.ndim == len(self.shape) + 1 else -1
        if block.shape != (n, *self.shape):
            raise ValueError(
                f"stream {self.name!r}: arrays must have shape (rows, *{self.shape}), "
                f"got {block.shape}"
            )
        if block.dtype != self.dtype and not np.can_cast(block.dtype, self.dtype, "same_kind"):
            raise ValueError(f"stream {self.name!r} holds {self.dtype}, got {block.dtype}")
        rows = {TIME: self._times(n, timestamps_ns), "data": block}
        rows.update(self._monotonic_rows(n, monotonic))
        self._push(n, rows)


def _per_row(stream: str, key: str, n: int, value: ArrayLike, dtype: DTypeLike) -> Any:
    """A per-record field given once for all rows (scalar) or once per row."""
    array = np.asarray(value, dtype=dtype)
    if array.ndim == 0:
        return array[()]
    if array.shape != (n,):
        raise ValueError(f"stream {stream!r}: {key} must be a scalar or have {n} values")
    return array
