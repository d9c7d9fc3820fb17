"""Buffered append-only datasets of one stream (/entry/<stream>).

A stream is a set of datasets that grow together along axis 0, one row per sample
(readings) or per record (waveforms, spectra, arrays). Appends copy into preallocated
NumPy buffers; a full buffer, a flush or a block larger than the buffer goes to HDF5 as
one slice per dataset, after extending the dataset to its exact new length. Extents
therefore always count valid rows, for a live SWMR reader and after a crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import h5py
import numpy as np
from h5py import h5s
from numpy.typing import ArrayLike, NDArray

from ._layout import (
    BUFFER_BYTES,
    MIN_CHUNK_ROWS,
    MONOTONIC,
    TIME,
    StreamKind,
    chunk_shape,
    safe_name,
    write_failed,
)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A row dataset of a stream: per-row shape, dtype, units, long name, fill value."""

    name: str
    row_shape: tuple[int, ...]
    dtype: np.dtype[Any]
    units: str
    long_name: str
    fill: Any = 0


class _Buffer:
    """A NumPy buffer of rows and the datasets it is written to.

    A plain buffer feeds one dataset. A grouped buffer (a reading's channels) holds one
    column per dataset, so a multi-channel sample is copied in one assignment.
    """

    __slots__ = ("array", "targets")

    def __init__(self, array: NDArray[Any], targets: list[tuple[h5py.Dataset, int | None]]):
        self.array = array
        self.targets = targets


def declare(
    group: h5py.Group,
    specs: list[ColumnSpec],
    filters: dict[str, Any],
    *,
    signals: list[str],
    axes: list[str],
    fixed_axes: dict[str, tuple[NDArray[Any], str, str]] | None = None,
) -> dict[str, h5py.Dataset]:
    """Create a stream's datasets with units, long names, dimension scales and NXdata attrs.

    Row datasets are chunked and resizable along axis 0; `time` (and `monotonic`) are
    dimension scales of axis 0 of every other row dataset. `fixed_axes` maps an axis name
    to (values, units, long name): a dataset that does not grow (wavelengths, sample index),
    attached as the scale of axis 1 of the row datasets that long.
    """
    datasets: dict[str, h5py.Dataset] = {}
    chunks = {spec.name: chunk_shape(spec.row_shape, spec.dtype.itemsize) for spec in specs}
    # A stream's rows arrive together: small columns beside a big one (x0 beside a trace)
    # need no more rows per chunk than it has, give or take a floor, rather than 256 KiB
    # allocated up front for a handful of records.
    rows = max(MIN_CHUNK_ROWS, min(shape[0] for shape in chunks.values()))
    for spec in specs:
        chunk = chunks[spec.name]
        dataset = group.create_dataset(
            spec.name,
            shape=(0, *spec.row_shape),
            maxshape=(None, *spec.row_shape),
            chunks=(min(chunk[0], rows), *chunk[1:]),
            dtype=spec.dtype,
            fillvalue=spec.fill,
            **filters,
        )
        dataset.attrs["units"] = spec.units
        dataset.attrs["long_name"] = spec.long_name
        if spec.name == TIME:  # NeXus: times are offsets from `start`
            dataset.attrs["start"] = "1970-01-01T00:00:00+00:00"
        datasets[spec.name] = dataset
    scales = [datasets[name] for name in (TIME, MONOTONIC) if name in datasets]
    for scale in scales:
        scale.make_scale(scale.name.rsplit("/", 1)[-1])
    for spec in specs:
        if spec.name not in (TIME, MONOTONIC):
            datasets[spec.name].dims[0].label = TIME
            for scale in scales:
                datasets[spec.name].dims[0].attach_scale(scale)
    for axis_name, (values, units, long_name) in (fixed_axes or {}).items():
        axis = group.create_dataset(axis_name, data=values)
        axis.attrs["units"] = units
        axis.attrs["long_name"] = long_name
        axis.make_scale(axis_name)
        for spec in specs:
            if spec.row_shape[:1] == values.shape:
                datasets[spec.name].dims[1].label = axis_name
                datasets[spec.name].dims[1].attach_scale(axis)
    group.attrs["NX_class"] = "NXdata"
    group.attrs["signal"] = signals[0]
    if len(signals) > 1:
        group.attrs["auxiliary_signals"] = signals[1:]
    group.attrs["axes"] = axes
    for index, axis_name in enumerate(axes):
        if axis_name != ".":
            group.attrs[f"{axis_name}_indices"] = index
    return datasets


def time_columns(monotonic: bool) -> list[ColumnSpec]:
    """The wall-clock time column (and the monotonic one) every stream starts with."""
    specs = [ColumnSpec(TIME, (), np.dtype(np.int64), "ns", "wall-clock time, ns since 1970 UTC")]
    if monotonic:
        specs.append(
            ColumnSpec(MONOTONIC, (), np.dtype(np.float64), "s", "monotonic clock", fill=np.nan)
        )
    return specs


class Stream:
    """Common part of every stream kind: buffering, writing, row counts.

    Not thread-safe: a stream and its writer are used from one thread (the pipeline's
    writer thread, or the lab script).
    """

    kind: ClassVar[StreamKind]

    def __init__(
        self,
        group: h5py.Group,
        datasets: dict[str, h5py.Dataset],
        *,
        on_append: Callable[[], None],
        grouped: dict[str, list[str]] | None = None,
    ) -> None:
        self.name: str = group.attrs["long_name"]
        self.group = group
        self.has_monotonic = MONOTONIC in datasets
        self._datasets = datasets
        members = {m: key for key, names in (grouped or {}).items() for m in names}
        layout: dict[str, list[tuple[h5py.Dataset, int | None]]] = {}
        for name, dataset in datasets.items():
            key = members.get(name, name)
            layout.setdefault(key, []).append((dataset, None if key == name else 0))
        row_bytes = sum(ds.dtype.itemsize * math.prod(ds.shape[1:]) for ds in datasets.values())
        self._row_bytes = row_bytes
        self.capacity = max(1, BUFFER_BYTES // max(row_bytes, 1))
        self.before_write: Callable[[int], None] | None = None
        """Called with the bytes a write is about to add; may raise to refuse it."""
        self.on_write_error: Callable[[OSError], None] | None = None
        """Called when HDF5 failed to write (the file can no longer be trusted to HDF5)."""
        self._buffers: dict[str, _Buffer] = {}
        for key, targets in layout.items():
            first = targets[0][0]
            if key in (grouped or {}):
                targets = [(ds, index) for index, (ds, _) in enumerate(targets)]
                shape: tuple[int, ...] = (self.capacity, len(targets))
            else:
                shape = (self.capacity, *first.shape[1:])
            self._buffers[key] = _Buffer(np.empty(shape, dtype=first.dtype), targets)
        self._on_append = on_append
        self._fill = 0  # rows in the buffers
        self._written = 0  # rows in the datasets
        self._refusal: str | None = "the run has not started; call RunWriter.start() first"

    @property
    def rows(self) -> int:
        """Rows appended so far (written to the file or still buffered)."""
        return self._written + self._fill

    @property
    def rows_written(self) -> int:
        """Rows handed to HDF5; they are safe in the file after the next flush."""
        return self._written

    @property
    def datasets(self) -> dict[str, h5py.Dataset]:
        """The stream's row datasets by name."""
        return dict(self._datasets)

    def __len__(self) -> int:
        return self.rows

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {self.rows} rows>"

    # -- appending (subclasses validate, then call these) ---------------------------------
    def _slot(self) -> int:
        """Index of a free buffer row for a one-row append (writes a full buffer first)."""
        if self._refusal:
            raise RuntimeError(f"stream {self.name!r}: {self._refusal}")
        if self._fill == self.capacity:
            self.write_buffer()
        return self._fill

    def _push(self, n: int, arrays: dict[str, Any]) -> None:
        """Append `n` rows given as one array (or one scalar for all rows) per buffer."""
        if self._refusal:
            raise RuntimeError(f"stream {self.name!r}: {self._refusal}")
        if n == 0:
            return
        if self._fill + n > self.capacity:
            self.write_buffer()
        if n > self.capacity:  # a block bigger than the buffer goes straight to the file
            self._write_rows(n, arrays)
        else:
            start, stop = self._fill, self._fill + n
            for key, buffer in self._buffers.items():
                buffer.array[start:stop] = arrays[key]
            self._fill = stop
        self._on_append()

    def _monotonic_rows(self, n: int, monotonic: ArrayLike | None) -> dict[str, Any]:
        if not self.has_monotonic:
            if monotonic is not None:
                raise ValueError(
                    f"stream {self.name!r} was declared without monotonic=True, "
                    "so it cannot store monotonic timestamps"
                )
            return {}
        if monotonic is None:
            return {MONOTONIC: np.nan}
        values = np.asarray(monotonic, dtype=np.float64)
        if values.ndim and values.shape != (n,):
            raise ValueError(f"stream {self.name!r}: {n} rows but {values.shape} monotonic stamps")
        return {MONOTONIC: values}

    @staticmethod
    def _times(n: int, timestamps_ns: ArrayLike) -> NDArray[np.int64]:
        stamps = np.asarray(timestamps_ns, dtype=np.int64)
        if stamps.shape != (n,):
            raise ValueError(f"need {n} timestamps (ns since epoch), got shape {stamps.shape}")
        return stamps

    # -- writing --------------------------------------------------------------------------
    def write_buffer(self) -> None:
        """Hand the buffered rows to HDF5 (no file flush)."""
        if self._fill:
            n = self._fill
            self._write_rows(n, {key: b.array[:n] for key, b in self._buffers.items()})
            self._fill = 0

    def _write_rows(self, n: int, arrays: dict[str, Any]) -> None:
        if self.before_write is not None:
            self.before_write(n * self._row_bytes)
        start, stop = self._written, self._written + n
        try:
            for key, buffer in self._buffers.items():
                block = arrays[key]
                for dataset, column in buffer.targets:
                    rows = block if column is None else block[:, column]
                    if np.ndim(rows) == 0:  # one value for every row
                        rows = np.full((n, *dataset.shape[1:]), rows, dtype=dataset.dtype)
                    dataset.resize(stop, axis=0)
                    _write_slice(dataset, start, np.ascontiguousarray(rows, dataset.dtype))
        except (OSError, RuntimeError) as error:  # a full disk, an I/O error
            failed = write_failed(self.group.file.filename, error)
            if self.on_write_error is not None:
                self.on_write_error(failed)
            raise failed from error
        self._written = stop

    def open(self) -> None:
        """Accept appends (called by RunWriter.start())."""
        self._refusal = None

    def stop(self, reason: str) -> None:
        """Refuse appends from now on and drop what is buffered (nothing more is written)."""
        self._refusal = reason
        self._fill = 0

    def close(self) -> None:
        """Write what is buffered; later appends raise. Called by RunWriter.close()."""
        self._refusal = "the run has ended"
        self.write_buffer()


def _write_slice(dataset: h5py.Dataset, start: int, rows: NDArray[Any]) -> None:
    """`dataset[start:start + len(rows)] = rows` through the low-level API.

    The high-level assignment costs ~150 us of Python-side selection work per call, the
    low-level write ~40 us; that matters for the small per-record columns.
    """
    file_space = dataset.id.get_space()
    file_space.select_hyperslab((start,) + (0,) * (rows.ndim - 1), rows.shape)
    dataset.id.write(h5s.create_simple(rows.shape), file_space, rows)


def channel_names(stream: str, channels: tuple[str, ...]) -> list[str]:
    """Dataset names for a reading's channels: distinct, and not a reserved name."""
    names = [safe_name(c) for c in channels]
    reserved = {TIME, MONOTONIC, "status"}
    if len(set(names)) != len(names) or reserved & set(names):
        raise ValueError(
            f"stream {stream!r}: channel names {list(channels)} must be distinct and none "
            f"of {sorted(reserved)}"
        )
    return names
