"""Maps over two axes as heat maps (2-D records here, 2-D sweeps in `_sweeps`): the whole
map or a zoomed region of it.

A region is a half-open range of indices along each axis (`xindex=A:B`, `yindex=C:D`), as the
map is a grid of samples: exact whatever the axis values are (descending, uneven). Only the
region is read from the file, and it is cut into at most `width` x `width/2` cells, each the
largest value it holds, so a zoomed region comes at full detail up to the pixel budget and a
payload stays bounded whatever the map's size.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from instrumentkit.acquisition import StreamData
from instrumentkit.errors import ValidationError
from instrumentkit.view._decimate import block_max, json_numbers

__all__ = ["MapAxis", "Region", "heat_map", "map_cells", "parse_index_range"]

Span = tuple[int | None, int | None]
Region = tuple[Span, Span]
"""(x span, y span) as asked: start and stop indices, None for an end not given."""


def parse_index_range(name: str, text: str | None) -> Span:
    """`A:B`, `A:` or `:B` (integers, half-open) as a span; no text: the whole axis."""
    if text is None or text in ("", ":"):
        return (None, None)
    start, colon, stop = text.partition(":")
    try:
        if not colon:
            raise ValueError(text)
        span = (int(start) if start else None, int(stop) if stop else None)
    except ValueError:
        raise ValidationError(
            f"{name}={text!r}: expected START:STOP, two integer indices (half-open, like a "
            f"Python slice; either may be left out), e.g. {name}=10:50"
        ) from None
    return span


def _bounds(name: str, span: Span, size: int, what: str) -> tuple[int, int]:
    start = 0 if span[0] is None else span[0]
    stop = size if span[1] is None else span[1]
    if size == 0 and span == (None, None):
        return 0, 0  # a map declared with no points along this axis: nothing to cut
    if not 0 <= start < stop <= size:
        raise ValidationError(
            f"{name}={_text(span)}: the map has {size} {what} (indices 0:{size}); ask for "
            "START:STOP with 0 <= START < STOP <= that size"
        )
    return start, stop


def _text(span: Span) -> str:
    return ":".join("" if v is None else str(v) for v in span)


MapAxis = tuple[str, NDArray[np.float64], str]
"""One axis of a map: (name, values, units)."""
ReadCells = Callable[[slice, slice], NDArray[np.float64]]
"""Reads the map's points of a (rows, columns) slice from the file."""


def heat_map(data: StreamData, rows: int, width: int, region: Region | None = None) -> dict:
    """The newest 2-D record as colour cells (the region asked, or the whole map).

    Unmeasured points are NaN (null), so a map filling in point by point shows its gaps.
    """
    shape = tuple(int(n) for n in data.data.shape[1:3])
    (y_name, y_axis), (x_name, x_axis) = _map_axes(data, shape)

    def read(down: slice, across: slice) -> NDArray[np.float64]:
        if not rows:
            return np.full((len(y_axis[down]), len(x_axis[across])), np.nan)
        return np.asarray(data.data[rows - 1, down, across], dtype=np.float64)

    y = (y_name, y_axis, data.units.get(y_name, ""))
    x = (x_name, x_axis, data.units.get(x_name, ""))
    return map_cells(read, y, x, data.units.get(data.signal, ""), width, region)


def map_cells(
    read: ReadCells, y: MapAxis, x: MapAxis, units: str, width: int, region: Region | None
) -> dict:
    """Any map over two axes (a record, a plane of a sweep's grid) as colour cells: only the
    region is read, cut into at most `width` x `width/2` cells of their largest value;
    `zrange` and the counts are those of the region shown."""
    (y_name, y_axis, y_units), (x_name, x_axis, x_units) = y, x
    shape = (len(y_axis), len(x_axis))
    (xs, ys) = region or ((None, None), (None, None))
    x0, x1 = _bounds("xindex", xs, shape[1], "columns along x")
    y0, y1 = _bounds("yindex", ys, shape[0], "rows along y")
    record = read(slice(y0, y1), slice(x0, x1))
    across = max(1, math.ceil(record.shape[1] / width))
    down = max(1, math.ceil(record.shape[0] / max(1, width // 2)))
    cells = block_max(record, down, across)
    finite = record[np.isfinite(record)]
    return {
        "mode": "heatmap",
        "x": json_numbers(x_axis[x0:x1:across]),
        "y": json_numbers(y_axis[y0:y1:down]),
        "xlabel": x_name, "ylabel": y_name, "xunits": x_units, "yunits": y_units,
        "units": units,
        "z": [json_numbers(row) for row in cells],
        "zrange": [float(finite.min()), float(finite.max())] if finite.size else None,
        "filled": int(finite.size), "points": int(record.size),
        "shape": list(shape), "xindex": [x0, x1], "yindex": [y0, y1],
        "xrange": _ends(x_axis[x0:x1]), "yrange": _ends(y_axis[y0:y1]),
        "cell": [down, across],
        "decimated": across > 1 or down > 1,
    }  # fmt: skip


def _ends(axis: NDArray[np.float64]) -> list[float | None]:
    """Axis values of the region's first and last index (what its edges show)."""
    return json_numbers(axis[[0, -1]]) if axis.size else []


def _map_axes(data: StreamData, shape: tuple[int, ...]) -> list[tuple[str, NDArray[np.float64]]]:
    """(name, values) of the map's y then x axis; the index where the file has no such axis."""
    names = [str(a) for a in np.atleast_1d(data.attrs.get("axes", ()))][1:3]
    coords = []
    for dim, name in enumerate(names or ("row", "column")):
        axis = data.axes.get(name)
        size = shape[dim]
        valid = axis is not None and axis.shape == (size,) and axis.dtype.kind in "iuf"
        values = np.asarray(axis[()], dtype=np.float64) if valid else np.arange(size, dtype=float)
        coords.append((name, values))
    return coords
