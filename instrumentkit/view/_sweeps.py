"""A sweep stored as a grid (decision 0621) as the page draws it.

A 1-D sweep is a line per read quantity against its axis, NaN (a gap) where no point was
taken, points in compliance marked as invalid. A sweep over two axes or more is a heat map
(`_heatmap.map_cells`, so the same cells, region and zoom as a 2-D record) of one read
quantity over its last two axes, grey where no point was taken yet, its cells holding a
point in compliance listed; of a sweep over more axes the plane shown is the one asked
(`outer=`, indices along the outer axes), else the newest point's. A sweep
whose read quantities are all traces (a scope read at each point) has no number to colour:
its newest point's trace is drawn, on the trace's own axis, as a waveform would be.

Every dataset of a grid has its final shape from the start, so progress is counted from
the `status` grid (points taken), not from the datasets' extents.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from instrumentkit.acquisition import StreamData
from instrumentkit.errors import ValidationError
from instrumentkit.view._decimate import block_max, column_minmax, interleave, json_numbers
from instrumentkit.view._heatmap import Region, map_cells

__all__ = [
    "Plane",
    "grid_progress",
    "is_grid",
    "map_quantities",
    "parse_plane",
    "scalar_quantities",
    "sweep_grid_payload",
    "sweep_heat_map",
]


def is_grid(data: StreamData) -> bool:
    """A sweep stored as a grid (not the row sweep of instrumentkit 0.1)."""
    return data.kind == "sweep" and "sweep_axes" in data.attrs


Plane = tuple[int, ...]
"""Indices along a sweep's outer axes (all but the last two): one plane of its grid."""

BOOKKEEPING = frozenset(("time", "monotonic", "status", "order"))
"""Grid datasets that record how a point went, not what was read there."""


def map_quantities(data: StreamData) -> list[str]:
    """The read quantities a heat map can colour (none for a sweep over one axis)."""
    return scalar_quantities(data) if len(data.attrs["sweep_axes"]) > 1 else []


def scalar_quantities(data: StreamData) -> list[str]:
    """The read quantities with one number per grid point (not a trace), signal first."""
    axes = data.attrs["sweep_axes"]
    names = [*data.signals, *sorted(set(data.fields) - set(data.signals))]
    return [
        name
        for name in dict.fromkeys(names)
        if name in data.fields and name not in BOOKKEEPING and data.fields[name].ndim == len(axes)
    ]


def grid_progress(data: StreamData) -> tuple[int, float | None, float | None]:
    """(points taken, wall time of the latest in s, points per second so far)."""
    for dataset in data.fields.values():
        refresh = getattr(dataset, "refresh", None)
        if callable(refresh):
            refresh()
    times = np.asarray(data.fields["time"][()], dtype=np.float64).ravel()
    taken = times[times > 0] / 1e9
    if not taken.size:
        return 0, None, None
    span = float(taken.max() - taken.min())
    return int(taken.size), float(taken.max()), (taken.size - 1) / span if span > 0 else None


def sweep_grid_payload(
    data: StreamData, width: int, lo: float | None, hi: float | None
) -> dict[str, Any]:
    """The line plot of a grid sweep: every read quantity of a 1-D sweep against its axis,
    compliance marked; a sweep whose quantities are all traces: its newest point's trace."""
    axes = [str(a) for a in data.attrs["sweep_axes"]]
    scalar = scalar_quantities(data)
    status = np.asarray(data.fields["status"][()])
    if len(axes) > 1 or not scalar:
        payload = _newest_trace(data, width, lo, hi)
    else:
        x = np.asarray(data.axes[axes[0]][()], dtype=np.float64)
        payload = {
            "mode": "sweep",
            "x": json_numbers(x),
            "xlabel": axes[0],
            "xunits": data.units.get(axes[0], ""),
            "decimated": False,
            "series": [
                {"label": name, "units": data.units.get(name, ""),
                 "y": json_numbers(np.asarray(data.fields[name][()], dtype=np.float64))}
                for name in scalar
            ],
            "invalid": [json_numbers(x[status > 0])] * len(scalar),
        }  # fmt: skip
    payload["invalid_counts"] = _counts(data, status)
    return payload


def _newest_trace(
    data: StreamData, width: int, lo: float | None, hi: float | None
) -> dict[str, Any]:
    """The trace (scope record, spectrum) read at the newest point, on its own axis; the
    visible range only, min/max per pixel column when it holds more than 2 x width samples."""
    axes = [str(a) for a in data.attrs["sweep_axes"]]
    name = next(n for n in (data.signal, *data.fields) if data.fields[n].ndim == len(axes) + 1)
    dataset = data.fields[name]
    points = int(dataset.shape[-1])
    axis_name = data.dims.get(name, ("",))[-1]
    axis = data.axes.get(axis_name)
    if axis is not None and axis.shape == (points,) and axis.dtype.kind in "iuf":
        values = np.asarray(axis[()], dtype=np.float64)
    else:
        axis_name, values = "index", np.arange(points, dtype=np.float64)
    first, last = 0, points
    if lo is not None and hi is not None and (points < 2 or values[-1] >= values[0]):
        first = int(np.searchsorted(values, lo, side="left"))
        last = max(first, int(np.searchsorted(values, hi, side="right")))
    order = np.asarray(data.fields["order"][()])
    point: dict[str, float] = {}
    if order.size and order.max() >= 0:
        where = np.unravel_index(int(order.argmax()), order.shape)
        trace = np.asarray(dataset[(*where, slice(first, last))], dtype=np.float64)
        point = {a: float(data.axes[a][i]) for a, i in zip(axes, where, strict=True)}
    else:
        trace = np.full(last - first, np.nan)
    x, y = values[first:last], trace
    if last - first > 2 * width:
        edges = np.linspace(0, last - first, width + 1).round().astype(np.intp)
        low, high = column_minmax(trace, edges)
        x, y = np.repeat(x[edges[:-1]], 2), interleave(low, high)
    return {
        "mode": "traces",
        "x": json_numbers(x),
        "xlabel": axis_name,
        "xunits": data.units.get(axis_name, ""),
        "range": [float(values[first]), float(values[last - 1])] if last > first else [],
        "decimated": last - first > 2 * width,
        "points": points,
        "point": point,
        "series": [{"label": name, "units": data.units.get(name, ""), "y": json_numbers(y)}],
        "invalid": [],
    }


def _counts(data: StreamData, status: np.ndarray) -> list[dict[str, Any]]:
    meanings = data.flags.get("status", {}) if hasattr(data, "flags") else {}
    codes, counts = np.unique(status[status > 0], return_counts=True)
    return [
        {"code": int(c), "count": int(n), "meaning": meanings.get(int(c), f"status {int(c)}")}
        for c, n in zip(codes, counts, strict=True)
    ]


def parse_plane(text: str | None) -> Plane | None:
    """`outer=I,J,...` (one index per outer axis, outermost first) as a tuple; None: not
    given (the newest plane is shown)."""
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValidationError(
            f"outer={text!r}: expected one integer index per outer axis, comma-separated, "
            "outermost first (like xindex, an index, not an axis value), e.g. outer=2,0"
        ) from None


def _chosen_plane(name: str, axes: list[str], shape: tuple[int, ...], plane: Plane) -> Plane:
    """`plane` checked against the sweep's outer axes (ValidationError saying what fits)."""
    text = ",".join(str(i) for i in plane)
    if not shape:
        raise ValidationError(
            f"outer={text}: sweep {name!r} has two axes ({', '.join(axes)}), so its whole "
            "grid is the map; outer picks the plane of a sweep over three axes or more"
        )
    if len(plane) != len(shape):
        raise ValidationError(
            f"outer={text}: sweep {name!r} has {len(shape)} outer "
            f"axis{'es' if len(shape) > 1 else ''} ({', '.join(axes[:-2])}); give one "
            f"index per outer axis, comma-separated, outermost first"
        )
    for axis, index, size in zip(axes[:-2], plane, shape, strict=True):
        if not 0 <= index < size:
            raise ValidationError(
                f"outer={text}: index {index} is outside axis {axis!r}, which has {size} "
                f"values (indices 0..{size - 1})"
            )
    return plane


def sweep_heat_map(
    data: StreamData,
    quantities: list[str],
    width: int,
    region: Region | None,
    field: str | None,
    plane: Plane | None = None,
) -> dict[str, Any]:
    """One read quantity (`field`, else the signal) over the sweep's last two axes, the
    outer axes (if any) at `plane`'s indices, else at the newest point's; zoomed like any
    heat map. `compliance` lists the cells holding a point in compliance."""
    chosen = quantities[0] if field is None else field
    if chosen not in quantities:
        raise ValidationError(
            f"field={field!r}: sweep {data.name!r} has no such read quantity; it has "
            f"{', '.join(quantities)}"
        )
    axes = [str(a) for a in data.attrs["sweep_axes"]]
    coords = [np.asarray(data.axes[a][()], dtype=np.float64) for a in axes]
    outer_shape = tuple(len(c) for c in coords[:-2])
    newest = _newest_plane(np.asarray(data.fields["order"][()]), outer_shape)
    outer = newest if plane is None else _chosen_plane(data.name, axes, outer_shape, plane)
    dataset = data.fields[chosen]

    def read(down: slice, across: slice) -> np.ndarray:
        return np.asarray(dataset[(*outer, down, across)], dtype=np.float64)

    y, x = ((a, c, data.units.get(a, "")) for a, c in zip(axes[-2:], coords[-2:], strict=True))
    payload = map_cells(read, y, x, data.units.get(chosen, ""), width, region)
    status = np.asarray(data.fields["status"][()])
    shown = status[outer]
    (y0, y1), (x0, x1) = payload["yindex"], payload["xindex"]
    in_compliance = block_max((shown[y0:y1, x0:x1] > 0).astype(np.float64), *payload["cell"])
    payload.update(
        field=chosen,
        fields=[{"name": n, "units": data.units.get(n, ""), "long_name": data.long_names.get(n, "")}
                for n in quantities],
        outer=[{"name": a, "value": float(c[i]), "index": int(i), "units": data.units.get(a, ""),
                "values": json_numbers(c)}
               for a, c, i in zip(axes[:-2], coords[:-2], outer, strict=True)],
        newest=list(newest),
        taken=int((shown >= 0).sum()),
        compliance=np.argwhere(in_compliance > 0).tolist(),
        invalid=[],
        invalid_counts=_counts(data, status),
    )  # fmt: skip
    return payload


def _newest_plane(order: np.ndarray, outer_shape: tuple[int, ...]) -> Plane:
    """Outer indices of the newest point taken (`order`'s largest); the first plane before
    any point was taken."""
    if order.size == 0 or order.max() < 0:
        return tuple(0 for _ in outer_shape)
    where = np.unravel_index(int(order.argmax()), order.shape)
    return tuple(int(i) for i in where[: len(outer_shape)])
