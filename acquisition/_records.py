"""Streams of records: waveforms, spectra and generic fixed-shape arrays, one row each."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import h5py
import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from instrumentkit.data import Spectrum, Waveform, now_ns

from ._layout import MONOTONIC, TIME
from ._streams import ColumnSpec, Stream, declare, time_columns

_Filters = dict[str, Any]


class _RecordStream(Stream):
    """Shared fast path: one record copied straight into the buffers."""

    def _put_one(self, fields: dict[str, Any], monotonic: float | None) -> None:
        if monotonic is not None and not self.has_monotonic:
            self._monotonic_rows(1, monotonic)  # raises the explanatory error
        row = self._slot()
        buffers = self._buffers
        for key, value in fields.items():
            buffers[key].array[row] = value
        if self.has_monotonic:
            buffers[MONOTONIC].array[row] = np.nan if monotonic is None else monotonic
        self._fill = row + 1
        self._on_append()


def _per_row(stream: str, key: str, n: int, value: ArrayLike, dtype: DTypeLike) -> Any:
    """A per-record field given once for all rows (a scalar) or once per row."""
    array = np.asarray(value, dtype=dtype)
    if array.ndim == 0:
        return array[()]
    if array.shape != (n,):
        raise ValueError(f"stream {stream!r}: {key} must be a scalar or have {n} values")
    return array


def _rows(stream: str, key: str, block: ArrayLike, row_shape: tuple[int, ...]) -> NDArray[Any]:
    array = np.asarray(block)
    n = array.shape[0] if array.ndim == len(row_shape) + 1 else -1
    if array.shape != (n, *row_shape):
        raise ValueError(
            f"stream {stream!r}: {key} must have shape (rows, {', '.join(map(str, row_shape))}), "
            f"got {array.shape}"
        )
    return array


class WaveformStream(_RecordStream):
    """Oscilloscope records of fixed length: `y`, its `x0`/`dx` and the trigger time.

    The time of sample j of record i is `x0[i] + j * dx[i]`; `raw` digitizer codes are
    kept when the stream is declared with `raw_dtype`, with the line that scales each
    record's codes, `y = raw * gain + bias` (NaN where a record did not say).
    """

    kind = "waveforms"

    def __init__(
        self,
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
    ) -> None:
        length = int(record_length)
        signal = f"{channel or 'signal'} ({units})"
        specs = [
            *time_columns(monotonic),
            ColumnSpec("y", (length,), np.dtype(dtype), units, signal, fill=np.nan),
            ColumnSpec("x0", (), np.dtype(np.float64), x_units, "time of the first sample"),
            ColumnSpec("dx", (), np.dtype(np.float64), x_units, "sample interval"),
        ]
        if raw_dtype is not None:
            raw_type = np.dtype(raw_dtype)
            specs += [
                ColumnSpec("raw", (length,), raw_type, "counts", "raw digitizer codes"),
                ColumnSpec(
                    "gain", (), np.dtype(np.float64), f"{units}/count", "y = raw * gain + bias"
                ),
                ColumnSpec("bias", (), np.dtype(np.float64), units, "y = raw * gain + bias"),
            ]
        group.attrs["channel"] = channel
        sample = (np.arange(length, dtype=np.int64), "", "sample index (t = x0 + index * dx)")
        datasets = declare(
            group, specs, filters, signals=["y"], axes=[TIME, "sample"],
            fixed_axes={"sample": sample},
        )  # fmt: skip
        super().__init__(group, datasets, on_append=on_append)
        self.record_length = length
        self.units = units
        self.has_raw = raw_dtype is not None

    def append(self, waveform: Waveform, *, monotonic: float | None = None) -> None:
        """Append one Waveform (same length, units and raw presence as the stream)."""
        if waveform.y.shape != (self.record_length,) or waveform.units != self.units:
            raise ValueError(
                f"stream {self.name!r} holds {self.record_length}-point records in "
                f"{self.units}, got {waveform.y.shape} in {waveform.units}"
            )
        if (waveform.raw is not None) != self.has_raw or (
            waveform.raw is not None and waveform.raw.shape != waveform.y.shape
        ):
            raise ValueError(f"stream {self.name!r}: raw codes must match the declaration")
        fields = {TIME: waveform.timestamp_ns, "y": waveform.y, "x0": waveform.x0,
                  "dx": waveform.dx}  # fmt: skip
        if self.has_raw:
            fields["raw"] = waveform.raw
            fields["gain"], fields["bias"] = _line(waveform)
        self._put_one(fields, monotonic)

    def extend(self, waveforms: Sequence[Waveform], *, monotonic: ArrayLike | None = None) -> None:
        """Append several Waveforms as one block."""
        if not waveforms:
            return
        if any(w.units != self.units for w in waveforms):
            raise ValueError(f"stream {self.name!r} holds {self.units}; got other units")
        raws = [w.raw for w in waveforms]
        lines = np.array([_line(w) for w in waveforms], dtype=np.float64).reshape(-1, 2)
        self.append_block(
            np.stack([w.y for w in waveforms]),
            timestamps_ns=[w.timestamp_ns for w in waveforms],
            x0=[w.x0 for w in waveforms],
            dx=[w.dx for w in waveforms],
            raw=None if raws[0] is None else np.stack(raws),
            gain=lines[:, 0],
            bias=lines[:, 1],
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
        gain: ArrayLike = np.nan,
        bias: ArrayLike = np.nan,
        monotonic: ArrayLike | None = None,
    ) -> None:
        """Append records: `y` of shape (records, record_length); x0/dx scalar or per record.

        With raw codes, `gain`/`bias` (scalar or per record) say how they scale to `y`.
        """
        block = _rows(self.name, "y", y, (self.record_length,))
        n = block.shape[0]
        arrays: dict[str, Any] = {TIME: self._times(n, timestamps_ns), "y": block}
        arrays.update(self._monotonic_rows(n, monotonic))
        arrays["x0"] = _per_row(self.name, "x0", n, x0, np.float64)
        arrays["dx"] = _per_row(self.name, "dx", n, dx, np.float64)
        if self.has_raw:
            if raw is None:
                raise ValueError(f"stream {self.name!r} stores raw codes; pass raw=")
            arrays["raw"] = _rows(self.name, "raw", raw, (self.record_length,))
            if arrays["raw"].shape[0] != n:
                raise ValueError(f"stream {self.name!r}: raw must have the shape of y")
            arrays["gain"] = _per_row(self.name, "gain", n, gain, np.float64)
            arrays["bias"] = _per_row(self.name, "bias", n, bias, np.float64)
        elif raw is not None:
            raise ValueError(f"stream {self.name!r} was declared without raw codes")
        self._push(n, arrays)


def _line(waveform: Waveform) -> tuple[float, float]:
    """(gain, bias) of a waveform's codes; NaN for a waveform that did not say."""
    if waveform.gain is None:
        return math.nan, math.nan
    return waveform.gain, waveform.bias


class SpectrumStream(_RecordStream):
    """Spectra on one wavelength axis (a dimension scale), with exposure and flags."""

    kind = "spectra"

    def __init__(
        self,
        group: h5py.Group,
        wavelengths: ArrayLike,
        *,
        units: str,
        wavelength_units: str,
        dtype: DTypeLike,
        monotonic: bool,
        filters: _Filters,
        on_append: Callable[[], None],
    ) -> None:
        axis = np.array(wavelengths, dtype=np.float64)
        if axis.ndim != 1:
            raise ValueError(f"stream {group.name!r}: wavelengths must be 1-D, got {axis.shape}")
        points = axis.shape[0]
        specs = [
            *time_columns(monotonic),
            ColumnSpec("intensities", (points,), np.dtype(dtype), units, f"intensity ({units})",
                       fill=np.nan),
            ColumnSpec("integration_time", (), np.dtype(np.float64), "s", "integration time",
                       fill=np.nan),
            ColumnSpec("saturated", (), np.dtype(bool), "", "some pixel saturated", fill=False),
            ColumnSpec("dark_corrected", (), np.dtype(bool), "", "dark spectrum subtracted",
                       fill=False),
        ]  # fmt: skip
        fixed = {"wavelength": (axis, wavelength_units, f"wavelength ({wavelength_units})")}
        datasets = declare(
            group, specs, filters, signals=["intensities"], axes=[TIME, "wavelength"],
            fixed_axes=fixed,
        )  # fmt: skip
        super().__init__(group, datasets, on_append=on_append)
        self.wavelengths = axis
        self.units = units
        self._checked_axis: NDArray[np.float64] = axis

    def append(self, spectrum: Spectrum, *, monotonic: float | None = None) -> None:
        """Append one Spectrum (same wavelength axis and units as the stream)."""
        self._check(spectrum)
        exposure = spectrum.integration_time
        fields = {
            TIME: spectrum.timestamp_ns,
            "intensities": spectrum.intensities,
            "integration_time": np.nan if exposure is None else exposure,
            "saturated": spectrum.saturated,
            "dark_corrected": spectrum.dark_corrected,
        }
        self._put_one(fields, monotonic)

    def extend(self, spectra: Sequence[Spectrum], *, monotonic: ArrayLike | None = None) -> None:
        """Append several Spectra as one block."""
        if not spectra:
            return
        for spectrum in spectra:
            self._check(spectrum)
        exposures = [np.nan if s.integration_time is None else s.integration_time for s in spectra]
        self.append_block(
            np.stack([s.intensities for s in spectra]),
            timestamps_ns=[s.timestamp_ns for s in spectra],
            integration_time=exposures,
            saturated=[s.saturated for s in spectra],
            dark_corrected=[s.dark_corrected for s in spectra],
            monotonic=monotonic,
        )

    def _check(self, spectrum: Spectrum) -> None:
        if spectrum.units != self.units or spectrum.intensities.shape != self.wavelengths.shape:
            raise ValueError(
                f"stream {self.name!r} holds {self.wavelengths.shape[0]}-point spectra in "
                f"{self.units}, got {spectrum.intensities.shape} in {spectrum.units}"
            )
        axis = spectrum.wavelengths
        if axis is self._checked_axis:  # the usual case: a driver reuses its axis array
            return
        if not np.array_equal(axis, self.wavelengths):
            raise ValueError(
                f"stream {self.name!r}: this spectrum has another wavelength axis "
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
        """Append spectra: `intensities` (records, points); other fields scalar or per record."""
        block = _rows(self.name, "intensities", intensities, self.wavelengths.shape)
        n = block.shape[0]
        arrays: dict[str, Any] = {TIME: self._times(n, timestamps_ns), "intensities": block}
        arrays.update(self._monotonic_rows(n, monotonic))
        arrays["integration_time"] = _per_row(
            self.name, "integration_time", n, integration_time, np.float64
        )
        arrays["saturated"] = _per_row(self.name, "saturated", n, saturated, bool)
        arrays["dark_corrected"] = _per_row(self.name, "dark_corrected", n, dark_corrected, bool)
        self._push(n, arrays)


class ArrayStream(_RecordStream):
    """Fixed-shape arrays of any dtype (structured dtypes too, e.g. peak tables), one per row."""

    kind = "arrays"

    def __init__(
        self,
        group: h5py.Group,
        shape: tuple[int, ...],
        dtype: DTypeLike,
        *,
        units: str,
        long_name: str,
        monotonic: bool,
        filters: _Filters,
        on_append: Callable[[], None],
    ) -> None:
        row_shape = tuple(int(s) for s in shape)
        row_type = np.dtype(dtype)
        fill = np.nan if row_type.kind in "fc" else np.zeros((), row_type)[()]
        specs = [*time_columns(monotonic), ColumnSpec("data", row_shape, row_type, units,
                                                      long_name, fill=fill)]  # fmt: skip
        axes = [TIME, *(["."] * len(row_shape))]
        datasets = declare(group, specs, filters, signals=["data"], axes=axes)
        super().__init__(group, datasets, on_append=on_append)
        self.shape = row_shape
        self.dtype = row_type

    def append(
        self, array: ArrayLike, *, timestamp_ns: int | None = None, monotonic: float | None = None
    ) -> None:
        """Append one array of the stream's shape, stamped now unless `timestamp_ns` is given."""
        row = np.asarray(array)
        if row.shape != self.shape or not np.can_cast(row.dtype, self.dtype, "same_kind"):
            raise ValueError(
                f"stream {self.name!r} holds {self.shape} arrays of {self.dtype}, got "
                f"{row.shape} of {row.dtype}"
            )
        stamp = now_ns() if timestamp_ns is None else timestamp_ns
        self._put_one({TIME: stamp, "data": row}, monotonic)

    def append_block(
        self, arrays: ArrayLike, *, timestamps_ns: ArrayLike, monotonic: ArrayLike | None = None
    ) -> None:
        """Append rows: `arrays` of shape (rows, *shape), one timestamp per row."""
        block = _rows(self.name, "arrays", arrays, self.shape)
        if not np.can_cast(block.dtype, self.dtype, "same_kind"):
            raise ValueError(f"stream {self.name!r} holds {self.dtype}, got {block.dtype}")
        n = block.shape[0]
        fields: dict[str, Any] = {TIME: self._times(n, timestamps_ns), "data": block}
        fields.update(self._monotonic_rows(n, monotonic))
        self._push(n, fields)
