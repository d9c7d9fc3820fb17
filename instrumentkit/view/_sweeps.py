"""A sweep stored as a grid (decision 0621) as the page draws it.

A 1-D sweep is a line per read quantity against its axis, NaN (a gap) where no point was
taken, points in compliance marked as invalid. A sweep over two axes or more is a heat map
(`_heatmap.map_cells`, so the same cells, region and zoom as a 2-D record) of one read
quantity over its last two axes, grey where no point was taken yet; of a sweep over more
axes the plane shown is the one at the outer axes' values of the newest point. A sweep
whose fields are all traces has no quantity to colour: up to MAX_LINES lines of its
signal against the innermost axis, one per outer point, as before.

Every dataset of a grid has its final shape from the start, so progress is counted from
the `status` grid (points taken), not from the datasets' extents.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from instrumentkit.acquisition import StreamData
from instrumentkit.errors import ValidationError
from instrumentkit.view._decimate import json_numbers
from instrumentkit.view._heatmap import Region, map_cells

__all__ = [
    "MAX_LINES",
    "grid_progress",
    "is_grid",
    "map_quantities",
    "sweep_grid_payload",
    "sweep_heat_map",
]

MAX_LINES = 16
"""Lines of a 2-D (or N-D) sweep drawn at most: the latest outer points."""


def is_grid(data: StreamData) -> bool:
    """A sweep stored as a grid (not the row sweep of instrumentkit 0.1)."""
    return data.kind == "sweep" and "sweep_axes" in data.attrs


BOOKKEEPING = frozenset(("time", "monotonic", "status", "order"))
"""Grid datasets that record how a point went, not what was read there."""


def map_quantities(data: StreamData) -> list[str]:
    """The read quantities a heat map can colour: one number per grid point (not a trace),
    signal first; none for a sweep over fewer than two axes."""
    axes = data.attrs["sweep_axes"]
    if len(axes) < 2:
        return []
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


def sweep_grid_payload(data: StreamData) -> dict[str, Any]:
    """The plot of a grid sweep: the signal (or every scalar field of a 1-D sweep) against
    the innermost axis; compliance marked per line."""
    axes = [str(a) for a in data.attrs["sweep_axes"]]
    inner = axes[-1]
    x = np.asarray(data.axes[inner][()], dtype=np.float64)
    status = np.asarray(data.fields["status"][()]).reshape(-1, len(x))
    order = np.asarray(data.fields["order"][()]).reshape(-1, len(x))
    scalar = [s for s in data.signals if np.ndim(data.fields[s]) == len(axes)]
    if len(axes) == 1:
        lines = [(name, name, 0) for name in scalar]
    else:
        outer = [np.asarray(data.axes[a][()]) for a in axes[:-1]]
        touched = [i for i in range(status.shape[0]) if (status[i] >= 0).any()]
        touched.sort(key=lambda i: int(order[i].max()))
        lines = []
        for row in touched[-MAX_LINES:] or [0]:
            where = np.unravel_index(row, [len(v) for v in outer])
            named = zip(axes[:-1], outer, where, strict=True)
            label = ", ".join(f"{a}={float(v[i]):.4g}" for a, v, i in named)
            lines.append((label, data.signal, row))
    series, invalid = [], []
    for label, field, row in lines:
        values = np.asarray(data.fields[field][()], dtype=np.float64).reshape(-1, len(x))[row]
        series.append({"label": label, "units": data.units.get(field, ""),
                       "y": json_numbers(values)})  # fmt: skip
        invalid.append(json_numbers(x[status[row] > 0]))
    return {
        "mode": "sweep",
        "x": json_numbers(x),
        "xlabel": inner,
        "xunits": data.units.get(inner, ""),
        "decimated": len(lines) < status.shape[0] and len(axes) > 1,
        "series": series,
        "invalid": invalid,
        "invalid_counts": _counts(data, status),
    }


def _counts(data: StreamData, status: np.ndarray) -> list[dict[str, Any]]:
    meanings = data.flags.get("status", {}) if hasattr(data, "flags") else {}
    codes, counts = np.unique(status[status > 0], return_counts=True)
    return [
        {"code": int(c), "count": int(n), "meaning": meanings.get(int(c), f"status {int(c)}")}
        for c, n in zip(codes, counts, strict=True)
    ]


def sweep_heat_map(
    data: StreamData, quantities: list[str], width: int, region: Region | None, field: str | None
) -> dict[str, Any]:
    """One read quantity (`field`, else the signal) over the sweep's last two axes, the
    outer axes (if any) at the newest point's values; zoomed like any heat map."""
    chosen = quantities[0] if field is None else field
    if chosen not in quantities:
        raise ValidationError(
            f"field={field!r}: sweep {data.name!r} has no such read quantity; it has "
            f"{', '.join(quantities)}"
        )
    axes = [str(a) for a in data.attrs["sweep_axes"]]
    coords = [np.asarray(data.axes[a][()], dtype=np.float64) for a in axes]
    plane = (len(coords[-2]), len(coords[-1]))
    order = np.asarray(data.fields["order"][()]).reshape(-1, *plane)
    newest = int(np.unravel_index(int(order.argmax()), order.shape)[0]) if order.max() >= 0 else 0
    outer = np.unravel_index(newest, [len(c) for c in coords[:-2]]) if len(axes) > 2 else ()
    dataset = data.fields[chosen]

    def read(down: slice, across: slice) -> np.ndarray:
        return np.asarray(dataset[(*outer, down, across)], dtype=np.float64)

    y, x = ((a, c, data.units.get(a, "")) for a, c in zip(axes[-2:], coords[-2:], strict=True))
    payload = map_cells(read, y, x, data.units.get(chosen, ""), width, region)
    status = np.asarray(data.fields["status"][()]).reshape(-1, *plane)
    payload.update(
        field=chosen,
        fields=[{"name": n, "units": data.units.get(n, ""), "long_name": data.long_names.get(n, "")}
                for n in quantities],
        outer=[{"name": a, "value": float(c[i]), "index": int(i), "units": data.units.get(a, "")}
               for a, c, i in zip(axes[:-2], coords[:-2], outer, strict=True)],
        taken=int((status[newest] >= 0).sum()),
        invalid=[],
        invalid_counts=_counts(data, status),
    )  # fmt: skip
    return payload
