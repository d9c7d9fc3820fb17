"""What the Keithley 2400 and 2450 SourceMeters share: one output that sources voltage or
current, a compliance limit on the other quantity, and readings of both.

`level` follows the source function (volts or amperes), `limit` is the compliance on
the other quantity (IviDCPwr CurrentLimit when sourcing voltage). Readings carry the
compliance state per row in `Reading.status` (decision 0500: values kept as measured).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from instrumentkit.data import Reading, now_ns
from instrumentkit.errors import ProtocolError, ValidationError
from instrumentkit.interfaces import Sensor, Source
from instrumentkit.parameters import ON_OFF, Setting
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.sourcing import SafeLimits, SourceOutputMixin
from instrumentkit.validators import Range

__all__ = ["STATUS_COMPLIANCE", "STATUS_NOT_MEASURED", "KeithleySourceMeter"]

STATUS_COMPLIANCE = 1
"""`Reading.status` of a row taken in compliance: the limit, not the level, held the output."""
STATUS_NOT_MEASURED = 2
"""`Reading.status` of a value the instrument did not measure (it reads NaN)."""

SOURCE_FUNCTIONS = {"voltage": "VOLT", "current": "CURR"}
MAX_VOLTAGE = 210.0
MAX_CURRENT = 1.05
NPLC = Range(0.01, 10)


class KeithleySourceMeter(SourceOutputMixin, SCPIInstrument):
    """Base of the Keithley SourceMeter drivers (one output, Source and Sensor)."""

    interfaces = (Source, Sensor)
    error_query = ":SYST:ERR?"
    safe_limits = SafeLimits(max_level=MAX_VOLTAGE)
    """In the units of the source function: tighten `max_level` when sourcing current."""
    trip_queries: ClassVar[dict[str, str]] = {}
    """Source function -> the query answering 1 when the output is in compliance."""

    output = Setting(":OUTP?", ":OUTP {value}", values=ON_OFF, doc="Control the output (on/off).")
    source_function = Setting(
        ":SOUR:FUNC?",
        ":SOUR:FUNC {value}",
        values=SOURCE_FUNCTIONS,
        doc="Select what the output sources: 'voltage' or 'current'.",
    )
    source_voltage: Setting[float]
    source_current: Setting[float]
    current_limit: Setting[float]
    voltage_limit: Setting[float]

    # -- Source
    @property
    def level_units(self) -> str:
        return "V" if self._function() == "voltage" else "A"

    def _function(self) -> str:
        """The source function, refusing one this driver does not source (the 2400's MEM)."""
        function = self.source_function
        if function not in SOURCE_FUNCTIONS:
            raise ValidationError(
                f"the instrument sources {function!r}, which is neither 'voltage' nor "
                "'current'; set source_function first",
                instrument=self.name,
            )
        return function  # type: ignore[no-any-return]

    def _level_setting(self) -> Setting[float]:
        if self._function() == "voltage":
            return type(self).source_voltage
        return type(self).source_current

    @property
    def level(self) -> float:
        """The source level in the units of the source function (V or A)."""
        return self._level_setting().read(self)

    @level.setter
    def level(self, value: float) -> None:
        self._level_setting().__set__(self, value)

    def validate_level(self, level: float) -> float:
        self._level_setting().encode(self, level)
        return level

    @property
    def limit(self) -> float:
        """The compliance on the quantity not sourced (A when sourcing V, V when sourcing A)."""
        if self._function() == "voltage":
            return self.current_limit
        return self.voltage_limit

    @limit.setter
    def limit(self, value: float) -> None:
        if self._function() == "voltage":
            self.current_limit = value
        else:
            self.voltage_limit = value

    def compliance_tripped(self) -> bool:
        """Query whether the output is in compliance now (the limit holds it)."""
        command = self.trip_queries[self._function()]
        reply = self.session.query(command)
        return _flag(reply, self.name, command)

    # -- Sensor
    @property
    def channel_names(self) -> tuple[str, ...]:
        return ("voltage", "current")

    @property
    def units(self) -> tuple[str, ...]:
        return ("V", "A")

    def read(self) -> Reading:
        """Measure voltage and current once; a row in compliance has status 1."""
        voltage, current, tripped = self._measure_once()
        values = np.array([[voltage, current]], dtype=np.float64)
        status = np.where(np.isnan(values), STATUS_NOT_MEASURED, 0).astype(np.int16)
        if tripped:
            status[~np.isnan(values)] = STATUS_COMPLIANCE
        stamps = np.array([now_ns()], dtype=np.int64)
        return Reading(values, stamps, self.channel_names, self.units, status)

    def read_many(self, n: int) -> Reading:
        """`n` readings (1 to 10000) taken one after the other, as one Reading."""
        try:
            n = int(Range(1, 10_000, integer=True)(n))
        except ValueError as error:
            raise ValidationError(f"read_many({n!r}): {error}", instrument=self.name) from error
        readings = [self.read() for _ in range(n)]
        status = np.concatenate([r.status for r in readings if r.status is not None])
        return Reading(
            np.concatenate([r.values for r in readings]),
            np.concatenate([r.timestamps_ns for r in readings]),
            self.channel_names,
            self.units,
            status,
        )

    def measure_voltage(self) -> float:
        """Measure the output voltage (V)."""
        return self._measure_once()[0]

    def measure_current(self) -> float:
        """Measure the output current (A)."""
        return self._measure_once()[1]

    def measure_resistance(self) -> float:
        """Measure the load's resistance as measured voltage over measured current (ohm)."""
        voltage, current, _ = self._measure_once()
        return voltage / current if current else float("inf")

    def _measure_once(self) -> tuple[float, float, bool]:
        """(voltage, current, in compliance) of one measurement; NaN where not measured."""
        raise NotImplementedError


def _flag(reply: str, instrument: str, command: str) -> bool:
    word = reply.strip()
    if word in {"1", "0"}:
        return word == "1"
    raise ProtocolError(f"expected 0 or 1, got {reply!r}", instrument=instrument, command=command)


def setting_range(
    get: str, set: str, low: float, high: float, units: str, doc: str, **extra: Any
) -> Setting[float]:
    """A numeric Setting in [low, high] (both commands as the manual spells them)."""
    return Setting(get, set, validate=Range(low, high), units=units, doc=doc, **extra)
