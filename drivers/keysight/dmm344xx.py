"""Keysight Truevolt digital multimeters 34461A and 34465A (SCPI over LAN, USB or GPIB).

Commands follow the Truevolt Series Operating and Service Guide, "SCPI Programming
Reference": `[SENSe:]FUNCtion`, `[SENSe:]<function>:RANGe[:AUTO]`, `...:NPLC`,
`SAMPle:COUNt`, `TRIGger:COUNt|SOURce`, `INITiate`, `R?` (reading memory as a
definite-length block of ASCII readings, erased as read), `DATA:REMove?`,
`DATA:POINts?` and `SYSTem:ERRor?`.

Enumerations reviewed against the manual's command reference (2026-12-06):
`FUNCtion` lists all thirteen Truevolt functions (DC/AC voltage, DC/AC current,
2/4-wire resistance, frequency, period, temperature, capacitance, continuity, diode,
DC voltage ratio); `TRIGger:SOURce` is IMMediate, EXTernal, BUS or INTernal (INTernal,
the level trigger, needs the 34465A's DIG option or a 34470A). A token outside these
reads as `UnknownChoice` (decision 0008): `units` is then "" and `read()` still works.

Readings: an empty reply, or `nan`/`inf` text (which the meter never sends: overload
reads +9.9E+37 and is kept, decision 0500), is a ProtocolError showing the bytes.

Not confirmed from the manual here, and so kept out of the validators' claims:
the 0.001/0.002 PLC integration times of the 34465A need its DIG option; readings in
memory beyond the standard 10,000 (34461A) / 50,000 (34465A) need the MEM option.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrumentkit.data import Reading, now_ns
from instrumentkit.errors import ProtocolError, ValidationError
from instrumentkit.interfaces import Sensor
from instrumentkit.parameters import ON_OFF, Measurement, Setting
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.validators import OneOf, Range

from .._readings import finite_readings

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
    PERIOD = '"PER"'
    CONTINUITY = '"CONT"'
    DIODE = '"DIOD"'
    DC_VOLTAGE_RATIO = '"VOLT:RAT"'


_UNITS = {
    DMMFunction.DC_VOLTAGE: "V",
    DMMFunction.AC_VOLTAGE: "V",
    DMMFunction.DC_CURRENT: "A",
    DMMFunction.AC_CURRENT: "A",
    DMMFunction.RESISTANCE: "ohm",
    DMMFunction.FOUR_WIRE_RESISTANCE: "ohm",
    DMMFunction.FREQUENCY: "Hz",
    DMMFunction.TEMPERATURE: "degC",  # UNIT:TEMP C is the power-on default
    DMMFunction.CAPACITANCE: "F",
    DMMFunction.PERIOD: "s",
    DMMFunction.CONTINUITY: "ohm",
    DMMFunction.DIODE: "V",
    DMMFunction.DC_VOLTAGE_RATIO: "1",  # input over reference: dimensionless
}

# Which settings hold each function's range, autorange and integration time.
_FUNCTION_SETTINGS: dict[DMMFunction, tuple[str | None, str | None, str | None]] = {
    DMMFunction.DC_VOLTAGE: ("voltage_range", "voltage_autorange", "nplc"),
    DMMFunction.AC_VOLTAGE: ("voltage_ac_range", "voltage_ac_autorange", None),
    DMMFunction.DC_CURRENT: ("current_range", "current_autorange", "current_nplc"),
    DMMFunction.AC_CURRENT: ("current_ac_range", "current_ac_autorange", None),
    DMMFunction.RESISTANCE: ("resistance_range", "resistance_autorange", "resistance_nplc"),
    DMMFunction.FOUR_WIRE_RESISTANCE: (
        "four_wire_resistance_range",
        "four_wire_resistance_autorange",
        "four_wire_resistance_nplc",
    ),
    DMMFunction.FREQUENCY: (None, None, None),
    DMMFunction.TEMPERATURE: (None, None, "temperature_nplc"),
    DMMFunction.CAPACITANCE: ("capacitance_range", "capacitance_autorange", None),
    DMMFunction.PERIOD: (None, None, None),
    DMMFunction.CONTINUITY: (None, None, None),  # fixed 1 kohm range
    DMMFunction.DIODE: (None, None, None),  # fixed 10 V range
    # Ratio shares the DC voltage range and integration time (VOLT[:DC]:RANG, :NPLC).
    DMMFunction.DC_VOLTAGE_RATIO: ("voltage_range", "voltage_autorange", "nplc"),
}
_NO_SETTINGS: tuple[None, None, None] = (None, None, None)


def _units(function: DMMFunction | str) -> str:
    """The function's reading units; "" for a function the driver does not know."""
    return _UNITS.get(function, "")  # type: ignore[call-overload,no-any-return]


_SECONDS_PER_PLC = 1 / 50  # worst case mains, for the buffered-read timeout
_NPLC_34461A = (0.02, 0.2, 1, 10, 100)
_NPLC_34465A = (0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1, 10, 100)


def _listed(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _range(prefix: str, ranges: tuple[float, ...], units: str, what: str) -> Setting[float]:
    return Setting(
        f"{prefix}:RANG?",
        f"{prefix}:RANG {{value}}",
        validate=OneOf(*ranges),
        units=units,
        doc=f"Set the {what} range ({_listed(ranges)} {units}); turns autorange off.",
    )


def _autorange(prefix: str, what: str) -> Setting[bool]:
    return Setting(
        f"{prefix}:RANG:AUTO?",
        f"{prefix}:RANG:AUTO {{value}}",
        values=ON_OFF,
        doc=f"Control {what} autoranging.",
    )


def _nplc(prefix: str, choices: tuple[float, ...], what: str) -> Setting[float]:
    return Setting(
        f"{prefix}:NPLC?",
        f"{prefix}:NPLC {{value}}",
        validate=OneOf(*choices),
        units="PLC",
        doc=f"Control the {what} integration time in power-line cycles ({_listed(choices)}).",
    )


class Keysight34461A(SCPIInstrument):
    """Keysight 34461A 6½-digit multimeter."""

    idn_patterns = (r"^(Keysight|Agilent) Technologies,34461A,",)
    interfaces = (Sensor,)
    sim_file = "sim/34461a.yaml"
    sim_resource = "TCPIP0::127.0.0.1::inst0::INSTR"
    sim_model = "keysight-34461a"
    reading_memory = 10_000
    """Readings the standard memory holds: the most one `read_many` can take."""

    function = Setting(
        "FUNC?",
        "FUNC {value}",
        values=DMMFunction,
        doc="Control the measurement function (DC voltage, resistance, ...).",
    )
    voltage = Measurement(
        "MEAS:VOLT:DC?", units="V", in_snapshot=False, doc="Measure a DC voltage (autoranged)."
    )
    voltage_range = _range("VOLT:DC", (0.1, 1, 10, 100, 1000), "V", "DC voltage")
    voltage_autorange = _autorange("VOLT:DC", "DC voltage")
    nplc = _nplc("VOLT:DC", _NPLC_34461A, "DC voltage")
    voltage_ac_range = _range("VOLT:AC", (0.1, 1, 10, 100, 750), "V", "AC voltage")
    voltage_ac_autorange = _autorange("VOLT:AC", "AC voltage")
    current_range = _range("CURR:DC", (1e-4, 1e-3, 1e-2, 0.1, 1, 3, 10), "A", "DC current")
    current_autorange = _autorange("CURR:DC", "DC current")
    current_nplc = _nplc("CURR:DC", _NPLC_34461A, "DC current")
    current_ac_range = _range("CURR:AC", (1e-4, 1e-3, 1e-2, 0.1, 1, 3, 10), "A", "AC current")
    current_ac_autorange = _autorange("CURR:AC", "AC current")
    resistance_range = _range("RES", (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8), "ohm", "resistance")
    resistance_autorange = _autorange("RES", "2-wire resistance")
    resistance_nplc = _nplc("RES", _NPLC_34461A, "2-wire resistance")
    four_wire_resistance_range = _range(
        "FRES", (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8), "ohm", "4-wire resistance"
    )
    four_wire_resistance_autorange = _autorange("FRES", "4-wire resistance")
    four_wire_resistance_nplc = _nplc("FRES", _NPLC_34461A, "4-wire resistance")
    temperature_nplc = _nplc("TEMP", _NPLC_34461A, "temperature")
    capacitance_range = _range("CAP", (1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4), "F", "capacitance")
    capacitance_autorange = _autorange("CAP", "capacitance")
    sample_count = Setting(
        "SAMP:COUN?",
        "SAMP:COUN {value}",
        parse=lambda reply: int(float(reply)),
        validate=Range(1, 1_000_000, integer=True),
        units="",
        doc="Set how many readings one trigger takes.",
    )
    trigger_count = Setting(
        "TRIG:COUN?",
        "TRIG:COUN {value}",
        parse=lambda reply: int(float(reply)),
        validate=Range(1, 1_000_000, integer=True),
        units="",
        doc="Set how many triggers one INITiate accepts.",
    )
    trigger_source = Setting(
        "TRIG:SOUR?",
        "TRIG:SOUR {value}",
        values={"immediate": "IMM", "external": "EXT", "bus": "BUS", "internal": "INT"},
        doc="Control the trigger source.",
    )
    memory_count = Measurement(
        "DATA:POIN?",
        parse=lambda reply: int(float(reply)),
        units="",
        in_snapshot=False,
        doc="Get how many readings wait in reading memory.",
    )

    @property
    def channel_names(self) -> tuple[str, ...]:
        return ("reading",)

    @property
    def units(self) -> tuple[str, ...]:
        return (_units(self.function),)

    def configure(
        self,
        function: DMMFunction | str,
        *,
        range: float | str | None = None,
        nplc: float | None = None,
    ) -> None:
        """Select `function`, then its range (a value, or "auto") and integration time.

        Every value is checked before anything is sent: a refused range or NPLC
        leaves the instrument as it was.
        """
        commands = [type(self).function.encode(self, function)]
        chosen = _as_function(function)
        range_name, auto_name, nplc_name = _FUNCTION_SETTINGS[chosen]
        if range is not None:
            if range_name is None or auto_name is None:
                raise ValidationError(f"{chosen.name} has no range setting", instrument=self.name)
            if isinstance(range, str) and range.casefold() == "auto":
                commands.append(self._setting(auto_name).encode(self, True))
            else:
                commands.append(self._setting(range_name).encode(self, range))
        if nplc is not None:
            if nplc_name is None:
                raise ValidationError(
                    f"{chosen.name} has no integration time (NPLC) setting", instrument=self.name
                )
            commands.append(self._setting(nplc_name).encode(self, nplc))
        for command in commands:
            self.session.write(command)

    def _setting(self, name: str) -> Setting[Any]:
        setting = type(self).parameters()[name]
        assert isinstance(setting, Setting)
        return setting

    def read(self) -> Reading:
        """Measure with the present settings (`READ?`): one reading per sample counted."""
        units = self.units
        reply = self.session.query("READ?")
        stamp = now_ns()
        values = self._numbers(reply, "READ?")
        stamps = np.full(values.shape[0], stamp, dtype=np.int64)
        return Reading(values.reshape(-1, 1), stamps, self.channel_names, units)

    def read_many(self, n: int) -> Reading:
        """Take `n` readings into the instrument's memory, then fetch them as one array.

        Leaves `sample_count` at 1, so `read()` keeps returning one reading.
        Timestamps are spread evenly between arming and fetching: the instrument
        does not report per-reading times in this mode.
        """
        try:
            n = int(Range(1, self.reading_memory, integer=True)(n))
        except ValueError as error:
            raise ValidationError(
                f"read_many({n!r}) refused before sending: {error} (reading memory size)",
                instrument=self.name,
            ) from error
        function = self.function
        units = (_units(function),)
        nplc_name = _FUNCTION_SETTINGS.get(function, _NO_SETTINGS)[2]  # type: ignore[call-overload]
        nplc = float(getattr(self, nplc_name)) if nplc_name else 1.0
        self.sample_count = n
        started = now_ns()
        self.session.write("INIT")
        self.wait(timeout=self.default_timeout + n * nplc * _SECONDS_PER_PLC)
        values = self._fetch_memory()
        ended = now_ns()
        self.sample_count = 1
        if values.shape[0] != n:
            raise ProtocolError(
                f"asked for {n} readings, memory held {values.shape[0]}",
                instrument=self.name,
                command="R?",
            )
        stamps = np.linspace(started, ended, n).astype(np.int64)
        return Reading(values.reshape(n, 1), stamps, self.channel_names, units)

    def remove_readings(self, count: int) -> NDArray[np.float64]:
        """Take (and erase) up to `count` of the oldest readings from memory (`DATA:REMove?`)."""
        try:
            count = int(Range(1, self.reading_memory, integer=True)(count))
        except ValueError as error:
            raise ValidationError(
                f"remove_readings({count!r}) refused before sending: {error}", instrument=self.name
            ) from error
        command = f"DATA:REM? {count}"
        return self._numbers(self.session.query(command), command)

    def _fetch_memory(self) -> NDArray[np.float64]:
        text = self.session.query_block("R?").tobytes().decode("ascii")
        return self._numbers(text, "R?")

    def _numbers(self, text: str, command: str) -> NDArray[np.float64]:
        values = self.session.parse_values(text, command=command)
        return finite_readings(values, text, instrument=self.name, command=command)


def _as_function(function: DMMFunction | str) -> DMMFunction:
    if isinstance(function, DMMFunction):
        return function
    for member in DMMFunction:
        if function.casefold() in (member.name.casefold(), member.value.casefold()):
            return member
    raise ValueError(function)  # unreachable: encode() refused it already


class Keysight34465A(Keysight34461A):
    """Keysight 34465A 6½-digit multimeter (adds faster integration times and ranges)."""

    idn_patterns = (r"^(Keysight|Agilent) Technologies,34465A,",)
    sim_file = "sim/34465a.yaml"
    sim_model = "keysight-34465a"
    reading_memory = 50_000

    nplc = _nplc("VOLT:DC", _NPLC_34465A, "DC voltage")
    current_range = _range(
        "CURR:DC", (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 3, 10), "A", "DC current"
    )
    current_nplc = _nplc("CURR:DC", _NPLC_34465A, "DC current")
    resistance_range = _range(
        "RES", (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9), "ohm", "2-wire resistance"
    )
    resistance_nplc = _nplc("RES", _NPLC_34465A, "2-wire resistance")
    four_wire_resistance_range = _range(
        "FRES", (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9), "ohm", "4-wire resistance"
    )
    four_wire_resistance_nplc = _nplc("FRES", _NPLC_34465A, "4-wire resistance")
    temperature_nplc = _nplc("TEMP", _NPLC_34465A, "temperature")
