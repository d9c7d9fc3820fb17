"""A sweep in the run file: every reader's data as a grid over the sweep's axes (NXdata).

    /entry/iv                  NXdata, @signal="smu.current", @axes=["smu.level"],
                               @smu.level_indices=0, @kind="sweep"
        smu.level   (41,)      coordinate, @units "V", dimension scale
        smu.voltage (41,)      a reader's channel at each point, NaN where not taken
        smu.current (41,)
        status      (41,)      int8: -1 not taken, 0 ok, 1 compliance, 2 skipped
        order       (41,)      int64: when the point was taken (0, 1, ...), -1 not taken
        time        (41,)      int64 ns, 0 where not taken
        monotonic   (41,)      float64 s (with a monotonic clock)

A trace or spectrum adds its own axis after the grid's (`scope.ch1` of shape (*grid, n)
with the scale `scope.ch1.time`). Every dataset has the grid's shape from the start,
filled with NaN (-1, 0): HDF5 SWMR cannot create datasets while streaming, and a sweep
stopped early is then a grid with holes, not a shorter file.

Scalars are kept in memory in the grid's shape and written by the slab of outer rows
touched since the last flush; traces are written point by point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from ._layout import MONOTONIC, TIME, chunk_shape, safe_name, status_flags, write_failed
from ._streams import _write_slice
from ._sweep_grid import POINT_MEANINGS, POINT_NOT_TAKEN, SweepPoint

__all__ = ["ORDER", "STATUS", "SweepStream"]

STATUS = "status"
ORDER = "order"


class SweepStream:
    """The grid datasets of one sweep; points are written in place by their index."""

    kind = "sweep"

    def __init__(
        self,
        group: h5py.Group,
        like: SweepPoint,
        *,
        monotonic: bool,
        filters: dict[str, Any],
        on_append: Callable[[], None],
    ) -> None:
        self.name: str = group.attrs["long_name"]
        self.group = group
        self.grid = like.grid
        self.fields = like.fields
        self.has_monotonic = monotonic
        self.before_write: Callable[[int], None] | None = None
        """Called with the bytes a write is about to add; may raise to refuse it."""
        self.on_write_error: Callable[[OSError], None] | None = None
        """Called with a failed write's error before it is raised (the writer stops)."""
        self._on_append = on_append
        shape = self.grid.shape
        names = [safe_name(f.name) for f in like.fields]
        reserved = {TIME, MONOTONIC, STATUS, ORDER, *self.grid.names}
        if len(set(names)) != len(names) or reserved & set(names):
            raise ValueError(
                f"sweep {self.name!r}: reader fields {names} must be distinct and none of "
                f"{sorted(reserved)}"
            )
        scales = self._coordinates(group, filters)
        memory: dict[str, tuple[np.dtype[Any], Any, str, str]] = {
            TIME: (np.dtype(np.int64), 0, "ns", "wall-clock time of the point, ns since 1970 UTC"),
            STATUS: (np.dtype(np.int8), POINT_NOT_TAKEN, "",
                     "-1 not taken, 0 ok, 1 in compliance, 2 skipped (compliance)"),
            ORDER: (np.dtype(np.int64), -1, "", "the order points were taken in: 0, 1, ..."),
        }  # fmt: skip
        if monotonic:
            memory[MONOTONIC] = (np.dtype(np.float64), np.nan, "s", "monotonic clock")
        for spec in like.fields:
            if spec.trailing is None:
                memory[safe_name(spec.name)] = (np.dtype(np.float64), np.nan, spec.units,
                                                spec.long_name)  # fmt: skip
        self._grids: dict[str, NDArray[Any]] = {}
        self._datasets: dict[str, h5py.Dataset] = {}
        for name, (dtype, fill, units, long_name) in memory.items():
            self._grids[name] = np.full(shape, fill, dtype=dtype)
            self._datasets[name] = self._dataset(group, name, shape, dtype, fill, units,
                                                 long_name, filters, scales)  # fmt: skip
        codes, words = status_flags(POINT_MEANINGS)
        self._datasets[STATUS].attrs["flag_values"] = codes.astype(np.int8)
        self._datasets[STATUS].attrs["flag_meanings"] = words
        self._traces: dict[str, h5py.Dataset] = {}
        for spec in like.fields:
            if spec.trailing is not None:
                axis_name, values, axis_units = spec.trailing
                scale = group.create_dataset(safe_name(axis_name), data=np.asarray(values))
                scale.attrs["units"] = axis_units
                scale.attrs["long_name"] = axis_name
                scale.make_scale(axis_name)
                dataset = self._dataset(
                    group, safe_name(spec.name), (*shape, len(values)), np.dtype(np.float64),
                    np.nan, spec.units, spec.long_name, filters, [*scales, scale],
                )  # fmt: skip
                self._traces[safe_name(spec.name)] = dataset
        signal = _signal(like, names)
        group.attrs["NX_class"] = "NXdata"
        group.attrs["signal"] = signal
        others = [n for n in names if n != signal]
        if others:
            group.attrs["auxiliary_signals"] = others
        axes = list(self.grid.names)
        first = next((f for f in like.fields if safe_name(f.name) == signal), None)
        if first is not None and first.trailing is not None:
            axes.append(first.trailing[0])
        group.attrs["axes"] = axes
        for index, axis in enumerate(axes):
            group.attrs[f"{axis}_indices"] = index
        group.attrs["sweep_axes"] = list(self.grid.names)
        group.attrs["sweep_parameters"] = list(self.grid.parameters)
        group.attrs["snake"] = self.grid.snake
        self._points = 0
        self._written = 0
        self._dirty: tuple[int, int] | None = None  # outer rows touched since the last write
        self._refusal: str | None = "the run has not started; call RunWriter.start() first"

    def _coordinates(self, group: h5py.Group, filters: dict[str, Any]) -> list[h5py.Dataset]:
        scales = []
        for name, values, units, parameter in zip(
            self.grid.names, self.grid.values, self.grid.units, self.grid.parameters, strict=True
        ):
            scale = group.create_dataset(safe_name(name), data=values)
            scale.attrs["units"] = units
            scale.attrs["long_name"] = parameter
            scale.make_scale(name)
            scales.append(scale)
        return scales

    @staticmethod
    def _dataset(
        group: h5py.Group, name: str, shape: tuple[int, ...], dtype: np.dtype[Any], fill: Any,
        units: str, long_name: str, filters: dict[str, Any], scales: list[h5py.Dataset],
    ) -> h5py.Dataset:  # fmt: skip
        chunk = list(chunk_shape(shape[1:], dtype.itemsize))
        chunk[0] = min(chunk[0], shape[0])
        dataset = group.create_dataset(name, shape=shape, dtype=dtype, fillvalue=fill,
                                       chunks=tuple(chunk), **filters)  # fmt: skip
        dataset.attrs["units"] = units
        dataset.attrs["long_name"] = long_name
        for dimension, scale in enumerate(scales):
            dataset.dims[dimension].label = scale.name.rsplit("/", 1)[-1]
            dataset.dims[dimension].attach_scale(scale)
        return dataset

    # -- what the writer asks of every stream ---------------------------------------------
    @property
    def rows(self) -> int:
        """Points taken so far (written or held)."""
        return self._points

    @property
    def rows_written(self) -> int:
        return self._written

    @property
    def datasets(self) -> dict[str, h5py.Dataset]:
        """The stream's grid datasets by name (coordinates excluded)."""
        return {**self._datasets, **self._traces}

    def __len__(self) -> int:
        return self._points

    def __repr__(self) -> str:
        return f"<SweepStream {self.name!r}: {self._points} of {self.grid.size} points>"

    def open(self) -> None:
        self._refusal = None

    def stop(self, reason: str) -> None:
        """Refuse points from now on and drop what is held (nothing more is written)."""
        self._refusal = reason
        self._dirty = None

    def close(self) -> None:
        self._refusal = "the run has ended"
        self.write_buffer()

    def _failed(self, error: BaseException) -> OSError:
        failed = write_failed(self.group.file.filename, error)
        if self.on_write_error is not None:
            self.on_write_error(failed)
        return failed

    # -- points ---------------------------------------------------------------------------
    def append(
        self,
        point: SweepPoint,
        *,
        monotonic: float | None = None,
        timestamp_ns: int | None = None,
    ) -> None:
        """Put one point in its place in the grid."""
        if self._refusal:
            raise RuntimeError(f"stream {self.name!r}: {self._refusal}")
        if not isinstance(point, SweepPoint):
            raise TypeError(f"stream {self.name!r} holds sweep points, got {type(point).__name__}")
        if point.grid.names != self.grid.names or point.grid.shape != self.grid.shape:
            raise ValueError(
                f"stream {self.name!r} is a sweep over {list(self.grid.names)} of shape "
                f"{self.grid.shape}; got a point of {list(point.grid.names)} {point.grid.shape}"
            )
        index = point.index
        grids = self._grids
        grids[TIME][index] = point.timestamp_ns if timestamp_ns is None else timestamp_ns
        grids[STATUS][index] = point.status
        grids[ORDER][index] = point.order
        if self.has_monotonic:
            grids[MONOTONIC][index] = np.nan if monotonic is None else monotonic
        for spec, value in zip(point.fields, point.values, strict=True):
            name = safe_name(spec.name)
            trace = self._traces.get(name)
            if trace is None:
                grids[name][index] = value
            else:
                self._write_trace(trace, index, value)
        row = index[0]
        low, high = self._dirty or (row, row)
        self._dirty = (min(low, row), max(high, row))
        self._points += 1
        self._on_append()

    def _write_trace(self, dataset: h5py.Dataset, index: tuple[int, ...], value: Any) -> None:
        trace = np.asarray(value, dtype=np.float64).reshape(1, -1)
        if trace.shape[1] != dataset.shape[-1]:
            raise ValueError(f"stream {self.name!r}: {dataset.name} holds {dataset.shape[-1]} "
                             f"points per trace, got {trace.shape[1]}")  # fmt: skip
        if self.before_write is not None:
            self.before_write(trace.nbytes)
        block = trace.reshape((1,) * len(index) + (trace.shape[1],))
        try:
            space = dataset.id.get_space()
            space.select_hyperslab((*index, 0), block.shape)
            dataset.id.write(h5py.h5s.create_simple(block.shape), space, block)
        except (OSError, RuntimeError) as error:
            raise self._failed(error) from error

    def write_buffer(self) -> None:
        """Write the outer rows touched since the last write (every scalar dataset)."""
        if self._dirty is None:
            return
        low, high = self._dirty
        rows = {name: grid[low : high + 1] for name, grid in self._grids.items()}
        if self.before_write is not None:
            self.before_write(sum(block.nbytes for block in rows.values()))
        try:
            for name, block in rows.items():
                _write_slice(self._datasets[name], low, np.ascontiguousarray(block))
        except (OSError, RuntimeError) as error:
            raise self._failed(error) from error
        self._dirty = None
        self._written = self._points


def _signal(like: SweepPoint, names: list[str]) -> str:
    """What NeXus tools plot: the first field measured in other units than the innermost
    axis is set in (an I-V sweep sets volts: its signal is the current), else the first."""
    set_units = like.grid.units[-1]
    for spec, name in zip(like.fields, names, strict=True):
        if spec.units != set_units:
            return name
    return names[0] if names else STATUS
