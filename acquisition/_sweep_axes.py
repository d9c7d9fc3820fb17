"""From a parameter path (`smu.level`, `psu.channels.1.voltage`, `fgen.frequency`) to a
sweep axis on open instruments: what to set, and whether it is a source output's level
(then it is set through `ramp_to`, and its values are checked against the safe limits).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from instrumentkit.parameters import Setting

from ._stream_checks import channel_id
from ._sweep_grid import SweepAxis

__all__ = ["LEVEL_NAMES", "check_axis_values", "resolve_axis", "split_parameter"]

LEVEL_NAMES = ("level", "voltage", "amplitude", "source_voltage", "source_current")
"""Settings that are a source output's level: `level` itself, a supply channel's
`voltage`, a generator's `amplitude`, a SourceMeter's `source_voltage`/`source_current`
(for its source function)."""


def split_parameter(path: str) -> tuple[str, list[str]]:
    """`psu.channels.1.voltage` -> ("psu", ["channels", "1", "voltage"])."""
    instrument, _, rest = path.partition(".")
    parts = rest.split(".") if rest else []
    if len(parts) not in (1, 3):
        raise ValueError(
            f"{path!r}: expected instrument.setting or instrument.group.channel.setting "
            "(smu.level, psu.channels.1.voltage)"
        )
    return instrument, parts


def is_level(target: Any, attribute: str) -> bool:
    """Whether `attribute` of `target` is the level of a source output."""
    if not all(callable(getattr(target, m, None)) for m in ("ramp_to", "make_safe")):
        return False
    if attribute == "level":
        return True
    if hasattr(type(target), "source_function"):  # a SourceMeter: by its source function
        return attribute == f"source_{target.source_function}"
    units = getattr(type(target), "level_units", None)  # a supply's volts, a generator's Vpp
    return (units, attribute) in {("V", "voltage"), ("Vpp", "amplitude")}


def resolve_axis(
    instruments: Mapping[str, Any],
    parameter: str,
    values: ArrayLike,
    *,
    name: str | None = None,
    units: str | None = None,
    settle: float = 0.0,
) -> SweepAxis:
    """The axis setting `parameter` of one of `instruments` to each of `values`."""
    instrument, parts = split_parameter(parameter)
    if instrument not in instruments:
        raise ValueError(f"{parameter!r}: no instrument {instrument!r}; instruments: "
                         f"{', '.join(instruments) or 'none'}")  # fmt: skip
    device = target = instruments[instrument]
    if len(parts) == 3:
        channels = getattr(device, parts[0])
        key = channel_id(tuple(channels), parts[1])
        if key is None:
            raise ValueError(f"{parameter!r}: {instrument} has no {parts[0]} {parts[1]!r}")
        target = channels[key]
    attribute = parts[-1]
    if not hasattr(type(target), attribute):
        raise ValueError(f"{parameter!r}: {type(target).__name__} has no {attribute!r} to set")
    output = target if is_level(target, attribute) else None
    if units is None:
        setting = getattr(type(target), attribute, None)
        units = output.level_units if output is not None else getattr(setting, "units", "")
    setter = output.ramp_to if output is not None else functools.partial(setattr, target, attribute)
    return SweepAxis(name or parameter, np.asarray(values, dtype=np.float64), setter,
                     units or "", parameter, settle, output, device)  # fmt: skip


def check_axis_values(axis: SweepAxis) -> None:
    """Refuse, before anything is set, a level beyond its output's safe limits or range,
    or a setting value its validator refuses; raises ValidationError naming the value."""
    output = axis.output
    for value in np.unique(axis.values):
        if output is not None:
            limits = output.safe_limits
            limits.check_level(float(value), output.name)
            output.validate_level(float(value))
            continue
        setter = axis.set
        target, attribute = getattr(setter, "args", (None, None))[:2]
        setting = getattr(type(target), str(attribute), None)
        if isinstance(setting, Setting):
            try:
                setting.encode(target, float(value))
            except (AttributeError, TypeError):
                return  # an encoding that needs more than the instrument has
