"""What multi-output DC power supplies share: a channel is one output with a voltage
level, a current limit (IviDCPwr VoltageLevel, CurrentLimit), an output switch and
readbacks; the instrument is a `Source` whose outputs are its channels.

Each channel's ratings (`ratings = {1: (6.0, 5.0), ...}`, volts and amperes on the
instrument class) bound what its settings accept and its `safe_limits.max_level`, so a
6 V output refuses 7 V before anything is sent even though a 25 V output beside it
would take it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from instrumentkit.instrument import Channel, Instrument
from instrumentkit.interfaces import Source
from instrumentkit.parameters import Setting
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.sourcing import SourceMixin, SourceOutputMixin
from instrumentkit.validators import Range, Validator

__all__ = ["PowerSupply", "SupplyChannel", "current_within_rating", "voltage_within_rating"]


def voltage_within_rating(channel: Any) -> Validator:
    return Range(0.0, channel.rating[0])


def current_within_rating(channel: Any) -> Validator:
    return Range(0.0, channel.rating[1])


class SupplyChannel(SourceOutputMixin, Channel):
    """One output: `voltage` is its level, `current_limit` its limit.

    Subclasses declare `output`, `voltage`, `current_limit` and the readbacks with
    `{ch}` in their commands and `limits=voltage_within_rating` / `current_within_rating`.
    """

    level_units = "V"
    voltage: Setting[float]
    current_limit: Setting[float]

    def __init__(self, parent: Instrument, channel_id: int | str) -> None:
        super().__init__(parent, channel_id)
        self.rating: tuple[float, float] = parent.ratings[channel_id]  # type: ignore[attr-defined]
        declared = type(self).safe_limits
        if declared.max_level is None or declared.max_level > self.rating[0]:
            self.declare_safe_limits(dataclasses.replace(declared, max_level=self.rating[0]))

    @property
    def level(self) -> float:
        """The output's voltage level (V)."""
        return self.voltage

    @level.setter
    def level(self, value: float) -> None:
        self.voltage = value

    @property
    def limit(self) -> float:
        """The output's current limit (A)."""
        return self.current_limit

    @limit.setter
    def limit(self, value: float) -> None:
        self.current_limit = value

    def validate_level(self, level: float) -> float:
        type(self).voltage.encode(self, level)
        return level

    def measure_voltage(self) -> float:
        """Measure the output voltage (V)."""
        return self.measured_voltage  # type: ignore[attr-defined, no-any-return]

    def measure_current(self) -> float:
        """Measure the output current (A)."""
        return self.measured_current  # type: ignore[attr-defined, no-any-return]


class PowerSupply(SourceMixin, SCPIInstrument):
    """Base of multi-output supplies: `channels` are the outputs."""

    interfaces = (Source,)
    ratings: ClassVar[dict[Any, tuple[float, float]]] = {}
    """Channel id -> (maximum volts, maximum amperes)."""
