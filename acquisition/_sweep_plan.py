"""Checks of a sweep stream and of `safe_limits:` before anything is opened (decision 0603):
each axis names a setting the driver has, its values pass the setting's validator, and a
source level stays within the output's safe limits (the driver's, tightened by the config).
What needs the open instrument (a supply channel's own rating, a SourceMeter's source
function) is checked again on the open bench, still before the first value is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from instrumentkit.errors import ValidationError
from instrumentkit.instrument import Instrument
from instrumentkit.interfaces import Oscilloscope, Sensor, Source, Spectrometer
from instrumentkit.sourcing import SafeLimits, SourceMixin, SourceOutputMixin

from ._config import StreamConfig
from ._safety import limits_by_output
from ._sweep_axes import LEVEL_NAMES, split_parameter

if TYPE_CHECKING:
    from ._plan import Plan

__all__ = ["check_safe_limits", "check_sweep"]

_READABLE = (Sensor, Oscilloscope, Spectrometer)


def _outputs(cls: type[Instrument]) -> tuple[list[str], dict[str, type]]:
    """The output names of a source driver and the class of each output."""
    if issubclass(cls, SourceMixin):
        group = cls.channel_groups().get(cls.source_channel_group)
        if group is not None:
            ids = [str(i) for i in group.ids]
            return ids, dict.fromkeys(ids, group.channel_class)
    return [""], {"": cls}


def _limits(plan: Plan, instrument: str, cls: type[Instrument], output: str) -> SafeLimits | None:
    """The safe limits of one output as far as known before opening: the driver's
    declared ones, tightened by the config's `safe_limits:`."""
    names, classes = _outputs(cls)
    owner = classes.get(output)
    if owner is None or not issubclass(owner, SourceOutputMixin):
        return None
    declared: SafeLimits = owner.safe_limits
    config = plan.config.instruments[instrument].safe_limits
    if not config:
        return declared
    changes = limits_by_output(config, names).get(output)
    return declared.tightened(**changes) if changes else declared


def check_safe_limits(
    plan: Plan, name: str, cls: type[Instrument] | None, limits: Mapping[str, Any]
) -> None:
    """`safe_limits:` of an instrument: a Source's, and only tightening its limits."""
    if not limits or cls is None:
        return  # a driver found by *IDN? is checked once opened
    field = f"instruments.{name}.safe_limits"
    if Source not in tuple(getattr(cls, "interfaces", ())):
        raise plan.error(field, f"{cls.__name__} is not a Source: it has no safe limits")
    try:
        names, _ = _outputs(cls)
        limits_by_output(limits, names)
        for output in names:
            _limits(plan, name, cls, output)
    except ValidationError as error:
        raise plan.error(field, error.detail) from None
    except TypeError as error:  # an unknown key in SafeLimits.tightened
        raise plan.error(field, str(error)) from None


def check_sweep(plan: Plan, name: str, stream: StreamConfig) -> None:
    """Every axis's parameter and values, every reader, before anything is opened."""
    from ._plan import _find_setting, _validate, values_of

    field = f"streams.{name}"
    short = stream.axes is None
    for index, axis in enumerate(stream.sweep_axes()):
        where = field if short else f"{field}.axes[{index}]"
        try:
            instrument, parts = split_parameter(axis.parameter)
        except ValueError as error:
            raise plan.error(f"{where}.parameter", str(error)) from None
        cls = plan.drivers.get(instrument)
        if cls is None:
            continue  # identified by *IDN? when opened; checked on the open bench
        values = values_of(axis.values)
        attribute = parts[-1]
        output = parts[1] if len(parts) == 3 else ""
        limits = _limits(plan, instrument, cls, output) if attribute in LEVEL_NAMES else None
        if limits is not None:
            for value in values:
                try:
                    limits.check_level(float(value), instrument)
                except ValidationError as error:
                    raise plan.error(f"{where}.values", error.detail) from None
            if attribute == "level":
                continue  # a property: the open output checks its own range
        path = ".".join(parts)
        setting, fields = _find_setting(plan, f"{where}.parameter", cls, path)
        stub = SimpleNamespace(name=instrument, fields=fields)
        for value in values:
            _validate(plan, f"{where}.values", setting, stub, float(value))
    for index, spec in enumerate(stream.read):
        reader, _, channel = spec.partition(":")
        interfaces = tuple(getattr(plan.drivers.get(reader), "interfaces", ()) or ())
        if interfaces and not any(i in interfaces for i in _READABLE):
            raise plan.error(f"{field}.read[{index}]",
                             f"{reader!r} cannot be read: not a Sensor, Oscilloscope or "
                             "Spectrometer")  # fmt: skip
        if channel and interfaces and Oscilloscope not in interfaces:
            message = f"{reader!r} is not an oscilloscope: no channel {channel!r}"
            raise plan.error(f"{field}.read[{index}]", message)
