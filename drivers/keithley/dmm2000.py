"""Keithley Model 2000 6½-digit multimeter (SCPI over GPIB or RS-232).

Commands follow the Model 2000 User's Manual (2000-900-01), section "SCPI command
reference": `[:SENSe]:FUNCtion`, `[:SENSe]:<function>:RANGe[:UPPer|:AUTO]`,
`...:NPLCycles`, `:SAMPle:COUNt`, `:TRIGger:COUNt|SOURce`, `:INITiate[:CONTinuous]`,
`:READ?`, the `:TRACe` buffer (`:CLEar`, `:POINts` 2 to 1024, `:FEED SENSe`,
`:FEED:CONTrol NEXT`, `:DATA?`) and `:FORMat:ELEMents READing`.

Enumerations reviewed against the manual (2026-12-06): `FUNCtion` lists all eleven
Model 2000 functions; `TRIGger:SOURce` is IMMediate, EXTernal, TIMer, MANual or BUS.
A token outside these reads as `UnknownChoice` (decision 0008): `units` is then ""
and `read()` still works. Readings: an empty reply, or `nan`/`inf` text (the meter
sends +9.9E+37 for overflow, which is kept: decision 0500), is a ProtocolError.

Ranges are given as the largest value to measure: the instrument picks the lowest
range that holds it and `RANGe?` answers with that range. Not confirmed from the
manual here: the 4-wire resistance upper limit (taken as the 2-wire one) and whether
`*OPC?` after `:INITiate` waits for a filled buffer over RS-232 as it does over GPIB.
"""

from __future__ import annotations

import enum

import numpy as np
from numpy.typing import NDArray

from instrumentkit.data import Reading, now_ns
from instrumentkit.errors import ProtocolError, ValidationError
from instrumentkit.interfaces import Sensor
from instrumentkit.parameters import ON_OFF, Measurement, Setting
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.validators import Range

from .._readings import finite_readings

__all__ = ["Keithley2000", "Keithley2000Function"]


class Keithley2000Function(str, enum.Enum):
    """Measurement functions, valued by the token `:SENSe:FUNCtion?` returns."""

    DC_VOLTAGE = '"VOLT:DC"'
    AC_VOLTAGE = '"VOLT:AC"'
    DC_CURRENT = '"CURR:DC"'
    AC_CURRENT = '"CURR:AC"'
    RESISTANCE = '"RES"'
    FOUR_WIRE_RESISTANCE = '"FRES"'
    FREQUENCY = '"FREQ"'
    PERIOD = '"PER"'
    TEMPERATURE = '"TEMP"'
    DIODE = '"DIOD"'
    CONTINUITY = '"CONT"'


_UNITS = {
    Keithley2000Function.DC_VOLTAGE: "V",
    Keithley2000Function.AC_VOLTAGE: "V",
    Keithley2000Function.DC_CURRENT: "A",
    Keithley2000Function.AC_CURRENT: "A",
    Keithley2000Function.RESISTANCE: "ohm",
    Keithley2000Function.FOUR_WIRE_RESISTANCE: "ohm",
    Keithley2000Function.FREQUENCY: "Hz",
    Keithley2000Function.PERIOD: "s",
    Keithley2000Function.TEMPERATURE: "degC",  # :UNIT:TEMP C is the default
    Keithley2000Function.DIODE: "V",
    Keithley2000Function.CONTINUITY: "ohm",
}

_NPLC_BY_FUNCTION = {
    Keithley2000Function.DC_VOLTAGE: "nplc",
    Keithley2000Function.AC_VOLTAGE: "voltage_ac_nplc",
    Keithley2000Function.DC_CURRENT: "current_nplc",
    Keithley2000Function.AC_CURRENT: "current_ac_nplc",
    Keithley2000Function.RESISTANCE: "resistance_nplc",
    Keithley2000Function.FOUR_WIRE_RESISTANCE: "four_wire_resistance_nplc",
}

BUFFER_SIZE = 1024
_SECONDS_PER_PLC = 1 / 50  # worst case mains, for the buffered-read timeout
_NPLC = Range(0.01, 10)


def _range(prefix: str, maximum: float, units: str, what: str) -> Setting[float]:
    return Setting(
        f":SENS:{prefix}:RANG?",
        f":SENS:{prefix}:RANG {{value}}",
        validate=Range(0, maximum),
        units=units,
        doc=f"Set the {what} range by the largest value to measure (0 to {maximum:g} {units}); "
        "turns autorange off.",
    )


def _autorange(prefix: str, what: str) -> Setting[bool]:
    return Setting(
        f":SENS:{prefix}:RANG:AUTO?",
        f":SENS:{prefix}:RANG:AUTO {{value}}",
        values=ON_OFF,
        doc=f"Control {what} autoranging.",
    )


def _nplc(prefix: str, what: str) -> Setting[float]:
    return Setting(
        f":SENS:{prefix}:NPLC?",
        f":SENS:{prefix}:NPLC {{value}}",
        validate=_NPLC,
        units="PLC",
        doc=f"Control the {what} integration time in power-line cycles (0.01 to 10).",
    )


def _count(reply: str) -> int:
    return int(float(reply))


class Keithley2000(SCPIInstrument):
    """Keithley Model 2000 multimeter."""

    idn_patterns = (r"^KEITHLEY INSTRUMENTS INC\.,MODEL 2000,",)
    interfaces = (Sensor,)
    sim_file = "sim/2000.yaml"
    sim_resource = "GPIB0::16::INSTR"
    sim_model = "keithley-2000"
    error_query = ":SYST:ERR?"

    function = Setting(
        ":SENS:FUNC?",
        ":SENS:FUNC {value}",
        values=Keithley2000Function,
        doc="Control the measurement function (DC voltage, resistance, ...).",
    )
    voltage_range = _range("VOLT:DC", 1010, "V", "DC voltage")
    voltage_autorange = _autorange("VOLT:DC", "DC voltage")
    nplc = _nplc("VOLT:DC", "DC voltage")
    voltage_ac_range = _range("VOLT:AC", 757.5, "V", "AC voltage")
    voltage_ac_autorange = _autorange("VOLT:AC", "AC voltage")
    voltage_ac_nplc = _nplc("VOLT:AC", "AC voltage")
    current_range = _range("CURR:DC", 3.1, "A", "DC current")
    current_autorange = _autorange("CURR:DC", "DC current")
    current_nplc = _nplc("CURR:DC", "DC current")
    current_ac_range = _range("CURR:AC", 3.1, "A", "AC current")
    current_ac_autorange = _autorange("CURR:AC", "AC current")
    current_ac_nplc = _nplc("CURR:AC", "AC current")
    resistance_range = _range("RES", 120e6, "ohm", "2-wire resistance")
    resistance_autorange = _autorange("RES", "2-wire resistance")
    resistance_nplc = _nplc("RES", "2-wire resistance")
    four_wire_resistance_range = _range("FRES", 120e6, "ohm", "4-wire resistance")
    four_wire_resistance_autorange = _autorange("FRES", "4-wire resistance")
    four_wire_resistance_nplc = _nplc("FRES", "4-wire resistance")
    sample_count = Setting(
        ":SAMP:COUN?",
        ":SAMP:COUN {value}",
        parse=_count,
        validate=Range(1, BUFFER_SIZE, integer=True),
        units="",
        doc="Set how many readings one trigger takes (1 to 1024).",
    )
    trigger_count = Setting(
        ":TRIG:COUN?",
        ":TRIG:COUN {value}",
        parse=_count,
        validate=Range(1, 9999, integer=True),
        units="",
        doc="Set how many triggers one initiation accepts (1 to 9999).",
    )
    trigger_source = Setting(
        ":TRIG:SOUR?",
        ":TRIG:SOUR {value}",
        values={
            "immediate": "IMM",
            "external": "EXT",
            "timer": "TIM",
            "manual": "MAN",
            "bus": "BUS",
        },
        doc="Control the trigger source.",
    )
    continuous_initiation = Setting(
        ":INIT:CONT?",
        ":INIT:CONT {value}",
        values=ON_OFF,
        doc="Control continuous initiation (must be off for READ? and buffered reads).",
    )
    buffer_size = Setting(
        ":TRAC:POIN?",
        ":TRAC:POIN {value}",
        parse=_count,
        validate=Range(2, BUFFER_SIZE, integer=True),
        units="",
        doc="Set how many readings the buffer stores (2 to 1024).",
    )
    buffer_count = Measurement(
        ":TRAC:POIN:ACT?",
        parse=_count,
        units="",
        in_snapshot=False,
        doc="Get how many readings the buffer holds now.",
    )

    @property
    def channel_names(self) -> tuple[str, ...]:
        return ("reading",)

    @property
    def units(self) -> tuple[str, ...]:
        return (_UNITS.get(self.function, ""),)

    _continuous_off = False

    def read(self) -> Reading:
        """Measure with the present settings (`:READ?`): one reading per sample counted.

        The first read turns continuous initiation off (`:READ?` is refused while it is
        on, as it is after power-up).
        """
        if not self._continuous_off:
            self.continuous_initiation = False
            self._continuous_off = True
        units = self.units
        reply = self.session.query(":READ?")
        stamp = now_ns()
        values = self._numbers(reply, ":READ?")
        return Reading(
            values.reshape(-1, 1),
            np.full(values.shape[0], stamp, dtype=np.int64),
            self.channel_names,
            units,
        )

    def read_many(self, n: int) -> Reading:
        """Fill the buffer with `n` readings (2 to 1024), then fetch them as one array.

        Sets continuous initiation off and readings-only data elements, and leaves
        `sample_count` at 1. Timestamps are spread evenly between arming and fetching.
        """
        try:
            n = int(Range(2, BUFFER_SIZE, integer=True)(n))
        except ValueError as error:
            raise ValidationError(
                f"read_many({n!r}) refused before sending: {error} (buffer size)",
                instrument=self.name,
            ) from error
        function = self.function
        nplc_name = _NPLC_BY_FUNCTION.get(function)
        nplc = float(getattr(self, nplc_name)) if nplc_name else 1.0
        for command in (
            ":INIT:CONT OFF",
            ":FORM:ELEM READ",
            ":TRAC:CLE",
            f":TRAC:POIN {n}",
            ":TRAC:FEED SENS",
            ":TRAC:FEED:CONT NEXT",
            f":SAMP:COUN {n}",
        ):
            self.session.write(command)
        self._continuous_off = True
        started = now_ns()
        self.session.write(":INIT")
        self.wait(timeout=self.default_timeout + n * nplc * _SECONDS_PER_PLC)
        values = self._numbers(self.session.query(":TRAC:DATA?"), ":TRAC:DATA?")
        ended = now_ns()
        self.session.write(":SAMP:COUN 1")
        if values.shape[0] != n:
            raise ProtocolError(
                f"asked for {n} readings, the buffer held {values.shape[0]}",
                instrument=self.name,
                command=":TRAC:DATA?",
            )
        stamps = np.linspace(started, ended, n).astype(np.int64)
        return Reading(
            values.reshape(n, 1), stamps, self.channel_names, (_UNITS.get(function, ""),)
        )

    def _numbers(self, text: str, command: str) -> NDArray[np.float64]:
        values = self.session.parse_values(
            text, command=command, hint="readings with units or timestamps need ':FORM:ELEM READ'"
        )
        return finite_readings(values, text, instrument=self.name, command=command)
