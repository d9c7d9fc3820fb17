"""Lake Shore Model 335 and 336 cryogenic temperature controllers.

Interfaces per the user's manuals (Model 336 P/N 119-048, Model 335 P/N 119-055),
chapter "Computer Interface Operation": USB (a virtual serial port: 57600 baud, 7 data
bits, odd parity, 1 stop bit), Ethernet on the 336 (TCP port 7777, reached here as
`TCPIP::<host>::7777::SOCKET`) and IEEE-488. Commands end with LF (CR LF accepted);
replies always end with CR LF. Commands used: `KRDG?`/`CRDG?`/`SRDG?` per input and
`KRDG? 0` for every input at once, `RDGST?` (reading status bits), `INTYPE`, `SETP`,
`RANGE`, `HTR?`, `MOUT`, `*IDN?`, `*ESR?`.

Not SCPI: there is no error queue. A refused command sets bits of the standard event
status register, which `check_errors()` reads (`*ESR?`).

Not confirmed from the manuals here, so not relied on: whether the 335 answers
`KRDG? 0` the way the 336 does (the driver's `read()` uses it on both); the setpoint's
upper limit (validated to 0-2000, assuming kelvin control units); the valid `INTYPE`
ranges of capacitance sensors (only range 0 is accepted). The 336's 3062 scanner inputs
(D1-D5) are not supported.

Enumerations reviewed against both manuals (2026-12-06): `INTYPE` sensor types 0-5
(disabled, diode, PTC RTD, NTC RTD, thermocouple, capacitance) and units 1-3
(kelvin, Celsius, sensor); `RANGE` 0-3 (off, low, medium, high) on the current outputs,
0-1 (off, on) on the 336's voltage outputs 3 and 4. A code outside these reads as
`UnknownChoice` (decision 0008) instead of failing the read or the snapshot.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from instrumentkit.data import Reading, now_ns
from instrumentkit.errors import ProtocolError, ValidationError
from instrumentkit.instrument import Channel, ChannelGroup
from instrumentkit.interfaces import Sensor
from instrumentkit.parameters import Measurement, Setting, UnknownChoice
from instrumentkit.scpi import EventStatusErrors
from instrumentkit.validators import OneOf, Range

from .._readings import reading_count

__all__ = [
    "HeaterRange",
    "LakeShore335",
    "LakeShore336",
    "SensorType",
    "TemperatureInput",
]


class SensorType(enum.Enum):
    """`INTYPE` sensor types (thermocouple needs the 3060 option, capacitance the 3061)."""

    DISABLED = 0
    DIODE = 1
    PLATINUM_RTD = 2
    NTC_RTD = 3
    THERMOCOUPLE = 4
    CAPACITANCE = 5


class HeaterRange(enum.Enum):
    """Heater ranges of the current-mode outputs (`RANGE`)."""

    OFF = "0"
    LOW = "1"
    MEDIUM = "2"
    HIGH = "3"


class AnalogRange(enum.Enum):
    """Ranges of the 336's voltage outputs 3 and 4 (`RANGE`)."""

    OFF = "0"
    ON = "1"


# Valid INTYPE <range> codes per sensor type (10 ohm .. 100 kohm for NTC RTDs).
_INPUT_RANGES = {
    SensorType.DISABLED: range(1),
    SensorType.DIODE: range(2),
    SensorType.PLATINUM_RTD: range(7),
    SensorType.NTC_RTD: range(9),
    SensorType.THERMOCOUPLE: range(1),
    SensorType.CAPACITANCE: range(1),
}
_INPUT_UNITS = {"kelvin": 1, "celsius": 2, "sensor": 3}
_STATUS_INVALID = 1
"""RDGST? bit 0: the reading is invalid (the others: 16 temperature underrange,
32 temperature overrange, 64 sensor units zero, 128 sensor units overrange)."""


def _intype(reply: str) -> dict[str, Any]:
    fields = [f.strip() for f in reply.split(",")]
    if len(fields) < 5:
        raise ValueError(f"INTYPE? has 5 fields, got {len(fields)}")
    units = {v: k for k, v in _INPUT_UNITS.items()}
    sensor = {t.value: t.name.lower() for t in SensorType}.get(int(fields[0]))
    return {  # codes the manual does not list are kept as their token (decision 0008)
        "sensor": UnknownChoice(fields[0], "input_type") if sensor is None else sensor,
        "autorange": fields[1] == "1",
        "range": int(fields[2]),
        "compensation": fields[3] == "1",
        "units": units.get(int(fields[4])) or UnknownChoice(fields[4], "input_type"),
    }


def _not_a_row(reply: str, width: int) -> bool:
    """Whether a `KRDG? 0` reply is anything but `width` comma-separated numbers."""
    fields = reply.split(",")
    try:
        [float(field) for field in fields]
    except ValueError:
        return True
    return len(fields) != width


class TemperatureInput(Channel):
    """One sensor input (A, B, ...)."""

    temperature = Measurement("KRDG? {ch}", units="K", doc="Measure the temperature in kelvin.")
    celsius = Measurement(
        "CRDG? {ch}", units="degC", in_snapshot=False, doc="Measure the temperature in Celsius."
    )
    sensor_reading = Measurement(
        "SRDG? {ch}",
        units="",
        doc="Measure the raw sensor value (volts for diodes, ohms for RTDs).",
    )
    reading_status = Measurement(
        "RDGST? {ch}",
        parse=int,
        units="",
        doc="Get the reading status bits (1 invalid, 16/32 temperature under/over range).",
    )
    input_type = Measurement(
        "INTYPE? {ch}",
        parse=_intype,
        doc="Get the sensor type, autorange, range code, compensation and display units.",
    )

    def configure(
        self,
        sensor: SensorType | str,
        *,
        autorange: bool = True,
        range: int = 0,
        compensation: bool = False,
        units: str = "kelvin",
    ) -> None:
        """Set the input's sensor type and range (`INTYPE`); checked before sending."""
        try:
            kind = sensor if isinstance(sensor, SensorType) else SensorType[sensor.upper()]
            code = OneOf(*_INPUT_RANGES[kind])(range)
            unit_code = _INPUT_UNITS[OneOf(*_INPUT_UNITS)(units)]
        except (KeyError, ValueError) as error:
            raise ValidationError(
                f"input {self.id}: sensor {sensor!r}, range {range!r}, units {units!r} "
                f"refused before sending: {error}; sensor types are "
                f"{[t.name.lower() for t in SensorType]}",
                instrument=self.parent.name,
            ) from error
        self.write(
            f"INTYPE {{ch}},{kind.value},{int(autorange)},{code},{int(compensation)},{unit_code}"
        )


class HeaterOutput(Channel):
    """A current-mode heater output (control loop)."""

    setpoint = Setting(
        "SETP? {ch}",
        "SETP {ch},{value}",
        validate=Range(0, 2000),
        units="K",
        doc="Set the control setpoint (in the control input's units, kelvin by default).",
    )
    heater_range = Setting(
        "RANGE? {ch}",
        "RANGE {ch},{value}",
        values=HeaterRange,
        doc="Control the heater range (off, low, medium, high).",
    )
    heater_output = Measurement(
        "HTR? {ch}", units="%", doc="Measure the heater output in percent of the range."
    )
    manual_output = Setting(
        "MOUT? {ch}",
        "MOUT {ch},{value}",
        validate=Range(0, 100),
        units="%",
        doc="Set the manual (open-loop) heater output in percent.",
    )


class AnalogOutput(HeaterOutput):
    """One of the 336's voltage outputs 3 and 4: its range is off or on."""

    heater_range = Setting(
        "RANGE? {ch}",
        "RANGE {ch},{value}",
        values=AnalogRange,
        doc="Control the voltage output (off or on).",
    )
    heater_output = Measurement(
        "AOUT? {ch}", units="%", doc="Measure the output in percent of full scale."
    )


class LakeShore336(EventStatusErrors):
    """Lake Shore Model 336 temperature controller: four inputs, four outputs."""

    esr_errors: ClassVar[Mapping[int, str]] = {
        32: "command error",
        16: "execution error",
        4: "query error",
    }

    idn_patterns = (r"^LSCI,MODEL336,",)
    interfaces = (Sensor,)
    status_meanings: ClassVar[dict[int, str]] = {
        1: "invalid_reading", 16: "temperature_underrange", 32: "temperature_overrange",
        64: "sensor_units_zero", 128: "sensor_units_overrange",
    }  # fmt: skip
    """RDGST? bits (a code is their sum); the run file keeps them with the readings."""
    write_termination = "\r\n"
    read_termination = "\r\n"
    connection_defaults = {"baudrate": 57600, "bytesize": 7, "parity": "O", "stopbits": 1}
    default_timeout = 2.0
    sim_file = "sim/336.yaml"
    sim_resource = "ASRL1::INSTR"
    sim_model = "lakeshore-336"
    input_ids: ClassVar[tuple[str, ...]] = ("A", "B", "C", "D")

    inputs = ChannelGroup(TemperatureInput, ("A", "B", "C", "D"))
    outputs = ChannelGroup(HeaterOutput, (1, 2))
    analog_outputs = ChannelGroup(AnalogOutput, (3, 4))

    @property
    def channel_names(self) -> tuple[str, ...]:
        return self.input_ids

    @property
    def units(self) -> tuple[str, ...]:
        return ("K",) * len(self.input_ids)

    def _all_kelvin(self) -> str:
        return self.session.query("KRDG? 0")

    def _status_codes(self) -> list[int]:
        codes = []
        for input_id in self.input_ids:
            reply = self.session.query(f"RDGST? {input_id}")
            try:
                codes.append(int(reply))
            except ValueError as error:
                raise ProtocolError(
                    f"expected a status integer, got {reply!r}",
                    instrument=self.name,
                    command=f"RDGST? {input_id}",
                ) from error
        return codes

    def read(self) -> Reading:
        """Measure every input in kelvin (`KRDG? 0`) with its status bits (`RDGST?`).

        Readings the controller marks invalid (status bit 0) are NaN.
        """
        return self.read_many(1)

    def read_many(self, n: int) -> Reading:
        """Take `n` readings of every input one after another (the controller has no buffer)."""
        n = reading_count(n, instrument=self.name)
        replies: list[str] = []
        stamps = np.empty(n, dtype=np.int64)
        status = np.empty((n, len(self.input_ids)), dtype=np.int16)
        for index in range(n):
            replies.append(self._all_kelvin())
            stamps[index] = now_ns()
            status[index] = self._status_codes()
        values = self._parse_rows(replies)
        values[(status & _STATUS_INVALID) != 0] = np.nan
        return Reading(values, stamps, self.channel_names, self.units, status)

    def _parse_rows(self, replies: list[str]) -> np.ndarray:
        width = len(self.input_ids)
        try:
            # Per reply, not just in total: rows of 3 and 5 must not pass as two of 4.
            if any(reply.count(",") != width - 1 for reply in replies):
                raise ValueError  # handled below, with the reply at fault
            values = np.array(",".join(replies).split(","), dtype=np.float64)
        except ValueError as error:
            raise ProtocolError(
                f"expected {width} comma-separated temperatures, got "
                f"{next(r for r in replies if _not_a_row(r, width))!r}",
                instrument=self.name,
                command="KRDG? 0",
            ) from error
        return values.reshape(len(replies), width)


class LakeShore335(LakeShore336):
    """Lake Shore Model 335 temperature controller: two inputs, two heater outputs."""

    idn_patterns = (r"^LSCI,MODEL335,",)
    sim_file = "sim/335.yaml"
    sim_model = "lakeshore-335"
    input_ids = ("A", "B")

    inputs = ChannelGroup(TemperatureInput, ("A", "B"))
    outputs = ChannelGroup(HeaterOutput, (1, 2))
    analog_outputs = ChannelGroup(AnalogOutput, ())
