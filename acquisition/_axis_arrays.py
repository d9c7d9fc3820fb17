"""Streams of AxisArrays: one array per row against its own named axes (NXdata).

    /entry/data/psd            NXdata, @signal="data", @axes=["time", "frequency"]
        time        (rows,)          int64 ns     dimension scale of axis 0
        monotonic   (rows,)          float64 s    (with monotonic=True)
        data        (rows, n)        the values, @units, @long_name
        frequency   (n,)             the axis: @units, dimension scale of data's axis 1

The axes are fixed when the stream is declared by its first record: every later record
must have the same axes (names, units, coordinates), as NeXus readers expect of NXdata.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from instrumentkit._axis_array import Axis, AxisArray
from instrumentkit.data import now_ns
from instrumentkit.errors import ValidationError

from ._layout import TIME
from ._records import _RecordStream
from ._streams import ColumnSpec, declare, time_columns

__all__ = ["AxisArrayStream"]


class AxisArrayStream(_RecordStream):
    """AxisArrays of one shape and one set of axes, one per row."""

    kind = "axis_arrays"

    def __init__(
        self,
        group: h5py.Group,
        like: AxisArray,
        *,
        monotonic: bool,
        filters: dict[str, Any],
        on_append: Callable[[], None],
    ) -> None:
        dtype = like.values.dtype
        fill = np.nan if dtype.kind in "fc" else 0
        long_name = like.long_name or str(group.attrs.get("long_name", ""))
        data = ColumnSpec("data", like.shape, dtype, like.units, long_name, fill=fill)
        specs = [*time_columns(monotonic), data]
        names = [axis.name for axis in like.axes]
        datasets = declare(group, specs, filters, signals=["data"], axes=[TIME, *names])
        for dimension, axis in enumerate(like.axes, start=1):
            scale = group.create_dataset(axis.name, data=_storable(axis))
            scale.attrs["units"] = axis.units
            scale.attrs["long_name"] = axis.name
            scale.make_scale(axis.name)
            datasets["data"].dims[dimension].label = axis.name
            datasets["data"].dims[dimension].attach_scale(scale)
        super().__init__(group, datasets, on_append=on_append)
        self.like = like

    def append(
        self,
        record: AxisArray,
        *,
        timestamp_ns: int | None = None,
        monotonic: float | None = None,
    ) -> None:
        """Append one AxisArray with the stream's axes (stamped with its own time)."""
        if not isinstance(record, AxisArray):
            raise TypeError(f"stream {self.name!r} holds AxisArrays, got a {type(record).__name__}")
        if record.shape != self.like.shape or not record.same_axes(self.like):
            raise ValidationError(
                f"stream {self.name!r} holds arrays of shape {self.like.shape} on the axes "
                f"{_axes_text(self.like.axes)}, fixed by its first record; got shape "
                f"{record.shape} on {_axes_text(record.axes)}. Other axes need another stream"
            )
        stamp = record.timestamp_ns if timestamp_ns is None else timestamp_ns
        self._put_one({TIME: stamp or now_ns(), "data": record.values}, monotonic)


def _storable(axis: Axis) -> NDArray[Any]:
    """Coordinates HDF5 can store: numbers as they are, text labels as UTF-8 bytes."""
    if axis.values.dtype.kind == "U":
        return np.char.encode(axis.values, "utf-8")
    if axis.values.dtype.kind not in "biufcS":
        raise TypeError(f"axis {axis.name!r}: cannot store coordinates of {axis.values.dtype}")
    return axis.values


def _axes_text(axes: tuple[Axis, ...]) -> str:
    return ", ".join(
        f"{a.name} [{a.units}] ({len(a.values)} points)" if a.units else
        f"{a.name} ({len(a.values)} points)" for a in axes
    )  # fmt: skip
