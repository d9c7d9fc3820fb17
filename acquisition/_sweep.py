"""SweepSource: a stepped experiment in N dimensions, one grid point per poll.

    SweepSource(axes=[SweepAxis("psu.channels.1.voltage", [0, 1, 2], set=ch1.ramp_to,
                                output=ch1),
                      SweepAxis("smu.level", np.linspace(0, 0.8, 41), set=smu.ramp_to,
                                output=smu)],
                readers={"smu": smu, "dmm": dmm}, stream="gate", snake=True)
    SweepSource("bias", np.linspace(0, 1, 11), set=psu_setter, readers={"dmm": dmm})  # 1-D

Per point: set the axes that move (outer first: a level through its output's `ramp_to`,
so no faster than the slew limit), wait `settle` (and the moved axes' own settle), read
every reader, and return one `SweepPoint`. Before the first point the swept outputs are
turned on at their first level; after the last (or when the run stops early, or fails)
`finish()` makes them, and every instrument in `sources`, safe. A source in compliance
marks the point (status 1); `on_compliance` "skip" drops its values, "stop" ends the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from instrumentkit.data import now_ns
from instrumentkit.errors import InstrumentError
from instrumentkit.sourcing import SourceOutputMixin

from ._sources import Record, Source
from ._sweep_grid import (
    POINT_COMPLIANCE,
    POINT_SKIPPED,
    SweepAxis,
    SweepGrid,
    SweepPoint,
    grid_order,
)
from ._sweep_read import SweepReader, reader_for

__all__ = ["ComplianceStop", "SweepSource"]

OnCompliance = Literal["continue", "skip", "stop"]


class ComplianceStop(InstrumentError):
    """A source went into compliance during a sweep with `on_compliance: stop`."""

    stops_run = True  # whatever the instrument's on_error policy says


class SweepSource(Source):
    """Steps through the grid of `axes` and reads every reader at each point."""

    def __init__(
        self,
        parameter: str | None = None,
        values: ArrayLike | None = None,
        *,
        set: Callable[[Any], Any] | None = None,
        readers: Mapping[str, Any],
        axes: Sequence[SweepAxis] | None = None,
        settle: float = 0.0,
        snake: bool = False,
        on_compliance: OnCompliance = "continue",
        sources: Mapping[str, Any] | None = None,
        stream: str = "sweep",
        units: str = "",
        instrument: str | None = None,
        rate: float | None = None,
    ) -> None:
        if axes is None:
            if parameter is None or values is None or set is None:
                raise ValueError(f"sweep {stream!r}: give axes, or parameter, values and set")
            axes = [SweepAxis(parameter, np.asarray(values, dtype=np.float64), set, units,
                              device=_partial_target(set))]  # fmt: skip
        elif parameter is not None or values is not None or set is not None:
            raise ValueError(f"sweep {stream!r}: give axes or parameter/values/set, not both")
        if not axes:
            raise ValueError(f"sweep {stream!r}: no axes to step through")
        if not readers:
            raise ValueError(f"sweep {stream!r}: name at least one sensor (or scope...) to read")
        if settle < 0:
            raise ValueError(f"sweep {stream!r}: settle must be >= 0 s, got {settle}")
        if on_compliance not in ("continue", "skip", "stop"):
            raise ValueError(f"sweep {stream!r}: on_compliance must be continue, skip or stop")
        self.axes = list(axes)
        self.grid = SweepGrid.of(self.axes, snake)
        super().__init__(instrument=instrument or stream, streams=[stream], rate=rate,
                         count=self.grid.size)  # fmt: skip
        self.readers: list[SweepReader] = [reader_for(n, d) for n, d in readers.items()]
        self.settle = settle
        self.snake = snake
        self.on_compliance = on_compliance
        self.sources = dict(sources or {})
        self.safety_problems: list[str] = []
        self._order = grid_order(self.grid.shape, snake)
        self._taken = 0
        self._last: tuple[int, ...] | None = None
        self._stopping: ComplianceStop | None = None
        self._fields: tuple[Any, ...] | None = None

    # -- compatibility with the 1-D sweep of 0.1
    @property
    def parameter(self) -> str:
        return self.axes[0].name

    @property
    def values(self) -> np.ndarray:
        return self.axes[0].values

    def devices(self) -> list[Any]:
        found: list[Any] = []
        for device in [*(a.device for a in self.axes), *(r.device for r in self.readers)]:
            if device is not None and all(device is not d for d in found):
                found.append(device)
        return found

    def abort(self) -> None:
        """Close the readers' links only: the sources' links must stay open so they can
        still be made safe once the run stops."""
        outputs = [a.device for a in self.axes] + list(self.sources.values())
        for reader in self.readers:
            if all(reader.device is not o for o in outputs):
                abort = getattr(getattr(reader.device, "session", None), "abort", None)
                if callable(abort):
                    with contextlib.suppress(Exception):  # best effort, as for every source
                        abort()

    # -- the points -----------------------------------------------------------------------
    def prepare(self) -> None:
        """Move each swept output to its first level, then turn it on."""
        first = next(grid_order(self.grid.shape, self.snake))
        for axis, index in zip(self.axes, first, strict=True):
            if axis.output is not None:
                self._move(axis, float(axis.values[index]))
                if not axis.output.output:
                    axis.output.output = True

    def poll(self) -> list[tuple[str, Record]]:
        if self._stopping is not None:
            raise self._stopping
        index = next(self._order, None)
        if index is None:
            return []
        last, self._last = self._last, None  # unknown until every axis is set
        moved = [d for d in range(len(index)) if last is None or index[d] != last[d]]
        for dim in moved:
            axis = self.axes[dim]
            self._move(axis, float(axis.values[index[dim]]))
        self._last = index
        wait = max([self.settle, *(self.axes[d].settle for d in moved)])
        if self.wait(wait):
            return []
        values: list[Any] = []
        status = 0
        for reader in self.readers:
            taken, reader_status = reader.take()
            values += taken
            status = max(status, reader_status)
        if self._fields is None:
            self._fields = tuple(spec for r in self.readers for spec in r.fields)
        if status == POINT_COMPLIANCE and self.on_compliance != "continue":
            if self.on_compliance == "skip":
                status = POINT_SKIPPED
                values = [np.full(np.shape(v), np.nan) if np.ndim(v) else np.nan for v in values]
            else:
                where = ", ".join(
                    f"{name} = {value:g}"
                    for name, value in zip(self.grid.names, self._coordinates(index), strict=True)
                )
                self._stopping = ComplianceStop(
                    f"in compliance at {where} (on_compliance: stop)", instrument=self.instrument
                )  # fmt: skip
        point = SweepPoint(self.grid, index, self._fields, tuple(values), status, self._taken,
                           now_ns())  # fmt: skip
        self._taken += 1
        return [(self.streams[0], point)]

    def _move(self, axis: SweepAxis, value: float) -> None:
        """Set one axis. A level's ramp ends where it is once the run stops: a signal must
        not wait for a slow ramp up to finish before the source is ramped back down."""
        output = axis.output
        if isinstance(output, SourceOutputMixin) and axis.set == output.ramp_to:
            output.ramp_to(value, stop=self._stop)
        else:
            axis.set(value)

    def _coordinates(self, index: tuple[int, ...]) -> list[float]:
        return [float(a.values[i]) for a, i in zip(self.axes, index, strict=True)]

    def finish(self) -> None:
        """Make every swept output and every instrument in `sources` safe."""
        problems: list[str] = []
        seen: list[Any] = []
        targets = [a.output for a in self.axes if a.output is not None]
        for target in [*targets, *self.sources.values()]:
            if any(target is s for s in seen):
                continue
            seen.append(target)
            try:
                problems += target.make_safe()
            except Exception as error:  # one failure must not leave the others on
                problems.append(f"{getattr(target, 'name', target)}: {error}")
        self.safety_problems = problems


def _partial_target(setter: Callable[[Any], Any]) -> Any:
    """The object of `functools.partial(setattr, target, name)` (None for other setters)."""
    args = getattr(setter, "args", ())
    return args[0] if args else None
