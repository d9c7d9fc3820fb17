"""`ik.sweep(run, ...)`: the sweep of a run config, from a lab script.

    with ik.Run("gate.h5", instruments={"psu": psu, "smu": smu}) as run:
        ik.sweep(run, axes=[("psu.channels.1.voltage", [0, 1, 2]),
                            ("smu.level", np.linspace(0, 0.8, 41))],
                 read=["smu"], settle=0.01, snake=True, stream="gate")

Axes are `(parameter, values)` with the parameter a path into `run.instruments`, or
`SweepAxis` objects; `read` names instruments of the run (`"scope:3"` for channel 3 of a
scope), or maps names to instruments. The points go to the run's stream as a grid (like
a config's sweep); whatever ends the sweep (its last point, an exception, Ctrl-C) makes
the swept outputs and every Source of the run safe before it returns or raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from numpy.typing import ArrayLike

from instrumentkit.errors import InstrumentError

from ._safety import make_sources_safe, not_safe_reason
from ._sweep import OnCompliance, SweepSource
from ._sweep_axes import check_axis_values, resolve_axis
from ._sweep_grid import SweepAxis
from ._sweep_read import readers_for

__all__ = ["sweep"]


def sweep(
    run: Any,
    axes: Sequence[SweepAxis | tuple[str, ArrayLike]],
    read: Sequence[str] | Mapping[str, Any],
    *,
    settle: float = 0.0,
    snake: bool = False,
    on_compliance: OnCompliance = "continue",
    stream: str = "sweep",
) -> int:
    """Step through the grid of `axes`, read `read` at each point, append to `run`.

    Returns the number of points taken. `on_compliance: "stop"` raises ComplianceStop
    (after the point in compliance is appended and the sources are made safe).
    """
    instruments = run.instruments
    built = [
        axis if isinstance(axis, SweepAxis) else resolve_axis(instruments, axis[0], axis[1])
        for axis in axes
    ]
    for axis in built:
        check_axis_values(axis)
    readers = dict(read) if isinstance(read, Mapping) else readers_for(read, instruments)
    source = SweepSource(axes=built, readers=readers, settle=settle, snake=snake,
                         on_compliance=on_compliance, stream=stream)  # fmt: skip
    taken = 0
    try:
        source.prepare()
        for _ in range(source.count or 0):
            for name, point in source.poll():
                run.append(name, point)
                taken += 1
        source.poll()  # raises ComplianceStop if the last point was in compliance
    finally:
        _make_safe(source, instruments)
    return taken


def _make_safe(source: SweepSource, instruments: Mapping[str, Any]) -> None:
    source.finish()
    problems = make_sources_safe(instruments, timeout=10.0)
    if source.safety_problems:
        problems.setdefault(source.streams[0], []).extend(source.safety_problems)
    if problems:
        raise InstrumentError(not_safe_reason(problems))
