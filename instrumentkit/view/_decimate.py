"""Min/max decimation to a plot's pixel columns, so spikes survive and a page gets a few KB.

A column of pixels can show one vertical stroke: from the smallest to the largest value that
falls in it. Sending those two numbers per column draws the same picture as sending every
point, whatever the record length. Everything here is vectorized NumPy (`fmin.reduceat`), and
only the samples of the visible range are read.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "block_max",
    "column_edges",
    "column_minmax",
    "index_edges_sorted",
    "index_edges_uniform",
    "interleave",
    "json_numbers",
]

FloatArray = NDArray[np.float64]


def column_edges(lo: float, hi: float, width: int) -> FloatArray:
    """`width` + 1 equally spaced boundaries of the pixel columns between `lo` and `hi`."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0 if math.isfinite(lo) else 1.0
        lo = hi - 1.0
    return np.linspace(lo, hi, width + 1)


def index_edges_uniform(edges: FloatArray, x0: float, dx: float, points: int) -> NDArray[np.intp]:
    """Sample index where each column starts, for samples at `x0 + j * dx` (j < points)."""
    if not (math.isfinite(x0) and math.isfinite(dx)) or dx <= 0:
        x0, dx = 0.0, 1.0  # a record whose axis was not given: plot it against the index
    index = np.ceil((edges - x0) / dx)
    index[-1] = np.floor((edges[-1] - x0) / dx) + 1  # the last column includes its end
    return np.clip(index, 0, points).astype(np.intp)


def index_edges_sorted(edges: FloatArray, axis: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index where each column starts along an ascending `axis`; the last column includes
    a sample exactly on its end."""
    index = np.searchsorted(axis, edges, side="left")
    index[-1] = np.searchsorted(axis, edges[-1], side="right")
    return index.astype(np.intp)


def column_minmax(
    values: NDArray[np.generic], index_edges: NDArray[np.intp]
) -> tuple[FloatArray, FloatArray]:
    """Smallest and largest value of each column along the last axis (NaN where empty).

    `values` holds exactly the samples from `index_edges[0]` to `index_edges[-1]` (the caller
    reads only those); NaNs inside a column are ignored, an all-NaN column gives NaN.
    """
    edges = np.asarray(index_edges, dtype=np.intp) - int(index_edges[0])
    shape = (*values.shape[:-1], len(edges) - 1)
    low = np.full(shape, np.nan)
    high = np.full(shape, np.nan)
    filled = np.diff(edges) > 0
    if values.shape[-1] == 0 or not filled.any():
        return low, high
    data = np.asarray(values, dtype=np.float64)
    # Empty columns are left out of the starts: the reduction of a filled column then runs
    # to the start of the next filled one, which is where its own samples end.
    starts = edges[:-1][filled]
    low[..., filled] = np.fmin.reduceat(data, starts, axis=-1)
    high[..., filled] = np.fmax.reduceat(data, starts, axis=-1)
    return low, high


def interleave(low: FloatArray, high: FloatArray) -> FloatArray:
    """Columns as a line: min then max of each column, along the last axis (2x the length)."""
    out = np.empty((*low.shape[:-1], 2 * low.shape[-1]))
    out[..., 0::2] = low
    out[..., 1::2] = high
    return out


def block_max(values: NDArray[np.generic], down: int, across: int) -> FloatArray:
    """A 2-D array cut into `down` x `across` blocks, each replaced by its largest value
    (NaN-aware: a block with no number stays NaN), so a hot spot survives in a heat map."""
    rows, columns = values.shape
    padded = np.full((-(-rows // down) * down, -(-columns // across) * across), np.nan)
    padded[:rows, :columns] = values
    blocks = padded.reshape(padded.shape[0] // down, down, padded.shape[1] // across, across)
    return np.fmax.reduce(np.fmax.reduce(blocks, axis=3), axis=1)


def json_numbers(values: NDArray[Any]) -> list[float | None]:
    """Numbers for JSON: NaN and infinities (gaps, invalid readings) become null."""
    array = np.asarray(values, dtype=np.float64)
    rounded = array.tolist()
    if np.isfinite(array).all():
        return rounded
    return [v if math.isfinite(v) else None for v in rounded]
