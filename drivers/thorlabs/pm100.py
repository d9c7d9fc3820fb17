"""Thorlabs PM100D and PM100USB optical power and energy meters (SCPI over USBTMC).

Commands follow the PM100D/PM100USB manuals, "SCPI commands": `SENSe:CORRection:WAVelength`
(with `? MIN|MAX` for the connected sensor's limits), `SENSe:POWer:RANGe[:UPPer]` and
`:AUTO`, `SENSe:POWer:UNIT W|DBM`, `SENSe:AVERage:COUNt`, `CONFigure:POWer|ENERgy`,
`READ?`, `MEASure:POWer?`, `SYSTem:SENSor:IDN?`, `SENSe:CORRection:COLLect:ZERO`
and `SYSTem:ERRor?`. Resources look like `USB0::0x1313::0x8078::P0001234::INSTR`.

The wavelength is checked twice before it is sent: against the widest span of any
Thorlabs sensor, then against the connected sensor's own limits (queried, never
written). Energy reads need a pyroelectric sensor; without one the meter reports an
error, which `check_errors_after_set` turns into an exception.

Enumerations reviewed against the command reference (2026-12-06): `CONFigure` power,
energy, current, voltage, frequency, power/energy density, resistance, temperature;
`SENSe:POWer:UNIT` W/DBM. A token outside these reads as `UnknownChoice` (decision
0008), with reading units "". A `READ?` reply that is empty or `nan`/`inf` is a
ProtocolError showing the bytes.

Not confirmed from the manual here: the exact `CONFigure?` reply tokens (taken as the
short forms `POW`, `ENER`, `CURR`, `VOLT`, `FREQ`, `PDEN`, `EDEN`, `RES`, `TEMP`), the
largest averaging count (10,000 is allowed here) and the power range
limits (the sensor decides; refused values come back as instrument errors).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from instrumentkit.data import Reading, now_ns
from instrumentkit.errors import ProtocolError, ValidationError, show_bytes
from instrumentkit.instrument import Component
from instrumentkit.interfaces import Sensor
from instrumentkit.parameters import ON_OFF, Measurement, Setting, UnknownChoice
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.validators import Range

from .._readings import finite_readings, reading_count

__all__ = ["ThorlabsPM100D", "ThorlabsPM100USB"]

_WIDEST_SPAN_NM = (100.0, 25_000.0)
_MEASUREMENTS = {
    "power": "POW",
    "energy": "ENER",
    "current": "CURR",
    "voltage": "VOLT",
    "frequency": "FREQ",
    "power_density": "PDEN",
    "energy_density": "EDEN",
    "resistance": "RES",
    "temperature": "TEMP",
}
"""`CONFigure` measurements of the PM100D/USB command reference; power is in `power_unit`."""
_MEASUREMENT_UNITS = {
    "energy": "J",
    "current": "A",
    "voltage": "V",
    "frequency": "Hz",
    "power_density": "W/cm^2",
    "energy_density": "J/cm^2",
    "resistance": "ohm",
    "temperature": "degC",
}
_POWER_UNITS = {"W": "W", "dBm": "DBM"}


class _SensorWavelength(Setting[float]):
    """The correction wavelength, also checked against the connected sensor's limits."""

    def encode(self, obj: Component, value: Any) -> str:
        command = super().encode(obj, value)
        low, high = obj.wavelength_limits()  # type: ignore[attr-defined]
        if not low <= value <= high:
            raise ValidationError(
                f"{self.name} = {value!r} refused before sending: the connected sensor "
                f"covers {low:g} to {high:g} nm",
                instrument=obj.name,
            )
        return command


class ThorlabsPM100D(SCPIInstrument):
    """Thorlabs PM100D handheld optical power and energy meter."""

    idn_patterns = (r"^Thorlabs,PM100D,",)
    interfaces = (Sensor,)
    sim_file = "sim/pm100d.yaml"
    sim_resource = "USB0::0x1313::0x8078::P0001234::INSTR"
    sim_model = "thorlabs-pm100d"
    check_errors_after_set = True

    wavelength = _SensorWavelength(
        "SENS:CORR:WAV?",
        "SENS:CORR:WAV {value}",
        validate=Range(*_WIDEST_SPAN_NM),
        units="nm",
        doc="Set the wavelength the sensor's responsivity is corrected for.",
    )
    power_autorange = Setting(
        "SENS:POW:RANG:AUTO?",
        "SENS:POW:RANG:AUTO {value}",
        values=ON_OFF,
        doc="Control power autoranging.",
    )
    power_range = Setting(
        "SENS:POW:RANG?",
        "SENS:POW:RANG {value}",
        validate=Range(1e-12, 1e3),
        units="W",
        doc="Set the power range by the largest power to measure; turns autorange off.",
    )
    power_unit = Setting(
        "SENS:POW:UNIT?",
        "SENS:POW:UNIT {value}",
        values=_POWER_UNITS,
        doc="Select watts or dBm for power readings.",
    )
    averaging = Setting(
        "SENS:AVER:COUN?",
        "SENS:AVER:COUN {value}",
        parse=lambda reply: int(float(reply)),
        validate=Range(1, 10_000, integer=True),
        units="",
        doc="Set how many samples each reading averages.",
    )
    measurement = Setting(
        "CONF?",
        "CONF:{value}",
        values=_MEASUREMENTS,
        doc="Configure what READ? measures: power, pulse energy, photodiode current, "
        "thermopile voltage, frequency, power or energy density, sensor resistance or "
        "temperature (what the connected sensor supports).",
    )
    beam_diameter = Setting(
        "SENS:CORR:BEAM?",
        "SENS:CORR:BEAM {value}",
        validate=Range(0.001, 100),
        units="mm",
        doc="Set the beam diameter used for power and energy densities.",
    )
    power = Measurement(
        "MEAS:POW?", units="W", in_snapshot=False, doc="Measure the optical power (W or dBm)."
    )
    sensor = Measurement(
        "SYST:SENS:IDN?",
        parse=str,
        doc="Get the connected sensor's identification (name, serial, date, type, ...).",
    )

    @property
    def channel_names(self) -> tuple[str, ...]:
        return (self.measurement,)

    @property
    def units(self) -> tuple[str, ...]:
        return self._units_of(self.measurement)

    def _units_of(self, mode: str) -> tuple[str, ...]:
        """A measurement's units; "" for one the driver does not know (decision 0008)."""
        if mode == "power":
            unit = self.power_unit
            return ("" if isinstance(unit, UnknownChoice) else unit,)
        return (_MEASUREMENT_UNITS.get(mode, ""),)

    def wavelength_limits(self) -> tuple[float, float]:
        """Get the connected sensor's wavelength span in nm (`SENS:CORR:WAV? MIN|MAX`)."""
        low = self._number("SENS:CORR:WAV? MIN")
        high = self._number("SENS:CORR:WAV? MAX")
        return low, high

    def zero(self) -> None:
        """Start a dark-current zero adjustment (cover the sensor first)."""
        self.session.write("SENS:CORR:COLL:ZERO")

    def read(self) -> Reading:
        """Measure once with the present configuration (`READ?`)."""
        return self.read_many(1)

    def read_many(self, n: int) -> Reading:
        """Take `n` readings one after another (the meter has no reading buffer)."""
        n = reading_count(n, instrument=self.name)
        mode = self.measurement
        channel, units = (mode,), self._units_of(mode)
        replies: list[str] = []
        stamps = np.empty(n, dtype=np.int64)
        for index in range(n):
            replies.append(self.session.query("READ?"))
            stamps[index] = now_ns()
        text = ",".join(replies)
        try:
            values = np.array(replies, dtype=np.float64)
        except ValueError as error:
            raise ProtocolError(
                f"expected a number, got {show_bytes(text.encode())}",
                instrument=self.name,
                command="READ?",
            ) from error
        finite_readings(values, text, instrument=self.name, command="READ?")
        return Reading(values.reshape(n, 1), stamps, channel, units)

    def _number(self, command: str) -> float:
        reply = self.session.query(command)
        try:
            return float(reply)
        except ValueError as error:
            raise ProtocolError(
                f"expected a number, got {reply!r}", instrument=self.name, command=command
            ) from error


class ThorlabsPM100USB(ThorlabsPM100D):
    """Thorlabs PM100USB power and energy meter interface (same command set as the PM100D)."""

    idn_patterns = (r"^Thorlabs,PM100USB,",)
    sim_file = "sim/pm100usb.yaml"
    sim_resource = "USB0::0x1313::0x8072::P2001234::INSTR"
    sim_model = "thorlabs-pm100usb"
