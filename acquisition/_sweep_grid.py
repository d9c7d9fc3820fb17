"""What a sweep is, without instruments: its axes, the order it visits its grid, the
record of one point, and how the point's readers' data are laid out (decision 0621).

A sweep steps through the grid of its axes (outer to inner, like nested loops), with
`snake=True` reversing every inner axis on alternate passes so no level jumps back
across its whole range between two points. Each point is one `SweepPoint`: its grid
index, the values its readers gave (scalars per channel, or a trace or spectrum) and a
status. The run file stores the points in place in arrays shaped like the grid
(`_sweep_stream.py`), so a sweep stopped early leaves NaN where it never went.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "POINT_COMPLIANCE",
    "POINT_MEANINGS",
    "POINT_NOT_TAKEN",
    "POINT_OK",
    "POINT_SKIPPED",
    "FieldSpec",
    "SweepAxis",
    "SweepGrid",
    "SweepPoint",
    "grid_order",
]

POINT_NOT_TAKEN = -1
"""Status of a grid point the sweep never reached (its values are NaN)."""
POINT_OK = 0
POINT_COMPLIANCE = 1
"""A source was in compliance (its limit, not its level, held the output); values kept."""
POINT_SKIPPED = 2
"""In compliance with `on_compliance: skip`: the values are NaN."""
POINT_MEANINGS = {
    POINT_NOT_TAKEN: "not taken", POINT_OK: "valid",
    POINT_COMPLIANCE: "in compliance", POINT_SKIPPED: "skipped in compliance",
}  # fmt: skip
"""The status codes as CF flags (`flag_values`, `flag_meanings` of the `status` grid)."""


@dataclass(frozen=True)
class SweepAxis:
    """One axis: its name, its values, and how to set one.

    `set` takes one value; for an axis on a source output's level it is the output's
    `ramp_to`, so the level moves no faster than its slew limit. `output` is that source
    output (None for any other setting): the sweep turns it on before the first point.
    `settle` is extra seconds to wait after this axis moved.
    """

    name: str
    values: NDArray[np.float64]
    set: Callable[[float], Any]
    units: str = ""
    parameter: str = ""
    settle: float = 0.0
    output: Any = None
    device: Any = None
    """The instrument the axis sets (its error queue is read, its link resynced)."""

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64).reshape(-1)
        if values.size == 0:
            raise ValueError(f"sweep axis {self.name!r}: no values to step through")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"sweep axis {self.name!r}: every value must be a finite number")
        if self.settle < 0:
            raise ValueError(f"sweep axis {self.name!r}: settle must be >= 0 s")
        object.__setattr__(self, "values", values)


@dataclass(frozen=True)
class SweepGrid:
    """The axes' names, coordinates and units: what the run file's coordinates hold."""

    names: tuple[str, ...]
    values: tuple[NDArray[np.float64], ...]
    units: tuple[str, ...]
    parameters: tuple[str, ...]
    snake: bool = False

    @classmethod
    def of(cls, axes: Sequence[SweepAxis], snake: bool = False) -> SweepGrid:
        names = tuple(a.name for a in axes)
        if len(set(names)) != len(names):
            raise ValueError(f"sweep axes {list(names)} must have distinct names")
        return cls(names, tuple(a.values for a in axes), tuple(a.units for a in axes),
                   tuple(a.parameter or a.name for a in axes), snake)  # fmt: skip

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.values)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclass(frozen=True)
class FieldSpec:
    """One dataset of a sweep stream besides the coordinates: a reader's channel, trace
    or spectrum. `trailing` names the axis of a trace or spectrum: (name, values, units)."""

    name: str
    units: str
    long_name: str
    trailing: tuple[str, NDArray[Any], str] | None = None


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: where in the grid, what was read, in which order, how it went."""

    grid: SweepGrid
    index: tuple[int, ...]
    fields: tuple[FieldSpec, ...]
    values: tuple[Any, ...]  # one per field: a float, or a 1-D array for a trace
    status: int = POINT_OK
    order: int = 0
    timestamp_ns: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def coordinates(self) -> dict[str, float]:
        """The axis values of this point, by axis name."""
        return {
            name: float(values[i])
            for name, values, i in zip(self.grid.names, self.grid.values, self.index, strict=True)
        }


def grid_order(shape: Sequence[int], snake: bool = False) -> Iterator[tuple[int, ...]]:
    """Every index of the grid, outer axis slowest; with `snake`, an inner axis runs
    backwards on every other pass of the axes outside it."""
    shape = tuple(int(n) for n in shape)
    for counters in np.ndindex(*shape):
        if not snake:
            yield tuple(int(c) for c in counters)
            continue
        index = [int(counters[0])]
        for dim in range(1, len(shape)):
            # The pass number of this axis is how many prefixes came before: the prefix's
            # position in plain order, whatever direction its own axes ran.
            passes = int(np.ravel_multi_index(counters[:dim], shape[:dim]))
            count = int(counters[dim])
            index.append(shape[dim] - 1 - count if passes % 2 else count)
        yield tuple(index)
