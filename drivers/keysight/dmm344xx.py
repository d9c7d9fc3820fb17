"""Keysight Truevolt digital multimeters 34461A and 34465A (SCPI over LAN, USB or GPIB).

Commands follow the Truevolt Series Operating and Service Guide, "SCPI Programming
Reference": `CONFigure`, `[SENSe:]FUNCtion`, `[SENSe:]VOLTage:DC:RANGe`,
`...:NPLC`, `SAMPle:COUNt`, `TRIGger:SOURce`, `INITiate`, `R?` (reading memory as a
definite-length block of ASCII readings) and `SYSTem:ERRor?`.
"""

from __future__ import annotations

import enum

import numpy as np

from instrumentkit.data import Reading, now_ns
from instrumentkit.errors import ProtocolError
from instrumentkit.interfaces import Sensor
from instrumentkit.parameters import ON_OFF, Measurement, Setting
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.validators import OneOf, Range

__all__ = ["DMMFunction", "Keysight34461A", "Keysight34465A"]


class DMMFunction(str, enum.Enum):
    """Measurement functions, valued by the token `FUNCtion?` returns."""

    DC_VOLTAGE = '"VOLT"'
    AC_VOLTAGE = '"VOLT:AC"'
    DC_CURRENT = '"CURR"'
    AC_CURRENT = '"CURR:AC"'
    RESISTANCE = '"RES"'
    FOUR_WIRE_RESISTANCE = '"FRES"'
    FREQUENCY = '"FREQ"'
    TEMPERATURE = '"TEMP"'
    CAPACITANCE = '"CAP"'


_UNITS = {
    DMMFunction.DC_VOLTAGE: "V",
    DMMFunction.AC_VOLTAGE: "V",
    DMMFunction.DC_CURRENT: "A",
    DMMFunction.AC_CURRENT: "A",
    DMMFunction.RESISTANCE: "ohm",
    DMMFunction.FOUR_WIRE_RESISTANCE: "ohm",
    DMMFunction.FREQUENCY: "Hz",
    DMMFunction.TEMPERATURE: "degC",
    DMMFunction.CAPACITANCE: "F",
}

_MAX_SAMPLES = 1_000_000
_SECONDS_PER_PLC = 1 / 50  # worst case mains, for the buffered-read timeout


class Keysight34461A(SCPIInstrument):
    """Keysight 34461A 6½-digit multimeter."""

    idn_patterns = (r"^(Keysight|Agilent) Technologies,34461A,",)
    interfaces = (Sensor,)
    sim_file = "sim/34461a.yaml"
    sim_resource = "TCPIP0::127.0.0.1::inst0::INSTR"

    function = Setting(
        "FUNC?",
        "FUNC {value}",
        values=DMMFunction,
        doc="Control the measurement function (DC voltage, resistance, ...).",
    )
    voltage = Measurement(
        "MEAS:VOLT:DC?", units="V", in_snapshot=False, doc="Measure a DC voltage (autoranged)."
    )
    voltage_range = Setting(
        "VOLT:DC:RANG?",
        "VOLT:DC:RANG {value}",
        validate=OneOf(0.1, 1, 10, 100, 1000),
        units="V",
        doc="Set the DC voltage range (0.1, 1, 10, 100 or 1000 V); turns autorange off.",
    )
    voltage_autorange = Setting(
        "VOLT:DC:RANG:AUTO?",
        "VOLT:DC:RANG:AUTO {value}",
        values=ON_OFF,
        doc="Control DC voltage autoranging.",
    )
    nplc = Setting(
        "VOLT:DC:NPLC?",
        "VOLT:DC:NPLC {value}",
        validate=OneOf(0.02, 0.2, 1, 10, 100),
        units="PLC",
        doc="Control the DC voltage integration time in power-line cycles.",
    )
    sample_count = Setting(
        "SAMP:COUN?",
        "SAMP:COUN {value}",
        parse=lambda reply: int(float(reply)),
        validate=Range(1, _MAX_SAMPLES, integer=True),
        units="",
        doc="Set how many readings one trigger takes.",
    )
    trigger_source = Setting(
        "TRIG:SOUR?",
        "TRIG:SOUR {value}",
        values={"immediate": "IMM", "external": "EXT", "bus": "BUS", "internal": "INT"},
        doc="Control the trigger source.",
    )

    @property
    def channel_names(self) -> tuple[str, ...]:
        return ("reading",)

    @property
    def units(self) -> tuple[str, ...]:
        return (_UNITS[self.function],)

    def read(self) -> Reading:
        """Measure one value with the present settings (`READ?`)."""
        reply = self.session.query("READ?")
        stamp = now_ns()
        try:
            value = float(reply)
        except ValueError as error:
            raise ProtocolError(
                f"expected a number, got {reply!r}", instrument=self.name, command="READ?"
            ) from error
        return Reading.single(value, self.channel_names, self.units, timestamp_ns=stamp)

    def read_many(self, n: int) -> Reading:
        """Take `n` readings into the instrument's memory, then fetch them as one array.

        Timestamps are spread evenly between arming and fetching: the instrument
        does not report per-reading times in this mode.
        """
        units = self.units
        self.sample_count = n
        started = now_ns()
        self.session.write("INIT")
        budget = self.default_timeout + n * float(self.nplc) * _SECONDS_PER_PLC
        self.wait(timeout=budget)
        values = self._fetch_memory()
        ended = now_ns()
        if values.shape[0] != n:
            raise ProtocolError(
                f"asked for {n} readings, memory held {values.shape[0]}",
                instrument=self.name,
                command="R?",
            )
        stamps = np.linspace(started, ended, n).astype(np.int64)
        return Reading(values.reshape(n, 1), stamps, self.channel_names, units)

    def _fetch_memory(self) -> np.ndarray:
        text = self.session.query_block("R?").tobytes().decode("ascii")
        try:
            return np.array(text.split(","), dtype=np.float64) if text else np.empty(0)
        except ValueError as error:
            raise ProtocolError(
                f"reading memory is not a list of numbers: {text[:60]!r}",
                instrument=self.name,
                command="R?",
            ) from error


class Keysight34465A(Keysight34461A):
    """Keysight 34465A 6½-digit multimeter (adds faster integration times)."""

    idn_patterns = (r"^(Keysight|Agilent) Technologies,34465A,",)
    sim_file = "sim/34465a.yaml"

    nplc = Setting(
        "VOLT:DC:NPLC?",
        "VOLT:DC:NPLC {value}",
        validate=OneOf(0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1, 10, 100),
        units="PLC",
        doc="Control the DC voltage integration time in power-line cycles.",
    )
