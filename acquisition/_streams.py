"""Buffered append-only datasets of one stream (/entry/data/<stream>).

A stream is a set of datasets ("columns") that grow together along axis 0, one row per
sample (readings) or per record (waveforms, spectra, arrays). Appends copy into
preallocated NumPy buffers; a full buffer, a flush or a block larger than the buffer goes
to HDF5 as one slice per column, after extending each dataset to its exact new length.
Extents therefore always count valid rows, for a live SWMR reader and after a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import h5py
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._layout import BUFFER_BYTES, MONOTONIC, TIME, StreamKind, chunk_shape


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A dataset of a stream: per-row shape, dtype, units, long name, NeXus role."""

    name: str
    row_shape: tuple[int, ...]
    dtype: np.dtype[Any]
    units: str
    long_name: str
    fill: Any = 0


class _Column:
    """One dataset and its NumPy buffer of `capacity` rows."""

    __slots__ = ("buffer", "dataset", "spec")

    def __init__(self, spec: ColumnSpec, dataset: h5py.Dataset, capacity: int) -> None:
        self.spec = spec
        self.dataset = dataset
        self.buffer = np.empty((capacity, *spec.row_shape), dtype=spec.dtype)


def create_column(group: h5py.Group, spec: ColumnSpec, filters: dict[str, Any]) -> h5py.Dataset:
    """Create the empty, chunked, resizable dataset of a column, with units and long name."""
    dataset = group.create_dataset(
        spec.name,
        shape=(0, *spec.row_shape),
        maxshape=(None, *spec.row_shape),
        chunks=chunk_shape(spec.row_shape, spec.dtype.itemsize),
        dtype=spec.dtype,
        fillvalue=spec.fill,
        **filters,
    )
    dataset.attrs["units"] = spec.units
    dataset.attrs["long_name"] = spec.long_name
    return dataset


class Stream:
    """Common part of every stream kind: buffering, writing, row counts.

    Not thread-safe: a stream and its writer are used from one thread (the pipeline's
    writer thread, or the lab script).
    """

    kind: ClassVar[StreamKind]

    def __init__(
        self,
        name: str,
        group: h5py.Group,
        columns: list[tuple[ColumnSpec, h5py.Dataset]],
        *,
        monotonic: bool,
        on_append: Callable[[], None],
        buffer_rows: int | None = None,
    ) -> None:
        self.name = name
        self.group = group
        self.has_monotonic = monotonic
        row_bytes = sum(s.dtype.itemsize * int(np.prod(s.row_shape)) for s, _ in columns)
        self.capacity = buffer_rows or max(1, BUFFER_BYTES // max(row_bytes, 1))
        self._columns = {spec.name: _Column(spec, ds, self.capacity) for spec, ds in columns}
        self._on_append = on_append
        self._fill = 0  # rows in the buffers
        self._written = 0  # rows in the datasets
        self._closed = False

    # -- public ---------------------------------------------------------------------------
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
        """The stream's row datasets by name (read them only after a flush)."""
        return {name: column.dataset for name, column in self._columns.items()}

    def __len__(self) -> int:
        return self.rows

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {self.rows} rows>"

    # -- for subclasses -------------------------------------------------------------------
    def _push(self, n: int, arrays: dict[str, Any]) -> None:
        """Append `n` rows given as one array (or a broadcastable value) per column.

        Callers validate shapes first, so a bad block leaves the buffers untouched.
        """
        if self._closed:
            raise RuntimeError(f"stream {self.name!r} is closed; the run has ended")
        if n == 0:
            return
        if self._fill + n > self.capacity:
            self.write_buffer()
        if n > self.capacity:  # a block bigger than the buffer goes straight to the file
            self._write_rows(n, arrays)
        else:
            start, stop = self._fill, self._fill + n
            for name, column in self._columns.items():
                column.buffer[start:stop] = arrays[name]
            self._fill = stop
        self._on_append()

    def _monotonic_rows(self, n: int, monotonic: ArrayLike | None) -> dict[str, Any]:
        if not self.has_monotonic:
            if monotonic is not None:
                raise ValueError(
                    f"stream {self.name!r} was declared without monotonic=True; "
                    "declare it with monotonic=True to store monotonic timestamps"
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
        """Write the buffered rows to the datasets (no file flush)."""
        if self._fill:
            n, self._fill = self._fill, 0
            self._write_rows(n, {name: c.buffer[:n] for name, c in self._columns.items()})

    def _write_rows(self, n: int, arrays: dict[str, Any]) -> None:
        start, stop = self._written, self._written + n
        for name, column in self._columns.items():
            dataset = column.dataset
            dataset.resize(stop, axis=0)
            block = arrays[name]
            if np.ndim(block) == 0:  # one value for every row
                block = np.full((n, *column.spec.row_shape), block, dtype=column.spec.dtype)
            dataset[start:stop] = block
        self._written = stop

    def close(self) -> None:
        """Write what is buffered; later appends raise. Called by RunWriter.close()."""
        if not self._closed:
            self.write_buffer()
            self._closed = True


def time_columns(monotonic: bool) -> list[ColumnSpec]:
    """The wall-clock time column (and the monotonic one) every stream starts with."""
    specs = [
        ColumnSpec(TIME, (), np.dtype(np.int64), "ns", "wall-clock time, ns since 1970-01-01 UTC")
    ]
    if monotonic:
        specs.append(
            ColumnSpec(
                MONOTONIC,
                (),
                np.dtype(np.float64),
                "s",
                "monotonic clock (arbitrary origin)",
                fill=np.nan,
            )
        )
    return specs
