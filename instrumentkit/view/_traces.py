"""Records as the page draws them: the newest traces or spectra (2-D maps: `_heatmap`).

Only the newest few records are read, and of them only the visible slice; a slice larger
than the plot is cut to min/max per pixel column.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrumentkit.acquisition import StreamData
from instrumentkit.view._decimate import (
    column_edges,
    column_minmax,
    index_edges_sorted,
    index_edges_uniform,
    interleave,
    json_numbers,
)

__all__ = ["TRACES", "numeric_rows", "traces"]

TRACES = 4
"""Records drawn for waveforms and spectra: the newest and the previous ones, faded."""


def numeric_rows(data: StreamData, ndim: int) -> bool:
    signal = data.data
    return signal.dtype.names is None and signal.dtype.kind in "iuf" and signal.ndim == ndim + 1


def traces(
    data: StreamData, kind: str, rows: int, width: int, lo: float | None, hi: float | None
) -> dict[str, Any]:
    """The newest record and the previous few, min/max per pixel column of the visible range."""
    signal = data.data
    points = int(signal.shape[1])
    first = max(0, rows - TRACES)
    records = range(first, rows)
    axis_name, axis = _record_axis(data, kind, points)
    if kind == "waveforms":
        x0 = np.asarray(data["x0"][first:rows], dtype=np.float64)
        dx = np.asarray(data["dx"][first:rows], dtype=np.float64)
        extent = _uniform_extent(x0, dx, points)
    else:
        x0 = dx = None
        extent = (float(axis[0]), float(axis[-1])) if points else (0.0, 1.0)
    if lo is None or hi is None:
        lo, hi = extent
    raw = _raw_traces(data, signal, records, axis_name, axis, x0, dx, lo, hi, width)
    if raw is not None:
        return raw
    edges = column_edges(lo, hi, width)
    centers = (edges[:-1] + edges[1:]) / 2
    # Always TRACES series (empty ones first while the run has fewer records), so the page
    # keeps one plot instead of rebuilding it as records arrive.
    empty = json_numbers(np.full(2 * width, np.nan))
    series = [
        {"label": "", "units": data.units.get(data.signal, ""), "y": empty, "faded": True}
        for _ in range(TRACES - len(records))
    ]
    for n, record in enumerate(records):
        if x0 is not None and dx is not None:
            index = index_edges_uniform(edges, float(x0[n]), float(dx[n]), points)
        else:
            index = index_edges_sorted(edges, axis)
        samples = np.asarray(signal[record, int(index[0]) : int(index[-1])])
        low, high = column_minmax(samples, index)
        series.append(
            {
                "label": f"record {record}",
                "units": data.units.get(data.signal, ""),
                "y": json_numbers(interleave(low, high)),
                "faded": record != rows - 1,
            }
        )
    return {
        "mode": "traces",
        "x": json_numbers(np.repeat(centers, 2)),
        "xlabel": axis_name,
        "xunits": data.units.get("x0" if kind == "waveforms" else axis_name, ""),
        "range": [lo, hi],
        "decimated": True,
        "points": points,
        "series": series,
        "invalid": [],
        "invalid_counts": [],
    }


def _raw_traces(
    data: StreamData,
    signal: Any,
    records: range,
    axis_name: str,
    axis: NDArray[np.float64],
    x0: NDArray[np.float64] | None,
    dx: NDArray[np.float64] | None,
    lo: float,
    hi: float,
    width: int,
) -> dict[str, Any] | None:
    """Records whose visible samples fit in 2 x width, as they are (None: decimate them).

    Waveforms qualify only when every record shares the newest one's x0 and dx, since the
    records then share one x axis.
    """
    points = int(signal.shape[1])
    if x0 is not None and dx is not None:
        if x0.size == 0:  # declared, no record yet: nothing to send as it is
            return None
        if not (np.array_equal(x0, x0[-1:].repeat(x0.size)) and np.all(dx == dx[-1])):
            return None
        start, step = float(x0[-1]), float(dx[-1])
        if not (math.isfinite(start) and math.isfinite(step) and step > 0):
            start, step = 0.0, 1.0
        first = max(0, math.ceil((lo - start) / step))
        last = min(points, math.floor((hi - start) / step) + 1)
        x = start + step * np.arange(first, max(first, last))
    else:
        first = int(np.searchsorted(axis, lo, side="left"))
        last = int(np.searchsorted(axis, hi, side="right"))
        x = axis[first:last]
    if last - first > 2 * width:
        return None
    block = np.asarray(signal[records.start : records.stop, first : max(first, last)])
    blank = json_numbers(np.full(x.size, np.nan))
    units = data.units.get(data.signal, "")
    series = [{"label": "", "units": units, "y": blank, "faded": True}] * (TRACES - len(block))
    series += [
        {
            "label": f"record {record}",
            "units": units,
            "y": json_numbers(y),
            "faded": record != records.stop - 1,
        }
        for record, y in zip(records, block, strict=True)
    ]
    return {
        "mode": "traces",
        "x": json_numbers(x),
        "xlabel": axis_name,
        "xunits": data.units.get("x0" if x0 is not None else axis_name, ""),
        "range": [lo, hi],
        "decimated": False,
        "points": points,
        "series": series,
        "invalid": [],
        "invalid_counts": [],
    }


def _record_axis(data: StreamData, kind: str, points: int) -> tuple[str, NDArray[np.float64]]:
    """The axis of a record's samples: time for waveforms, the stream's axis for spectra."""
    if kind == "waveforms":
        return "time", np.empty(0)
    axes = [str(a) for a in np.atleast_1d(data.attrs.get("axes", ()))]
    for name in axes[1:2]:
        if name in data.axes and data.axes[name].shape == (points,):
            axis = np.asarray(data.axes[name][()], dtype=np.float64)
            if points < 2 or axis[-1] >= axis[0]:
                return name, axis
    return "index", np.arange(points, dtype=np.float64)


def _uniform_extent(x0: NDArray[np.float64], dx: NDArray[np.float64], points: int) -> tuple:
    start = float(x0[-1]) if x0.size and math.isfinite(x0[-1]) else 0.0
    step = float(dx[-1]) if dx.size and math.isfinite(dx[-1]) and dx[-1] > 0 else 1.0
    return start, start + step * max(points - 1, 1)
