"""A sweep stored as a grid (decision 0621) as the page draws it: the signal against the
innermost axis, one line per point of the outer axes (at most MAX_LINES), NaN (a gap)
where no point was taken, points in compliance marked as invalid.

Every dataset of a grid has its final shape from the start, so progress is counted from
the `status` grid (points taken), not from the datasets' extents.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from instrumentkit.acquisition import StreamData
from instrumentkit.view._decimate import json_numbers

__all__ = ["MAX_LINES", "grid_progress", "is_grid", "sweep_grid_payload"]

MAX_LINES = 16
"""Lines of a 2-D (or N-D) sweep drawn at most: the latest outer points."""


def is_grid(data: StreamData) -> bool:
    """A sweep stored as a grid (not the row sweep of instrumentkit 0.1)."""
    return data.kind == "sweep" and "sweep_axes" in data.attrs


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
