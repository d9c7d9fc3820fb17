"""One stream as the page draws it: time series, traces, sweeps or a table, decimated.

Readings are small per row, so their columns are cached and only new rows are read on each
update; traces and spectra are read one visible slice of the newest few records at a time.
Whatever the file holds, a payload has at most two values per pixel column and series.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrumentkit.acquisition import StreamData
from instrumentkit.cli._status import describe_code, status_meanings
from instrumentkit.errors import ValidationError
from instrumentkit.view._decimate import (
    column_edges,
    column_minmax,
    index_edges_sorted,
    interleave,
    json_numbers,
)
from instrumentkit.view._heatmap import Region, heat_map
from instrumentkit.view._sweeps import (
    Plane,
    is_grid,
    map_quantities,
    sweep_grid_payload,
    sweep_heat_map,
)
from instrumentkit.view._traces import numeric_rows, traces

__all__ = ["Columns", "plot_payload"]

TABLE_ROWS = 50
"""Rows of a table stream (the errors log) sent to the page, newest last."""


class Columns:
    """The rows of a readings stream read so far, grown in place as the file grows."""

    def __init__(self, names: tuple[str, ...] = ()) -> None:
        self.rows = 0
        self.time = np.empty(0)
        self.values = np.empty((0, len(names)))
        self.status: NDArray[np.int64] | None = None
        self.names = names

    def update(self, data: StreamData, rows: int) -> None:
        if rows < self.rows or data.signals != self.names:  # a new file under the same name
            self.__init__(data.signals)  # type: ignore[misc]
        if rows == self.rows:
            return
        new = slice(self.rows, rows)
        times = np.asarray(data.time[new], dtype=np.float64) / 1e9
        values = np.column_stack([np.asarray(data[s][new], dtype=np.float64) for s in self.names])
        self.time = _grow(self.time, times, rows)
        self.values = _grow(self.values, values, rows)
        if "status" in data.fields:
            status = np.asarray(data["status"][new], dtype=np.int64).reshape(len(times), -1)
            self.status = _grow(
                self.status if self.status is not None else np.empty((0, status.shape[1])),
                status,
                rows,
            )
        self.rows = rows


def _grow(kept: NDArray[Any], new: NDArray[Any], rows: int) -> NDArray[Any]:
    """`kept` (whose first len-of-new rows before `rows` are filled) with `new` appended."""
    start = rows - len(new)
    base = kept.base if kept.base is not None else kept
    if base.shape[0] < rows:  # double the capacity: appending stays O(1) per row
        bigger = np.empty((max(rows, 2 * base.shape[0]), *new.shape[1:]), dtype=new.dtype)
        bigger[:start] = kept[:start]
        base = bigger
    base[start:rows] = new
    return base[:rows]


def plot_payload(
    data: StreamData,
    kind: str,
    columns: Columns,
    rows: int,
    width: int,
    lo: float | None,
    hi: float | None,
    driver: str = "",
    region: Region | None = None,
    field: str | None = None,
    plane: Plane | None = None,
) -> dict[str, Any]:
    """The page's plot (or table) of one stream; `driver` names status codes old files lack.

    `lo`..`hi` zoom a line plot, `region` a heat map, `field` picks the quantity of a
    sweep's heat map and `plane` its plane; any of them on another plot is refused
    (ValidationError), so a script learns at once that it asked the wrong way.
    """
    quantities = map_quantities(data) if is_grid(data) else []
    if field is not None and not quantities:
        raise ValidationError(
            f"field selects the read quantity of a sweep's heat map; stream {data.name!r} "
            "is not a sweep over two axes or more"
        )
    if plane is not None and not quantities:
        raise ValidationError(
            f"outer selects the plane of a sweep's heat map; stream {data.name!r} is not a "
            "sweep over three axes or more drawn as a heat map"
        )
    is_map = bool(quantities) or (kind in ("arrays", "axis_arrays") and numeric_rows(data, 2))
    if is_map:
        if lo is not None or hi is not None:
            raise ValidationError(
                f"stream {data.name!r} is a heat map: zoom it with xindex=A:B and yindex=C:D "
                "(index ranges), not x0/x1"
            )
        if quantities:
            return sweep_heat_map(data, quantities, width, region, field, plane)
        return heat_map(data, rows, width, region)
    if region is not None:
        raise ValidationError(
            f"xindex/yindex select a region of a heat map; stream {data.name!r} is drawn as "
            "a line plot: zoom it with x0 and x1"
        )
    if is_grid(data):
        return sweep_grid_payload(data, width, lo, hi)
    if kind in ("readings", "sweep"):
        columns.update(data, rows)
        payload = _time_series(data, columns, width, lo, hi) if kind == "readings" else (
            _sweep(data, columns, width)
        )  # fmt: skip
        payload["invalid_counts"] = _invalid_counts(data, columns, driver)
        return payload
    if kind in ("waveforms", "spectra") or (
        kind in ("arrays", "axis_arrays") and numeric_rows(data, 1)
    ):
        return traces(data, kind, rows, width, lo, hi)
    return _table(data, rows)


# -- readings ----------------------------------------------------------------------------------
def _time_series(
    data: StreamData, columns: Columns, width: int, lo: float | None, hi: float | None
) -> dict[str, Any]:
    times, values = columns.time, columns.values
    if lo is None or hi is None:
        lo, hi = (float(times[0]), float(times[-1])) if times.size else (0.0, 1.0)
    first = int(np.searchsorted(times, lo, side="left"))
    last = int(np.searchsorted(times, hi, side="right"))
    invalid_rows = None if columns.status is None else columns.status != 0
    if last - first <= 2 * width:  # few enough to send as they are
        x = times[first:last]
        ys = values[first:last].T
        invalid = [
            x[invalid_rows[first:last, c]] if invalid_rows is not None else x[:0]
            for c in range(len(columns.names))
        ]
        decimated = False
    else:
        edges = column_edges(lo, hi, width)
        index = np.clip(index_edges_sorted(edges, times), first, last)
        low, high = column_minmax(values[index[0] : index[-1]].T, index)
        centers = (edges[:-1] + edges[1:]) / 2
        x = np.repeat(centers, 2)
        ys = interleave(low, high)
        invalid = []
        for c in range(len(columns.names)):
            if invalid_rows is None:
                invalid.append(centers[:0])
                continue
            _, marked = column_minmax(invalid_rows[index[0] : index[-1], c], index)
            invalid.append(centers[marked > 0])
        decimated = True
    return {
        "mode": "time",
        "x": json_numbers(x),
        "xlabel": "time",
        "xunits": "s",
        "range": [lo, hi],
        "decimated": decimated,
        "series": [
            {"label": name, "units": data.units.get(name, ""), "y": json_numbers(y)}
            for name, y in zip(columns.names, ys, strict=True)
        ],
        "invalid": [json_numbers(marks) for marks in invalid],
    }


def _invalid_counts(data: StreamData, columns: Columns, driver: str) -> list[dict[str, Any]]:
    if columns.status is None or not columns.status.size:
        return []
    codes, counts = np.unique(columns.status[columns.status != 0], return_counts=True)
    if not codes.size:
        return []
    meanings, bits = status_meanings(data["status"].attrs, driver)
    return [
        {"code": int(c), "count": int(n), "meaning": describe_code(int(c), meanings, bits)}
        for c, n in zip(codes, counts, strict=True)
    ]


def _sweep(data: StreamData, columns: Columns, width: int) -> dict[str, Any]:
    """A 1-D sweep: every reader's channel against the stepped parameter (first channel)."""
    stride = max(1, math.ceil(columns.rows / (4 * width)))  # sweeps are short; cap anyway
    x = columns.values[::stride, 0]
    names = columns.names
    return {
        "mode": "sweep",
        "x": json_numbers(x),
        "xlabel": names[0] if names else "parameter",
        "xunits": data.units.get(names[0], "") if names else "",
        "decimated": stride > 1,
        "series": [
            {
                "label": n,
                "units": data.units.get(n, ""),
                "y": json_numbers(columns.values[::stride, i]),
            }
            for i, n in enumerate(names)
            if i > 0
        ],
        "invalid": [],
    }


# -- tables ------------------------------------------------------------------------------------
def _table(data: StreamData, rows: int) -> dict[str, Any]:
    """The newest rows of a table stream (the errors log, peak tables) as text cells."""
    first = max(0, rows - TABLE_ROWS)
    table = np.asarray(data.data[first:rows])
    times = np.asarray(data.time[first:rows], dtype=np.float64) / 1e9
    names = list(table.dtype.names or ("value",))
    cells = []
    for when, row in zip(times.tolist(), table, strict=True):
        values = [row[name] for name in names] if table.dtype.names else [row]
        cells.append([when, *(_cell(v) for v in values)])
    return {"mode": "table", "columns": ["time", *names], "cells": cells, "first_row": first}


def _cell(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").rstrip("\0")
    if isinstance(value, np.ndarray):
        return np.array2string(value, threshold=8, precision=4)
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)
